#!/usr/bin/env bash
# nginx_spawnfcgi.sh: the stage "nginx_spawnfcgi": nginx, with the shipped
# conf/nginx/autional-admin.conf, in front of one worker started by spawn-fcgi
# exactly as conf/systemd/autional-admin-spawn.service starts it.
#
#   tests/frontends/nginx_spawnfcgi.sh     the whole stage alone (see lib.sh, fe_main)
#   . tests/frontends/nginx_spawnfcgi.sh   nginx_spawnfcgi_start DIR PORT PROGRAM CONFIG,
#                                           nginx_spawnfcgi_checks DIR, nginx_spawnfcgi_stop DIR
#
# systemd is not PID 1 here, so the unit's ExecStart= and Environment= lines
# (paths and the "autional" user rewritten: lib.sh, fe_localize) are run as
# root by this script; RuntimeDirectory= is DIR/run (root, 0755).  spawn-fcgi
# makes DIR/run/admin.sock (0660 www-data:www-data) and becomes the worker, as
# FE_APP_USER.  nginx's master runs as root, its workers as www-data.
# Files in DIR: autional-admin-spawn.service (localized unit), nginx.conf,
# error.log and access.log (nginx's), app.log (the worker's stderr: FE_APP_LOG).

# shellcheck source=tests/frontends/lib.sh disable=SC2034 # FE_* are read by tests/run
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# spawnfcgi_run DIR: the localized unit's ExecStart=, with its Environment=,
# in the background; the worker's stderr goes to DIR/app.log.
spawnfcgi_run() {
  local dir=$1 unit=$1/autional-admin-spawn.service exec envs=()
  exec=$(fe_unit_value "$unit" ExecStart)
  mapfile -t envs < <(fe_unit_value "$unit" Environment)
  [ -n "$exec" ] || { warn "no ExecStart= in $unit"; return 1; }
  FE_OUT=$dir/app.log FE_PIDFILE=$dir/spawn-fcgi.pid
  # shellcheck disable=SC2086 # ExecStart= is a word list without quotes
  fe_serve env "${envs[@]}" $exec
  wait_until 10 test -S "$dir/run/admin.sock" ||
    { tail -n 20 "$dir/app.log" >&2; warn "spawn-fcgi made no socket"; return 1; }
}

nginx_spawnfcgi_start() {
  local dir port=$2 prog=$3 conf=$4
  fe_require nginx:nginx-light spawn-fcgi:spawn-fcgi curl:curl cgi-fcgi:libfcgi-bin \
    systemd-analyze:systemd || return 1
  dir=$(mkdir -p "$1" && cd "$1" && pwd) || return 1
  port_answers "$port" && { warn "port $port on 127.0.0.1 is in use already"; return 1; }
  fe_install "$dir" "$prog" "$conf" "$FE_APP_USER" || return 1
  fe_localize "$FE_SRC/conf/systemd/autional-admin-spawn.service" \
    "$dir/autional-admin-spawn.service" "$dir" || return 1
  fe_localize "$FE_SRC/conf/nginx/autional-admin.conf" "$dir/autional-admin.conf" "$dir" || return 1
  fe_nginx_conf "$dir" "$port" || return 1
  spawnfcgi_run "$dir" || { nginx_spawnfcgi_stop "$dir"; return 1; }
  fe_nginx_run "$dir" "$port" || { nginx_spawnfcgi_stop "$dir"; return 1; }
  FE_BASE_URL="http://127.0.0.1:$port"
  FE_APP_LOG="$dir/app.log"
}

nginx_spawnfcgi_checks() {
  local dir=$1 exe=$1/libexec/autional-admin.fcgi w p code
  fe_checks_begin "nginx in front of spawn-fcgi"
  fe_expect "systemd-analyze verify conf/systemd/autional-admin-spawn.service" \
    fe_verify_units "$dir/autional-admin-spawn.service"
  fe_expect "nginx -t accepts the shipped conf/nginx/autional-admin.conf" \
    grep -q 'test is successful' "$dir/configtest.log"
  fe_expect "probe through nginx answered by the program: Authorization passed" fe_probe "$FE_BASE_URL"
  json_refusal_checks "$FE_BASE_URL"
  w=$(fe_workers "$exe")
  fe_expect "the worker runs as $FE_APP_USER (spawn-fcgi -u): ${w:+$(ps -o user= -p "$w")}" \
    test -n "$w" -a "$(ps -o user= -p "${w:-1}" | tr -d ' ')" = "$FE_APP_USER"
  fe_check_socket "$dir/run/admin.sock" "660 $FE_WEB_USER $FE_WEB_USER"
  # spawn-fcgi -n execs the program: nothing is left to respawn a dead worker.
  # Documented behaviour, checked: kill -9 and nginx answers 502 until the
  # service is started again (systemd's Restart=always; emulated here by
  # running the unit's ExecStart= once more).
  if [ -n "$w" ]; then
    for p in $w; do kill -KILL "$p"; done
    for p in $w; do wait_until 10 pid_gone "$p"; done
    code=$(curl -s -o /dev/null -m 10 -w '%{http_code}' "$FE_BASE_URL/admin/oauth/clients/x/tokens")
    fe_expect "spawn-fcgi does not respawn: after kill -9 nginx answers $code (502 expected) and no worker runs" \
      test "$code" = 502 -a -z "$(fe_workers "$exe")"
    json_refusal_checks "$FE_BASE_URL" no-worker
    fe_expect "the unit's ExecStart= run again (what Restart=always does) takes over the stale socket" \
      spawnfcgi_run "$dir"
    fe_probe_many "$FE_BASE_URL" "$FE_PROBES"
    fe_expect "after the restart the next $FE_PROBES requests are answered by the program ($FE_PROBE_GOOD/$FE_PROBES)" \
      test "$FE_PROBE_GOOD" = "$FE_PROBES"
  else
    fe_fail "no worker running"
  fi
  fe_checks_end
}

nginx_spawnfcgi_stop() {
  local dir=$1
  fe_nginx_stop "$dir"
  # SIGTERM to the worker (spawn-fcgi -n became the worker): finishes, exits.
  stop_pid "$(read_pid "$dir/spawn-fcgi.pid")" 20
  rm -f "$dir/spawn-fcgi.pid"
  fe_kill_workers "$dir/libexec/autional-admin.fcgi"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  fe_main nginx_spawnfcgi
fi
