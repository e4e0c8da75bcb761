# common.sh: helpers shared by tests/run and scripts/demo (sourced, bash).

# Debian packages each command needs (see ../shared/NOTES.md for why each is there).
BUILD_PACKAGES="build-essential autoconf automake libtool pkg-config libfcgi-dev libjson-c-dev
  default-libmysqlclient-dev libssl-dev"
DEMO_PACKAGES="$BUILD_PACKAGES procps mariadb-server mariadb-client lighttpd curl jq"
TEST_PACKAGES="$DEMO_PACKAGES apache2 libapache2-mod-fcgid spawn-fcgi libfcgi-bin
  nginx-light wrk clang libclang-rt-14-dev valgrind python3 python3-yaml python3-jsonschema
  chromium chromium-driver python3-selenium
  systemd"

say() { printf '%s\n' "$*"; }
note() { printf '== %s\n' "$*"; }
warn() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { warn "$*"; exit 1; }

# wait_until SECONDS COMMAND...: poll COMMAND every 0.2 s; fail after SECONDS.
wait_until() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# pid_alive PID: the process exists and is not a zombie (an exited child that no
# one reaped yet still answers kill -0).
pid_alive() {
  local st
  [ -n "${1:-}" ] && st=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $st != Z* ]]
}
pid_gone() { ! pid_alive "$1"; }

# stop_pid PID [SECONDS]: SIGTERM, wait up to SECONDS (default 20), then SIGKILL.
stop_pid() {
  local pid=$1 grace=${2:-20}
  pid_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null
  if ! wait_until "$grace" pid_gone "$pid"; then
    warn "pid $pid ignored SIGTERM for ${grace}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null
    wait_until 5 pid_gone "$pid"
  fi
  return 0
}

# read_pid FILE: print the pid stored in FILE, if any.
read_pid() { [ -s "$1" ] && tr -dc '0-9' <"$1"; }

# ensure_packages PKG...: install the Debian packages that are missing.
# apt-get update runs only when a plain install fails (fresh machines have no lists).
# Services that packages would start (mariadb, apache2, nginx) are held back with a
# temporary policy-rc.d: everything here runs private servers of its own.
ensure_packages() {
  local p missing=() installed
  # One dpkg-query for all (one per package costs seconds).
  installed=" $(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null |
    awk '/ install ok installed$/ { printf "%s ", $1 }') "
  for p in "$@"; do
    [[ $installed == *" $p "* ]] || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  note "installing missing Debian packages: ${missing[*]}"
  [ "$(id -u)" = 0 ] ||
    { warn "run as root, or install first: apt-get install ${missing[*]}"; return 1; }
  local policy=/usr/sbin/policy-rc.d made_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=1
  fi
  local rc=0
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends "${missing[@]}" ||
    { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; } ||
    rc=$?
  [ -n "$made_policy" ] && rm -f "$policy"
  ((rc == 0)) || { warn "apt-get install failed (exit $rc)"; return 1; }
}

# free_port: print a TCP port on 127.0.0.1 that nobody listens on right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# port_answers PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

random_secret() { od -An -tx1 -N16 /dev/urandom | tr -d ' \n'; }

# check_socket_path PATH: unix socket paths are limited to 107 bytes.
check_socket_path() {
  ((${#1} <= 100)) ||
    { warn "socket path too long (${#1} bytes, max 100): $1; use a shorter directory"; return 1; }
}
