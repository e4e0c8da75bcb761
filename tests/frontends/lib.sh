# shellcheck shell=bash disable=SC2034 # FE_* globals are read by tests/run
# tests/frontends/lib.sh: what the front-end stages share (sourced, bash).
#
# Each stage is one file, tests/frontends/N.sh, defining for its name N:
#   N_start DIR PORT PROGRAM CONFIG
#       installs PROGRAM and CONFIG under DIR (as `make install` would, paths
#       rewritten to DIR), starts the front end for real on 127.0.0.1:PORT with
#       the shipped configuration file, and waits until it answers.
#       Sets FE_BASE_URL and FE_APP_LOG (the file that gets the program's stderr).
#   N_checks DIR
#       what only this front end can show: a worker killed with -9 is replaced
#       (or, where nothing respawns, that this is so), the FastCGI socket's owner
#       and mode, that another local user cannot connect to it, and that the
#       shipped unit files pass `systemd-analyze verify`, and that the front
#       end's own refusals are SimpleResponse JSON (json_refusal_checks).  Prints PASS:/FAIL:
#       lines and "N passed, N failed"; sets FE_CHECKS_PASSED and FE_CHECKS_FAILED.
#   N_stop DIR
#       stops the front end and every worker it left.
# tests/run runs every tests/frontends/N.sh as a stage (FRONTENDS), with the
# same suite environment; N_checks counts into its total.  Run as a command, a
# stage file runs tests/run with only itself (fe_main below).
#
# Needs root: the front ends drop to their usual users (www-data, and a worker
# user standing in for "autional"), and the socket checks switch to another
# local user.  A missing command fails the stage; nothing is skipped.

FE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FE_SRC=$(cd "$FE_DIR/../.." && pwd)
# shellcheck source=tests/lib/common.sh
. "$FE_SRC/tests/lib/common.sh"

FE_WEB_USER=${FE_WEB_USER:-www-data}    # the web server's user, as on Debian
FE_APP_USER=${FE_APP_USER:-daemon}      # stands in for the "autional" user of conf/systemd
FE_OTHER_USER=${FE_OTHER_USER:-nobody}  # an unrelated local user
FE_START_TIMEOUT=${FE_START_TIMEOUT:-30}
FE_PROBES=${FE_PROBES:-20}              # requests that must succeed after a kill -9

# fe_require CMD:PACKAGE...: fail (naming the Debian package) when a command is missing.
fe_require() {
  local item rc=0
  for item in runuser:util-linux ps:procps "$@"; do
    command -v "${item%%:*}" >/dev/null 2>&1 ||
      { warn "missing ${item%%:*}: install the Debian package ${item#*:}"; rc=1; }
  done
  [ "$(id -u)" = 0 ] || { warn "the front-end stages need root (users, sockets)"; rc=1; }
  return $rc
}

# fe_config_value FILE KEY: the value of "KEY = value" in an autional.conf.
fe_config_value() {
  sed -n "s/^[[:space:]]*$2[[:space:]]*=[[:space:]]*//p" "$1" | tail -n 1 | sed 's/[[:space:]]*$//'
}

# fe_open_path PATH: let other users traverse (x only, never read) every
# directory above PATH that we own and that lacks it, so the workers, which run
# as other users, reach their files and the database socket.  (tests/run makes
# its work directory with mktemp -d, mode 0700.)
fe_open_path() {
  local d=$1
  while [ -n "$d" ] && [ "$d" != / ]; do
    if [ -d "$d" ] && [ -O "$d" ] && [ "$(($(stat -c '0%a' "$d") & 1))" = 0 ]; then
      chmod o+x "$d" && note "chmod o+x $d (workers run as other users)"
    fi
    d=$(dirname "$d")
  done
}

