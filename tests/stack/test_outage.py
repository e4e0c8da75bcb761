#!/usr/bin/env python3
# frontends: lighttpd apache
"""test_outage.py: the whole stack under database failure, worker shutdown and
secret scanning (issue 5: "Outage", "Graceful stop", "Secrets").

1. Outage under load: 16 client threads send GET list requests back to back (a
   fresh connection each, each with its own X-Request-Id); MariaDB is killed
   (kill -9), kept down 5 s and started again.  Every response must be a
   complete 200 list or a 503 JSON error with Retry-After (no 500, no partial
   200, no lost response); while the database is down, only 503s; the program
   answers each within db_connect_timeout + 1.5 s by its own account (the
   duration_ms of the APP_LOG line with that request id, same status), and no
   client waits more than 15 s (front-end queueing included: mod_fcgid polls
   for a free worker once a second); every request sent 2 s after the database
   answers again gets a 200; no worker died.  WORK/outage-load.tsv keeps the
   timeline of every request.
2. Slow database: mariadbd is paused (SIGSTOP, until every thread is stopped)
   for db_read_timeout + 2 * db_connect_timeout + 1 s while two clients send
   requests one after the other: each ends with a complete 503 within
   db_read_timeout + db_connect_timeout + 1.5 s, one of them after at least
   db_read_timeout (a warm connection's read timed out); 200s again within 5 s
   of SIGCONT; no worker died.
3. Graceful stop: a request is held inside the database (a second session holds
   LOCK TABLES oauth_tokens WRITE); the one worker not blocked in accept() gets
   SIGTERM; after UNLOCK the client still gets a complete 200, and then the
   worker exits; later requests are served (whether the front end respawned a
   worker is noted).
4. Secrets: the MariaDB general log is on for the whole suite, and the
   program's connections are killed each time it is turned on (MariaDB logs
   parameter values only for statements prepared while the log is on; the kill
   must cost no 503).  Bearer tokens of every kind (admin, non-admin, unknown,
   revoked, expired, refresh, malformed, spaced, 2 KB; other schemes) are sent
   to several routes; no token text may appear in the general log, and no text
   or SHA-256 hex in APP_LOG, in any file under the harness's work directory
   (web server logs included) or in any response; the general log, APP_LOG and
   a web server log must show the requests (request ids, a query marker).

A worker that leaves during a check counts as dead unless a front-end log says
it exited with code 0 (mod_fcgid recycles workers after FcgidMaxRequestsPerProcess
requests and logs that at LogLevel fcgid:info).

Its own fixture: tenant ten_h11_outage, random bearer tokens made per run; only
their SHA-256 goes to MariaDB, as X'..', so the suite's own SQL never puts a text
into the general log.

Environment (from tests/run): BASE_URL, DB_SOCKET, DB_NAME, DB_USER, APP_CONFIG
(db_connect_timeout, db_read_timeout, db_user), APP_LOG, WORK, BUILDDIR,
MARIADB_CTL, MARIADB_DIR, FRONTEND; OUTAGE_PARTS="graceful slow outage" (the
default) picks parts.  Workers are the processes whose executable is named
autional-admin.fcgi and lies under the harness work directory (the parent of
BUILDDIR); only those, and the mariadbd of MARIADB_DIR, are ever signalled.

Prints `ok - <name>` or `not ok - <name>: <why>` per check, `# ` notes with the
measured figures, then `N passed, N failed`; exits 1 if any check failed.
"""

import hashlib
import os
import platform
import re
import secrets
import select
import signal
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
from stacklib import *  # noqa: E402,F401,F403

PROGRAM_NAME = "autional-admin.fcgi"

LOAD_THREADS = 16
LATENCY_MARGIN = 1.5      # seconds on top of a configured timeout
DOWN_FOR = 5.0            # seconds MariaDB stays killed
RECOVERY_WITHIN = 2.0     # seconds after it answers again: everything 200
CLIENT_CAP = 15           # seconds: no client waits longer, whatever the front end

RUN = secrets.token_hex(4)

# ---------------------------------------------------------------- config
# The program's defaults when APP_CONFIG does not say.
CONNECT_TIMEOUT = int(config_value("db_connect_timeout", "3"))
READ_TIMEOUT = int(config_value("db_read_timeout", "5"))
DB_USER_CONFIGURED = config_value("db_user", "")
DB_APP_USER = DB_USER_CONFIGURED or "autional"


# ---------------------------------------------------------------- database

def mariadbd_pid():
    """The pid of this harness's mariadbd (pid files in MARIADB_DIR), checked by name."""
    for name in ("mariadbd.pid", "server.pid"):
        try:
            with open(os.path.join(MARIADB_DIR, name)) as f:
                pid = int(f.read().strip())
            with open("/proc/%d/comm" % pid) as f:
                comm = f.read().strip()
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                cmdline = f.read()
        except (OSError, ValueError):
            continue
        if comm in ("mariadbd", "mysqld") and os.path.abspath(MARIADB_DIR).encode() in cmdline:
            return pid
    return None


# ---------------------------------------------------------------- workers

ACCEPT_SYSCALLS = {"x86_64": {43, 288}, "aarch64": {202, 242}}.get(platform.machine(), set())


def harness_root():
    if BUILDDIR:
        return os.path.dirname(os.path.realpath(BUILDDIR))
    if WORK:   # tests/run: WORK = <root>/<frontend>/suites/<suite>
        return os.path.realpath(os.path.join(WORK, "..", "..", ".."))
    return None


def proc_state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def alive(pid):
    s = proc_state(pid)
    return s is not None and s != "Z" and s != "X"


def workers():
    """{pid: executable} of the live workers of this harness run."""
    root = harness_root()
    out = {}
    if not root:
        return out
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            exe = os.readlink("/proc/%s/exe" % d)
        except OSError:
            continue
        if os.path.basename(exe) == PROGRAM_NAME and exe.startswith(root + "/") \
                and alive(int(d)):
            out[int(d)] = exe
    return out


