"""stacklib.py: what the whole-stack suites in tests/stack/ share.

The environment tests/run passes, SQL through the `mariadb` client on the
private server's socket, raw HTTP over a socket (sent byte for byte, so hostile
input stays possible), the checks every answer of the API must pass (the
SimpleResponse envelope {code, message, timestamp}, the list envelope, the
revocation answer, errors), and the TAP-like output: "ok - name" or
"not ok - name: why" per check, then the "N passed, N failed" line tests/run
adds up.  Not executable: tests/run runs the executable test_*.py files here.

A suite:

    import sys
    sys.dont_write_bytecode = True
    from stacklib import *            # noqa: F401,F403  (or import stacklib as S)

    def t_lists():
        check_list(request("GET", "/admin/oauth/clients/cli_x/tokens", auth=TOKEN), 1, 20, 3)

    def main():
        require("BASE_URL", "DB_SOCKET", "DB_NAME")
        test("the list answers", t_lists)
        return summary()

    if __name__ == "__main__":
        sys.exit(main())
"""

import datetime
import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

__all__ = [
    # environment
    "HERE", "SUITE", "BASE_URL", "DB_SOCKET", "DB_NAME", "DB_USER", "APP_LOG", "APP_CONFIG",
    "CTL_CONFIG", "PURGE_CONFIG", "PAGE_SIZE_MAX", "WORK", "FRONTEND", "SRCDIR", "BUILDDIR", "MARIADB_CTL", "MARIADB_DIR",
    "require", "config_value",
    # checks and output
    "Fail", "report", "note", "expect", "test", "problem", "failed", "summary",
    # SQL
    "MARIADB", "SQL_UTC", "mariadb_args", "sql", "sql1", "q", "mariadb_ctl",
    # HTTP
    "PATH_FMT", "Resp", "dechunk", "request", "new_rid", "parse_base", "RESPONSES", "SENT_CREDENTIALS",
    "shorten",
    # answers of the API
    "CONTENT_TYPE", "REALM", "TS_RE", "RID_RE", "ITEM_ID_RE", "ERROR_KEYS", "ENVELOPE_KEYS",
    "PAGINATION_KEYS", "CURSOR_RE", "LINK_NEXT_RE", "check_next_cursor", "ITEM_KEYS", "REVOKE_KEYS", "LEAK_WORDS", "check_timestamp",
    "check_common", "check_www_authenticate", "check_error", "front_end_refused",
    "names_param", "check_item", "check_list", "check_revoked",
    # the program's log
    "log_size", "read_log_from", "log_lines_with",
]

HERE = os.path.dirname(os.path.abspath(__file__))
SUITE = os.path.basename(sys.argv[0]) or "suite"

# ---------------------------------------------------------------- environment
# What tests/run passes (see its header); "" when unset unless a default is shown.

BASE_URL = os.environ.get("BASE_URL", "")        # http://127.0.0.1:PORT of the front end
DB_SOCKET = os.environ.get("DB_SOCKET", "")      # the private MariaDB's unix socket
DB_NAME = os.environ.get("DB_NAME", "")
DB_USER = os.environ.get("DB_USER") or "root"    # administrative account on that socket
APP_LOG = os.environ.get("APP_LOG", "")          # file receiving the program's stderr
APP_CONFIG = os.environ.get("APP_CONFIG", "")    # the program's config file
# autionalctl's, as the schema owner, and purge's, as its own account (sql/accounts.sql):
# the API's account may not write what they write.
CTL_CONFIG = os.environ.get("CTL_CONFIG") or APP_CONFIG
PURGE_CONFIG = os.environ.get("PURGE_CONFIG") or CTL_CONFIG
WORK = os.environ.get("WORK", "")                # the suite's own scratch directory
FRONTEND = os.environ.get("FRONTEND", "?")       # name of the front end in use
SRCDIR = os.environ.get("SRCDIR") or os.path.dirname(os.path.dirname(HERE))
BUILDDIR = os.environ.get("BUILDDIR", "")
MARIADB_CTL = os.environ.get("MARIADB_CTL", "")  # "$MARIADB_CTL" kill|start|restart DIR
MARIADB_DIR = os.environ.get("MARIADB_DIR", "")


