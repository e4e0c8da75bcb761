#!/usr/bin/env bash
# nginx_systemd.sh: the stage "nginx_systemd": nginx in front of the program run
# by a real systemd from the shipped conf/systemd units, so that SocketMode=,
# SocketUser=, User=, the hardening lines and Restart= are systemd's own doing.
#
#   tests/frontends/nginx_systemd.sh     the whole stage alone (see lib.sh, fe_main)
#   . tests/frontends/nginx_systemd.sh   nginx_systemd_start DIR PORT PROGRAM CONFIG,
#                                        nginx_systemd_checks DIR, nginx_systemd_stop DIR
#
# systemd is not PID 1 on these machines, so this stage starts one as PID 1 of
# a private PID and mount namespace (unshare), with SYSTEMD_UNIT_PATH=DIR/units
# and --unit=autional-test.target: it loads only the units of this test and
# starts only autional-admin.socket.  /tmp is shared with the host, so nginx
# (outside) connects to the socket systemd made; /run inside is systemd's own.
# Killing that PID 1 ends everything inside the namespace.
#
# The units are the shipped ones, localized (lib.sh, fe_localize), plus one
# drop-in each with what only this test needs, nothing that changes behaviour:
#   DefaultDependencies=no   this systemd has no sysinit.target
#   PrivateTmp=no            this test's files live under /tmp
#   ReadWritePaths=          (spawn unit) its socket directory, which in
#                            production is RuntimeDirectory=/run/autional
#   StandardError=append:    no journald here: DIR/app.log is FE_APP_LOG
# The checks also start autional-admin-spawn.service in the same systemd
# (socket DIR/run-spawn/admin.sock, probed directly with cgi-fcgi).

# shellcheck source=tests/frontends/lib.sh disable=SC2034 # FE_* are read by tests/run
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SYSTEMD_BIN=${SYSTEMD_BIN:-/lib/systemd/systemd}

# sd DIR ARGS...: systemctl inside the private systemd of DIR.
sd() {
  local dir=$1; shift
  nsenter -t "$(read_pid "$dir/systemd.pid")" -m -p systemctl --no-pager "$@"
}

# sd_show DIR UNIT PROPERTY: one property's value.
sd_show() { sd "$1" show -p "$3" --value "$2" 2>/dev/null; }

# sd_child PIDFILE: the child of unshare (systemd, PID 1 inside).
sd_child() {
  local c
  c=$(ps -o pid= --ppid "$(read_pid "$1")" | tr -d ' ')
  [ -n "$c" ] && echo "$c"
}

sd_write_units() {
  local dir=$1 u f
  mkdir -p "$dir/units" "$dir/run-spawn"
  for f in autional-admin.socket autional-admin.service autional-admin-spawn.service; do
    fe_localize "$FE_SRC/conf/systemd/$f" "$dir/units/$f" "$dir" || return 1
  done
  sed -i "s#$dir/run/#$dir/run-spawn/#g" "$dir/units/autional-admin-spawn.service"
  cat >"$dir/units/autional-test.target" <<EOF
[Unit]
Description=autional front-end test: only the socket
DefaultDependencies=no
Wants=autional-admin.socket
EOF
  for u in autional-admin.socket autional-admin.service autional-admin-spawn.service; do
    mkdir -p "$dir/units/$u.d"
    {
      echo "# Only what this private, journal-less systemd needs (tests/frontends/nginx_systemd.sh)."
      echo "[Unit]"
      echo "DefaultDependencies=no"
      if [ "${u##*.}" = service ]; then
        echo "[Service]"
        echo "PrivateTmp=no"
        echo "StandardError=append:$dir/app.log"
      fi
      [ "$u" = autional-admin-spawn.service ] && echo "ReadWritePaths=$dir/run-spawn"
    } >"$dir/units/$u.d/test.conf"
  done
}

nginx_systemd_start() {
  local dir port=$2 prog=$3 conf=$4 pid
  fe_require nginx:nginx-light spawn-fcgi:spawn-fcgi unshare:util-linux nsenter:util-linux \
    systemd-analyze:systemd curl:curl cgi-fcgi:libfcgi-bin || return 1
  [ -x "$SYSTEMD_BIN" ] || { warn "missing $SYSTEMD_BIN: install the Debian package systemd"; return 1; }
  dir=$(mkdir -p "$1" && cd "$1" && pwd) || return 1
  port_answers "$port" && { warn "port $port on 127.0.0.1 is in use already"; return 1; }
  fe_install "$dir" "$prog" "$conf" "$FE_APP_USER" || return 1
  rmdir "$dir/run" 2>/dev/null  # systemd makes it (DirectoryMode=)
  sd_write_units "$dir" || return 1
  fe_localize "$FE_SRC/conf/nginx/autional-admin.conf" "$dir/autional-admin.conf" "$dir" &&
    fe_nginx_conf "$dir" "$port" || return 1
  FE_OUT=$dir/systemd.out FE_PIDFILE=$dir/unshare.pid
  fe_serve env SYSTEMD_UNIT_PATH="$dir/units" unshare --pid --fork --mount --mount-proc \
    --propagation private "$SYSTEMD_BIN" --system --unit=autional-test.target \
    --log-target=console --show-status=no
  wait_until 10 sd_child "$dir/unshare.pid" ||
    { warn "systemd did not start"; nginx_systemd_stop "$dir"; return 1; }
  pid=$(sd_child "$dir/unshare.pid")
  echo "$pid" >"$dir/systemd.pid"
  if ! wait_until 20 test -S "$dir/run/admin.sock"; then
    sd "$dir" status autional-admin.socket >&2
    warn "systemd made no socket $dir/run/admin.sock"; nginx_systemd_stop "$dir"; return 1
  fi
  fe_nginx_run "$dir" "$port" || { nginx_systemd_stop "$dir"; return 1; }
  FE_BASE_URL="http://127.0.0.1:$port"
  FE_APP_LOG="$dir/app.log"
}

