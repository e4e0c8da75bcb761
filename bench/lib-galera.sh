# shellcheck shell=bash
# bench/lib-galera.sh: bench/run's rows against a 3-node Galera cluster, next to its single server (sourced by bench/run when BENCH_DB=galera).
#
# Sourced by bench/run near its top (BENCH_DB=galera); galera_bench runs after
# bench/run's own rows and table, in the same run, with the same program and
# the same data set (bench/gen-data, loaded through node 1), and writes a
# second table to WORK/table-galera.md (bench/run prints it): bench/run's (a) and (b) on the single server beside the same
# rows against the cluster, the failover time, and the token INSERT rate
# with writers on all three nodes at once (bench/insert_rate.c, with its
# count of INSERTs refused by a certification conflict, 1213).
#
# The cluster is tests/galera/cluster.sh's (mariadbd as mysql, rsync SST,
# short evs timeouts) with room for the data set.  The program runs as in
# production: db_servers lists the three nodes, GALERA_WORKERS workers (3)
# under one lighttpd, each starting on the node of its process id.
#
# Environment (besides bench/run's):
#   HOT_TOKENS=200000 HOT_USERS=40000 C_PAGE=4000   the data set of both the
#       single server and the cluster (set here unless given): the 1.1M-token
#       set would take minutes to load through one Galera node on 2 cores
#   GALERA_BUFFER_POOL=512M GALERA_GCACHE=256M   per node
#   GALERA_WORKERS=3         the program's workers against the cluster
#   FAILOVER_SECONDS=16 FAILOVER_KILL_AT=6   the failover run: wrk -t1 -c8 on
#       (a) plus 4 probing clients for FAILOVER_SECONDS, the node of a worker
#       killed with -9 FAILOVER_KILL_AT seconds in
#   GALERA_INSERT_COUNT=5000  INSERTs per writer connection (INSERT_THREADS
#       connections on each node)

export HOT_TOKENS=${HOT_TOKENS:-200000}
export HOT_USERS=${HOT_USERS:-40000}
C_PAGE=${C_PAGE:-4000}
GALERA_BUFFER_POOL=${GALERA_BUFFER_POOL:-512M}
GALERA_GCACHE=${GALERA_GCACHE:-256M}
GALERA_WORKERS=${GALERA_WORKERS:-3}
FAILOVER_SECONDS=${FAILOVER_SECONDS:-16}
FAILOVER_KILL_AT=${FAILOVER_KILL_AT:-6}
GALERA_INSERT_COUNT=${GALERA_INSERT_COUNT:-5000}

# shellcheck source=../tests/galera/cluster.sh
. "$BENCH_DIR/../tests/galera/cluster.sh"

GALERA_DIR='' GALERA_LT=''
declare -A GALERA_ROW

galera_node() { galera_node_dir "$GALERA_DIR" "$1"; }
# galera_sql N [mariadb args]: the administrator on node N, in the database, causal.
galera_sql() {
  local n=$1; shift
  mariadb --no-defaults -S "$(mariadb_socket "$(galera_node "$n")")" -u "$(id -un)" -N -B \
    --init-command="SET SESSION wsrep_sync_wait = 1" "$DB" "$@"
}
galera_pids() { local n; for ((n = 1; n <= GALERA_NODES; n++)); do printf '%s\n' "$(read_pid "$(galera_node "$n")/server.pid")"; done; }

# galera_bench_cleanup: bench/run's cleanup calls it.
galera_bench_cleanup() {
  [ -n "$GALERA_LT" ] && bench_lighttpd_stop "$GALERA_LT"
  [ -n "$GALERA_DIR" ] && galera_stop "$GALERA_DIR"
  return 0
}

