#!/usr/bin/env python3
"""test_request_ids.py: a caller cannot forge or collide the ids that tie audit rows to logs.

The request id (X-Request-Id of the answer, request_id= of the log line,
audit_events.request_id) is the web server's (Apache UNIQUE_ID, nginx
$request_id passed as REQUEST_ID) or, where the web server has none (lighttpd),
the program's random 128-bit one.  A caller's X-Request-Id is kept apart: the
answer's X-Client-Request-Id, client_request_id= in the log line, and
audit_events.client_request_id, and only when it is 1-64 of A-Z a-z 0-9 . _ -
@ : (anything else is dropped, never cut into something else).

Environment (tests/run, stacklib.py): BASE_URL, DB_SOCKET, DB_NAME, DB_USER,
APP_LOG, FRONTEND.  Loads a small fixture of its own (tenant ten_rid, ids
9101), so it runs after any other suite.  Prints "ok - ..." / "not ok - ..."
and ends with "N passed, N failed".
"""

import hashlib
import os
import re
import sys
import time

sys.dont_write_bytecode = True
from stacklib import *  # noqa: E402,F401,F403

ADMIN_TOKEN = "rid-admin-live-9101"
CLIENT = "cli_rid"
PATH = PATH_FMT.format(CLIENT)
HEX32 = re.compile(r"^[0-9a-f]{32}$")
RUN = "%x" % int(time.time() * 1000)

FIXTURE = """
DELETE FROM oauth_tokens WHERE oauth_client_id = 9101 OR user_id = 9101;
DELETE FROM oauth_clients WHERE id = 9101;
DELETE FROM users WHERE id = 9101;
DELETE FROM tenants WHERE id = 9101;
INSERT INTO tenants (id, public_id, name) VALUES (9101, 'ten_rid', 'Request ids');
INSERT INTO users (id, public_id, tenant_id, is_admin) VALUES (9101, 'usr_rid_admin', 9101, TRUE);
INSERT INTO oauth_clients (id, client_id, tenant_id, name) VALUES (9101, '%s', 9101, 'Request ids');
INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id, scope, expires_at)
  VALUES (UNHEX('%s'), 'access_token', 9101, 9101, 'rid', UTC_TIMESTAMP() + INTERVAL 1 DAY);
""" % (CLIENT, hashlib.sha256(ADMIN_TOKEN.encode()).hexdigest())


def send(headers=(), rid=None):
    """The admin's list of cli_rid, with these extra header lines."""
    return request("GET", PATH, auth=ADMIN_TOKEN, headers=headers, rid=rid)


def audit_row(rid):
    """client_request_id (None for NULL) of the one audit row of request rid;
    waits for the worker's queued read audit."""
    deadline = time.time() + 5
    while True:
        rows = sql("SELECT COALESCE(client_request_id, '(null)') FROM audit_events"
                   " WHERE request_id = %s" % q(rid))
        if rows or time.time() > deadline:
            break
        time.sleep(0.1)
    expect(len(rows) == 1, "%d audit rows with request_id %s, want 1" % (len(rows), rid))
    return None if rows[0] == "(null)" else rows[0]


def log_line(rid, start):
    """The one log line of request rid (None without APP_LOG)."""
    if not APP_LOG:
        return None
    lines = log_lines_with((" request_id=%s " % rid).encode(), start, wait=5.0)
    expect(len(lines) == 1, "%d log lines with request_id=%s" % (len(lines), rid))
    return lines[0]


def server_id(r):
    rids = r.header_all("X-Request-Id")
    expect(len(rids) == 1 and RID_RE.match(rids[0]), "X-Request-Id %r (%s)"
           % (rids, r.describe()))
    return rids[0]


# ---------------------------------------------------------------------------

def t_caller_id_not_taken():
    forged = "rid-forged-%s" % RUN
    start = log_size()
    r = send(rid=forged)
    expect(r.status == 200, "status %s" % r.describe())
    rid = server_id(r)
    expect(rid != forged, "the caller's X-Request-Id became the request id")
    expect(r.header_all("X-Client-Request-Id") == [forged],
           "X-Client-Request-Id %r, want [%r]" % (r.header_all("X-Client-Request-Id"), forged))
    got = audit_row(rid)
    expect(got == forged, "audit client_request_id %r, want %r" % (got, forged))
    n = sql1("SELECT COUNT(*) FROM audit_events WHERE request_id = %s" % q(forged))
    expect(n == "0", "an audit row has the caller's id as request_id")
    line = log_line(rid, start)
    if line is not None:
        expect(line.endswith(b" client_request_id=" + forged.encode()),
               "log line without client_request_id=%s: %r" % (forged, line))


def t_same_caller_id_no_collision():
    forged = "rid-collide-%s" % RUN
    ids = [server_id(send(rid=forged)) for _ in range(3)]
    expect(len(set(ids)) == 3 and forged not in ids, "request ids %r" % ids)
    for rid in ids:
        expect(audit_row(rid) == forged, "audit row of %s lacks the caller's id" % rid)


def t_no_caller_id():
    start = log_size()
    r = send()
    rid = server_id(r)
    expect(r.header_all("X-Client-Request-Id") == [], "X-Client-Request-Id without one sent")
    expect(audit_row(rid) is None, "client_request_id not NULL without a caller id")
    line = log_line(rid, start)
    if line is not None:
        expect(line.endswith(b" client_request_id=-"), "log line %r" % line)