def config_value(key, default=None):
    """The value of `key = value` in APP_CONFIG (a string), or default."""
    try:
        with open(APP_CONFIG) as f:
            for line in f:
                k, eq, v = line.partition("=")
                if eq and k.strip() == key:
                    return v.strip()
    except OSError:
        pass
    return default


PAGE_SIZE_MAX = int(os.environ.get("PAGE_SIZE_MAX") or config_value("page_size_max", "100"))


def require(*names):
    """Exit 2 with a message unless every named environment value is set."""
    missing = [n for n in names if not globals().get(n)]
    if missing:
        print("%s: set %s" % (SUITE, ", ".join(missing)), file=sys.stderr)
        sys.exit(2)
    if "BASE_URL" in names:
        parse_base()


# ---------------------------------------------------------------- checks and output

PASSED = 0
FAILED = 0
_report_lock = threading.Lock()


class Fail(Exception):
    """A check did not hold; the message says why."""


def report(name, ok, why=""):
    global PASSED, FAILED
    with _report_lock:
        if ok:
            PASSED += 1
            print("ok - %s" % name, flush=True)
        else:
            FAILED += 1
            why = " ".join(str(why).split())
            if len(why) > 800:
                why = why[:800] + "..."
            print("not ok - %s: %s" % (name, why), flush=True)


def note(text):
    print("# " + text, flush=True)


def expect(cond, why):
    if not cond:
        raise Fail(why)


def test(name, fn, *args):
    """Run one check, fn(*args); a crash of the check counts as its failure."""
    try:
        fn(*args)
    except Fail as e:
        report(name, False, e)
    except Exception as e:
        report(name, False, "%s: %s" % (type(e).__name__, e))
    else:
        report(name, True)


def problem(fn, *args):
    """fn(*args) as a value: None when it holds, else why not (for threads and
    loops that gather problems instead of stopping at the first)."""
    try:
        fn(*args)
    except Fail as e:
        return str(e)
    return None


def failed():
    return FAILED


def summary():
    """Print the closing "N passed, N failed" line; the suite's exit status."""
    print("%d passed, %d failed" % (PASSED, FAILED), flush=True)
    return 1 if FAILED else 0


# ---------------------------------------------------------------- SQL

MARIADB = shutil.which("mariadb") or shutil.which("mysql") or "mariadb"
# Every session of sql() works in UTC, whatever the server's default: FROM_UNIXTIME
# and UNIX_TIMESTAMP then convert exactly between epochs and the stored UTC
# DATETIMEs.  (Scripts run through mariadb_args() start with it themselves.)
SQL_UTC = "SET time_zone = '+00:00';\n"


def mariadb_args(db=None, user=None, force=False):
    """The client's command line: batch output (no headers, tabs, raw), utf8mb4.
    db: None (DB_NAME), "" (no database) or a name."""
    a = [MARIADB, "--no-defaults", "--protocol=socket", "-S", DB_SOCKET, "-u", user or DB_USER,
         "--default-character-set=utf8mb4", "-N", "-B", "-r"]
    if force:
        a.append("--force")
    if db != "":
        a.append(db or DB_NAME)
    return a


def sql(query=None, stdin=None, db=None, user=None, timeout=120):
    """Run SQL (one statement or several; query: str, or stdin: bytes/str for a
    script with DELIMITER lines) in UTC; returns the output lines.  Raises Fail."""
    script = stdin if stdin is not None else query
    if isinstance(script, str):
        script = script.encode("utf-8")
    p = subprocess.run(mariadb_args(db, user), input=SQL_UTC.encode() + script,
                       capture_output=True, timeout=timeout)
    if p.returncode != 0:
        raise Fail("mariadb failed (%d) on %r: %s" % (
            p.returncode, shorten(script, 120), p.stderr.decode("utf-8", "replace").strip()[:500]))
    return [l for l in p.stdout.decode("utf-8", "replace").split("\n") if l != ""]


