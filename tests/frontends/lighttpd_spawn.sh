#!/usr/bin/env bash
# lighttpd_spawn.sh: the stage "lighttpd_spawn": lighttpd starts and supervises
# the workers itself, with the shipped conf/lighttpd/autional-admin-spawn.conf.
#
#   tests/frontends/lighttpd_spawn.sh     the whole stage alone (see lib.sh, fe_main)
#   . tests/frontends/lighttpd_spawn.sh   lighttpd_spawn_start DIR PORT PROGRAM CONFIG,
#                                         lighttpd_spawn_checks DIR, lighttpd_spawn_stop DIR
#
# lighttpd starts as root (as under systemd), binds the port, drops to www-data
# (server.username) and spawns max-procs workers as www-data, their sockets in
# DIR/run (www-data, 0750, like Debian's /run/lighttpd).  Files in DIR:
# lighttpd.conf, log/error.log (lighttpd's), log/access.log, app.log (lighttpd's
# stderr, which the workers inherit: FE_APP_LOG).

# shellcheck source=tests/frontends/lib.sh disable=SC2034 # FE_* are read by tests/run
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

lighttpd_spawn_start() {
  local dir port=$2 prog=$3 conf=$4
  fe_require lighttpd:lighttpd curl:curl cgi-fcgi:libfcgi-bin || return 1
  dir=$(mkdir -p "$1" && cd "$1" && pwd) || return 1
  port_answers "$port" && { warn "port $port on 127.0.0.1 is in use already"; return 1; }
  fe_install "$dir" "$prog" "$conf" "$FE_WEB_USER" || return 1
  chown "$FE_WEB_USER:$FE_WEB_USER" "$dir/run" && chmod 0750 "$dir/run"
  fe_localize "$FE_SRC/conf/lighttpd/autional-admin-spawn.conf" "$dir/autional-admin.conf" "$dir" &&
    fe_lighttpd_conf "$dir" "$port" || return 1
  fe_lighttpd_run "$dir" "$port" || { lighttpd_spawn_stop "$dir"; return 1; }
  FE_BASE_URL="http://127.0.0.1:$port"
  FE_APP_LOG="$dir/app.log"
}

lighttpd_spawn_checks() {
  local dir=$1
  fe_checks_begin "lighttpd spawning the workers"
  fe_expect "lighttpd -tt accepts the shipped conf/lighttpd/autional-admin-spawn.conf" \
    test -f "$dir/configtest.log"
  fe_expect "probe through lighttpd answered by the program: Authorization passed" fe_probe "$FE_BASE_URL"
  json_refusal_checks "$FE_BASE_URL"
  # lighttpd gives its sockets no mode of its own: umask 022 makes them 0755,
  # which no other user can connect to (no o+w); the 0750 directory adds a wall.
  fe_check_socket "$dir/run/autional-admin.sock-0" "755 $FE_WEB_USER $FE_WEB_USER"
  fe_check_respawn "$FE_BASE_URL" "$dir/libexec/autional-admin.fcgi"
  fe_checks_end
}

lighttpd_spawn_stop() {
  fe_lighttpd_stop "$1"
  fe_kill_workers "$1/libexec/autional-admin.fcgi"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  fe_main lighttpd_spawn
fi