def syscall_of(pid):
    """The syscall number pid is blocked in, None when running or unknown."""
    try:
        with open("/proc/%d/syscall" % pid) as f:
            first = f.read().split()[0]
        return int(first)
    except (OSError, IndexError, ValueError):
        return None


def busy_workers():
    """Workers not blocked in accept(): serving a request."""
    return sorted(p for p in workers() if syscall_of(p) not in ACCEPT_SYSCALLS)


# ---------------------------------------------------------------- HTTP

# ---------------------------------------------------------------- answers

def check_503(r):
    """A complete 503 SimpleResponse with a positive Retry-After."""
    check_error(r, 503)
    ra = r.header_all("Retry-After")
    expect(len(ra) == 1 and ra[0].isdigit() and int(ra[0]) > 0, "Retry-After %r on a 503" % ra)


def check_listed(r, scopes):
    """A complete 200 list of exactly these scopes (one page)."""
    items = check_list(r, 1, 20, len(scopes))
    got = sorted(it["scope"] for it in items)
    expect(got == sorted(scopes), "partial or wrong list: scopes %r" % got)


def problem_list(r, scopes):
    return problem(check_listed, r, scopes)


def problem_any(r, scopes):
    """A 200 list or a 503 error, each complete; anything else is a problem."""
    if r.status == 503:
        return problem(check_503, r)
    if r.status == 200 or r.parse_error:
        return problem(check_listed, r, scopes)
    return "status %d: %r" % (r.status, r.body[:200])


# ---------------------------------------------------------------- fixture

def tok(kind, length=None):
    t = "h11%s-%s-%s" % (kind, RUN, secrets.token_urlsafe(18))
    if length:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/"
        t += "".join(secrets.choice(alphabet) for _ in range(length - len(t)))
    return t


TOKENS = {
    "admin": tok("a"),
    "admin2k": tok("k", 2048),
    "user": tok("u"),
    "revoked": tok("r"),
    "expired": tok("e"),
    "refresh": tok("f"),
    "unknown": tok("n"),                       # never stored
    "malformed": tok("m") + "!\"<>" + tok("m"),  # not a b64token: refused before the DB
    "spaced": tok("s") + " " + tok("s"),
}
TENANT = "ten_h11_outage"
CLIENT = "cli_h11_outage"          # the listed client
CONSOLE = "cli_h11_console"        # holds the bearer tokens
LIST_SCOPES = ["h11-list-1", "h11-list-2", "h11-list-3"]


def hx(text):
    return hashlib.sha256(text.encode()).hexdigest()


def load_fixture():
    q = ["SET NAMES utf8mb4",
         "SET @now = UTC_TIMESTAMP()",
         "DELETE k FROM oauth_tokens k JOIN oauth_clients c ON c.id = k.oauth_client_id"
         " JOIN tenants t ON t.id = c.tenant_id WHERE t.public_id = '%s'" % TENANT,
         "DELETE c FROM oauth_clients c JOIN tenants t ON t.id = c.tenant_id"
         " WHERE t.public_id = '%s'" % TENANT,
         "DELETE u FROM users u JOIN tenants t ON t.id = u.tenant_id"
         " WHERE t.public_id = '%s'" % TENANT,
         "DELETE FROM tenants WHERE public_id = '%s'" % TENANT,
         "INSERT INTO tenants (public_id, name) VALUES ('%s', 'outage suite')" % TENANT,
         "SET @t = LAST_INSERT_ID()",
         "INSERT INTO users (public_id, tenant_id, is_admin)"
         " VALUES ('usr_h11_outage_admin', @t, TRUE)",
         "SET @ua = LAST_INSERT_ID()",
         "INSERT INTO users (public_id, tenant_id, is_admin)"
         " VALUES ('usr_h11_outage_user', @t, FALSE)",
         "SET @uu = LAST_INSERT_ID()",
         "INSERT INTO oauth_clients (client_id, tenant_id) VALUES ('%s', @t)" % CLIENT,
         "SET @c = LAST_INSERT_ID()",
         "INSERT INTO oauth_clients (client_id, tenant_id) VALUES ('%s', @t)" % CONSOLE,
         "SET @k = LAST_INSERT_ID()"]
    rows = []
    for i, scope in enumerate(LIST_SCOPES):
        rows.append("(X'%s', 'access_token', @c, @ua, '%s', @now - INTERVAL %d MINUTE,"
                    " @now + INTERVAL 1 DAY, NULL)" % (secrets.token_hex(32), scope, i + 1))
    rows.append("(X'%s', 'access_token', @c, @ua, 'h11-list-revoked', @now - INTERVAL 9 MINUTE,"
                " @now + INTERVAL 1 DAY, @now - INTERVAL 1 MINUTE)" % secrets.token_hex(32))
    bearer = {"admin": ("@ua", "access_token", "NULL", "1 DAY"),
              "admin2k": ("@ua", "access_token", "NULL", "1 DAY"),
              "user": ("@uu", "access_token", "NULL", "1 DAY"),
              "revoked": ("@ua", "access_token", "@now - INTERVAL 1 MINUTE", "1 DAY"),
              "expired": ("@ua", "access_token", "NULL", "-1 HOUR"),
              "refresh": ("@ua", "refresh_token", "NULL", "1 DAY")}
    for name, (user, ttype, revoked, life) in bearer.items():
        rows.append("(X'%s', '%s', @k, %s, 'h11-bearer-%s', @now - INTERVAL 2 HOUR,"
                    " @now + INTERVAL %s, %s)" % (hx(TOKENS[name]), ttype, user, name, life,
                                                  revoked))
    q.append("INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id, scope,"
             " created_at, expires_at, revoked_at) VALUES " + ", ".join(rows))
    sql(";\n".join(q))
    n = sql("SELECT COUNT(*) FROM oauth_tokens k JOIN oauth_clients c ON c.id = k.oauth_client_id"
            " JOIN tenants t ON t.id = c.tenant_id WHERE t.public_id = '%s'" % TENANT)[0]
    expect(int(n) == len(rows), "fixture holds %s tokens, want %d" % (n, len(rows)))
    r = list_request()
    expect(problem_list(r, LIST_SCOPES) is None,
           "admin list after loading: %s" % (problem_list(r, LIST_SCOPES)))