# fe_install DIR PROGRAM CONFIG GROUP: DIR/libexec/autional-admin.fcgi (0755),
# DIR/etc/autional/autional.conf (0640 root:GROUP: the workers' group reads
# it, nobody else), the console in DIR/share/autional-admin/console (0644) and
# the static error documents in DIR/share/autional-admin/errors
# (tests/lib/lighttpd.sh), as `make install` and an operator would place them.
fe_install() {
  local dir=$1 prog=$2 conf=$3 group=$4 sock
  [ -x "$prog" ] || { warn "no program at $prog"; return 1; }
  [ -r "$conf" ] || { warn "no config at $conf"; return 1; }
  mkdir -p "$dir/libexec" "$dir/etc/autional" "$dir/run" || return 1
  chmod 0755 "$dir" "$dir/libexec" "$dir/etc" "$dir/etc/autional"
  install -m 0755 "$prog" "$dir/libexec/autional-admin.fcgi" &&
    install -m 0640 -o root -g "$group" "$conf" "$dir/etc/autional/autional.conf" || return 1
  # The admin console's files, world-readable, as `make install` puts them.
  install -d -m 0755 "$dir/share" "$dir/share/autional-admin" "$dir/share/autional-admin/console" &&
    install -m 0644 "$FE_SRC"/console/* "$dir/share/autional-admin/console/" || return 1
  install_error_documents "$dir" >/dev/null || return 1
  fe_open_path "$dir"
  sock=$(fe_config_value "$conf" db_socket)
  [ -z "$sock" ] || fe_open_path "$(dirname "$sock")"
  check_socket_path "$dir/run/autional-admin.sock-10"
}

# fe_localize SRC DST DIR: copy a shipped file, rewriting its install paths and
# users to the private ones of this run.  Fails when a path outside DIR is left
# in a line that is not a comment (a shipped path the test does not know).
fe_localize() {
  local src=$1 dst=$2 dir=$3 left
  sed -e "s#/usr/local/libexec/autional-admin.fcgi#$dir/libexec/autional-admin.fcgi#g" \
      -e "s#/usr/local/etc/autional/autional.conf#$dir/etc/autional/autional.conf#g" \
      -e "s#/usr/local/share/autional-admin/#$dir/share/autional-admin/#g" \
      -e "s#/run/autional/#$dir/run/#g" \
      -e "s#/run/lighttpd/#$dir/run/#g" \
      -e "s#-u autional -g autional#-u $FE_APP_USER -g $FE_APP_USER#g" \
      -e "s#^\(User\|Group\|SocketUser\)=autional\$#\1=$FE_APP_USER#" \
      -e "s#www-data#$FE_WEB_USER#g" \
      "$src" >"$dst" || return 1
  left=$(grep -v '^[[:space:]]*#' "$dst" | grep -nE '/usr/local|/run/|/etc/' | grep -v "$dir")
  [ -z "$left" ] || { warn "$src: unknown install path left in $dst: $left"; return 1; }
}

# fe_wait_port PORT PIDFILE: wait until 127.0.0.1:PORT answers; fail when the
# process in PIDFILE exits first.
fe_wait_port() {
  local port=$1 pid deadline=$((SECONDS + FE_START_TIMEOUT))
  pid=$(read_pid "$2")
  until port_answers "$port"; do
    pid_alive "$pid" || { warn "the server exited during start-up"; return 1; }
    ((SECONDS < deadline)) || { warn "nothing answers on port $port"; return 1; }
    sleep 0.1
  done
}

# fe_workers EXE: pids of the processes running the program file EXE (each
# stage has its own copy, so this names exactly its workers).
fe_workers() {
  local p exe
  for p in /proc/[0-9]*; do
    exe=$(readlink "$p/exe" 2>/dev/null) || continue
    [ "$exe" = "$1" ] && printf '%s\n' "${p#/proc/}"
  done
}

# fe_kill_workers EXE: SIGTERM, then SIGKILL, whatever still runs EXE.
fe_kill_workers() {
  local w
  for w in $(fe_workers "$1"); do stop_pid "$w" 10; done
}

# fe_serve SCRIPT... : run a server command in the background, nobody's job,
# its output appended to $FE_OUT, its pid written to $FE_PIDFILE.
fe_serve() {
  ("$@" </dev/null >>"$FE_OUT" 2>&1 &
    echo $! >"$FE_PIDFILE")
}

# --- web servers in front of a socket ---------------------------------------
# fe_nginx_conf DIR PORT: nginx.conf for a private nginx including the
# shipped location snippet (already localized to DIR/autional-admin.conf).
fe_nginx_conf() {
  local dir=$1 port=$2
  mkdir -p "$dir/nginx-tmp"
  cat >"$dir/nginx.conf" <<EOF
# Generated by tests/frontends: a private nginx for one test run.
user $FE_WEB_USER $FE_WEB_USER;
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 256; }
http {
    # The request id last: test_request_ids.py finds it here.
    log_format with_id '\$remote_addr [\$time_local] "\$request" \$status \$body_bytes_sent rid=\$request_id';
    access_log $dir/access.log with_id;
    client_body_temp_path $dir/nginx-tmp/body;
    fastcgi_temp_path $dir/nginx-tmp/fastcgi;
    proxy_temp_path $dir/nginx-tmp/proxy;
    scgi_temp_path $dir/nginx-tmp/scgi;
    uwsgi_temp_path $dir/nginx-tmp/uwsgi;
    server {
        listen 127.0.0.1:$port;
        server_name localhost;
        include $dir/autional-admin.conf;
    }
}
EOF
  nginx -t -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/configtest.log" 2>&1 ||
    { cat "$dir/configtest.log" >&2; warn "nginx -t rejects $dir/nginx.conf"; return 1; }
}

# fe_nginx_run DIR PORT: start nginx in the foreground (nobody's job) and wait for the port.
fe_nginx_run() {
  local dir=$1 port=$2
  FE_OUT=$dir/nginx.out FE_PIDFILE=$dir/nginx.master.pid
  fe_serve nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" -g 'daemon off;'
  fe_wait_port "$port" "$dir/nginx.master.pid" ||
    { tail -n 20 "$dir/error.log" "$dir/nginx.out" >&2 2>/dev/null; return 1; }
}

fe_nginx_stop() {
  stop_pid "$(read_pid "$1/nginx.master.pid")" 20
  rm -f "$1/nginx.master.pid"
}

# fe_lighttpd_conf DIR PORT: lighttpd.conf for a private lighttpd including the
# shipped fastcgi.server snippet (already localized to DIR/autional-admin.conf)
# the shipped console block and conf/lighttpd/autional-admin-errors.conf
# (both localized here).
# lighttpd starts as root, binds the port and drops to the web user, then opens
# its logs: they live in DIR/log (www-data, 0750; Debian: /var/log/lighttpd).
fe_lighttpd_conf() {
  local dir=$1 port=$2
  mkdir -p "$dir/htdocs" "$dir/log"
  chown "$FE_WEB_USER:$FE_WEB_USER" "$dir/log" && chmod 0750 "$dir/log"
  fe_localize "$FE_SRC/conf/lighttpd/autional-admin-console.conf" \
    "$dir/autional-admin-console.conf" "$dir" || return 1
  fe_localize "$FE_SRC/conf/lighttpd/autional-admin-errors.conf" \
    "$dir/autional-admin-errors.conf" "$dir" || return 1
  cat >"$dir/lighttpd.conf" <<EOF
# Generated by tests/frontends: a private lighttpd for one test run.
server.modules = ( "mod_fastcgi", "mod_accesslog" )
server.document-root = "$dir/htdocs"
server.bind = "127.0.0.1"
server.port = $port
server.username = "$FE_WEB_USER"
server.groupname = "$FE_WEB_USER"
server.errorlog = "$dir/log/error.log"
accesslog.filename = "$dir/log/access.log"
include "$dir/autional-admin.conf"
include "$dir/autional-admin-console.conf"
include "$dir/autional-admin-errors.conf"
EOF
  lighttpd -tt -f "$dir/lighttpd.conf" >"$dir/configtest.log" 2>&1 ||
    { cat "$dir/configtest.log" >&2; warn "lighttpd -tt rejects $dir/lighttpd.conf"; return 1; }
}

# fe_lighttpd_run DIR PORT: start lighttpd -D (nobody's job) and wait for the
# port.  Its stderr, which workers it spawns inherit, goes to DIR/app.log.
fe_lighttpd_run() {
  local dir=$1 port=$2
  FE_OUT=$dir/app.log FE_PIDFILE=$dir/lighttpd.pid
  fe_serve lighttpd -D -f "$dir/lighttpd.conf"
  fe_wait_port "$port" "$dir/lighttpd.pid" ||
    { tail -n 20 "$dir/log/error.log" "$dir/app.log" >&2 2>/dev/null; return 1; }
}

# fe_lighttpd_stop DIR: SIGTERM (lighttpd stops the workers it spawned).
fe_lighttpd_stop() {
  stop_pid "$(read_pid "$1/lighttpd.pid")" 20
  rm -f "$1/lighttpd.pid"
}

# fe_unit_value FILE KEY: the values of KEY= in a unit file, one per line.
fe_unit_value() { sed -n "s/^$2=//p" "$1"; }

# --- checks -----------------------------------------------------------------
fe_checks_begin() { FE_CHECKS_PASSED=0 FE_CHECKS_FAILED=0; note "front-end checks: $1"; }
fe_pass() { say "PASS: $*"; FE_CHECKS_PASSED=$((FE_CHECKS_PASSED + 1)); }
fe_fail() { say "FAIL: $*"; FE_CHECKS_FAILED=$((FE_CHECKS_FAILED + 1)); }
fe_expect() {
  local what=$1; shift
  if "$@"; then fe_pass "$what"; else fe_fail "$what"; fi
}
fe_checks_end() {
  say "$FE_CHECKS_PASSED passed, $FE_CHECKS_FAILED failed"
  ((FE_CHECKS_FAILED == 0))
}

# fe_probe BASE_URL: one request that only the program, with its database,
# answers this way: an unknown bearer token is looked up and refused with the
# program's own 401 JSON and error="invalid_token" (which also shows that the
# Authorization header got through the front end).
fe_probe() {
  local tmp code rc=0
  tmp=$(mktemp -d) || return 1
  code=$(curl -sS -m 15 -o "$tmp/body" -D "$tmp/head" -w '%{http_code}' \
    -H 'Authorization: Bearer h3-probe-unknown-token' \
    "$1/admin/oauth/clients/h3_probe/tokens" 2>"$tmp/err") || rc=1
  ((rc == 0)) && [ "$code" = 401 ] &&
    grep -qi '^www-authenticate: Bearer realm="autional", error="invalid_token"' "$tmp/head" &&
    grep -qi '^content-type: application/json' "$tmp/head" &&
    grep -q '"code":401' "$tmp/body" || rc=1
  ((rc == 0)) || FE_PROBE_LAST="status ${code:-none}: $(head -c 200 "$tmp/body" "$tmp/err" 2>/dev/null | tr '\n' ' ')"
  rm -rf "$tmp"
  return $rc
}

# fe_probe_many BASE_URL N: N requests in a row; all must be the program's answer.
fe_probe_many() {
  local i good=0
  FE_PROBE_LAST=
  for ((i = 0; i < $2; i++)); do fe_probe "$1" && good=$((good + 1)); done
  FE_PROBE_GOOD=$good
  ((good == $2))
}

# fe_check_respawn BASE_URL EXE: kill -9 one worker, then every worker; each
# time the next FE_PROBES requests must all be answered by the program, and the
# killed workers must have been replaced.
fe_check_respawn() {
  local base=$1 exe=$2 before victim after p replaced
  fe_probe "$base" >/dev/null
  before=$(fe_workers "$exe" | tr '\n' ' ')
  fe_expect "workers running before the kill: ${before:-none}" test -n "$before"
  [ -n "$before" ] || return
  victim=${before%% *}
  kill -KILL "$victim"
  wait_until 10 pid_gone "$victim"
  fe_probe_many "$base" "$FE_PROBES"
  fe_expect "kill -9 of worker $victim: the next $FE_PROBES requests answered by the program ($FE_PROBE_GOOD/$FE_PROBES) ${FE_PROBE_LAST:+last failure: $FE_PROBE_LAST}" \
    test "$FE_PROBE_GOOD" = "$FE_PROBES"
  before=$(fe_workers "$exe" | tr '\n' ' ')
  for p in $before; do kill -KILL "$p"; done
  for p in $before; do wait_until 10 pid_gone "$p"; done
  fe_probe_many "$base" "$FE_PROBES"
  fe_expect "kill -9 of every worker ($before): the next $FE_PROBES requests answered by the program ($FE_PROBE_GOOD/$FE_PROBES) ${FE_PROBE_LAST:+last failure: $FE_PROBE_LAST}" \
    test "$FE_PROBE_GOOD" = "$FE_PROBES"
  after=$(fe_workers "$exe" | tr '\n' ' ')
  replaced=yes
  for p in $after; do [[ " $before " == *" $p "* ]] && replaced=; done
  [ -n "$after" ] || replaced=
  fe_expect "killed workers replaced by new ones: ${after:-none}" test -n "$replaced"
}

# fe_fcgi_as USER SOCKET: one request straight to the FastCGI socket as USER;
# prints what came back.  Succeeds only when the program answered.
fe_fcgi_as() {
  local out
  out=$(runuser -u "$1" -- env -i REQUEST_METHOD=GET SERVER_PROTOCOL=HTTP/1.1 \
    REQUEST_URI=/admin/oauth/clients/h3_probe/tokens \
    HTTP_AUTHORIZATION='Bearer h3-probe-unknown-token' \
    cgi-fcgi -bind -connect "$2" 2>&1)
  printf '%s\n' "$out" | head -n 3 | tr '\n' ' '
  # A here-string, not printf | grep -q: under pipefail that pipeline's status
  # also depends on printf (one such check failed on a 401 answer).
  grep -q '^Status: 401' <<<"$out"
}

# fe_check_socket SOCKET "MODE OWNER GROUP": the socket's mode and owner are
# as configured, its mode lets no other user connect, the web server's user
# gets an answer through it, and FE_OTHER_USER does not (tried for real, as that
# user, with cgi-fcgi; the directory's mode is printed too).
fe_check_socket() {
  local sock=$1 want=$2 got out
  if [ ! -S "$sock" ]; then fe_fail "no socket at $sock"; return; fi
  got=$(stat -c '%a %U %G' "$sock")
  fe_expect "socket $sock: mode/owner/group '$got', expected '$want'" test "$got" = "$want"
  # connect() on a unix socket needs write permission on it.
  fe_expect "socket $sock: other users may not connect (no o+w in mode ${got%% *})" \
    test "$((0${got%% *} & 2))" = 0
  say "   directory $(dirname "$sock"): $(stat -c '%a %U %G' "$(dirname "$sock")")"
  if out=$(fe_fcgi_as "$FE_WEB_USER" "$sock"); then
    fe_pass "$FE_WEB_USER (web server user) gets an answer over the socket: $out"
  else
    fe_fail "$FE_WEB_USER (web server user) gets no answer over the socket: $out"
  fi
  if out=$(fe_fcgi_as "$FE_OTHER_USER" "$sock"); then
    fe_fail "$FE_OTHER_USER (another local user) got an answer over the socket: $out"
  else
    fe_pass "$FE_OTHER_USER (another local user) cannot use the socket: $out"
  fi
}

# fe_verify_units FILE...: systemd-analyze verify on the (localized) unit files:
# exit 0 and not one line of complaint.
fe_verify_units() {
  local out rc=0
  out=$(systemd-analyze verify "$@" 2>&1) || rc=$?
  [ -z "$out" ] || printf '   %s\n' "$out"
  ((rc == 0)) && [ -z "$out" ]
}

# --- a stage on its own -------------------------------------------------------
# fe_main NAME: run the stage alone through the test command, which builds,
# runs the unit tests, starts MariaDB, then this front end with every suite of
# tests/stack/ and NAME_checks, and prints the total last ("N passed, N failed").
# tests/run's environment applies (WORK, PORT, SUITES, KEEP_WORK, ...).
fe_main() {
  FRONTENDS=$1 exec "$FE_SRC/tests/run"
}
