#!/usr/bin/env bash
# lighttpd_sockact.sh: the stage "lighttpd_sockact": lighttpd, with the
# shipped conf/lighttpd/autional-admin-socket.conf, in front of the program
# started through systemd-socket-activate as conf/systemd/autional-admin.socket
# and autional-admin.service describe it.
#
#   tests/frontends/lighttpd_sockact.sh     the whole stage alone (lib.sh, fe_main)
#   . tests/frontends/lighttpd_sockact.sh   lighttpd_sockact_start DIR PORT PROGRAM CONFIG,
#                                                   lighttpd_sockact_checks DIR, lighttpd_sockact_stop DIR
#
# From the localized units: ListenStream= is the socket systemd-socket-activate
# creates (then chmod SocketMode=, chown SocketUser:SocketGroup, as systemd
# does); ExecStart= runs with Environment= and, through setpriv, as User=/Group=,
# when the first connection arrives.
# The program gets the socket as fd 3 with LISTEN_FDS=1 and LISTEN_PID, the way
# systemd hands it over.  systemd-socket-activate (without --accept) execs the
# program, so nothing holds the socket once the program is gone: no respawn
# here; the stage nginx_systemd shows Restart= under a real systemd.
# Files in DIR: the localized units, lighttpd.conf, log/, app.log (FE_APP_LOG:
# lighttpd's stderr and the program's).

# shellcheck source=tests/frontends/lib.sh disable=SC2034 # FE_* are read by tests/run
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# sockact_run DIR: the program under systemd-socket-activate, per the units.
sockact_run() {
  local dir=$1 sock mode suser sgroup exec user group envs=() e args=()
  sock=$(fe_unit_value "$dir/autional-admin.socket" ListenStream)
  mode=$(fe_unit_value "$dir/autional-admin.socket" SocketMode)
  suser=$(fe_unit_value "$dir/autional-admin.socket" SocketUser)
  sgroup=$(fe_unit_value "$dir/autional-admin.socket" SocketGroup)
  exec=$(fe_unit_value "$dir/autional-admin.service" ExecStart)
  user=$(fe_unit_value "$dir/autional-admin.service" User)
  group=$(fe_unit_value "$dir/autional-admin.service" Group)
  mapfile -t envs < <(fe_unit_value "$dir/autional-admin.service" Environment)
  for e in "${envs[@]}"; do args+=(-E "$e"); done
  if [ -z "$sock" ] || [ -z "$mode" ] || [ -z "$exec" ] || [ -z "$user" ]; then
    warn "ListenStream/SocketMode/ExecStart/User missing in the units"; return 1
  fi
  rm -f "$sock"
  FE_OUT=$dir/app.log FE_PIDFILE=$dir/socket-activate.pid
  # shellcheck disable=SC2086 # ExecStart= is a word list without quotes
  fe_serve systemd-socket-activate -l "$sock" "${args[@]}" -- \
    setpriv --reuid="$user" --regid="${group:-$user}" --init-groups $exec
  wait_until 10 test -S "$sock" || { tail -n 20 "$dir/app.log" >&2; warn "no socket at $sock"; return 1; }
  # What systemd does with SocketMode=, SocketUser=, SocketGroup= (here a
  # moment after bind(); nothing connects before the web server starts).
  chmod "$mode" "$sock" && chown "${suser:-root}:${sgroup:-root}" "$sock"
}

lighttpd_sockact_start() {
  local dir port=$2 prog=$3 conf=$4 f
  fe_require lighttpd:lighttpd systemd-socket-activate:systemd setpriv:util-linux \
    systemd-analyze:systemd curl:curl cgi-fcgi:libfcgi-bin || return 1
  dir=$(mkdir -p "$1" && cd "$1" && pwd) || return 1
  port_answers "$port" && { warn "port $port on 127.0.0.1 is in use already"; return 1; }
  fe_install "$dir" "$prog" "$conf" "$FE_APP_USER" || return 1
  for f in autional-admin.socket autional-admin.service; do
    fe_localize "$FE_SRC/conf/systemd/$f" "$dir/$f" "$dir" || return 1
  done
  fe_localize "$FE_SRC/conf/lighttpd/autional-admin-socket.conf" "$dir/autional-admin.conf" "$dir" &&
    fe_lighttpd_conf "$dir" "$port" || return 1
  sockact_run "$dir" || { lighttpd_sockact_stop "$dir"; return 1; }
  fe_lighttpd_run "$dir" "$port" || { lighttpd_sockact_stop "$dir"; return 1; }
  FE_BASE_URL="http://127.0.0.1:$port"
  FE_APP_LOG="$dir/app.log"
}

lighttpd_sockact_checks() {
  local dir=$1 exe=$1/libexec/autional-admin.fcgi w p code
  fe_checks_begin "lighttpd in front of systemd-socket-activate"
  fe_expect "systemd-analyze verify conf/systemd/autional-admin.socket + .service" \
    fe_verify_units "$dir/autional-admin.socket" "$dir/autional-admin.service"
  fe_expect "lighttpd -tt accepts the shipped conf/lighttpd/autional-admin-socket.conf" \
    test -f "$dir/configtest.log"
  fe_expect "probe through lighttpd answered by the program: Authorization passed" fe_probe "$FE_BASE_URL"
  json_refusal_checks "$FE_BASE_URL"
  w=$(fe_workers "$exe")
  fe_expect "the program runs as $FE_APP_USER (User=): ${w:+$(ps -o user= -p "$w")}" \
    test -n "$w" -a "$(ps -o user= -p "${w:-1}" | tr -d ' ')" = "$FE_APP_USER"
  fe_check_socket "$dir/run/admin.sock" "660 $FE_APP_USER $FE_WEB_USER"
  # Without systemd nothing holds the socket or restarts the program: kill -9
  # leaves lighttpd without a backend (it answers 503).  Checked, as documented.
  if [ -n "$w" ]; then
    for p in $w; do kill -KILL "$p"; done
    for p in $w; do wait_until 10 pid_gone "$p"; done
    code=$(curl -s -o /dev/null -m 10 -w '%{http_code}' "$FE_BASE_URL/admin/oauth/clients/x/tokens")
    fe_expect "systemd-socket-activate does not respawn: after kill -9 lighttpd answers $code (503 expected)" \
      test "$code" = 503 -a -z "$(fe_workers "$exe")"
    json_refusal_checks "$FE_BASE_URL" no-worker
    fe_expect "started again the same way, the program serves again" sockact_run "$dir"
    # lighttpd retries a backend it found down after "disable-time" (1 s; it
    # looks once a second), answering 503 until then.
    fe_expect "lighttpd uses the backend again within 10 s" wait_until 10 fe_probe "$FE_BASE_URL"
    fe_probe_many "$FE_BASE_URL" "$FE_PROBES"
    fe_expect "after the restart the next $FE_PROBES requests are answered by the program ($FE_PROBE_GOOD/$FE_PROBES)" \
      test "$FE_PROBE_GOOD" = "$FE_PROBES"
  else
    fe_fail "no worker running"
  fi
  fe_checks_end
}

lighttpd_sockact_stop() {
  local dir=$1
  fe_lighttpd_stop "$dir"
  stop_pid "$(read_pid "$dir/socket-activate.pid")" 20
  rm -f "$dir/socket-activate.pid"
  fe_kill_workers "$dir/libexec/autional-admin.fcgi"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  fe_main lighttpd_sockact
fi