# sd_host_pid DIR UNIT: the unit's main process as a pid of the host (systemd
# reports pids of its namespace; /proc/PID/status NSpid maps them).
sd_host_pid() {
  local nspid p
  nspid=$(sd_show "$1" "$2" MainPID)
  [ -n "$nspid" ] && [ "$nspid" != 0 ] || return 1
  for p in $(fe_workers "$1/libexec/autional-admin.fcgi"); do
    [ "$(awk '/^NSpid:/ {print $NF}' "/proc/$p/status" 2>/dev/null)" = "$nspid" ] &&
      { echo "$p"; return 0; }
  done
  return 1
}

# sd_check_restart DIR UNIT PROBE...: kill -9 the unit's worker; PROBE must then
# succeed FE_PROBES times in a row, and systemd must have started a new worker
# (NRestarts + 1).  For the socket unit's service the probes start at once (the
# socket stays open: requests wait in its backlog); for the spawn unit, whose
# socket is gone until RestartSec has passed, after the first success (10 s at most).
sd_check_restart() {
  local dir=$1 unit=$2 old new n0 n1 i good=0 waited=; shift 2
  old=$(sd_host_pid "$dir" "$unit") || { fe_fail "$unit: no worker to kill"; return; }
  n0=$(sd_show "$dir" "$unit" NRestarts)
  kill -KILL "$old"
  wait_until 10 pid_gone "$old"
  if [ "$unit" != autional-admin.service ]; then
    wait_until 10 "$@"
    waited=" (after RestartSec)"
  fi
  for ((i = 0; i < FE_PROBES; i++)); do "$@" >/dev/null && good=$((good + 1)); done
  fe_expect "$unit: after kill -9 of worker $old the next $FE_PROBES requests$waited are answered ($good/$FE_PROBES)" \
    test "$good" = "$FE_PROBES"
  new=$(sd_host_pid "$dir" "$unit")
  n1=$(sd_show "$dir" "$unit" NRestarts)
  fe_expect "$unit: Restart= replaced the worker (pid $old -> ${new:-none}, NRestarts $n0 -> $n1)" \
    test -n "$new" -a "$new" != "$old" -a "$n1" = $((n0 + 1))
}

# sd_worker_user DIR UNIT: the user the unit's worker runs as.
sd_worker_user() {
  local p
  p=$(sd_host_pid "$1" "$2") && ps -o user= -p "$p" | tr -d ' '
}

nginx_systemd_checks() {
  local dir=$1 u
  fe_checks_begin "nginx in front of a real systemd (socket activation, spawn-fcgi)"
  fe_expect "nginx -t accepts the shipped conf/nginx/autional-admin.conf" \
    grep -q 'test is successful' "$dir/configtest.log"
  fe_expect "probe through nginx answered by the program: Authorization passed" fe_probe "$FE_BASE_URL"
  json_refusal_checks "$FE_BASE_URL"
  u=$(sd_show "$dir" autional-admin.service ActiveState)
  fe_expect "autional-admin.service started by its socket: $u" test "$u" = active
  u=$(sd_worker_user "$dir" autional-admin.service)
  fe_expect "autional-admin.service runs as $FE_APP_USER (User=): ${u:-none}" test "$u" = "$FE_APP_USER"
  fe_check_socket "$dir/run/admin.sock" "660 $FE_APP_USER $FE_WEB_USER"
  sd_check_restart "$dir" autional-admin.service fe_probe "$FE_BASE_URL"

  # autional-admin-spawn.service in the same systemd, probed on its own socket.
  if sd "$dir" start autional-admin-spawn.service &&
     wait_until 10 test -S "$dir/run-spawn/admin.sock"; then
    fe_pass "autional-admin-spawn.service started: socket $dir/run-spawn/admin.sock"
  else
    fe_fail "autional-admin-spawn.service did not start"
    sd "$dir" status autional-admin-spawn.service 2>&1 | sed 's/^/   /'
  fi
  u=$(sd_worker_user "$dir" autional-admin-spawn.service)
  fe_expect "autional-admin-spawn.service: the worker is the main process, as $FE_APP_USER (-u): ${u:-none}" \
    test "$u" = "$FE_APP_USER"
  fe_check_socket "$dir/run-spawn/admin.sock" "660 $FE_WEB_USER $FE_WEB_USER"
  sd_check_restart "$dir" autional-admin-spawn.service \
    fe_fcgi_as "$FE_WEB_USER" "$dir/run-spawn/admin.sock"
  fe_checks_end
}

nginx_systemd_stop() {
  local dir=$1 pid
  fe_nginx_stop "$dir"
  pid=$(read_pid "$dir/systemd.pid")
  if pid_alive "$pid"; then
    # Stop the services the way systemd does (SIGTERM, the request in flight
    # completes), then end the namespace: its PID 1 killed, the kernel kills the rest.
    sd "$dir" stop autional-admin-spawn.service autional-admin.service autional-admin.socket \
      >/dev/null 2>&1
    kill -KILL "$pid"
    wait_until 10 pid_gone "$pid"
  fi
  stop_pid "$(read_pid "$dir/unshare.pid")" 5
  rm -f "$dir/systemd.pid" "$dir/unshare.pid"
  fe_kill_workers "$dir/libexec/autional-admin.fcgi"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  fe_main nginx_systemd
fi