# galera_setup: the cluster, the schema and accounts (through node 1), the
# data set, one sweep per node (as on the single server), the program's
# configuration with db_servers listing every node.
galera_setup() {
  local n servers='' t0 f
  GALERA_DIR=$WORK/cluster
  step "galera: starting a $GALERA_NODES-node cluster (buffer pool $GALERA_BUFFER_POOL, gcache $GALERA_GCACHE per node)"
  t0=$SECONDS
  galera_start "$GALERA_DIR" || return 1
  GALERA_ROW[start]="$((SECONDS - t0)) s"
  mariadb_setup "$(galera_node 1)" "$SRC" || return 1
  for ((n = 2; n <= GALERA_NODES; n++)); do
    for f in app purge migrate; do install -m 600 "$(galera_node 1)/$f-password" "$(galera_node "$n")/$f-password"; done
  done
  step "galera: loading the same data set through node 1 (bench/gen-data)"
  t0=$SECONDS
  "$BENCH_DIR/gen-data" --no-defaults -S "$(mariadb_socket "$(galera_node 1)")" -u "$(id -un)" "$DB" \
    >"$WORK/gen-data-galera.log" 2>&1 || { cat "$WORK/gen-data-galera.log" >&2; return 1; }
  GALERA_ROW[load]="$((SECONDS - t0)) s through node 1 ($(grep '^gen-data: loaded' "$WORK/gen-data-galera.log"))"
  step "galera: ${GALERA_ROW[load]}"
  # The load's write sets are applied on nodes 2 and 3 after node 1 committed them.
  galera_applied || return 1
  for ((n = 1; n <= GALERA_NODES; n++)); do
    mariadb_write_config "$(galera_node "$n")" "$WORK/purge-node$n.conf" 100 purge || return 1
    # As bench/run's own configuration: a sweep's first batches replicate
    # tens of thousands of rows each, a COMMIT longer than the tests' 3 s.
    sed -i 's/^db_read_timeout = .*/db_read_timeout = 30/; s/^db_write_timeout = .*/db_write_timeout = 30/' \
      "$WORK/purge-node$n.conf"
    if [ -n "$HAS_SWEEP" ]; then
      "$CTL" --config "$WORK/purge-node$n.conf" sweep --json >"$WORK/sweep-node$n.log" 2>&1 ||
        { cat "$WORK/sweep-node$n.log" >&2; return 1; }
    fi
    servers+="${servers:+, }$(mariadb_socket "$(galera_node "$n")")"
  done
  GALERA_CONF=$WORK/app-galera.conf
  (umask 077 && sed -e "s|^db_socket = .*|db_servers = $servers|" \
    -e "s|^db_password = .*|db_password = $(mariadb_account_password "$(galera_node 1)" api)|" \
    "$CONF" >"$GALERA_CONF") || return 1
}

# galera_applied: until every node's queue of write sets to apply is empty
# (at most 10 minutes).
galera_applied() {
  local n i q
  for ((i = 0; i < 3000; i++)); do
    q=0
    for ((n = 1; n <= GALERA_NODES; n++)); do
      q=$((q + $(galera_sql "$n" -e "SHOW GLOBAL STATUS LIKE 'wsrep_local_recv_queue'" | cut -f2)))
    done
    ((q == 0)) && return 0
    sleep 0.2
  done
  echo "galera: the nodes did not catch up with the load" >&2
  return 1
}

# galera_workers_nodes: how many of the program's sessions each node holds ("1/1/1").
galera_workers_nodes() {
  local n out='' user
  user=$(mariadb_account_user api)
  for ((n = 1; n <= GALERA_NODES; n++)); do
    out+="${out:+/}$(galera_sql "$n" -e "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE user = '$user'")"
  done
  echo "$out"
}

# galera_count_active CLIENT: bench/run's count_active on node 1, causal.
galera_count_active() {
  # shellcheck disable=SC2059
  galera_sql 1 -e "$(printf "$ACTIVE_TOKENS_SQL" "$1")"
}