def list_request(token=None, timeout=30, extra="", rid=None):
    return request("GET", PATH_FMT.format(CLIENT) + extra,
                   auth=TOKENS["admin"] if token is None else token, timeout=timeout, rid=rid)


# The suite's own ids are the callers' X-Request-Id: client_request_id= (issue 12).
LOG_LINE_RE = re.compile(rb"status=(\d+) duration_ms=([0-9.]+) .*?"
                         rb" client_request_id=([A-Za-z0-9._@:-]+)")


def app_log_lines(offset, prefix):
    """{request_id: (status, seconds)} of APP_LOG lines after offset whose id
    starts with prefix (the program's own view of each request)."""
    out = {}
    if not APP_LOG:
        return out
    with open(APP_LOG, "rb") as f:
        f.seek(offset)
        data = f.read()
    for m in LOG_LINE_RE.finditer(data):
        rid = m.group(3).decode()
        if rid.startswith(prefix):
            out[rid] = (int(m.group(1)), float(m.group(2)) / 1e3)
    return out


# ---------------------------------------------------------------- general log

GENERAL_LOG = ""
GENERAL_LOG_BEFORE = None


def general_log_on():
    """Turns the general log on, then kills the program's connections: MariaDB
    puts parameter values into the log only for statements prepared while it is
    on, so every worker must prepare again (on its next request, which
    store_authorize retries on a fresh connection)."""
    global GENERAL_LOG_BEFORE
    if GENERAL_LOG_BEFORE is None:
        GENERAL_LOG_BEFORE = sql("SELECT @@GLOBAL.general_log_file")[0]
    sql("SET GLOBAL general_log_file = '%s'; SET GLOBAL general_log = ON" % GENERAL_LOG)
    expect(sql("SELECT @@GLOBAL.general_log")[0] == "1", "general_log did not turn on")
    ids = sql("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = '%s'"
              % (DB_APP_USER))
    for i in ids:
        try:
            sql("KILL CONNECTION %d" % int(i))
        except Fail:
            pass   # gone meanwhile
    return len(ids)


def general_log_off():
    try:
        sql("SET GLOBAL general_log = OFF", timeout=20)
        if GENERAL_LOG_BEFORE:
            sql("SET GLOBAL general_log_file = '%s'" % GENERAL_LOG_BEFORE, timeout=20)
    except Exception as e:
        note("could not turn the general log off: %s" % e)


# ---------------------------------------------------------------- 1. outage under load

class Load:
    """LOAD_THREADS clients sending list requests back to back."""

    def __init__(self, per_request_timeout, prefix):
        self.prefix = prefix
        self.after_from = float("inf")   # requests sent from then on are counted
        self.after_count = 0
        self.stop = threading.Event()
        self.results = []
        self.lock = threading.Lock()
        self.timeout = per_request_timeout
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True)
                        for i in range(LOAD_THREADS)]

    def run(self, me):
        mine = []
        n = 0
        while not self.stop.is_set():
            n += 1
            rid = "%s%d-%d" % (self.prefix, me, n)
            r = list_request(timeout=self.timeout, rid=rid)
            mine.append((r.t0, r.t1, r.status, problem_any(r, LIST_SCOPES), rid))
            if r.t0 >= self.after_from:
                with self.lock:
                    self.after_count += 1
        with self.lock:
            self.results.extend(mine)

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(self.timeout + 10)


def t_outage_under_load(state):
    bound = CONNECT_TIMEOUT + LATENCY_MARGIN
    before = workers()
    state["workers_before"] = before
    expect(before, "no worker process found under %s" % harness_root())
    prefix = "h11L-%s-" % RUN
    log_offset = log_size()
    load = Load(per_request_timeout=CLIENT_CAP + 10, prefix=prefix)
    t_load = time.monotonic()
    load.start()
    try:
        time.sleep(2.0)
        t_kill0 = time.monotonic()
        mariadb_ctl("kill")
        t_kill1 = time.monotonic()
        time.sleep(max(0.0, t_kill1 + DOWN_FOR - time.monotonic()))
        t_start0 = time.monotonic()
        mariadb_ctl("start")
        t_up = time.monotonic()
        load.after_from = t_up + RECOVERY_WITHIN
        time.sleep(RECOVERY_WITHIN + 2.5)
        # A front end that queues (mod_fcgid respawning recycled workers) may
        # hold every client a while: wait for enough requests sent after recovery.
        deadline = time.monotonic() + 15
        while load.after_count < 50 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        load.finish()
        t_end = time.monotonic()
    res = sorted(load.results)
    time.sleep(0.3)   # the last log lines
    logged = app_log_lines(log_offset, prefix)
    dump_timeline(res, logged, t_kill0, t_kill1, t_start0, t_up)
    state["outage"] = dict(res=res, logged=logged, t_load=t_load, t_kill0=t_kill0,
                           t_kill1=t_kill1, t_start0=t_start0, t_up=t_up, t_end=t_end,
                           bound=bound)
    outage_phases(state["outage"])


def dump_timeline(res, logged, t_kill0, t_kill1, t_start0, t_up):
    """WORK/outage-load.tsv: every load request, times relative to the kill."""
    try:
        with open(os.path.join(WORK, "outage-load.tsv"), "w") as f:
            f.write("# kill %.3f..%.3f, start %.3f, answering %.3f (s, relative to the kill)\n"
                    % (0, t_kill1 - t_kill0, t_start0 - t_kill0, t_up - t_kill0))
            f.write("start\tend\tlatency\tstatus\tapp_status\tapp_seconds\trequest_id\t"
                    "problem\n")
            for t0, t1, st, prob, rid in res:
                ast, asec = logged.get(rid, (0, -1))
                f.write("%.4f\t%.4f\t%.4f\t%d\t%d\t%.4f\t%s\t%s\n"
                        % (t0 - t_kill0, t1 - t_kill0, t1 - t0, st, ast, asec, rid, prob or ""))
    except OSError as e:
        note("cannot write the timeline: %s" % e)