def sql1(query, db=None):
    """The one output line of a query."""
    rows = sql(query, db=db)
    expect(len(rows) == 1, "want one row from %r, got %r" % (query[:100], rows))
    return rows[0]


def q(s):
    """s as a quoted SQL string literal."""
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def mariadb_ctl(cmd):
    """kill | start | restart the private MariaDB (tests/lib/mariadb.sh)."""
    p = subprocess.run([MARIADB_CTL, cmd, MARIADB_DIR], capture_output=True, timeout=120)
    if p.returncode != 0:
        raise Fail("%s %s failed: %s" % (MARIADB_CTL, cmd,
                                          p.stderr.decode("utf-8", "replace")[-300:]))


# ---------------------------------------------------------------- HTTP

PATH_FMT = "/admin/oauth/clients/{}/tokens"
RESPONSES = []            # every Resp received, for the secrets scans ...
KEEP_RESPONSES = True     # ... unless a suite with thousands of big answers says no
SENT_CREDENTIALS = set()  # every Authorization credential sent (bytes, 8+ long)
_rid_lock = threading.Lock()
_rid_n = [0]
_RUN = "%s-%d-%d" % (SUITE.split(".")[0], os.getpid(), int(time.time()) % 100000)


def parse_base():
    u = urllib.parse.urlsplit(BASE_URL)
    if u.scheme != "http" or not u.hostname:
        raise SystemExit("BASE_URL must be http://host:port, got %r" % BASE_URL)
    return u.hostname, u.port or 80, u.path.rstrip("/")


def shorten(s, n=120):
    if isinstance(s, bytes):
        s = s.decode("utf-8", "replace")
    return s if len(s) <= n else s[:n] + "...(%d)" % len(s)


def _no_dup_keys(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError("duplicate key %r" % k)
        d[k] = v
    return d


def _bad_constant(c):
    raise ValueError("non-JSON constant %s" % c)



def dechunk(data):
    """The body of an HTTP/1.1 chunked message (chunk extensions and trailers dropped)."""
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2:]
    return out

class Resp:
    """One HTTP response, parsed from the raw bytes of a Connection: close exchange.
    parse_error says why it is not a well-formed response (a socket error too)."""

    def __init__(self, method, target, raw, sent_rid=None, t0=0.0, t1=0.0, error=None):
        self.method = method
        self.target = target          # as sent, base prefix included (str)
        self.raw = raw
        self.sent_rid = sent_rid      # the X-Request-Id sent, or None
        self.t0, self.t1 = t0, t1     # time.monotonic() before connecting, after EOF
        self.error = error            # socket error, or None
        self.status = 0
        self.reason = ""
        self.headers = []             # [(name as sent, value)] in order
        self.body = b""
        self.json = None
        self.json_error = None
        self.parse_error = error
        if error is None:
            self._parse()

    def _parse(self):
        head, sep, rest = self.raw.partition(b"\r\n\r\n")
        if not sep:
            self.parse_error = "no end of headers in %d bytes" % len(self.raw)
            return
        lines = head.split(b"\r\n")
        m = re.match(rb"^HTTP/1\.[01] (\d{3})(?: (.*))?$", lines[0])
        if not m:
            self.parse_error = "bad status line %r" % lines[0][:100]
            return
        self.status = int(m.group(1))
        self.reason = (m.group(2) or b"").decode("latin-1")
        for l in lines[1:]:
            name, colon, value = l.partition(b":")
            if not colon:
                self.parse_error = "bad header line %r" % l[:100]
                return
            self.headers.append((name.decode("latin-1"), value.strip().decode("latin-1")))
        if self.method == "HEAD":
            self.body = rest
            return
        if "chunked" in (self.header("transfer-encoding") or "").lower():
            rest = dechunk(rest)
        self.body = rest
        try:
            self.json = json.loads(rest.decode("utf-8"), object_pairs_hook=_no_dup_keys,
                                   parse_constant=_bad_constant)
        except Exception as e:
            self.json_error = "%s: %s" % (type(e).__name__, e)

    def header(self, name):
        vals = self.header_all(name)
        return vals[0] if vals else None

    def header_all(self, name):
        return [v for (n, v) in self.headers if n.lower() == name.lower()]

    @property
    def rid(self):
        """The X-Request-Id answered."""
        return self.header("X-Request-Id")

    @property
    def latency(self):
        return self.t1 - self.t0

    def describe(self):
        if self.error:
            return "%s %s -> error after %.3f s: %s" % (self.method, shorten(self.target, 100),
                                                        self.latency, self.error)
        return "%s %s -> %d %s" % (self.method, shorten(self.target, 100), self.status,
                                   shorten(self.body, 300))


