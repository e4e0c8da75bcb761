#!/usr/bin/env bash
# mariadb.sh: a private MariaDB server in one directory (no root, no system service).
#
# Sourced by tests/run and scripts/demo; also a command, so whole-stack suites can
# simulate outages:  tests/lib/mariadb.sh start|stop|kill|restart|sql DIR [mariadb args]
#
# Layout of DIR: data/ (datadir), tmp/ (tmpdir: a server starting removes every
# #sql* file in its tmpdir, so with a shared /tmp it breaks the
# mariadb-install-db of another one starting at the same time), mysqld.sock,
# server.pid, error.log, install.log, app-password, purge-password,
# migrate-password (the three accounts' passwords,
# mode 600).  All state lives in files, so
# any process can stop or restart a server another one started.

MARIADB_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$MARIADB_LIB_DIR/common.sh"

MARIADB_DB=${MARIADB_DB:-autional}
# The three accounts of sql/accounts.sql: the API's, the purge job's, and the
# schema owner's (migrations and the other autionalctl commands).
MARIADB_APP_USER=${MARIADB_APP_USER:-autional}
MARIADB_PURGE_USER=${MARIADB_PURGE_USER:-autional_purge}
MARIADB_MIGRATE_USER=${MARIADB_MIGRATE_USER:-autional_migrate}
MARIADB_START_TIMEOUT=${MARIADB_START_TIMEOUT:-60}
# Small and fast for tests; a benchmark wants e.g. MARIADB_BUFFER_POOL=2G.
MARIADB_BUFFER_POOL=${MARIADB_BUFFER_POOL:-64M}
MARIADB_EXTRA_OPTS=${MARIADB_EXTRA_OPTS:-}   # more mariadbd options, split on blanks

mariadb_socket() { printf '%s/mysqld.sock' "$1"; }
# The administrative account: install-db makes one for the OS user, authenticated
# by the unix socket (root@localhost when run as root).
mariadb_admin_user() { id -un; }

# mariadb_sql DIR [ARGS...]: the mariadb client as the administrative account.
mariadb_sql() {
  local dir=$1; shift
  mariadb --no-defaults -S "$(mariadb_socket "$dir")" -u "$(mariadb_admin_user)" "$@"
}

mariadb_ping() {
  mariadb-admin --no-defaults -S "$(mariadb_socket "$1")" -u "$(mariadb_admin_user)" \
    --connect-timeout=2 ping >/dev/null 2>&1
}

# mariadb_init DIR: create the datadir unless it exists already.
mariadb_init() {
  local dir=$1
  [ -d "$dir/data/mysql" ] && return 0
  mkdir -p "$dir/data" "$dir/tmp"
  check_socket_path "$(mariadb_socket "$dir")" || return 1
  if ! mariadb-install-db --no-defaults --datadir="$dir/data" --tmpdir="$dir/tmp" --user="$(id -un)" \
       --auth-root-authentication-method=socket --skip-test-db \
       --skip-name-resolve --force \
       >"$dir/install.log" 2>&1; then
    tail -n 20 "$dir/install.log" >&2
    { warn "mariadb-install-db failed; see $dir/install.log"; return 1; }
  fi
}

# mariadb_start DIR: start the server (initialising DIR first if needed) and wait
# until it answers; when it runs already, only the waiting.
mariadb_start() {
  local dir pid
  dir=$(mkdir -p "$1" && cd "$1" && pwd) || { warn "cannot create $1"; return 1; }
  pid=$(read_pid "$dir/server.pid")
  if ! pid_alive "$pid"; then
    mariadb_init "$dir" || return 1
    rm -f "$(mariadb_socket "$dir")"
    # Started from a subshell so it is nobody's job: whoever stops or kills it later,
    # no shell reports "Killed".
    mkdir -p "$dir/tmp"
    (mariadbd --no-defaults --datadir="$dir/data" --tmpdir="$dir/tmp" --socket="$(mariadb_socket "$dir")" \
      --skip-networking --user="$(id -un)" \
      --pid-file="$dir/mariadbd.pid" --log-error="$dir/error.log" \
      --default-time-zone=+00:00 --innodb-buffer-pool-size="$MARIADB_BUFFER_POOL" \
      --innodb-flush-log-at-trx-commit=2 --skip-name-resolve $MARIADB_EXTRA_OPTS \
      </dev/null >>"$dir/error.log" 2>&1 &
      echo $! >"$dir/server.pid")
    pid=$(read_pid "$dir/server.pid")
  fi
  local deadline=$((SECONDS + MARIADB_START_TIMEOUT))
  until mariadb_ping "$dir"; do
    if ! pid_alive "$pid"; then
      tail -n 20 "$dir/error.log" >&2
      warn "mariadbd exited during start-up; see $dir/error.log"; return 1
    fi
    if ((SECONDS >= deadline)); then
      tail -n 20 "$dir/error.log" >&2
      warn "mariadbd did not answer within ${MARIADB_START_TIMEOUT}s; see $dir/error.log"; return 1
    fi
    sleep 0.2
  done
}

# mariadb_stop DIR: SIGTERM (clean shutdown), SIGKILL after 30 s.
mariadb_stop() {
  local pid
  pid=$(read_pid "$1/server.pid")
  stop_pid "$pid" 30
  rm -f "$1/server.pid"
}

