#!/usr/bin/env python3
"""test_request_ids.py: a caller cannot forge or collide the ids that tie audit rows to logs.

The request id (X-Request-Id of the answer, request_id= of the log line,
audit_events.request_id) is the web server's (Apache UNIQUE_ID, nginx
$request_id passed as REQUEST_ID) or, where the web server has none (lighttpd),
the program's random 128-bit one.  A caller's X-Request-Id is kept apart: the
answer's X-Client-Request-Id, client_request_id= in the log line, and
audit_events.client_request_id, and only when it is 1-64 of A-Z a-z 0-9 . _ -
@ : (anything else is dropped, never cut into something else).

Environment (tests/run): BASE_URL, DB_SOCKET, DB_NAME, DB_USER, APP_LOG,
FRONTEND.  Loads a small fixture of its own (tenant ten_rid, ids 9101).
Prints "ok - ..." / "not ok - ..." and ends with "N passed, N failed".
"""

import hashlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import Fail, expect, note, summary, test  # noqa: E402

BASE_URL = os.environ.get("BASE_URL", "")
DB_SOCKET = os.environ.get("DB_SOCKET", "")
DB_NAME = os.environ.get("DB_NAME", "")
DB_USER = os.environ.get("DB_USER", "root")
APP_LOG = os.environ.get("APP_LOG", "")
FRONTEND = os.environ.get("FRONTEND", "")

RUN = "%x" % int(time.time() * 1000)
ADMIN_TOKEN = "rid-admin-live-9101"
CLIENT = "cli_rid"
PATH = "/admin/oauth/clients/%s/tokens" % CLIENT
SAFE_ID = re.compile(r"^[A-Za-z0-9._\-@:]{1,64}$")
HEX32 = re.compile(r"^[0-9a-f]{32}$")

FIXTURE = """
SET NAMES utf8mb4;
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


def sql(query):
    p = subprocess.run(["mariadb", "--no-defaults", "--protocol=socket", "-S", DB_SOCKET,
                        "-u", DB_USER, "-N", "-B", "-r", DB_NAME],
                       input=query.encode(), capture_output=True, timeout=60)
    if p.returncode != 0:
        raise Fail("mariadb failed: %s" % p.stderr.decode(errors="replace")[:300])
    return [line.split("\t") for line in p.stdout.decode().splitlines()]


def q(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "''") + "'"


class Answer:
    def __init__(self, raw):
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1]) if len(lines[0].split()) > 1 else 0
        self.headers = []
        for line in lines[1:]:
            n, _, v = line.partition(":")
            self.headers.append((n.strip().lower(), v.strip()))
        self.raw_head = head

    def all(self, name):
        return [v for n, v in self.headers if n == name.lower()]

    def one(self, name):
        v = self.all(name)
        return v[0] if len(v) == 1 else None

    def describe(self):
        return "%d %s" % (self.status, self.body[:160])


def send(rid_lines, auth=ADMIN_TOKEN, path=PATH):
    """GET path with the raw header lines rid_lines (bytes) on a fresh connection."""
    u = urllib.parse.urlsplit(BASE_URL)
    lines = [b"GET " + path.encode() + b" HTTP/1.1",
             ("Host: %s" % u.netloc).encode(), b"Connection: close"]
    if auth:
        lines.append(b"Authorization: Bearer " + auth.encode())
    lines += rid_lines
    with socket.create_connection((u.hostname, u.port), timeout=30) as s:
        s.sendall(b"\r\n".join(lines) + b"\r\n\r\n")
        data = b""
        while True:
            c = s.recv(65536)
            if not c:
                break
            data += c
    return Answer(data)


def send_rid(value, **kw):
    v = value if isinstance(value, bytes) else value.encode()
    return send([b"X-Request-Id: " + v], **kw)


def audit_row(rid):
    """(request_id, client_request_id or None) of the audit row of rid; waits for
    the worker's queued read audit."""
    deadline = time.time() + 5
    while True:
        rows = sql("SELECT request_id, COALESCE(client_request_id, '\\\\N') FROM audit_events"
                   " WHERE request_id = %s" % q(rid))
        if rows or time.time() > deadline:
            break
        time.sleep(0.1)
    expect(len(rows) == 1, "%d audit rows with request_id %s, want 1" % (len(rows), rid))
    return rows[0][0], None if rows[0][1] == "\\N" else rows[0][1]


def log_lines(needle):
    if not APP_LOG:
        return None
    for _ in range(50):
        with open(APP_LOG, "rb") as f:
            found = [l for l in f.read().split(b"\n") if needle.encode() in l]
        if found:
            return found
        time.sleep(0.1)
    return []


def server_id(a):
    rid = a.one("X-Request-Id")
    expect(rid and SAFE_ID.match(rid), "X-Request-Id %r (%s)" % (a.all("X-Request-Id"),
                                                                 a.describe()))
    return rid


# ---------------------------------------------------------------------------