def _bytes(v):
    return v if isinstance(v, bytes) else v.encode("utf-8")


def new_rid(tag="r"):
    """A fresh X-Request-Id, unique in this run."""
    with _rid_lock:
        _rid_n[0] += 1
        return "%s-%s-%d" % (_RUN, tag, _rid_n[0])


def request(method, target, auth=None, raw_auth=None, headers=(), body=None, rid=None,
            timeout=30):
    """Send one request on a fresh connection (Connection: close) and read to EOF.

    target: str or bytes, sent as is after BASE_URL's path (no encoding).
    auth: a bearer token text (sent as "Bearer <text>"); raw_auth: the whole
    Authorization value (str or bytes).  headers: extra (name, value) pairs.
    body: bytes, sent with a Content-Length (POST/PUT/PATCH: empty unless
    given).  rid: the X-Request-Id to send (str
    or bytes), True for a fresh unique one, None for no header.  A socket error
    becomes the answer's parse_error (and error)."""
    host, port, prefix = parse_base()
    target = prefix.encode() + (target.encode("latin-1") if isinstance(target, str) else target)
    lines = [method.encode() + b" " + target + b" HTTP/1.1",
             ("Host: %s:%d" % (host, port)).encode(), b"Connection: close",
             b"User-Agent: autional-stack-tests"]
    if auth is not None:
        raw_auth = "Bearer " + auth
    if raw_auth is not None:
        raw_auth = _bytes(raw_auth)
        lines.append(b"Authorization: " + raw_auth)
        cred = raw_auth.split(b" ", 1)[1] if b" " in raw_auth else raw_auth
        if len(cred.strip()) >= 8:
            SENT_CREDENTIALS.add(cred.strip())
    if rid is True:
        rid = new_rid()
    if rid is not None:
        lines.append(b"X-Request-Id: " + _bytes(rid))
    for n, v in headers:
        lines.append(_bytes(n) + b": " + (v if isinstance(v, bytes) else v.encode("latin-1")))
    if body is None and method in ("POST", "PUT", "PATCH"):
        body = b""     # a front end may refuse such a request without a length (411)
    if body is not None:
        lines.append(b"Content-Length: %d" % len(body))
    data = b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")
    chunks, err = [], None
    t0 = time.monotonic()
    try:
        s = socket.create_connection((host, port), timeout=timeout)
        try:
            s.sendall(data)
            while True:
                try:
                    c = s.recv(65536)
                except ConnectionResetError:
                    if not chunks:
                        raise
                    break      # the answer came; the reset after it is the server's business
                if not c:
                    break
                chunks.append(c)
        finally:
            s.close()
    except OSError as e:
        err = "%s: %s" % (type(e).__name__, e)
    r = Resp(method, target.decode("latin-1"), b"".join(chunks),
             rid.decode("latin-1") if isinstance(rid, bytes) else rid, t0, time.monotonic(), err)
    if KEEP_RESPONSES:
        RESPONSES.append(r)
    return r