def outage_phases(s):
    """Splits the load's requests: before the kill, while down, after recovery."""
    res = s["res"]
    s["pre"] = [x for x in res if x[1] <= s["t_kill0"]]
    s["down"] = [x for x in res if x[0] >= s["t_kill1"] and x[1] <= s["t_start0"]]
    s["after"] = [x for x in res if x[0] >= s["t_up"] + RECOVERY_WITHIN]
    s["rate"] = len(s["pre"]) / max(0.001, s["t_kill0"] - s["t_load"])
    statuses = {}
    for x in res:
        statuses[x[2]] = statuses.get(x[2], 0) + 1
    note("outage via %s: %d requests in %.1f s by %d clients, %.0f req/s before the kill; "
         "statuses %s" % (FRONTEND, len(res), s["t_end"] - s["t_load"], LOAD_THREADS,
                          s["rate"], statuses))
    note("kill took %.2f s; down %.2f s; start took %.2f s (until ping answers)"
         % (s["t_kill1"] - s["t_kill0"], s["t_start0"] - s["t_kill1"], s["t_up"] - s["t_start0"]))
    lat = sorted(x[1] - x[0] for x in s["down"])
    if lat:
        note("while down: %d responses, client latency median %.1f ms, p99 %.1f ms, max %.1f ms"
             % (len(lat), 1e3 * lat[len(lat) // 2], 1e3 * lat[int(len(lat) * 0.99)],
                1e3 * lat[-1]))
    first_ok = next((x for x in res if x[0] >= s["t_kill1"] and x[2] == 200), None)
    if first_ok:
        note("first 200 after the kill: sent %+.3f s, answered %+.3f s from the moment the "
             "database answered again" % (first_ok[0] - s["t_up"], first_ok[1] - s["t_up"]))
    last_503 = [x for x in res if x[2] == 503]
    if last_503:
        note("last 503: sent %+.3f s from that moment" % (last_503[-1][0] - s["t_up"]))


def fmt(x, s):
    """One load request, for messages: times relative to the kill."""
    return "[sent %+.2f s, %.2f s, %d, %s%s]" % (x[0] - s["t_kill0"], x[1] - x[0], x[2], x[4],
                                                 ", " + x[3][:120] if x[3] else "")


def t_outage_load_driven(s):
    expect(s["rate"] >= 100, "only %.0f req/s before the kill" % s["rate"])
    expect(len(s["down"]) >= 50, "only %d requests answered while the database was down"
           % len(s["down"]))
    expect(len(s["after"]) >= 50, "only %d requests after recovery" % len(s["after"]))
    bad = [x for x in s["pre"] if x[2] != 200 or x[3]]
    expect(not bad, "%d of %d requests before the kill were not complete 200s, e.g. %s"
           % (len(bad), len(s["pre"]), " ".join(fmt(x, s) for x in bad[:3])))


def t_outage_only_200_or_503(s):
    bad = [x for x in s["res"] if x[3]]
    others = {}
    for x in bad:
        others[x[2]] = others.get(x[2], 0) + 1
    expect(not bad, "%d responses were neither a complete 200 list nor a 503 JSON with "
           "Retry-After (by status: %s), e.g. %s"
           % (len(bad), others, " ".join(fmt(x, s) for x in bad[:3])))


def t_outage_down_all_503(s):
    bad = [x for x in s["down"] if x[2] != 503]
    expect(not bad, "%d of %d responses while down were not 503: %s"
           % (len(bad), len(s["down"]), " ".join(fmt(x, s) for x in bad[:3])))


def t_outage_latency_program(s):
    """The program's own time per request (duration_ms in APP_LOG, matched by
    X-Request-Id): front-end queueing (mod_fcgid polls for a free worker once a
    second) is not the program's."""
    missing, slow, differ = [], [], []
    for t0, t1, st, prob, rid in s["res"]:
        if prob or st not in (200, 503):
            continue
        if rid not in s["logged"]:
            missing.append(rid)
            continue
        ast, sec = s["logged"][rid]
        if ast != st:
            differ.append("%s: client %d, program %d" % (rid, st, ast))
        if sec > s["bound"]:
            slow.append("%s %.2f s" % (rid, sec))
    secs = sorted(v[1] for v in s["logged"].values())
    if secs:
        note("program's own time per load request: median %.1f ms, p99 %.1f ms, max %.1f ms"
             % (1e3 * secs[len(secs) // 2], 1e3 * secs[int(len(secs) * 0.99)], 1e3 * secs[-1]))
    expect(not missing, "%d answered requests have no line in APP_LOG, e.g. %s"
           % (len(missing), missing[:3]))
    expect(not differ, "status logged differs from the one received: %s" % differ[:3])
    expect(not slow, "%d requests took the program longer than db_connect_timeout %d s + %.1f s:"
           " %s" % (len(slow), CONNECT_TIMEOUT, LATENCY_MARGIN, slow[:4]))


def t_outage_latency_client(s):
    lat = sorted(x[1] - x[0] for x in s["res"])
    note("client-side latency (front end included): median %.1f ms, p99 %.1f ms, max %.1f ms"
         % (1e3 * lat[len(lat) // 2], 1e3 * lat[int(len(lat) * 0.99)], 1e3 * lat[-1]))
    slow = [x for x in s["res"] if x[1] - x[0] > CLIENT_CAP]
    expect(not slow, "%d requests waited longer than %d s, slowest %.2f s"
           % (len(slow), CLIENT_CAP, max(x[1] - x[0] for x in slow) if slow else 0))


def t_outage_recovery(s):
    bad = [x for x in s["after"] if x[2] != 200]
    expect(not bad, "%d of %d requests sent %.0f s after the database answered again were "
           "not 200: %s" % (len(bad), len(s["after"]), RECOVERY_WITHIN,
                            " ".join(fmt(x, s) for x in bad[:3])))


def frontend_dir():
    """The front end's directory of tests/run: WORK = <root>/<frontend>/suites/<suite>."""
    return os.path.realpath(os.path.join(WORK, "..", ".."))


def frontend_exit_lines(pid):
    """Lines of the front end's logs about pid's exit.  mod_fcgid writes them at
    LogLevel fcgid:info: 'process <path>(<pid>) exit(<why>), terminated by calling
    exit(), return code: 0' or '... get unexpected signal N'."""
    out = []
    d = frontend_dir()
    tag = ("(%d)" % pid).encode()
    for name in sorted(os.listdir(d)):
        p = os.path.join(d, name)
        if not name.endswith(".log") or not os.path.isfile(p):
            continue
        for line in read_file(p).split(b"\n"):
            if tag in line and b" exit(" in line:
                out.append(line.decode("utf-8", "replace").strip())
    return out


def t_workers_unchanged(before, what):
    """No worker of before died.  One that left with exit code 0 by the front
    end's own account (mod_fcgid recycles a worker after FcgidMaxRequestsPerProcess
    requests) is not a death; without such a line, a missing worker is."""
    expect(before, "no workers were recorded before %s" % what)
    now = workers()
    gone = sorted(set(before) - set(now))
    died, recycled = [], []
    for pid in gone:
        # mod_fcgid logs a recycled worker's exit when its process manager
        # reaps it, which was seen to come ~30 s after the process was gone.
        lines = frontend_exit_lines(pid)
        deadline = time.time() + 45
        while not lines and time.time() < deadline:
            time.sleep(0.25)
            lines = frontend_exit_lines(pid)
        if lines and all("terminated by calling exit(), return code: 0" in l for l in lines):
            recycled.append("%d (%s)" % (pid, lines[-1][-120:]))
        else:
            died.append("%d%s" % (pid, ": " + lines[-1][-160:] if lines else ""))
    if recycled:
        note("workers that ended normally during %s: %s" % (what, "; ".join(recycled)))
    new = sorted(set(now) - set(before))
    if new:
        note("new workers during %s: %s (spawned by the front end)" % (what, new))
    expect(not died, "worker(s) %s ended during %s with no clean exit in the front end's logs "
           "(now: %s)" % (", ".join(died), what, sorted(now)))


# ---------------------------------------------------------------- 2. slow database

def all_threads_stopped(pid):
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return False
    for t in tasks:
        try:
            with open("/proc/%d/task/%s/stat" % (pid, t)) as f:
                if f.read().rsplit(")", 1)[1].split()[0] not in ("T", "t"):
                    return False
        except (OSError, IndexError):
            pass
    return True


def t_slow_database(state):
    bound = READ_TIMEOUT + CONNECT_TIMEOUT + LATENCY_MARGIN
    expect(READ_TIMEOUT + CONNECT_TIMEOUT <= 12,
           "db_read_timeout %d + db_connect_timeout %d is too long for this suite; the "
           "harness should write db_connect_timeout = 2, db_read_timeout = 3"
           % (READ_TIMEOUT, CONNECT_TIMEOUT))
    # Warm every worker: each then holds a connection the pause will hang.
    for _ in range(3):
        ts = [threading.Thread(target=list_request) for _ in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    before = workers()
    state["slow_workers"] = before
    pid = mariadbd_pid()
    expect(pid, "no mariadbd pid in %s" % MARIADB_DIR)
    # A warm worker's request: read timeout, then one fresh connection (connect
    # timeout); the next request: connect timeout only; the pause covers both.
    pause = READ_TIMEOUT + 2 * CONNECT_TIMEOUT + 1.0
    results = []
    lock = threading.Lock()
    resumed = threading.Event()

    def client():
        while not resumed.is_set():
            r = list_request(timeout=bound + 20)
            with lock:
                results.append((r.t0, r.t1, r.status, problem_any(r, LIST_SCOPES)))

    os.kill(pid, signal.SIGSTOP)
    STOPPED[0] = pid
    t_sig = time.monotonic()
    try:
        # Every thread of mariadbd stopped before the first request is sent.
        while not all_threads_stopped(pid):
            expect(time.monotonic() < t_sig + 5, "mariadbd %d not stopped 5 s after SIGSTOP"
                   % pid)
            time.sleep(0.005)
        t_stop = time.monotonic()
        cs = [threading.Thread(target=client, daemon=True) for _ in range(2)]
        for c in cs:
            c.start()
        time.sleep(pause)
    finally:
        os.kill(pid, signal.SIGCONT)
        STOPPED[0] = None
        t_cont = time.monotonic()
        resumed.set()
    for c in cs:
        c.join(bound + 25)
    # After SIGCONT: a 200 within a few seconds, then steadily.
    first_ok = None
    t_poll_end = t_cont + 5
    while time.monotonic() < t_poll_end:
        r = list_request(timeout=bound + 5)
        if r.status == 200 and problem_list(r, LIST_SCOPES) is None:
            first_ok = r.t1 - t_cont
            break
        time.sleep(0.1)
    after = [list_request(timeout=bound + 5) for _ in range(6)]
    state["slow"] = dict(results=sorted(results), t_stop=t_stop, t_cont=t_cont, bound=bound,
                         first_ok=first_ok, after=after)
    note("paused mariadbd %.1f s (all threads stopped %.0f ms after SIGSTOP): responses "
         "(start after the pause began / status / latency) %s; first 200 %.3f s after SIGCONT"
         % (t_cont - t_stop, 1e3 * (t_stop - t_sig),
            ", ".join("+%.1f/%d/%.2f s" % (x[0] - t_stop, x[2], x[1] - x[0])
                      for x in sorted(results)),
            first_ok if first_ok is not None else -1))


def t_slow_503_in_time(s):
    res = s["results"]
    lat = ["%.2f" % (x[1] - x[0]) for x in res]
    slow = [x for x in res if x[1] - x[0] > s["bound"]]
    expect(not slow, "%d requests took longer than db_read_timeout + db_connect_timeout + %.1f"
           " = %.1f s (latencies %s s): the read timeout did not end them"
           % (len(slow), LATENCY_MARGIN, s["bound"], lat))
    during = [x for x in res if x[1] <= s["t_cont"]]
    expect(len(during) >= 2, "only %d responses while mariadbd was paused (latencies %s s)"
           % (len(during), lat))
    bad = [x for x in during if x[2] != 503 or x[3]]
    expect(not bad, "while paused, not a complete 503: %s"
           % ["%d %s" % (x[2], x[3]) for x in bad[:3]])
    spill = [x for x in res if x[1] > s["t_cont"] and x[3]]
    expect(not spill, "around SIGCONT, neither 200 nor 503: %s"
           % ["%d %s" % (x[2], x[3]) for x in spill[:3]])
    # A warm connection hangs in a read: that request must show the read timeout
    # ended it (it took at least db_read_timeout), not something else.
    expect(any(x[1] - x[0] >= READ_TIMEOUT - 0.3 for x in during),
           "no 503 took db_read_timeout (%d s): the read timeout was never what ended a "
           "request (latencies %s s)" % (READ_TIMEOUT, lat))


def t_slow_recovers(s):
    expect(s["first_ok"] is not None, "no 200 within 5 s of SIGCONT")
    bad = [r.describe() for r in s["after"] if problem_list(r, LIST_SCOPES)]
    expect(not bad, "after the first 200: %s" % bad[:2])


# ---------------------------------------------------------------- 3. graceful stop

def app_waiting_in_db(user):
    rows = sql("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '%s'"
               " AND STATE LIKE 'Waiting for table%%'" % user, timeout=10)
    return int(rows[0]) if rows else 0


def t_graceful_stop(state):
    state["graceful_before"] = set(workers())
    expect(ACCEPT_SYSCALLS, "unknown machine %s: cannot tell idle workers" % platform.machine())
    expect(DB_USER_CONFIGURED, "no db_user in APP_CONFIG")
    # Warm: every worker connected and idle.
    for _ in range(4):
        expect(problem_list(list_request(), LIST_SCOPES) is None, "warm-up request failed")
    expect(workers(), "no worker process found under %s" % harness_root())
    deadline = time.monotonic() + 3
    while busy_workers() and time.monotonic() < deadline:   # still finishing the warm-up
        time.sleep(0.05)
    expect(not busy_workers(), "a worker is still busy 3 s after the warm-up: %s"
           % busy_workers())
    locker = subprocess.Popen(["mariadb", "--no-defaults", "--protocol=socket", "-S", DB_SOCKET,
                               "-u", DB_USER, "-N", "-B", "-n", DB_NAME],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    LOCKERS.append(locker)
    got = {}
    try:
        locker.stdin.write(b"LOCK TABLES oauth_tokens WRITE;\nSELECT 'h11-locked';\n")
        locker.stdin.flush()
        ready, _, _ = select.select([locker.stdout], [], [], 10)
        expect(ready and locker.stdout.readline().strip() == b"h11-locked",
               "could not lock oauth_tokens")
        t_req = time.monotonic()
        th = threading.Thread(target=lambda: got.setdefault("r", list_request(timeout=30)))
        th.start()
        deadline = t_req + min(1.5, READ_TIMEOUT - 1.0)
        busy = []
        while time.monotonic() < deadline:
            if app_waiting_in_db(DB_USER_CONFIGURED):
                busy = busy_workers()
                if busy:
                    break
            time.sleep(0.02)
        expect(len(busy) == 1, "want one worker waiting in the database, found %s (of %s)"
               % (busy, sorted(workers())))
        pid = busy[0]
        os.kill(pid, signal.SIGTERM)
        t_term = time.monotonic()
        time.sleep(0.3)
        still = alive(pid)
        unanswered = "r" not in got
        t_unlock = time.monotonic()
        locker.stdin.write(b"UNLOCK TABLES;\nSELECT 'h11-unlocked';\n")
        locker.stdin.flush()
        ready, _, _ = select.select([locker.stdout], [], [], 10)
        expect(ready and locker.stdout.readline().strip() == b"h11-unlocked", "could not unlock")
        th.join(30)
    finally:
        try:
            locker.stdin.close()
        except OSError:
            pass
        try:
            locker.wait(10)
        except subprocess.TimeoutExpired:
            locker.kill()
    r = got.get("r")
    expect(r is not None, "the request never ended")
    gone_at = None
    for _ in range(60):
        if not alive(pid):
            gone_at = time.monotonic()
            break
        time.sleep(0.05)
    note("graceful stop: SIGTERM to worker %d %.2f s into the request; unlocked %.2f s later; "
         "response %s %.2f s after the unlock; worker %s"
         % (pid, t_term - t_req, t_unlock - t_term, r.status, r.t1 - t_unlock,
            "exited %.2f s after the response" % (gone_at - r.t1) if gone_at else "still alive"))
    state["graceful"] = dict(pid=pid, before=state["graceful_before"], still=still,
                             unanswered=unanswered, r=r, t_unlock=t_unlock, gone_at=gone_at)


def t_graceful_response(g):
    expect(g["still"] and g["unanswered"],
           "the worker did not hold the request until the unlock (alive %s, answered early %s)"
           % (g["still"], not g["unanswered"]))
    r = g["r"]
    p = problem_list(r, LIST_SCOPES)
    expect(p is None, "the request in flight at SIGTERM got: %s (%s)" % (p, r.describe()))
    expect(r.t1 >= g["t_unlock"], "answered before the unlock")


def t_graceful_exit(g):
    expect(g["gone_at"] is not None, "worker %d still alive 3 s after its last request"
           % g["pid"])


def t_graceful_service_continues(g):
    deadline = time.monotonic() + 10
    while True:
        r = list_request(timeout=15)
        if problem_list(r, LIST_SCOPES) is None:
            break
        expect(time.monotonic() < deadline, "no 200 within 10 s after the worker stopped: %s"
               % r.describe())
        time.sleep(0.1)
    for _ in range(6):
        r = list_request(timeout=15)
        expect(problem_list(r, LIST_SCOPES) is None, "after the stop: %s" % r.describe())
    now = set(workers())
    new = sorted(now - g["before"])
    note("workers after the graceful stop: %s (%s)" % (sorted(now), "new: %s" % new
         if new else "no new worker process: the front end did not respawn one"))


# ---------------------------------------------------------------- 4. secrets

SECRET_IDS = []           # X-Request-Id of every secrets request
SECRET_LIST_IDS = []      # ... of those that must list (200) and so write an audit row
DB_REACHING = [0]         # requests whose credential is well-formed (the DB is asked)
MARK = "h11mark%s" % RUN


def secrets_requests(round_no):
    """Every kind of bearer, several routes; statuses checked, ids recorded."""
    cases = []
    for name in ("admin", "admin2k"):
        cases.append(("GET", PATH_FMT.format(CLIENT), "Bearer " + TOKENS[name], 200, True))
        cases.append(("HEAD", PATH_FMT.format(CLIENT), "Bearer " + TOKENS[name], 200, True))
        cases.append(("GET", PATH_FMT.format("cli_h11_nosuch"), "Bearer " + TOKENS[name], 404,
                      True))
        cases.append(("GET", PATH_FMT.format(CLIENT) + "?page=0", "Bearer " + TOKENS[name], 400,
                      True))
    cases.append(("GET", PATH_FMT.format(CLIENT), "Bearer " + TOKENS["user"], 403, True))
    for name in ("unknown", "revoked", "expired", "refresh"):
        cases.append(("GET", PATH_FMT.format(CLIENT), "Bearer " + TOKENS[name], 401, True))
        cases.append(("HEAD", PATH_FMT.format(CLIENT), "Bearer " + TOKENS[name], 401, True))
    for raw in ("Bearer " + TOKENS["malformed"], "Bearer " + TOKENS["spaced"],
                "bearer  " + TOKENS["admin"], "Basic " + TOKENS["admin"],
                TOKENS["admin"], "Bearer " + TOKENS["admin"] + "!"):
        cases.append(("GET", PATH_FMT.format(CLIENT), raw, 401, False))
    cases.append(("POST", PATH_FMT.format(CLIENT), "Bearer " + TOKENS["admin"], 405, None))
    wrong = []
    for i, (method, target, raw, status, reaches_db) in enumerate(cases):
        rid = "h11-sec-%s-%d-%d" % (RUN, round_no, i)
        sep = "&" if "?" in target else "?"
        r = request(method, target + sep + "mark=" + MARK, raw_auth=raw, rid=rid)
        SECRET_IDS.append(rid)
        if status == 200 and method == "GET":
            SECRET_LIST_IDS.append(rid)
        if reaches_db:
            DB_REACHING[0] += 1
        if r.status != status:
            wrong.append("%s %s with %s...: %s, want %d" % (method, target, raw[:12],
                                                             r.describe()[:120], status))
    expect(not wrong, "; ".join(wrong[:4]))


def secret_texts():
    return {name: t.encode() for name, t in TOKENS.items()}


def secret_hashes():
    out = {}
    for name, t in TOKENS.items():
        d = hashlib.sha256(t.encode()).hexdigest()
        out[name + " (sha256 hex)"] = d.encode()
        out[name + " (SHA256 HEX)"] = d.upper().encode()
    return out


def find_in(data, needles):
    return sorted(n for n, b in needles.items() if b in data)


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def t_secrets_general_log():
    data = read_file(GENERAL_LOG)
    hits = find_in(data, secret_texts())
    expect(not hits, "token text(s) of %s appear in the MariaDB general log %s"
           % (hits, GENERAL_LOG))
    # Not vacuous: the log holds the app's statements for these requests.
    user = DB_APP_USER
    expect(("%s@localhost" % user).encode() in data,
           "no connection of %s in the general log" % user)
    # On Galera the look-up is a causal read: "SET STATEMENT wsrep_sync_wait=1 FOR SELECT".
    n_auth = len(re.findall(rb"Execute\t(?:SET STATEMENT [^\n]*? FOR )?SELECT [^\n]*?token_hash = ",
                            data))
    expect(n_auth >= DB_REACHING[0], "only %d token look-ups in the general log for %d requests "
           "with a well-formed token" % (n_auth, DB_REACHING[0]))
    missing = [i for i in SECRET_LIST_IDS if i.encode() not in data]
    expect(not missing, "audit inserts of %d listed requests not in the general log, e.g. %s"
           % (len(missing), missing[:2]))
    note("general log: %d bytes, %d token look-ups" % (len(data), n_auth))


def t_secrets_app_log():
    expect(APP_LOG, "APP_LOG not set")
    data = read_file(APP_LOG)
    hits = find_in(data, secret_texts()) + find_in(data, secret_hashes())
    expect(not hits, "%s appear in APP_LOG %s" % (hits, APP_LOG))
    missing = [i for i in SECRET_IDS if ("request_id=%s" % i).encode() not in data
               and i.encode() not in data]
    expect(not missing, "%d of %d secrets requests have no line in APP_LOG, e.g. %s"
           % (len(missing), len(SECRET_IDS), missing[:3]))


def t_secrets_harness_files():
    root = harness_root()
    expect(root and os.path.isdir(root), "no harness work directory (BUILDDIR/WORK)")
    skip = {os.path.realpath(BUILDDIR)} if BUILDDIR else set()
    needles = dict(secret_texts())
    needles.update(secret_hashes())
    hits, scanned, nbytes, marked = [], 0, 0, []
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if os.path.realpath(os.path.join(d, x)) not in skip]
        for f in files:
            p = os.path.join(d, f)
            try:
                if not os.path.isfile(p) or os.path.islink(p):
                    continue
                data = read_file(p)
            except OSError:
                continue
            scanned += 1
            nbytes += len(data)
            is_general = os.path.realpath(p) == os.path.realpath(GENERAL_LOG)
            found = find_in(data, secret_texts() if is_general else needles)
            if found:
                hits.append("%s: %s" % (os.path.relpath(p, root), found))
            if MARK.encode() in data:
                marked.append(os.path.relpath(p, root))
    note("scanned %d files (%d MB) under %s; the suite's marker is in: %s"
         % (scanned, nbytes >> 20, root, ", ".join(sorted(marked)) or "none"))
    expect(not hits, "secrets found: %s" % "; ".join(hits[:5]))
    fe_logs = [m for m in marked if not m.startswith(os.path.relpath(WORK, root))
               and m.endswith(".log")]
    expect(fe_logs, "no web server log (a *.log outside the suite's WORK) shows the requests: "
           "the scan proves nothing")


def t_secrets_responses():
    needles = dict(secret_texts())
    needles.update(secret_hashes())
    raws = [r.raw for r in list(RESPONSES)]
    expect(len(raws) > 100, "only %d responses recorded" % len(raws))
    hits = set()
    for raw in raws:
        for n in find_in(raw, needles):
            hits.add(n)
    expect(not hits, "secrets in responses: %s" % sorted(hits))
    note("%d responses scanned" % len(raws))


def t_no_500_in_app_log(offset):
    if not APP_LOG:
        raise Fail("APP_LOG not set")
    with open(APP_LOG, "rb") as f:
        f.seek(offset)
        data = f.read()
    n500 = len(re.findall(rb"status=5(?!03)\d\d", data))
    n503 = len(re.findall(rb"status=503", data))
    note("APP_LOG during the suite: %d lines with status=503" % n503)
    expect(n500 == 0, "%d log lines with a 5xx other than 503" % n500)


# ---------------------------------------------------------------- main

PARTS = os.environ.get("OUTAGE_PARTS", "graceful slow outage").split()
STOPPED = [None]          # a mariadbd pid this suite paused
LOCKERS = []


def cleanup():
    if STOPPED[0]:
        try:
            os.kill(STOPPED[0], signal.SIGCONT)
        except OSError:
            pass
        STOPPED[0] = None
    for p in LOCKERS:
        if p.poll() is None:
            p.kill()


def on_signal(sig, frame):
    cleanup()
    raise SystemExit(128 + sig)


def main():
    global GENERAL_LOG
    require("BASE_URL", "DB_SOCKET", "DB_NAME", "MARIADB_CTL", "MARIADB_DIR", "WORK")
    signal.signal(signal.SIGTERM, on_signal)
    os.makedirs(WORK, exist_ok=True)
    GENERAL_LOG = os.path.join(os.path.realpath(WORK), "general.log")
    try:
        os.unlink(GENERAL_LOG)
    except OSError:
        pass
    log_start = log_size()
    note("front end %s; db_connect_timeout %d s, db_read_timeout %d s; harness root %s"
         % (FRONTEND, CONNECT_TIMEOUT, READ_TIMEOUT, harness_root()))
    t_suite = time.monotonic()
    state = {}
    try:
        test("fixture loads; admin lists its client", load_fixture)
        if failed():
            return summary()
        test("general log on (file in WORK); the program's connections killed",
             general_log_on)
        test("secrets round 1: every kind of bearer gets its own status; killed connections "
             "cost no 503 (reconnect and retry)", secrets_requests, 1)

        if "graceful" in PARTS:
            test("graceful stop: set-up, one worker held inside the database",
                 t_graceful_stop, state)
        if "graceful" in state:
            g = state["graceful"]
            test("graceful stop: SIGTERM mid-request: the client still gets a complete 200",
                 t_graceful_response, g)
            test("graceful stop: the worker exits after that request", t_graceful_exit, g)
            test("graceful stop: service continues (next requests 200)",
                 t_graceful_service_continues, g)

        if "slow" in PARTS:
            test("slow database: set-up (mariadbd paused and resumed)", t_slow_database, state)
        if "slow" in state:
            s = state["slow"]
            test("slow database: every request ends with a 503 JSON within db_read_timeout + "
                 "db_connect_timeout + %.1f s" % LATENCY_MARGIN, t_slow_503_in_time, s)
            test("slow database: 200s again within 5 s of SIGCONT", t_slow_recovers, s)
            test("slow database: no worker died", t_workers_unchanged,
                 state["slow_workers"], "the pause")

        if "outage" in PARTS:
            test("outage: load driven, kill -9, 5 s down, start", t_outage_under_load, state)
        if "outage" in state:
            o = state["outage"]
            test("outage: load was real (>= 100 req/s, 50+ answers while down and after)",
                 t_outage_load_driven, o)
            test("outage: every response a complete 200 list or a 503 JSON with Retry-After "
                 "(no 500, no partial 200, no lost response)", t_outage_only_200_or_503, o)
            test("outage: while the database is down, only 503s", t_outage_down_all_503, o)
            test("outage: the program answers every request within db_connect_timeout + %.1f s"
                 " (its logged duration; each request has its log line, same status)"
                 % LATENCY_MARGIN, t_outage_latency_program, o)
            test("outage: no client waits longer than %d s (front end included; Apache's "
                 "FcgidIOTimeout is 30 s)" % CLIENT_CAP, t_outage_latency_client, o)
            test("outage: every request from %.0f s after the database answers is a 200"
                 % RECOVERY_WITHIN, t_outage_recovery, o)
            test("outage: no worker died", t_workers_unchanged, state["workers_before"],
                 "the outage")

        if "outage" in PARTS:
            test("general log on again after the restart; connections killed", general_log_on)
        test("secrets round 2: every kind of bearer gets its own status", secrets_requests, 2)
        time.sleep(0.3)   # the last log lines
        test("secrets: no token text in the MariaDB general log, which shows the requests",
             t_secrets_general_log)
        test("secrets: no token text or hash in APP_LOG, which has a line per request",
             t_secrets_app_log)
        test("secrets: no token text or hash in any file under the harness work directory "
             "(web server logs included)", t_secrets_harness_files)
        test("secrets: no token text or hash in any response", t_secrets_responses)
        test("APP_LOG: no 5xx other than 503 during the suite", t_no_500_in_app_log, log_start)
    finally:
        cleanup()
        general_log_off()
    note("suite took %.1f s" % (time.monotonic() - t_suite))
    if failed() == 0:
        try:
            os.unlink(GENERAL_LOG)
        except OSError:
            pass
    return summary()


if __name__ == "__main__":
    sys.exit(main())