# mariadb_kill DIR: kill -9, as a crash or an outage would.
mariadb_kill() {
  local pid
  pid=$(read_pid "$1/server.pid")
  if pid_alive "$pid"; then
    kill -KILL "$pid" 2>/dev/null
    wait_until 10 pid_gone "$pid"
  fi
  rm -f "$1/server.pid"
}

mariadb_restart() { mariadb_stop "$1" && mariadb_start "$1"; }

# mariadb_account_user api|purge|migrate: the account's MariaDB user name.
mariadb_account_user() {
  case $1 in
    api) printf '%s' "$MARIADB_APP_USER" ;;
    purge) printf '%s' "$MARIADB_PURGE_USER" ;;
    migrate) printf '%s' "$MARIADB_MIGRATE_USER" ;;
    *) warn "unknown account: $1"; return 1 ;;
  esac
}

# mariadb_account_password DIR api|purge|migrate
mariadb_account_password() {
  case $2 in api) cat "$1/app-password" ;; *) cat "$1/$2-password" ;; esac
}

# mariadb_setup DIR SRCDIR [PASSWORD]: the database and its three accounts, as
# README tells an operator: the schema owner gets ALL PRIVILEGES on the database
# and applies every SRCDIR/sql/[0-9]*.sql migration in order (so it is the
# triggers' DEFINER, as in production); then SRCDIR/sql/accounts.sql gives the
# API's and the purge job's accounts their narrow grants.  PASSWORD is the
# API's (default random); the others are always random.
mariadb_setup() {
  local dir=$1 src=$2 pw=${3:-} purge_pw migrate_pw f
  local api purge migrate
  api=$(mariadb_account_user api) purge=$(mariadb_account_user purge)
  migrate=$(mariadb_account_user migrate)
  [ -n "$pw" ] || pw=$(random_secret)
  purge_pw=$(random_secret) migrate_pw=$(random_secret)
  (umask 077 && printf '%s\n' "$pw" >"$dir/app-password" &&
    printf '%s\n' "$purge_pw" >"$dir/purge-password" &&
    printf '%s\n' "$migrate_pw" >"$dir/migrate-password")
  mariadb_sql "$dir" <<SQL || { warn "cannot create the database and its accounts"; return 1; }
CREATE DATABASE IF NOT EXISTS \`$MARIADB_DB\` CHARACTER SET utf8mb4;
CREATE OR REPLACE USER '$api'@'localhost' IDENTIFIED BY '$pw';
CREATE OR REPLACE USER '$purge'@'localhost' IDENTIFIED BY '$purge_pw';
CREATE OR REPLACE USER '$migrate'@'localhost' IDENTIFIED BY '$migrate_pw';
GRANT ALL PRIVILEGES ON \`$MARIADB_DB\`.* TO '$migrate'@'localhost';
SQL
  for f in "$src"/sql/[0-9]*.sql; do
    [ -e "$f" ] || continue
    MYSQL_PWD=$migrate_pw mariadb --no-defaults -S "$(mariadb_socket "$dir")" \
      -u "$migrate" "$MARIADB_DB" <"$f" || { warn "migration failed: $f"; return 1; }
  done
  # accounts.sql names the default users; other names are written in.
  sed -e "s/'autional'@/'$api'@/g" -e "s/'autional_purge'@/'$purge'@/g" \
    "$src/sql/accounts.sql" | mariadb_sql "$dir" "$MARIADB_DB" ||
    { warn "cannot grant the accounts' privileges (sql/accounts.sql)"; return 1; }
}

# mariadb_load DIR FILE: run one SQL file in the database as the administrator.
mariadb_load() {
  mariadb_sql "$1" "$MARIADB_DB" <"$2" || { warn "loading $2 failed"; return 1; }
}

# mariadb_write_config DIR FILE [page_size_max] [api|purge|migrate]: a config
# file for this server with one account (default the API's); the program and
# autionalctl read the same format.  Timeouts are short so an outage becomes a
# quick 503, far below the web server's.
mariadb_write_config() {
  local dir=$1 file=$2 max=${3:-100} account=${4:-api} user
  user=$(mariadb_account_user "$account") || return 1
  (umask 077 && cat >"$file" <<EOF
# Generated by tests/lib/mariadb.sh for the private server in $dir ($account account)
db_socket = $(mariadb_socket "$dir")
db_name = $MARIADB_DB
db_user = $user
db_password = $(mariadb_account_password "$dir" "$account")
db_connect_timeout = 2
db_read_timeout = 3
db_write_timeout = 3
page_size_max = $max
EOF
  )
}

# Used as a command rather than sourced.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -u
  [ $# -ge 2 ] || die "usage: $0 start|stop|kill|restart|ping|sql DIR [mariadb args...]"
  cmd=$1 dir=$2; shift 2
  case $cmd in
    start|stop|kill|restart) "mariadb_$cmd" "$dir" ;;
    ping) mariadb_ping "$dir" ;;
    sql) mariadb_sql "$dir" "$MARIADB_DB" "$@" ;;
    *) die "unknown command: $cmd" ;;
  esac
fi
