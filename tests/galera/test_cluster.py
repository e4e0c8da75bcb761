#!/usr/bin/env python3
"""test_cluster.py: the program on a 3-node Galera cluster when nodes fail (issue 11, item 5).

Run by tests/galera/run after the whole-stack suites, with the program behind
lighttpd configured with all three nodes (db_servers).  Checks:

1. Causal reads: a bearer token revoked (by SQL) on one node is refused by the
   program on another node on the very next request, and a token revoked
   through the API is gone from the next list on every node; 20 rounds each.
   (The program on one node is the built program run as a CGI with a
   configuration naming only that node.)
2. kill -9 of the node most workers use, under a load of list reads and
   revocations: every response is complete JSON (a 200, or a 503 with
   Retry-After); no request takes longer than db_connect_timeout +
   db_read_timeout + 1.5 s; within RECOVER_WITHIN seconds of the kill every
   request succeeds again (the dead node's workers serve from another node);
   after the node rejoins, every acknowledged revocation is revoked on every
   node, a revocation answered 503 and sent again reports the truth, each
   revoked token has exactly one audit row saying so, and the list's total is
   exact on every node.
3. Losing the majority: with two nodes killed, every request gets a 503 JSON
   with Retry-After within the same bound; once the survivor is bootstrapped
   the program serves again within RECOVER_WITHIN seconds (no restart).
4. Token writers on all three nodes at once (WRITERS_PER_NODE sessions on each
   node, WRITES single-row INSERTs each, through the mariadb client, for one
   client): no 1213 from the counting,
   and on every node the program's total equals COUNT(*) and the rows
   written.  Only with issue 10's node-sharded counting (the table
   oauth_token_totals); before it, a note says the check is not yet possible
   (GALERA_WRITERS=1 runs it anyway: the older counting fails it).
5. `autionalctl migrate` started on two different nodes at the same instant,
   on a fresh database, MIGRATE_ROUNDS times (the database dropped between
   rounds; the node pairs take turns): both exit 0 (the one that finds the
   lock row held waits for it, then finds nothing left to apply), each
   migration is applied by exactly one of them, and on every node the schema
   is the application's, schema_migrations lists each version once and the
   lock row is gone.  (With GET_LOCK alone, which locks one node, the first
   round left node 2 answering 1205 and the cluster unusable.)
6. Write-set limits: with wsrep_max_ws_rows = 50 on every node, `autionalctl
   sweep` and `purge --batch 1000` lower their batches to fit (saying so on
   stderr) and finish, a revocation by user_id answers 200, one of 30 tokens
   (61 rows) answers 200 in batches of 23 and 7 with an audit row each; with
   a limit of 2 rows, below one token's, a revocation is refused saying why
   and changes nothing.  With wsrep_max_ws_size = 324 KiB, the sweep of
   tokens with the longest scopes (1,000 4-byte characters) fits its
   batches to the bytes and finishes.

Environment (from tests/galera/run): BASE_URL, APP_CONFIG, CLUSTER (its node1..3
directories), CLUSTER_CTL (tests/galera/cluster.sh), DB_NAME, DB_USER, BUILDDIR,
WORK, SRCDIR; AUTIONALCTL (default BUILDDIR/src/autionalctl) for check 5.  Prints "ok - ..." / "not ok - ...: why" per check, "# " notes with the
measured figures, and "N passed, N failed"; exits 1 if any check failed.
"""

import hashlib
import http.client
import json
import os
import random
import secrets
import subprocess
import sys
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "stack"))
from stacklib import Fail, expect, note, summary  # noqa: E402
from stacklib import test as check  # noqa: E402