def t_caller_id_not_taken():
    forged = "rid-forged-%s" % RUN
    a = send_rid(forged)
    expect(a.status == 200, "status %s" % a.describe())
    rid = server_id(a)
    expect(rid != forged, "the caller's X-Request-Id became the request id")
    expect(a.all("X-Client-Request-Id") == [forged],
           "X-Client-Request-Id %r, want [%r]" % (a.all("X-Client-Request-Id"), forged))
    got_rid, got_client = audit_row(rid)
    expect(got_client == forged, "audit client_request_id %r, want %r" % (got_client, forged))
    rows = sql("SELECT COUNT(*) FROM audit_events WHERE request_id = %s" % q(forged))
    expect(rows[0][0] == "0", "an audit row has the caller's id as request_id")
    lines = log_lines("request_id=%s" % rid)
    if lines is not None:
        expect(len(lines) == 1, "%d log lines with request_id=%s" % (len(lines), rid))
        expect(b"client_request_id=" + forged.encode() in lines[0],
               "log line without client_request_id=%s: %r" % (forged, lines[0]))


def t_same_caller_id_no_collision():
    forged = "rid-collide-%s" % RUN
    ids = [server_id(send_rid(forged)) for _ in range(3)]
    expect(len(set(ids)) == 3 and forged not in ids, "request ids %r" % ids)
    for rid in ids:
        expect(audit_row(rid)[1] == forged, "audit row of %s lacks the caller's id" % rid)


def t_no_caller_id():
    a = send([])
    rid = server_id(a)
    expect(a.all("X-Client-Request-Id") == [], "X-Client-Request-Id without one sent")
    expect(audit_row(rid)[1] is None, "client_request_id not NULL without a caller id")
    lines = log_lines("request_id=%s" % rid)
    if lines is not None:
        expect(len(lines) == 1 and b"client_request_id=-" in lines[0],
               "log line %r" % lines)


def t_web_server_id():
    """Apache and nginx hand the program their own id; lighttpd has none."""
    a = send([])
    rid = server_id(a)
    if FRONTEND == "apache":
        # mod_unique_id: 27 characters of A-Z a-z 0-9 @ - (base64 of its fields).
        expect(re.match(r"^[A-Za-z0-9@\-_]{19,32}$", rid) and not HEX32.match(rid),
               "X-Request-Id %r is not Apache's UNIQUE_ID" % rid)
    else:
        # nginx $request_id and the program's own: 32 hex digits (128 bits).
        expect(HEX32.match(rid), "X-Request-Id %r is not 32 hex digits" % rid)


def hostile(value, want_status=(200,)):
    """A hostile X-Request-Id: either the web server refuses the request (a 400,
    JSON), or the answer is normal and the value appears nowhere as an id."""
    a = send([value])
    if a.status == 400:
        expect(a.one("Content-Type", ) and a.one("Content-Type").startswith("application/json"),
               "400 not JSON: %s" % a.describe())
        return "refused by the web server (400)"
    expect(a.status in want_status, "status %s" % a.describe())
    rid = server_id(a)
    client = a.all("X-Client-Request-Id")
    expect(all(SAFE_ID.match(c) for c in client) and len(client) <= 1,
           "X-Client-Request-Id %r" % client)
    expect(not any(n.startswith("x-evil") for n, _ in a.headers), "header injected: %r" % a.headers)
    got_rid, got_client = audit_row(rid)
    expect(got_client is None or SAFE_ID.match(got_client), "audit client_request_id %r" % got_client)
    lines = log_lines("request_id=%s" % rid)
    if lines is not None:
        expect(len(lines) == 1, "%d log lines for %s" % (len(lines), rid))
        expect(b"X-Evil" not in lines[0] and b'"' not in lines[0].split(b"client_request_id=")[-1],
               "log line %r" % lines[0])
    return "answered %d, caller id %s" % (a.status, client[0] if client else "dropped")


def t_hostile():
    cases = [
        ("10 kB", b"X-Request-Id: " + b"r" * 10240),
        ("65 characters", b"X-Request-Id: " + b"r" * 65),
        ("quotes", b'X-Request-Id: a"b"c'),
        ("single quote and backslash", b"X-Request-Id: a'b\\c"),
        ("space and semicolon", b"X-Request-Id: a b;c"),
        ("bare CR", b"X-Request-Id: a\rX-Evil: 1"),
        ("bare LF", b"X-Request-Id: a\nX-Evil: 1"),
        ("obs-fold", b"X-Request-Id: a\r\n X-Evil: 1"),
        ("NUL", b"X-Request-Id: a\x00b"),
        ("latin-1 byte", b"X-Request-Id: caf\xe9"),
        ("two headers", b"X-Request-Id: one-" + RUN.encode() + b"\r\nX-Request-Id: two"),
    ]
    for name, line in cases:
        note("hostile X-Request-Id %s: %s" % (name, hostile(line)))
    # The 10 kB and quoted values must not be cut into an accepted id.
    a = send([cases[0][1]])
    expect(a.status != 200 or a.all("X-Client-Request-Id") == [],
           "10 kB caller id kept as %r" % a.all("X-Client-Request-Id"))


def main():
    for v in ("BASE_URL", "DB_SOCKET", "DB_NAME"):
        if not os.environ.get(v):
            print("%s is required" % v, file=sys.stderr)
            return 2
    sql(FIXTURE)
    cols = sql("SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE()"
               " AND table_name = 'audit_events' AND column_name = 'client_request_id'")
    test("audit_events has the nullable column client_request_id (sql/005)",
         lambda: expect(cols[0][0] == "1", "no such column"))
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