# ---------------------------------------------------------------- answers of the API

CONTENT_TYPE = "application/json; charset=utf-8"
REALM = 'Bearer realm="autional"'
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
RID_RE = re.compile(r"^[A-Za-z0-9._\-@:]{1,64}$")      # an X-Request-Id the program keeps
ITEM_ID_RE = re.compile(r"^tok_[0-9a-f]{32}$")
ERROR_KEYS = {"code", "message", "timestamp"}            # SimpleResponse
ENVELOPE_KEYS = {"code", "message", "items", "pagination", "total", "next_cursor", "timestamp"}
CURSOR_RE = re.compile(r"^[A-Za-z0-9_-]{44}$")
LINK_NEXT_RE = re.compile(r'^<([^<>]*)>; rel="next"$')
PAGINATION_KEYS = {"page", "page_size", "total", "total_pages", "has_next", "has_prev"}
ITEM_KEYS = {"id", "created_at", "expires_at", "scope", "token_type", "user_id"}
REVOKE_KEYS = {"code", "message", "revoked", "dry_run", "timestamp"}
# Words that must never show in an error message (internal detail).
LEAK_WORDS = ("mysql", "mariadb", "sql", "select ", "errno", "stack", ".c:", "segfault")


def check_timestamp(value, what):
    expect(isinstance(value, str) and TS_RE.match(value),
           "%s %r is not RFC 3339 UTC YYYY-MM-DDTHH:MM:SSZ" % (what, value))
    try:
        datetime.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise Fail("%s %r is not a real date/time" % (what, value))