# galera_row KEY PATH CLIENT: bench/run's measure_row against the cluster, as
# row galera-KEY; its CPU per request sums the three mariadbd.
galera_row() {
  URL=$GALERA_URL ROW_LT=$GALERA_LT ROW_DB_PIDS="$(galera_pids | tr '\n' ' ')" \
    ROW_COUNT=galera_count_active measure_row "galera-$1" "$2" "$3"
}

# galera_failover: wrk load and 4 probing clients on (a); the node the first
# worker uses is killed with -9.  Reports the answers that were not 200, the
# time from the kill until the last answer that was not a prompt (< 1 s) 200,
# and the slowest answer; then the node rejoins by IST.
galera_failover() {
  local user victim n t_kill out t0
  user=$(mariadb_account_user api)
  victim=
  for ((n = 1; n <= GALERA_NODES; n++)); do
    [ "$(galera_sql "$n" -e "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE user = '$user'")" -gt 0 ] &&
      { victim=$n; break; }
  done
  [ -n "$victim" ] || { echo "no node holds a worker's session" >&2; return 1; }
  step "galera: failover: wrk -t1 -c8 and 4 probes on (a) for ${FAILOVER_SECONDS}s; node $victim killed -9 at ${FAILOVER_KILL_AT}s"
  wrk -t1 -c8 -d"${FAILOVER_SECONDS}s" --latency --timeout 30s -H "$AUTH" "$GALERA_URL$A_PATH" \
    >"$WORK/wrk-galera-failover.txt" 2>&1 &
  python3 - "$GALERA_URL$A_PATH" "$TOKEN" "$FAILOVER_SECONDS" "$WORK/failover-probe.txt" <<'PY' &
import http.client, sys, threading, time, urllib.parse
url, token, seconds, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
u = urllib.parse.urlsplit(url)
rows, lock = [], threading.Lock()
def probe():
    end = time.time() + seconds
    conn = None
    while time.time() < end:
        t0 = time.time()
        try:
            if conn is None:
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
            conn.request("GET", u.path, headers={"Authorization": "Bearer " + token})
            r = conn.getresponse(); r.read(); status = r.status
        except Exception:
            status = 0; conn = None
        with lock:
            rows.append((t0, time.time(), status))
threads = [threading.Thread(target=probe) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
with open(out, "w") as f:
    for r in rows: f.write("%.6f %.6f %d\n" % r)
PY
  sleep "$FAILOVER_KILL_AT"
  t_kill=$(date +%s.%N)
  galera_node_kill "$(galera_node "$victim")"
  wait
  out=$(awk -v k="$t_kill" '
    $2 >= k { n++; if ($3 != 200) bad++; d = $2 - $1; if (d > slow) slow = d
              if ($3 != 200 || d >= 1) { if ($2 - k > last) last = $2 - k } }
    END { printf "%d|%d|%.2f|%.2f", n, bad, last, slow }' "$WORK/failover-probe.txt")
  IFS='|' read -r n GALERA_FO_BAD GALERA_FO_BACK GALERA_FO_SLOW <<<"$out"
  GALERA_FO_WRK=$(awk '/requests in/ { r = $1 } /Non-2xx or 3xx responses:/ { b = $NF }
    /Socket errors:/ { s = $0 } / +Max/ { } END { printf "%s requests, %d non-2xx%s", r, b, (s ? "; " s : "") }' \
    "$WORK/wrk-galera-failover.txt")
  GALERA_FO_WRK+=", latency max $(awk '$1 == "Latency" { print $4 }' "$WORK/wrk-galera-failover.txt")"
  GALERA_FO_NOTE="node $victim killed; the probes' $n answers after the kill: $GALERA_FO_BAD not 200; wrk: $GALERA_FO_WRK"
  step "galera: failover: prompt 200s again ${GALERA_FO_BACK} s after the kill, slowest ${GALERA_FO_SLOW} s; $GALERA_FO_NOTE"
  t0=$SECONDS
  galera_node_rejoin "$(galera_node "$victim")" || return 1
  GALERA_ROW[rejoin]="$((SECONDS - t0)) s (by $(galera_join_method "$(galera_node "$victim")"), --wsrep-recover included)"
}

# galera_inserts NODES...: INSERT_THREADS writer connections on each node
# given, GALERA_INSERT_COUNT INSERTs each, all at once; prints
# "RATE CONFLICTS SECONDS" (committed INSERTs per second over the slowest node).
galera_inserts() {
  local n p client ufirst ulast pids=() total=0 conflicts=0 slowest=0 line failed=
  read -r client ufirst ulast < <(galera_sql 1 -e "
    SELECT c.id, MIN(u.id), MAX(u.id) FROM oauth_clients c JOIN users u ON u.tenant_id = c.tenant_id
     WHERE c.client_id = 'cli_bench_hot' GROUP BY c.id")
  for n in "$@"; do
    "$WORK/bin/insert_rate" -S "$(mariadb_socket "$(galera_node "$n")")" -u "$(id -un)" -D "$DB" -c "$client" \
      -U "$ufirst" -n $((ulast - ufirst + 1)) -t "$INSERT_THREADS" -i "$GALERA_INSERT_COUNT" -s $((RANDOM + 100 * n)) \
      >"$WORK/insert-node$n.txt" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  [ -z "$failed" ] || { cat "$WORK"/insert-node*.txt >&2; return 1; }
  for n in "$@"; do
    line=$(tail -n 1 "$WORK/insert-node$n.txt")
    [[ $line == inserts=* ]] || { cat "$WORK/insert-node$n.txt" >&2; return 1; }
    total=$((total + $(sed 's/.*inserts=\([0-9]*\).*/\1/' <<<"$line")))
    conflicts=$((conflicts + $(sed 's/.*conflicts=\([0-9]*\).*/\1/' <<<"$line")))
    slowest=$(awk -v a="$slowest" -v b="$(sed 's/.*seconds=\([0-9.]*\).*/\1/' <<<"$line")" 'BEGIN { print (b > a ? b : a) }')
  done
  awk -v t="$total" -v s="$slowest" -v c="$conflicts" 'BEGIN { printf "%.0f %d %.2f\n", t / s, c, s }'
}

# galera_totals_exact: the API's total for cli_bench_hot equals COUNT(*) of
# its active tokens on every node (after the writers).
galera_totals_exact() {
  local n api count out='' same=1
  api=$(curl -s -H "$AUTH" "$GALERA_URL$B_PATH" | jq -r '.total')
  for ((n = 1; n <= GALERA_NODES; n++)); do
    count=$(galera_sql "$n" -e "SELECT COUNT(*) FROM oauth_tokens k JOIN oauth_clients c ON c.id = k.oauth_client_id
       WHERE c.client_id = 'cli_bench_hot' AND k.revoked_at IS NULL AND k.expires_at > UTC_TIMESTAMP()")
    out+="${out:+, }node $n $count"
    [ "$count" = "$api" ] || same=
  done
  if [ -n "$same" ]; then echo "exact: the API's total $api = COUNT(*) on every node"
  else echo "NOT EXACT: the API's total $api; COUNT(*): $out"; fi
}

galera_bench() {
  local port p r
  galera_setup || return 1
  port=$(bench_free_port $((PORT + 1)) "$PORT_TO") || return 1
  GALERA_LT=$WORK/lt-galera GALERA_URL=http://127.0.0.1:$port
  step "galera: lighttpd on 127.0.0.1:$port, $GALERA_WORKERS workers, db_servers = the $GALERA_NODES nodes"
  bench_lighttpd_start "$GALERA_LT" "$port" "$PROG" "$GALERA_CONF" "$BASE" "$REF" "$GALERA_WORKERS" || return 1
  for p in "$A_PATH" "$B_PATH"; do URL=$GALERA_URL run_wrk warmup "$WRK_THREADS" "$WRK_CONNS" "$WARMUP" "$p"; done
  GALERA_ROW[spread]=$(galera_workers_nodes)
  galera_row a "$A_PATH" cli_bench_small
  galera_row b "$B_PATH" cli_bench_hot
  galera_failover || return 1
  step "galera: INSERT rate, $INSERT_THREADS writers on each node x $GALERA_INSERT_COUNT, all three at once, then on node 1 alone"
  r=$(galera_inserts 1 2 3) || return 1
  GALERA_ROW[ins3]=$r
  r=$(galera_inserts 1) || return 1
  GALERA_ROW[ins1]=$r
  GALERA_ROW[exact]=$(galera_totals_exact)
  step "galera: inserts on 3 nodes: ${GALERA_ROW[ins3]}; node 1 alone: ${GALERA_ROW[ins1]}; ${GALERA_ROW[exact]}"
  galera_table >"$WORK/table-galera.md"
}

galera_table() {
  local r s g
  grow() { # NAME KEY: bench/run's row KEY beside its cluster row galera-KEY
    local g=galera-$2
    printf '| %s | %s / %s | %.2f / %.2f | %.2f / %.2f | %s / %s | %s / %s | %s / %s | %s |\n' "$1" \
      "${ROW_RPS[$2]}" "${ROW_RPS[$g]}" "${ROW_P50[$2]}" "${ROW_P50[$g]}" "${ROW_P99[$2]}" "${ROW_P99[$g]}" \
      "${ROW_CPU_DB[$2]}" "${ROW_CPU_DB[$g]}" "${ROW_CPU_WORKERS[$2]}" "${ROW_CPU_WORKERS[$g]}" \
      "${ROW_CPU_LT[$2]}" "${ROW_CPU_LT[$g]}" "single: ${ROW_NOTE[$2]}; cluster: ${ROW_NOTE[$g]}"
  }
  echo
  echo "BENCH_DB=galera: the same rows against a $GALERA_NODES-node Galera cluster on this host (tests/galera/cluster.sh,"
  echo "buffer pool $GALERA_BUFFER_POOL and gcache $GALERA_GCACHE per node), the program's $GALERA_WORKERS workers"
  echo "with db_servers listing every node (their sessions per node: ${GALERA_ROW[spread]}); data set"
  echo "HOT_TOKENS=$HOT_TOKENS on both; cluster started in ${GALERA_ROW[start]}, loaded in ${GALERA_ROW[load]}"
  echo
  echo "| measurement | req/s single / cluster | p50 ms | p99 ms | mariadbd us/req (cluster: 3 nodes) | workers us/req | lighttpd us/req | notes |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
  grow "(a) small client, page 1" a
  grow "(b) hot client, page 1" b
  echo
  echo "| cluster measurement | figure | notes |"
  echo "| --- | --- | --- |"
  echo "| failover: kill -9 of a worker's node under load, until every answer is a prompt (< 1 s) 200 again | ${GALERA_FO_BACK} s | slowest answer ${GALERA_FO_SLOW} s; $GALERA_FO_NOTE |"
  echo "| the killed node's rejoin | ${GALERA_ROW[rejoin]} | |"
  read -r r s g <<<"${GALERA_ROW[ins3]}"
  echo "| token INSERTs, $INSERT_THREADS writers on each of the 3 nodes at once | $r/s | $s refused with 1213 (certification conflicts); $((3 * INSERT_THREADS * GALERA_INSERT_COUNT)) INSERTs in $g s; ${GALERA_ROW[exact]} |"
  read -r r s g <<<"${GALERA_ROW[ins1]}"
  echo "| token INSERTs, $INSERT_THREADS writers on node 1 alone | $r/s | $s refused with 1213; $((INSERT_THREADS * GALERA_INSERT_COUNT)) INSERTs in $g s (single server: bench/run's insert-rate row above) |"
}