def web_server_access_log():
    """The access log of the front end of this run (tests/run: WORK is
    <root>/<frontend>/suites/<suite>), where the Apache and nginx stages log
    each request's id as "rid=<id>"; None elsewhere."""
    if not WORK or not (FRONTEND == "apache" or FRONTEND.startswith("nginx")):
        return None
    path = os.path.join(os.path.realpath(os.path.join(WORK, "..", "..")), "access.log")
    return path if os.path.exists(path) else None


def t_web_server_id():
    """Apache and nginx hand the program their own id; lighttpd has none."""
    rid = server_id(send(rid="rid-own-%s" % RUN))
    if FRONTEND == "apache":
        # mod_unique_id: base64-like, A-Z a-z 0-9 @ - (27 characters on 2.4).
        expect(re.match(r"^[A-Za-z0-9@_-]{19,32}$", rid) and not HEX32.match(rid),
               "X-Request-Id %r is not Apache's UNIQUE_ID" % rid)
    else:
        # nginx $request_id and the program's own: 32 hex digits (128 bits).
        expect(HEX32.match(rid), "X-Request-Id %r is not 32 hex digits" % rid)
    log = web_server_access_log()
    if log is None:
        note("%s: no access log with request ids to compare" % (FRONTEND or "?"))
        return
    deadline = time.time() + 5
    while True:
        with open(log, "rb") as f:
            found = [l for l in f.read().split(b"\n") if l.endswith(b" rid=" + rid.encode())]
        if found or time.time() > deadline:
            break
        time.sleep(0.1)
    expect(len(found) == 1, "%d lines of %s end with rid=%s: the id is not the web server's"
           % (len(found), log, rid))


def hostile(name, headers):
    """A hostile X-Request-Id: either the web server refuses the request (a 400,
    JSON since issue 12), or the answer is normal and the value is no id."""
    start = log_size()
    r = send(headers=headers)
    if r.status == 400:
        expect(r.header("Content-Type", ) and r.header("Content-Type").startswith("application/json"),
               "%s: 400 not JSON: %s" % (name, r.describe()))
        return "refused by the web server (400)"
    expect(r.status == 200, "%s: status %s" % (name, r.describe()))
    rid = server_id(r)
    client = r.header_all("X-Client-Request-Id")
    expect(len(client) <= 1 and all(RID_RE.match(c) for c in client),
           "%s: X-Client-Request-Id %r" % (name, client))
    expect(not any(n.lower().startswith("x-evil") for n, _ in r.headers),
           "%s: header injected: %r" % (name, r.headers))
    got = audit_row(rid)
    expect(got is None or RID_RE.match(got), "%s: audit client_request_id %r" % (name, got))
    expect(got == (client[0] if client else None),
           "%s: audit client_request_id %r, answer %r" % (name, got, client))
    line = log_line(rid, start)
    if line is not None:
        logged = line.rsplit(b" client_request_id=", 1)[-1]
        expect(logged == (client[0].encode() if client else b"-"),
               "%s: log line %r" % (name, line))
    return "answered %d, caller id %s" % (r.status, client[0] if client else "dropped")


def t_hostile():
    x = "X-Request-Id"
    cases = [
        ("10 kB", [(x, "r" * 10240)]),
        ("65 characters", [(x, "r" * 65)]),
        ("quotes", [(x, 'a"b"c')]),
        ("single quote and backslash", [(x, "a'b\\c")]),
        ("space and semicolon", [(x, "a b;c")]),
        ("bare CR", [(x, b"a\rX-Evil: 1")]),
        ("bare LF", [(x, b"a\nX-Evil: 1")]),
        ("obs-fold", [(x, b"a\r\n X-Evil: 1")]),
        ("NUL", [(x, b"a\x00b")]),
        ("latin-1 byte", [(x, b"caf\xe9")]),
        ("two headers", [(x, "one-" + RUN), (x, "two")]),
    ]
    for name, headers in cases:
        note("hostile X-Request-Id %s: %s" % (name, hostile(name, headers)))
    # Not cut into an accepted id: a 10 kB value or one with a quote is dropped whole.
    for v in ("r" * 10240, 'ok-prefix"'):
        r = send(headers=[(x, v)])
        expect(r.status != 200 or r.header_all("X-Client-Request-Id") == [],
               "%r... kept as %r" % (v[:12], r.header_all("X-Client-Request-Id")))


def main():
    require("BASE_URL", "DB_SOCKET", "DB_NAME")
    sql(FIXTURE)
    test("audit_events has the nullable column client_request_id (sql/005)",
         lambda: expect(sql1("SELECT is_nullable FROM information_schema.columns"
                             " WHERE table_schema = DATABASE() AND table_name = 'audit_events'"
                             " AND column_name = 'client_request_id'") == "YES",
                        "no nullable column client_request_id"))
    test("a caller's X-Request-Id is never the request id; kept apart in header, log, audit",
         t_caller_id_not_taken)
    test("three requests with one caller id get three request ids", t_same_caller_id_no_collision)
    test("no caller id: no X-Client-Request-Id, NULL in the audit row, '-' in the log",
         t_no_caller_id)
    test("the request id is the web server's where it has one (%s)" % (FRONTEND or "?"),
         t_web_server_id)
    test("hostile caller ids (CR/LF, 10 kB, quotes, ...) refused or dropped, never injected",
         t_hostile)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