def check_common(r, status, head=False):
    """What every answer of the program has: the status; exactly one Content-Type
    (JSON), Cache-Control no-store, X-Content-Type-Options nosniff and
    X-Request-Id; a Content-Length that fits the body (no chunking); a JSON object
    with code = status, a message and a timestamp within 5 minutes of now; an
    error has exactly {code, message, timestamp} and no internal detail; a 401
    has WWW-Authenticate, nothing else has.  HEAD: no body."""
    expect(r.parse_error is None, "unparseable response: %s" % r.parse_error)
    expect(r.status == status, "expected %d, got %s" % (status, r.describe()))
    for name, want in (("Content-Type", CONTENT_TYPE), ("Cache-Control", "no-store"),
                       ("X-Content-Type-Options", "nosniff")):
        vals = r.header_all(name)
        expect(vals == [want], "%s: want exactly one %r, got %r (%s)"
               % (name, want, vals, r.describe()))
    rids = r.header_all("X-Request-Id")
    expect(len(rids) == 1 and RID_RE.match(rids[0]),
           "X-Request-Id %r on %s" % (rids, r.describe()))
    expect(not r.header_all("Transfer-Encoding"),
           "Transfer-Encoding %r instead of Content-Length" % r.header_all("Transfer-Encoding"))
    cl = r.header_all("Content-Length")
    expect(len(cl) == 1 and cl[0].isdigit(), "Content-Length: %r" % cl)
    if head:
        expect(r.body == b"", "HEAD response has a body of %d bytes" % len(r.body))
        return
    expect(int(cl[0]) == len(r.body),
           "Content-Length %s but body has %d bytes" % (cl[0], len(r.body)))
    expect(r.json_error is None, "body is not JSON (%s): %s" % (r.json_error, shorten(r.body)))
    j = r.json
    expect(isinstance(j, dict), "body is not a JSON object")
    expect(type(j.get("code")) is int and j["code"] == status,
           "code %r != HTTP status %d" % (j.get("code"), status))
    expect(isinstance(j.get("message"), str) and j["message"].strip() != "",
           "message missing or empty: %r" % j.get("message"))
    check_timestamp(j.get("timestamp"), "timestamp")
    ts = datetime.datetime.strptime(j["timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)
    skew = abs((ts - datetime.datetime.now(datetime.timezone.utc)).total_seconds())
    expect(skew < 300, "timestamp %s is %d s away from UTC now" % (j["timestamp"], skew))
    if status != 200:
        expect(set(j) == ERROR_KEYS, "error body keys %s, want exactly %s"
               % (sorted(j), sorted(ERROR_KEYS)))
        low = j["message"].lower()
        for w in LEAK_WORDS:
            expect(w not in low, "message shows internal detail (%r): %r" % (w, j["message"]))
    if status == 401:
        check_www_authenticate(r, None)
    else:
        expect(not r.header_all("WWW-Authenticate"),
               "WWW-Authenticate on a %d: %r" % (status, r.header_all("WWW-Authenticate")))


def check_www_authenticate(r, with_error):
    """with_error: True (must carry error="invalid_token"), False (must not), None."""
    vals = r.header_all("WWW-Authenticate")
    expect(len(vals) == 1, "want one WWW-Authenticate, got %r" % vals)
    v = vals[0]
    expect(v == REALM or v.startswith(REALM + ","),
           "WWW-Authenticate %r does not start with %r" % (v, REALM))
    if with_error is True:
        expect(re.match(r'^Bearer realm="autional", ?error="invalid_token"'
                        r'(, ?error_description="[^"\\]*")?$', v),
               'want %s, error="invalid_token", got %r' % (REALM, v))
    elif with_error is False:
        expect(v == REALM, "no credential presented: want exactly %r, got %r" % (REALM, v))


def front_end_refused(r, statuses=(400,)):
    """A refusal the web server gave itself (control bytes in the URL, a huge
    header): one of these statuses, and a page of its own or its refusal as
    SimpleResponse JSON (issue 12: static, or written by the program when
    handed over), whose message names the web server.  Noted."""
    if r.status not in statuses:
        return False
    if (r.header("Content-Type") != CONTENT_TYPE
            or isinstance(r.json, dict) and "web server" in str(r.json.get("message"))):
        note("%s refused by the front end with %d" % (shorten(r.target, 80), r.status))
        return True
    return False


def names_param(message, name):
    """Whether message names name as a word of its own."""
    return re.search(r"(?<![A-Za-z0-9_])%s(?![A-Za-z0-9_])" % re.escape(name), message)


def check_error(r, status, mentions=None, message=None):
    """An error answer (check_common) whose message names `mentions` or is `message`."""
    check_common(r, status)
    msg = r.json["message"]
    if mentions is not None:
        expect(names_param(msg, mentions), "message %r does not name %r" % (msg, mentions))
    if message is not None:
        expect(msg == message, "message %r, want %r" % (msg, message))


def check_item(it):
    """One token of a list: the contract's fields, well-formed."""
    expect(isinstance(it, dict), "item is not an object: %r" % (it,))
    expect(set(it) <= ITEM_KEYS, "item has fields beyond the contract's: %s"
           % sorted(set(it) - ITEM_KEYS))
    for k in ("id", "created_at", "expires_at", "scope", "token_type"):
        expect(k in it, "item lacks %s: %r" % (k, it))
    expect(isinstance(it["id"], str) and ITEM_ID_RE.match(it["id"]),
           "id %r is not tok_ + 32 lowercase hex" % it.get("id"))
    check_timestamp(it["created_at"], "created_at")
    check_timestamp(it["expires_at"], "expires_at")
    expect(isinstance(it["scope"], str), "scope is not a string: %r" % it["scope"])
    expect(it["token_type"] in ("access_token", "refresh_token"),
           "token_type %r" % it["token_type"])
    if "user_id" in it:
        expect(isinstance(it["user_id"], str) and it["user_id"] != "",
               "user_id present but not a non-empty string: %r" % it["user_id"])


def check_list(r, page, page_size, total):
    """A 200 list envelope with exactly this pagination; returns the items."""
    check_common(r, 200)
    j = r.json
    expect(set(j) == ENVELOPE_KEYS, "envelope keys %s, want exactly %s"
           % (sorted(j), sorted(ENVELOPE_KEYS)))
    expect(isinstance(j["items"], list), "items is not an array: %r" % (j["items"],))
    p = j["pagination"]
    expect(isinstance(p, dict) and set(p) == PAGINATION_KEYS,
           "pagination keys %s, want exactly %s" % (sorted(p) if isinstance(p, dict) else p,
                                                   sorted(PAGINATION_KEYS)))
    for k in ("page", "page_size", "total", "total_pages"):
        expect(type(p[k]) is int, "pagination.%s is not an integer: %r" % (k, p[k]))
    for k in ("has_next", "has_prev"):
        expect(type(p[k]) is bool, "pagination.%s is not a boolean: %r" % (k, p[k]))
    expect(type(j["total"]) is int and j["total"] == p["total"],
           "total %r != pagination.total %r" % (j["total"], p["total"]))
    pages = math.ceil(total / page_size)
    want = {"page": page, "page_size": page_size, "total": total, "total_pages": pages,
            "has_next": page < pages, "has_prev": page > 1}
    expect(p == want, "pagination %s, want %s" % (json.dumps(p, sort_keys=True),
                                                  json.dumps(want, sort_keys=True)))
    n = max(0, min(page_size, total - (page - 1) * page_size))
    expect(len(j["items"]) == n, "%d items on page %d (size %d, total %d), want %d"
           % (len(j["items"]), page, page_size, total, n))
    for it in j["items"]:
        check_item(it)
    check_next_cursor(r, page < pages)
    return j["items"]


def check_next_cursor(r, has_next):
    """next_cursor is an opaque 44-character base64url text exactly when another
    page follows (else null), and the Link header's rel="next" carries it."""
    cur = r.json.get("next_cursor", "absent")
    links = r.header_all("Link")
    if has_next:
        expect(isinstance(cur, str) and CURSOR_RE.match(cur),
               "next_cursor %r, want a 44-character base64url text" % (cur,))
        expect(len(links) == 1, "want one Link header, got %r" % (links,))
        m = LINK_NEXT_RE.match(links[0])
        expect(m, "Link %r is not <...>; rel=\"next\"" % links[0])
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(m.group(1)).query)
        expect(q.get("cursor") == [cur], "Link %r does not carry next_cursor %s" % (links[0], cur))
    else:
        expect(cur is None, "next_cursor %r on the last page, want null" % (cur,))
        expect(not links, "Link header on the last page: %r" % (links,))


def check_revoked(r, revoked, dry_run):
    """A 200 revocation answer: {code, message, revoked, dry_run, timestamp}."""
    check_common(r, 200)
    j = r.json
    expect(set(j) == REVOKE_KEYS, "revoke body keys %s, want %s" % (sorted(j),
                                                                   sorted(REVOKE_KEYS)))
    expect(type(j["revoked"]) is int and j["revoked"] == revoked,
           "revoked %r, want %d (%s)" % (j["revoked"], revoked, r.describe()))
    expect(j["dry_run"] is dry_run, "dry_run %r, want %r" % (j["dry_run"], dry_run))


# ---------------------------------------------------------------- the program's log

def log_size():
    """Bytes in APP_LOG now (0 when unset or absent): an offset to read from."""
    try:
        return os.path.getsize(APP_LOG) if APP_LOG else 0
    except OSError:
        return 0


def read_log_from(offset):
    with open(APP_LOG, "rb") as f:
        f.seek(offset)
        return f.read()


def log_lines_with(needle, start, wait=2.0):
    """APP_LOG lines after start holding needle (bytes); waits up to `wait` s
    for the first, since a line may be flushed just after its response."""
    deadline = time.monotonic() + wait
    while True:
        lines = [l for l in read_log_from(start).split(b"\n") if needle in l]
        if lines or time.monotonic() >= deadline:
            return lines
        time.sleep(0.05)