BASE_URL = os.environ.get("BASE_URL", "")
APP_CONFIG = os.environ.get("APP_CONFIG", "")
CLUSTER = os.environ.get("CLUSTER", "")
CLUSTER_CTL = os.environ.get("CLUSTER_CTL", "")
DB_NAME = os.environ.get("DB_NAME", "autional")
DB_USER = os.environ.get("DB_USER", "root")
BUILDDIR = os.environ.get("BUILDDIR", "")
SRCDIR = os.environ.get("SRCDIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
AUTIONALCTL = os.environ.get("AUTIONALCTL") or os.path.join(BUILDDIR, "src", "autionalctl")
WORK = os.environ.get("WORK", "/tmp")
NODES = (1, 2, 3)

TENANT = "ten_galera"
CLIENT = "cli_galera"
CONSOLE = "cli_galera_console"
WRITTEN = "cli_galera_writers"    # the three nodes' writers insert its tokens
WRITERS_PER_NODE = 4         # sessions, so writers on different nodes could share counter rows
WRITES = 150                 # INSERTs per session
TOKENS = 600                 # active tokens of CLIENT
ROUNDS = 20                  # causal-read rounds
LOAD_SECONDS = 16.0
KILL_AT = 4.0
READERS, REVOKERS = 4, 2
READ_PAUSE = 0.01            # seconds between one reader's requests
RECOVER_WITHIN = 5.0         # seconds: service again after a failure
MARGIN = 1.5                 # seconds on top of the configured timeouts
MIGRATE_ROUNDS = int(os.environ.get("MIGRATE_ROUNDS", "20"))
MIGRATE_DB = (DB_NAME + "_migrate_race")[:64]
RUN = secrets.token_hex(4)


def read_config():
    conf = {}
    with open(APP_CONFIG) as f:
        for line in f:
            k, eq, v = line.partition("=")
            if eq and not k.strip().startswith("#"):
                conf[k.strip()] = v.strip()
    return conf


CONF = read_config()
BUDGET = int(CONF.get("db_connect_timeout", 3)) + int(CONF.get("db_read_timeout", 5)) + MARGIN


def node_dir(n):
    return os.path.join(CLUSTER, "node%d" % n)


def sql(n, query, timeout=60):
    """query on node n as the administrator, after the node caught up (causal)."""
    args = ["mariadb", "--no-defaults", "-S", os.path.join(node_dir(n), "mysqld.sock"),
            "-u", DB_USER, "-N", "-B", DB_NAME, "-e", "SET SESSION wsrep_sync_wait=1;\n" + query]
    p = subprocess.run(args, capture_output=True, timeout=timeout)
    if p.returncode != 0:
        raise Fail("node %d: mariadb failed: %s" % (n, p.stderr.decode(errors="replace")[-300:]))
    return [l for l in p.stdout.decode().split("\n") if l]


def ctl(cmd, n):
    p = subprocess.run([CLUSTER_CTL, cmd, node_dir(n)], capture_output=True, timeout=180)
    if p.returncode != 0:
        raise Fail("cluster.sh %s node%d failed: %s" % (cmd, n, p.stderr.decode()[-300:]))
    return p.stdout.decode().strip()


def hx(text):
    return hashlib.sha256(text.encode()).hexdigest()


BEARER = "galera-admin-%s-%s" % (RUN, secrets.token_urlsafe(16))


def load_fixture():
    q = ["SET @now = UTC_TIMESTAMP()",
         "INSERT INTO tenants (public_id, name) VALUES ('%s', 'galera suite')" % TENANT,
         "SET @t = LAST_INSERT_ID()",
         "INSERT INTO users (public_id, tenant_id, is_admin) VALUES ('usr_galera_admin', @t, TRUE)",
         "SET @u = LAST_INSERT_ID()",
         "INSERT INTO oauth_clients (client_id, tenant_id) VALUES ('%s', @t)" % CLIENT,
         "SET @c = LAST_INSERT_ID()",
         "INSERT INTO oauth_clients (client_id, tenant_id) VALUES ('%s', @t)" % CONSOLE,
         "SET @k = LAST_INSERT_ID()",
         "INSERT INTO oauth_clients (client_id, tenant_id) VALUES ('%s', @t)" % WRITTEN,
         "INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id, scope,"
         " created_at, expires_at) VALUES (X'%s', 'access_token', @k, @u, 'admin',"
         " @now - INTERVAL 1 HOUR, @now + INTERVAL 1 DAY)" % hx(BEARER),
         "INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id, scope,"
         " created_at, expires_at) SELECT RANDOM_BYTES(32), 'access_token', @c, @u,"
         " CONCAT('load-', seq), @now - INTERVAL seq SECOND, @now + INTERVAL 1 DAY"
         " FROM seq_1_to_%d" % TOKENS]
    sql(1, ";\n".join(q))


def token_ids():
    return ["tok_" + r.lower() for r in sql(
        1, "SELECT HEX(k.public_id) FROM oauth_tokens k JOIN oauth_clients c"
           " ON c.id = k.oauth_client_id WHERE c.client_id = '%s' AND k.revoked_at IS NULL"
           " ORDER BY k.id" % CLIENT)]


# ---------------------------------------------------------------- HTTP

class Resp:
    def __init__(self, t0, t1, status=0, headers=None, body=b"", error=None):
        self.t0, self.t1, self.status, self.body, self.error = t0, t1, status, body, error
        self.headers = headers or {}
        self.json = None
        if error is None:
            try:
                self.json = json.loads(body)
            except ValueError:
                pass

    def problem(self):
        """Why this is not a complete 200 or 503-with-Retry-After JSON answer (None if it is)."""
        if self.error:
            return self.error
        if not isinstance(self.json, dict) or self.json.get("code") != self.status:
            return "status %d, body not its JSON: %r" % (self.status, self.body[:160])
        if self.status == 503:
            ra = self.headers.get("retry-after", "")
            if not ra.isdigit() or int(ra) <= 0:
                return "503 without a Retry-After (%r)" % ra
        elif self.status != 200:
            return "status %d: %r" % (self.status, self.body[:160])
        return None


def request(method, path, timeout=30):
    u = urllib.parse.urlsplit(BASE_URL)
    t0 = time.monotonic()
    try:
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
        c.request(method, u.path.rstrip("/") + path,
                  headers={"Authorization": "Bearer " + BEARER, "Connection": "close"})
        r = c.getresponse()
        body = r.read()
        headers = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        return Resp(t0, time.monotonic(), r.status, headers, body)
    except (OSError, http.client.HTTPException) as e:
        return Resp(t0, time.monotonic(), error="%s: %s" % (type(e).__name__, e))


def list_path(page=1, size=20, client=CLIENT):
    return "/admin/oauth/clients/%s/tokens?page=%d&page_size=%d" % (client, page, size)


def revoke_path(tid):
    return "/admin/oauth/clients/%s/tokens/%s" % (CLIENT, tid)


# ---------------------------------------------------------------- the program on one node

def node_config(n):
    """A configuration for the program naming only node n."""
    path = os.path.join(WORK, "node%d.conf" % n)
    keep = ("db_name", "db_user", "db_password", "db_connect_timeout", "db_read_timeout",
            "db_write_timeout", "page_size_max")
    lines = ["db_socket = %s" % os.path.join(node_dir(n), "mysqld.sock")]
    lines += ["%s = %s" % (k, CONF[k]) for k in keep if k in CONF]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def cgi(n, method, path, bearer=None):
    """The program run once as a CGI against node n: (status, JSON body or None)."""
    env = {"PATH": "/usr/bin:/bin", "AUTIONAL_CONFIG": node_config(n),
           "REQUEST_METHOD": method, "REQUEST_URI": path,
           "QUERY_STRING": urllib.parse.urlsplit(path).query,
           "HTTP_AUTHORIZATION": "Bearer " + (bearer or BEARER),
           "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1"}
    p = subprocess.run([os.path.join(BUILDDIR, "src", "autional-admin.fcgi")], env=env,
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    head, _, body = p.stdout.partition(b"\r\n\r\n")
    expect(head.startswith(b"Status: "), "node %d CGI: %r %r" % (n, p.stdout[:200], p.stderr[:200]))
    try:
        return int(head[8:11]), json.loads(body)
    except ValueError:
        return int(head[8:11]), None


def active_count(n, client=CLIENT):
    return int(sql(n, "SELECT COUNT(*) FROM oauth_tokens k JOIN oauth_clients c"
                      " ON c.id = k.oauth_client_id WHERE c.client_id = '%s'"
                      " AND k.revoked_at IS NULL AND k.expires_at > UTC_TIMESTAMP()"
                      % client)[0])


# ---------------------------------------------------------------- 1. causal reads

def t_revoked_bearer_refused_elsewhere():
    missed = []
    for i in range(ROUNDS):
        writer, reader = NODES[i % 3], NODES[(i + 1) % 3]
        bearer = "galera-causal-%s-%d-%s" % (RUN, i, secrets.token_urlsafe(12))
        sql(writer, "INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id,"
                    " scope, created_at, expires_at) SELECT X'%s', 'access_token', c.id, u.id,"
                    " 'causal', UTC_TIMESTAMP(), UTC_TIMESTAMP() + INTERVAL 1 HOUR"
                    " FROM oauth_clients c JOIN users u ON u.public_id = 'usr_galera_admin'"
                    " WHERE c.client_id = '%s'" % (hx(bearer), CONSOLE))
        status, _ = cgi(reader, "GET", list_path(1, 1), bearer)
        expect(status == 200, "round %d: a fresh bearer got %d on node %d" % (i, status, reader))
        # Revoke it with a plain session (no sync wait of ours) on the writer,
        # then ask the reader at once.
        subprocess.run(["mariadb", "--no-defaults", "-S",
                        os.path.join(node_dir(writer), "mysqld.sock"), "-u", DB_USER, DB_NAME,
                        "-e", "UPDATE oauth_tokens SET revoked_at = UTC_TIMESTAMP()"
                              " WHERE token_hash = X'%s'" % hx(bearer)], check=True)
        status, _ = cgi(reader, "GET", list_path(1, 1), bearer)
        if status != 401:
            missed.append((i, writer, reader, status))
    expect(not missed, "%d of %d revoked bearers still served by another node: %s"
           % (len(missed), ROUNDS, missed[:5]))


def t_api_revocation_in_next_list_everywhere():
    ids = token_ids()[-ROUNDS:]
    missed = []
    for i, tid in enumerate(ids):
        r = request("DELETE", revoke_path(tid))
        expect(r.status == 200 and r.json.get("revoked") == 1,
               "round %d: revocation answered %d %r" % (i, r.status, r.body[:200]))
        for n in NODES:
            status, body = cgi(n, "GET", list_path(1, 100))
            listed = [it.get("id") for it in (body or {}).get("items", [])]
            if status != 200 or tid in listed:
                missed.append((i, n, status))
    expect(not missed, "revoked tokens still listed: %s" % missed[:5])


# ---------------------------------------------------------------- 2. kill -9 under load

def app_connections():
    """Node -> connections of the program's account."""
    out = {}
    for n in NODES:
        try:
            out[n] = int(sql(n, "SELECT COUNT(*) FROM information_schema.processlist"
                                " WHERE user = '%s'" % CONF.get("db_user", "autional"))[0])
        except Fail:
            out[n] = None
    return out


class Load:
    def __init__(self, ids):
        self.results = []          # (kind, token id or None, Resp)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        per = len(ids) // REVOKERS
        self.slices = [ids[i * per:(i + 1) * per] for i in range(REVOKERS)]
        self.threads = [threading.Thread(target=self.reader) for _ in range(READERS)]
        self.threads += [threading.Thread(target=self.revoker, args=(s,)) for s in self.slices]

    def add(self, kind, tid, r):
        with self.lock:
            self.results.append((kind, tid, r))

    def reader(self):
        while not self.stop.wait(READ_PAUSE):
            self.add("list", None, request("GET", list_path(random.randint(1, 10))))

    def revoker(self, ids):
        # Paced so the revocations span the whole load, the kill included.
        pause = LOAD_SECONDS / max(1, len(ids))
        for tid in ids:
            if self.stop.wait(pause):
                return
            self.add("revoke", tid, request("DELETE", revoke_path(tid)))

    def run(self, seconds, at, action):
        for t in self.threads:
            t.start()
        t0 = time.monotonic()
        time.sleep(at)
        t_action = time.monotonic()
        action()
        time.sleep(max(0.0, seconds - (time.monotonic() - t0)))
        self.stop.set()
        for t in self.threads:
            t.join()
        return t_action


def recovered_after(results, t_event):
    """Seconds from t_event until the first request after which every one succeeded."""
    bad = [r.t0 for _, _, r in results if r.t0 >= t_event and (r.status != 200 or r.error)]
    return (max(bad) - t_event) if bad else 0.0


def t_kill_under_load(s):
    before = app_connections()
    victim = max(NODES, key=lambda n: before[n] or 0)
    note("program connections per node before the kill: %s; killing node %d" % (before, victim))
    s["victim"] = victim
    load = Load(s["ids"])
    s["t_kill"] = load.run(LOAD_SECONDS, KILL_AT, lambda: ctl("kill", victim))
    s["results"] = load.results
    s["after"] = app_connections()
    n = len(load.results)
    bad = [(k, r.status) for k, _, r in load.results if r.status != 200]
    note("%d requests (%d revocations), %d not 200 (%s)" % (
        n, sum(1 for k, _, _ in load.results if k == "revoke"), len(bad),
        sorted(set(b[1] for b in bad))))
    expect(n > 100, "only %d requests: the load did not run" % n)


def t_load_all_json(s):
    probs = [(k, r.problem()) for k, _, r in s["results"] if r.problem()]
    expect(not probs, "%d bad answers, e.g. %s" % (len(probs), probs[:3]))


def t_load_within_timeouts(s):
    worst = max(r.t1 - r.t0 for _, _, r in s["results"])
    note("slowest request under the kill: %.2f s (bound %.1f s)" % (worst, BUDGET))
    expect(worst <= BUDGET, "a request took %.2f s, more than %.1f s" % (worst, BUDGET))


def t_load_recovers(s):
    took = recovered_after(s["results"], s["t_kill"])
    note("every request succeeded from %.2f s after the kill on" % took)
    expect(took <= RECOVER_WITHIN, "failures until %.2f s after the kill" % took)
    expect(not s["after"].get(s["victim"]), "the victim still shows connections")
    expect(sum(v or 0 for v in s["after"].values()) > 0,
           "no program connection on any surviving node: %s" % s["after"])


def t_rejoin(s):
    t0 = time.monotonic()
    ctl("start", s["victim"])
    note("node %d rejoined in %.1f s" % (s["victim"], time.monotonic() - t0))


def revoked_everywhere(ids):
    if not ids:
        return []
    missing = []
    hexes = ",".join("X'%s'" % t[4:] for t in ids)
    for n in NODES:
        left = sql(n, "SELECT LOWER(HEX(public_id)) FROM oauth_tokens WHERE public_id IN (%s)"
                      " AND revoked_at IS NULL" % hexes)
        missing += [(n, "tok_" + h) for h in left]
    return missing


def t_acknowledged_revocations_kept(s):
    acked = [tid for k, tid, r in s["results"] if k == "revoke" and r.status == 200]
    missing = revoked_everywhere(acked)
    note("%d acknowledged revocations checked on every node" % len(acked))
    expect(not missing, "acknowledged but not revoked: %s" % missing[:5])


def t_unknown_outcomes_retried(s):
    unknown = [tid for k, tid, r in s["results"] if k == "revoke" and r.status != 200]
    note("%d revocations answered 503 and sent again" % len(unknown))
    wrong = []
    for tid in unknown:
        r = request("DELETE", revoke_path(tid))
        if r.status != 200 or r.json.get("revoked") not in (0, 1):
            wrong.append((tid, r.status))
    expect(not wrong, "retries answered %s" % wrong[:5])
    expect(not revoked_everywhere(unknown), "retried but not revoked everywhere")


def t_one_audit_row_per_revocation(s):
    done = [tid for k, tid, r in s["results"] if k == "revoke"]
    rows = sql(1, "SELECT filters, COUNT(*) FROM audit_events WHERE action = 'token.revoke'"
                  " AND affected = 1 AND client_id = '%s' GROUP BY filters" % CLIENT)
    per = {}
    for line in rows:
        f, c = line.rsplit("\t", 1)
        for tid in done:
            if tid in f:
                per[tid] = int(c)
    wrong = [(tid, per.get(tid, 0)) for tid in done if per.get(tid, 0) != 1]
    expect(not wrong, "%d revoked tokens without exactly one audit row: %s"
           % (len(wrong), wrong[:5]))


def t_totals_exact_everywhere():
    wrong = []
    for n in NODES:
        status, body = cgi(n, "GET", list_path(1, 1))
        want = active_count(n)
        if status != 200 or body.get("total") != want:
            wrong.append((n, status, (body or {}).get("total"), want))
    expect(not wrong, "node, status, API total, COUNT(*): %s" % wrong)


# ---------------------------------------------------------------- 4. writers on every node

def sharded_counting():
    return sql(1, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()"
                  " AND table_name = 'oauth_token_totals'") == ["1"]


def feed(p, data, errors):
    """Send a writer its statements; keep what it said on stderr."""
    p.stdin.write(data)
    p.stdin.close()
    errors.append(p.stderr.read().decode(errors="replace"))
    p.wait(timeout=300)


def t_writers_on_all_nodes():
    insert = ("INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, scope,"
              " created_at, expires_at) SELECT RANDOM_BYTES(32), 'access_token', id, 'w',"
              " UTC_TIMESTAMP(), UTC_TIMESTAMP() + INTERVAL 1 DAY FROM oauth_clients"
              " WHERE client_id = '%s';\n" % WRITTEN)
    procs = [subprocess.Popen(
        ["mariadb", "--no-defaults", "--force", "-S", os.path.join(node_dir(n), "mysqld.sock"),
         "-u", DB_USER, DB_NAME], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE) for n in NODES for _ in range(WRITERS_PER_NODE)]
    # All sessions are open before any writes.
    for p in procs:
        p.stdin.write(b"SELECT 1;\n")
    errors = []
    feeders = [threading.Thread(target=feed, args=(p, insert.encode() * WRITES, errors))
               for p in procs]
    t0 = time.monotonic()
    for t in feeders:
        t.start()
    for t in feeders:
        t.join()
    took = time.monotonic() - t0
    conflicts = sum(e.count("ERROR 1213") for e in errors)
    others = [l for e in errors for l in e.splitlines() if l.startswith("ERROR") and "1213" not in l]
    written = len(procs) * WRITES - conflicts - len(others)
    note("writers: %d sessions on each of %d nodes, %d INSERTs each, at once: %d failed with"
         " 1213, %d otherwise; %.2f s, %.0f INSERTs/s in all (through the mariadb client)"
         % (WRITERS_PER_NODE, len(NODES), WRITES, conflicts, len(others), took,
            len(procs) * WRITES / took))
    expect(conflicts == 0 and not others, "%d INSERTs failed with 1213, %d otherwise (%s)"
           % (conflicts, len(others), others[:2]))
    wrong = []
    for n in NODES:
        status, body = cgi(n, "GET", list_path(1, 1, WRITTEN))
        rows = active_count(n, WRITTEN)
        if status != 200 or body.get("total") != rows or rows != written:
            wrong.append((n, status, (body or {}).get("total"), rows))
    expect(not wrong, "node, status, API total, COUNT(*) (want %d each): %s" % (written, wrong))


# ---------------------------------------------------------------- 3. losing the majority

def t_majority_lost(s):
    for n in (2, 3):
        ctl("kill", n)
    # Until node 1 has noticed (the evs timeouts: a few seconds).
    t0 = time.monotonic()
    while ctl("state", 1) == "Synced" and time.monotonic() - t0 < 20:
        time.sleep(0.2)
    note("node 1 left the primary component %.1f s after the kills" % (time.monotonic() - t0))
    res = [request("GET", list_path()) for _ in range(10)]
    res += [request("DELETE", revoke_path(s["ids"][0]))]
    probs = [r.problem() or ("status %d" % r.status if r.status != 503 else None) for r in res]
    probs = [p for p in probs if p]
    worst = max(r.t1 - r.t0 for r in res)
    note("without a majority: %d answers, slowest %.2f s" % (len(res), worst))
    expect(not probs, "want 503 with Retry-After: %s" % probs[:3])
    expect(worst <= BUDGET, "an answer took %.2f s" % worst)


def t_service_after_bootstrap(s):
    ctl("bootstrap", 1)
    t0 = time.monotonic()
    while time.monotonic() - t0 < RECOVER_WITHIN + 5:
        r = request("GET", list_path())
        if r.status == 200:
            break
        time.sleep(0.2)
    took = time.monotonic() - t0
    note("first 200 %.2f s after the bootstrap" % took)
    expect(r.status == 200 and took <= RECOVER_WITHIN,
           "no 200 within %.1f s of the bootstrap (last %d)" % (RECOVER_WITHIN, r.status))
    for n in (2, 3):
        ctl("start", n)


# ---------------------------------------------------------------- migrate on two nodes

def migrate_config(n):
    """An autionalctl configuration: node n, the race database, the administrator."""
    path = os.path.join(WORK, "migrate-node%d.conf" % n)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("db_socket = %s\ndb_name = %s\ndb_user = %s\n"
                % (os.path.join(node_dir(n), "mysqld.sock"), MIGRATE_DB, DB_USER))
    return path


def schema_listing(n, db):
    """Tables, columns and triggers of db on node n (causal), one line each."""
    return sql(n, "SELECT CONCAT_WS(' ', table_name, column_name, column_type, column_key)"
                  " FROM information_schema.columns WHERE table_schema = '%s'"
                  "  AND table_name NOT IN ('galera_probe', 'schema_migration_lock')"
                  " UNION ALL SELECT CONCAT_WS(' ', trigger_name, event_object_table,"
                  "  action_timing, event_manipulation) FROM information_schema.triggers"
                  " WHERE trigger_schema = '%s' ORDER BY 1" % (db, db))


def t_migrate_on_two_nodes():
    sqldir = os.path.join(SRCDIR, "sql")
    files = sorted(f for f in os.listdir(sqldir)
                   if f.split("_")[0].isdigit() and f.endswith(".sql"))
    versions = [str(int(f.split("_")[0])) for f in files]
    want = schema_listing(1, DB_NAME)
    expect(want, "no schema in %s to compare with" % DB_NAME)
    e = {k: v for k, v in os.environ.items() if k != "AUTIONAL_CONFIG"}
    waited, conflicts, problems, took = 0, 0, [], []
    for rnd in range(MIGRATE_ROUNDS):
        pair = ((1, 2), (2, 3), (3, 1))[rnd % 3]
        sql(1, "DROP DATABASE IF EXISTS `%s`; CREATE DATABASE `%s` CHARACTER SET utf8mb4"
            % (MIGRATE_DB, MIGRATE_DB))
        for n in NODES:   # a causal read: the node has applied the CREATE DATABASE
            expect(sql(n, "SELECT COUNT(*) FROM information_schema.schemata"
                          " WHERE schema_name = '%s'" % MIGRATE_DB) == ["1"],
                   "node %d has no database %s" % (n, MIGRATE_DB))
        args = [[AUTIONALCTL, "--config", migrate_config(n), "--json", "migrate",
                 "--sql-dir", sqldir] for n in pair]
        t0 = time.monotonic()
        procs = [subprocess.Popen(a, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e)
                 for a in args]
        outs = [p.communicate(timeout=180) for p in procs]
        took.append(time.monotonic() - t0)
        where = "round %d (nodes %d and %d)" % (rnd + 1, pair[0], pair[1])
        applied = []
        for n, p, (out, err) in zip(pair, procs, outs):
            err = err.decode(errors="replace").strip()
            if p.returncode != 0:
                problems.append("%s: node %d's migrate exit %d: %s"
                                % (where, n, p.returncode, err[-300:]))
                continue
            applied.append([a["file"] for a in json.loads(out)["applied"]])
            waited += "waiting" in err
            conflicts += "lock row insert" in err   # a certification failure (1213), logged
        if len(applied) == 2 and sorted(applied, key=len) != [[], files]:
            problems.append("%s: applied %r, want all of %r by one run and none by the other"
                            % (where, applied, files))
        for n in NODES:
            got = sql(n, "SELECT version FROM `%s`.schema_migrations ORDER BY 1" % MIGRATE_DB)
            if got != versions:
                problems.append("%s: node %d's schema_migrations lists %r, want %r"
                                % (where, n, got, versions))
            if schema_listing(n, MIGRATE_DB) != want:
                problems.append("%s: node %d's schema is not the application's" % (where, n))
            left = sql(n, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema"
                          " = '%s' AND table_name = 'schema_migration_lock'" % MIGRATE_DB)
            if left == ["1"]:
                left = sql(n, "SELECT holder FROM `%s`.schema_migration_lock" % MIGRATE_DB)
            else:
                left = []
            if left:
                problems.append("%s: node %d: the lock row is left: %r" % (where, n, left))
        if len(problems) > 5:
            break
    sql(1, "DROP DATABASE IF EXISTS `%s`" % MIGRATE_DB)
    note("migrate on two nodes at once: %d rounds, %d runs waited for the other's lock"
         " (the rest found it released or took it first), %d met a certification failure"
         " taking it; both done in %.1f-%.1f s"
         % (rnd + 1, waited, conflicts, min(took), max(took)))
    expect(not problems, "; ".join(problems[:5]))


# ---------------------------------------------------------------- 6. write-set limits

WS_CLIENT, WS_USER = "cli_galera_ws", "usr_galera_ws"
WS_ROWS = 50                 # wsrep_max_ws_rows on every node during section 6
WS_BATCH_LINE = "batches of 23 instead of 1000"   # (50 - 4 kept) / 2 rows a token


def ws_fixture():
    """WS_CLIENT: 200 expired tokens (unswept), 100 revoked two days ago, 10 live
    tokens of WS_USER and 30 live ones without a user."""
    tok = ("INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id,"
           " created_at, expires_at, revoked_at) SELECT RANDOM_BYTES(32),"
           " IF(seq %% 2, 'access_token', 'refresh_token'), @c, %s, @now - INTERVAL 3 DAY,"
           " %s, %s FROM seq_1_to_%d")
    sql(1, ";\n".join([
        "SET @now = UTC_TIMESTAMP()",
        "SET @t = (SELECT id FROM tenants WHERE public_id = '%s')" % TENANT,
        "INSERT INTO users (public_id, tenant_id) VALUES ('%s', @t)" % WS_USER,
        "SET @u = LAST_INSERT_ID()",
        "INSERT INTO oauth_clients (client_id, tenant_id) VALUES ('%s', @t)" % WS_CLIENT,
        "SET @c = LAST_INSERT_ID()",
        tok % ("NULL", "@now - INTERVAL seq MINUTE", "NULL", 200),
        tok % ("NULL", "@now + INTERVAL 1 DAY", "@now - INTERVAL 2 DAY", 100),
        tok % ("@u", "@now + INTERVAL 1 DAY", "NULL", 10),
        tok % ("NULL", "@now + INTERVAL 1 DAY", "NULL", 30)]))


def ws_rows_limit(value):
    for n in NODES:
        sql(n, "SET GLOBAL wsrep_max_ws_rows = %d" % value)


def ws_ctl(n, *args):
    """autionalctl as the administrator on node n: (exit status, JSON out or None, stderr)."""
    path = os.path.join(WORK, "ws-node%d.conf" % n)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("db_socket = %s\ndb_name = %s\ndb_user = %s\ndb_read_timeout = 30\n"
                "db_write_timeout = 30\n" % (os.path.join(node_dir(n), "mysqld.sock"),
                                             DB_NAME, DB_USER))
    p = subprocess.run([AUTIONALCTL, "--config", path] + list(args), capture_output=True,
                       timeout=180)
    try:
        out = json.loads(p.stdout)
    except ValueError:
        out = None
    return p.returncode, out, p.stderr.decode(errors="replace")


def ws_counts(n):
    """WS_CLIENT's tokens on node n: (expired or revoked, live, live of WS_USER)."""
    row = sql(n, "SELECT SUM(k.revoked_at IS NOT NULL OR k.expires_at <= UTC_TIMESTAMP()),"
                 " SUM(k.revoked_at IS NULL AND k.expires_at > UTC_TIMESTAMP()),"
                 " SUM(k.revoked_at IS NULL AND k.expires_at > UTC_TIMESTAMP()"
                 "     AND k.user_id = (SELECT id FROM users WHERE public_id = '%s'))"
                 " FROM oauth_tokens k JOIN oauth_clients c ON c.id = k.oauth_client_id"
                 " WHERE c.client_id = '%s'" % (WS_USER, WS_CLIENT))[0]
    return tuple(int(v) if v != "NULL" else 0 for v in row.split("\t"))


def everywhere(want, what):
    got = {n: ws_counts(n) for n in NODES}
    expect(all(v == want for v in got.values()),
           "%s: (dead, live, live of the user) per node %s, want %s" % (what, got, want))


def t_write_set_limits():
    """With wsrep_max_ws_rows = 50 on every node: the sweep and the purge lower
    their batches to fit and finish; the API's revocation by user (a multi-table
    UPDATE before, which such a node refuses with 4165) works; a revocation of
    more than fits one transaction goes in batches; below one token's rows, a
    revocation is refused saying why and changes nothing."""
    ws_fixture()
    everywhere((300, 40, 10), "fixture")
    ws_rows_limit(WS_ROWS)
    try:
        rc, out, err = ws_ctl(2, "sweep", "--json")
        expect(rc == 0 and out and out.get("swept", 0) >= 200,
               "sweep on node 2: exit %d, %r, %s" % (rc, out, err[-300:]))
        swept = out["swept"]
        expect(WS_BATCH_LINE in err, "sweep: no %r on stderr: %s" % (WS_BATCH_LINE, err[-300:]))
        r = request("GET", list_path(client=WS_CLIENT))
        expect(r.status == 200 and r.json.get("total") == 40,
               "after the sweep: list total %s (status %d), want 40"
               % (r.json and r.json.get("total"), r.status))
        rc, out, err = ws_ctl(3, "purge", "--older-than", "0", "--batch", "1000", "--json")
        expect(rc == 0 and out is not None, "purge on node 3: exit %d, %r, %s"
               % (rc, out, err[-300:]))
        purged = out.get("expired_deleted", 0) + out.get("revoked_deleted", 0)
        expect(WS_BATCH_LINE in err, "purge: no %r on stderr: %s" % (WS_BATCH_LINE, err[-300:]))
        everywhere((0, 40, 10), "after the purge")
        r = request("DELETE", "/admin/oauth/clients/%s/tokens?user_id=%s" % (WS_CLIENT, WS_USER))
        expect(r.status == 200 and r.json.get("revoked") == 10,
               "revocation by user: %d %r" % (r.status, r.body[:200]))
        everywhere((10, 30, 0), "after the revocation by user")
        # Below what one token needs (its row, its counter row, the audit row):
        # refused whole, saying why.
        ws_rows_limit(2)
        rc, out, err = ws_ctl(1, "token", "revoke", "--client", WS_CLIENT, "--all", "--json")
        expect(rc == 1 and "larger than the database cluster takes in one transaction" in err,
               "a revocation with wsrep_max_ws_rows = 2: exit %d, %s" % (rc, err[-300:]))
        everywhere((10, 30, 0), "after the refused revocation (nothing changed)")
        ws_rows_limit(WS_ROWS)
        start = int(sql(1, "SELECT COALESCE(MAX(id), 0) FROM audit_events")[0])
        r = request("DELETE", "/admin/oauth/clients/%s/tokens" % WS_CLIENT)
        expect(r.status == 200 and r.json.get("revoked") == 30,
               "a revocation of 30 tokens (61 rows in one transaction): %d %r"
               % (r.status, r.body[:200]))
        everywhere((40, 0, 0), "after the revocation in batches")
        rows = sql(1, "SELECT affected FROM audit_events WHERE id > %d AND action ="
                      " 'tokens.revoke' AND client_id = '%s' ORDER BY id" % (start, WS_CLIENT))
        expect(rows == ["23", "7"], "its audit rows' counts %s, want 23 and 7" % rows)
        note("write-set limit %d rows: sweep swept %d and purge deleted %d in batches of 23;"
             " a revocation of 10 by user: 200; of 30: 200 in batches of 23 and 7; with a"
             " limit of 2 rows: refused" % (WS_ROWS, swept, purged))
    finally:
        ws_rows_limit(0)


WSB_CLIENT = "cli_galera_wsb"
WSB_SIZE = 4096 + 40 * 8192  # batches of 40 when a swept token was taken for 8 KiB


def t_write_set_bytes():
    """With wsrep_max_ws_size = WSB_SIZE on every node, `autionalctl sweep`
    marks 100 expired tokens with 4,000-byte scopes (an UPDATE replicates
    about 8.3 kB of each) in batches that fit, and exits 0.  Taken for 8 KiB a
    token, a batch of 40 replicated about 333 kB and the node refused it
    (1105 "Maximum writeset size exceeded"): the sweep failed."""
    sql(1, ";\n".join([
        "SET @t = (SELECT id FROM tenants WHERE public_id = '%s')" % TENANT,
        "INSERT INTO oauth_clients (client_id, tenant_id) VALUES ('%s', @t)" % WSB_CLIENT,
        "SET @c = LAST_INSERT_ID()",
        "INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, scope, created_at,"
        " expires_at) SELECT RANDOM_BYTES(32), 'access_token', @c,"
        " REPEAT(_utf8mb4 0xF09F9880, 1000), UTC_TIMESTAMP() - INTERVAL 2 DAY,"
        " UTC_TIMESTAMP() - INTERVAL 1 DAY FROM seq_1_to_100"]))
    was = {n: int(sql(n, "SELECT @@GLOBAL.wsrep_max_ws_size")[0]) for n in NODES}
    try:
        for n in NODES:
            sql(n, "SET GLOBAL wsrep_max_ws_size = %d" % WSB_SIZE)
        rc, out, err = ws_ctl(2, "sweep", "--json")
    finally:
        for n in NODES:
            sql(n, "SET GLOBAL wsrep_max_ws_size = %d" % was[n])
    expect(rc == 0 and out is not None and out.get("swept", 0) >= 100,
           "sweep with wsrep_max_ws_size = %d: exit %d, %r, %s" % (WSB_SIZE, rc, out, err[-300:]))
    left = sql(2, "SELECT COUNT(*) FROM oauth_tokens k JOIN oauth_clients c"
                  " ON c.id = k.oauth_client_id WHERE c.client_id = '%s' AND NOT k.swept"
                  % WSB_CLIENT)[0]
    expect(left == "0", "%s tokens of %s left unswept" % (left, WSB_CLIENT))


def main():
    missing = [k for k in ("BASE_URL", "APP_CONFIG", "CLUSTER", "CLUSTER_CTL", "BUILDDIR")
               if not os.environ.get(k)]
    if missing:
        print("not ok - environment: %s missing" % ", ".join(missing))
        return summary()
    os.makedirs(WORK, exist_ok=True)
    check("migrate on two nodes at the same instant, fresh database, %d rounds: both exit 0,"
          " each migration applied once, the schema complete on every node" % MIGRATE_ROUNDS,
          t_migrate_on_two_nodes)
    check("fixture: %d tokens on node 1" % TOKENS, load_fixture)
    check("causal: a bearer revoked on one node is refused by the next request on another"
          " (%d rounds)" % ROUNDS, t_revoked_bearer_refused_elsewhere)
    check("causal: a token revoked through the API is gone from the next list on every node",
          t_api_revocation_in_next_list_everywhere)
    s = {"ids": token_ids()}
    random.shuffle(s["ids"])
    check("kill -9 of the node most workers use, under reads and revocations", t_kill_under_load, s)
    if "results" in s:
        check("under the kill: every answer is a 200 or a 503 JSON with Retry-After",
              t_load_all_json, s)
        check("under the kill: no request outlives the configured timeouts", t_load_within_timeouts, s)
        check("under the kill: everything succeeds again within %.0f s (workers moved)"
              % RECOVER_WITHIN, t_load_recovers, s)
        check("the killed node rejoins", t_rejoin, s)
        check("no acknowledged revocation lost, on every node", t_acknowledged_revocations_kept, s)
        check("a revocation answered 503 and sent again reports the truth", t_unknown_outcomes_retried, s)
        check("one audit row per revoked token", t_one_audit_row_per_revocation, s)
    check("the list's total is exact on every node", t_totals_exact_everywhere)
    if sharded_counting() or os.environ.get("GALERA_WRITERS") == "1":
        check("token writers on all three nodes at once: zero 1213 and exact totals",
              t_writers_on_all_nodes)
    else:
        note("token writers on all three nodes at once: not yet possible (issue 10's"
             " node-sharded counting, oauth_token_totals, is not in this tree)")
    check("write-set limit (wsrep_max_ws_rows = %d on every node): sweep, purge and"
          " revocations fit their batches; below one token's rows, refused saying why,"
          " nothing changed" % WS_ROWS, t_write_set_limits)
    check("write-set limit (wsrep_max_ws_size = %d on every node): the sweep of tokens with"
          " the longest scopes fits its batches to the bytes" % WSB_SIZE, t_write_set_bytes)
    check("majority lost: 503 JSON with Retry-After within the timeouts", t_majority_lost, s)
    check("service again, without a restart, once the survivor is bootstrapped",
          t_service_after_bootstrap, s)
    check("after the majority came back: totals exact on every node", t_totals_exact_everywhere)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
