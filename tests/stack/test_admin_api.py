#!/usr/bin/env python3
"""test_admin_api.py: whole-stack tests of issue 6's admin API.

Covers, through a real web server and MariaDB:
  GET    /admin/oauth/clients/{client_id}/tokens?page&page_size&user_id&token_type
  DELETE /admin/oauth/clients/{client_id}/tokens?user_id&token_type&dry_run
  DELETE /admin/oauth/clients/{client_id}/tokens/{token_id}[?dry_run]
item ids, filters with paging, revocation (by filters, by id, dry runs, racing
lists), the audit trail, X-Request-Id, 405 Allow values, and that the totals stay
exact against COUNT(*) in SQL.

Loads its own fixture at start (tenants ten_gamma / ten_delta; it empties the
token tables the way tests/stack/fixture.sql does), so it runs again and again,
alone or after other suites.  Standard library only; HTTP over a raw socket, SQL
and the envelope checks come from stacklib.py.

Environment (from tests/run): BASE_URL, DB_SOCKET, DB_NAME, DB_USER (required
except DB_USER); APP_LOG (log checks), APP_CONFIG + BUILDDIR (the audit_reads = 0
check runs the program once in CGI mode with a copied config), WORK, SRCDIR
(OpenAPI validation when docs/openapi.yaml and tests/stack/openapi_check.py exist).

Prints `ok - <name>` / `not ok - <name>: <why>` per check, then
`N passed, N failed`; exits 1 if any check failed.
"""

import datetime
import hashlib
import json
import math
import os
import random
import re
import subprocess
import sys
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True
import stacklib  # noqa: E402
from stacklib import *  # noqa: E402,F401,F403

HEX32_RE = re.compile(r"^[0-9a-f]{32}$")
# Issue 12: the request id is the web server's (Apache mod_unique_id's
# UNIQUE_ID; nginx $request_id, 32 hex) or the program's 32 random hex digits.
UNIQUE_ID_RE = re.compile(r"^[A-Za-z0-9@_-]{19,32}$")


def server_request_id(rid):
    return bool(HEX32_RE.match(rid) or (FRONTEND == "apache" and UNIQUE_ID_RE.match(rid)))
ALLOW_COLLECTION = "GET, HEAD, DELETE"
ALLOW_ONE = "DELETE"

# Bearer token texts (fixture below stores SHA-256 of each).
B = {
    "admin": "h9-g-admin-live",          # usr_g_admin, tenant ten_gamma
    "victim": "h9-g-victim-live",        # usr_g_victim (admin), revoked by filter
    "victim_refresh": "h9-g-victim-refresh",
    "self": "h9-g-self-live",            # usr_g_self (admin), revokes itself by id
    "member": "h9-g-member-live",        # non-admin
    "cc": "h9-g-cc-live",                # client credentials (no user)
    "d_admin": "h9-d-admin-live",        # usr_d_admin, tenant ten_delta
}
TENANT_ADMIN = {"ten_gamma": B["admin"], "ten_delta": B["d_admin"]}

RUN = "h9-%d-%d" % (os.getpid(), int(time.time()) % 100000)


# ---------------------------------------------------------------- database

def where_active(client, user=None, ttype=None):
    w = ("c.client_id = %s AND t.revoked_at IS NULL AND t.expires_at > UTC_TIMESTAMP()"
         % q(client))
    if user is not None:
        w += " AND u.public_id = %s" % q(user)
    if ttype is not None:
        w += " AND t.token_type = %s" % q(ttype)
    return w


FROM = (" FROM oauth_tokens t JOIN oauth_clients c ON c.id = t.oauth_client_id"
        " LEFT JOIN users u ON u.id = t.user_id")


def db_count(client, user=None, ttype=None):
    return int(sql("SELECT COUNT(*)" + FROM + " WHERE " + where_active(client, user, ttype))[0])


def db_rows(client, user=None, ttype=None):
    """Active rows, newest first, as the API should show them (plus pk)."""
    out = sql("SELECT JSON_OBJECT('pk', t.id, 'id', CONCAT('tok_', LOWER(HEX(t.public_id))),"
              " 'scope', t.scope, 'token_type', t.token_type, 'user_id', u.public_id,"
              " 'created_at', DATE_FORMAT(t.created_at, '%Y-%m-%dT%H:%i:%sZ'),"
              " 'expires_at', DATE_FORMAT(t.expires_at, '%Y-%m-%dT%H:%i:%sZ'))" + FROM +
              " WHERE " + where_active(client, user, ttype) +
              " ORDER BY t.created_at DESC, t.id DESC")
    return [json.loads(l) for l in out]


def db_states(client):
    """{pk: revoked_at or None} for every row of a client (active or not)."""
    out = sql("SELECT t.id, COALESCE(DATE_FORMAT(t.revoked_at, '%Y-%m-%d %H:%i:%s'), '-')"
              + FROM + " WHERE c.client_id = " + q(client))
    return {int(a): (None if b == "-" else b) for a, b in (l.split("\t") for l in out)}


def db_id_of(scope):
    return sql("SELECT CONCAT('tok_', LOWER(HEX(public_id))) FROM oauth_tokens WHERE scope = "
               + q(scope))[0]


def db_revoked_at(scope):
    v = sql("SELECT COALESCE(DATE_FORMAT(revoked_at, '%Y-%m-%d %H:%i:%s'), '-') FROM"
            " oauth_tokens WHERE scope = " + q(scope))[0]
    return None if v == "-" else v


def db_checksums():
    return sql("CHECKSUM TABLE oauth_tokens, oauth_token_totals, users, oauth_clients EXTENDED")


def audit_max_id():
    return int(sql("SELECT COALESCE(MAX(id), 0) FROM audit_events")[0])


def audited_since(start, responses):
    """Audit rows written after row `start` for any of these responses, by
    request id.  (Not every new row: a worker writes the read audits of earlier
    lists when it is next idle, or a second later, which can fall in between.)"""
    rids = {r.rid for r in responses if r.rid}
    got = sql("SELECT request_id FROM audit_events WHERE id > %d" % start)
    return [rid for rid in got if rid in rids]


def audit_rows(rid):
    out = sql("SELECT JSON_OBJECT('tenant_id', tenant_id, 'actor', actor, 'action', action,"
              " 'client_id', client_id, 'filters', filters, 'affected', affected,"
              " 'dry_run', dry_run, 'request_id', request_id, 'status', status,"
              " 'age', TIMESTAMPDIFF(SECOND, occurred_at, UTC_TIMESTAMP(6)))"
              " FROM audit_events WHERE request_id = " + q(rid) + " ORDER BY id")
    return [json.loads(l) for l in out]


# ---------------------------------------------------------------- HTTP

def request(method, target, auth=None, rid=True, headers=(), raw_auth=None):
    """stacklib.request with this suite's habits: a fresh unique X-Request-Id unless
    rid says otherwise (None: no header; or the exact value), a JSON body {} on
    POST/PUT/PATCH."""
    body = None
    if method in ("POST", "PUT", "PATCH"):
        headers = tuple(headers) + (("Content-Type", "application/json"),)
        body = b"{}"
    return stacklib.request(method, target, auth=auth, raw_auth=raw_auth, headers=headers,
                            body=body, rid=rid, timeout=60)


def target(client, query="", token_id=None):
    t = PATH_FMT.format(urllib.parse.quote(client, safe=""))
    if token_id is not None:
        t += "/" + token_id
    return t + ("?" + query if query else "")


def qs(**kw):
    return urllib.parse.urlencode([(k, v) for k, v in kw.items() if v is not None])


def lst(client, auth=B["admin"], **kw):
    return request("GET", target(client, qs(**kw)), auth=auth)


def revoke_all(client, auth=B["admin"], **kw):
    return request("DELETE", target(client, qs(**kw)), auth=auth)


def revoke_one(client, token_id, auth=B["admin"], **kw):
    return request("DELETE", target(client, qs(**kw), token_id), auth=auth)


# ---------------------------------------------------------------- response checks

def check_error(r, status, mentions=None, message=None):
    """stacklib.check_error; a 400 the web server gave itself is accepted (noted)."""
    if status == 400 and front_end_refused(r):
        return
    stacklib.check_error(r, status, mentions, message)


def check_audit(r, action, client, filters, affected, dry_run=False,
                tenant="ten_gamma", actor="usr_g_admin"):
    """Exactly one audit row carries this response's request id, with these columns."""
    rid = r.rid
    expect(rid, "no X-Request-Id on %s" % r.describe())
    rows = audit_rows(rid)
    # Read audits are queued in the worker and written when it is idle (or 16
    # at a time): give the worker a moment after the response.
    deadline = time.time() + 3
    while not rows and action == "tokens.list" and time.time() < deadline:
        time.sleep(0.05)
        rows = audit_rows(rid)
    expect(len(rows) == 1, "%d audit rows for request %s (%s), want 1: %s"
           % (len(rows), rid, r.describe(), rows))
    a = rows[0]
    try:
        f = json.loads(a["filters"])
    except Exception:
        raise Fail("audit filters %r is not JSON" % a["filters"])
    got = {"tenant_id": a["tenant_id"], "actor": a["actor"], "action": a["action"],
           "client_id": a["client_id"], "filters": f, "affected": a["affected"],
           "dry_run": bool(a["dry_run"]), "request_id": a["request_id"],
           "status": a["status"]}
    want = {"tenant_id": tenant, "actor": actor, "action": action, "client_id": client,
            "filters": filters, "affected": affected, "dry_run": dry_run,
            "request_id": rid, "status": 200}
    expect(got == want, "audit row %s, want %s" % (json.dumps(got, sort_keys=True),
                                                   json.dumps(want, sort_keys=True)))
    expect(a["age"] is not None and -5 <= a["age"] <= 120,
           "audit occurred_at is %s s from UTC now" % a["age"])


def no_audit(r):
    rows = audit_rows(r.rid) if r.rid else []
    expect(rows == [], "audit rows for %s (%s): %s" % (r.rid, r.describe(), rows))


def list_filters(user=None, ttype=None):
    f = {}
    if user is not None:
        f["user_id"] = user
    if ttype is not None:
        f["token_type"] = ttype
    return f


def page_through(client, size, user=None, ttype=None, auth=B["admin"], total=None):
    """Every page of a filtered list; checks pagination against total (default: the
    SQL count).  Returns the concatenated items."""
    if total is None:
        total = db_count(client, user, ttype)
    out = []
    for page in range(1, max(1, math.ceil(total / size)) + 1):
        r = lst(client, auth, page=page, page_size=size, user_id=user, token_type=ttype)
        out += check_list(r, page, size, total)
    return out


def match_rows(items, rows, what):
    """items (API, all pages) are exactly rows (SQL): same set, created_at order,
    each field equal (ties in created_at may come in any stable order)."""
    by_id = {e["id"]: e for e in rows}
    ids = [it["id"] for it in items]
    expect(len(set(ids)) == len(ids), "%s: an id twice" % what)
    expect(set(ids) == set(by_id), "%s: ids differ: %d extra, %d missing"
           % (what, len(set(ids) - set(by_id)), len(set(by_id) - set(ids))))
    expect([it["created_at"] for it in items] == [e["created_at"] for e in rows],
           "%s: not newest first in created_at" % what)
    for it in items:
        e = by_id[it["id"]]
        for k in ("scope", "token_type", "created_at", "expires_at"):
            expect(it[k] == e[k], "%s: %s of %s is %r, want %r" % (what, k, e["scope"], it[k], e[k]))
        expect(it.get("user_id") == e["user_id"], "%s: user_id of %s is %r, want %r"
               % (what, e["scope"], it.get("user_id"), e["user_id"]))


# ---------------------------------------------------------------- fixture

FIXTURE = r"""
SET NAMES utf8mb4;
SET @now = UTC_TIMESTAMP();
SET SESSION max_recursive_iterations = 100000;
DROP TRIGGER IF EXISTS h9_audit_fail;
DELETE FROM oauth_tokens;
DELETE FROM oauth_clients;
DELETE FROM users;
DELETE FROM tenants;

INSERT INTO tenants (id, public_id, name) VALUES (1, 'ten_gamma', 'Gamma'), (2, 'ten_delta', 'Delta');
INSERT INTO users (id, public_id, tenant_id, is_admin) VALUES
  (1, 'usr_g_admin', 1, TRUE), (2, 'usr_g_victim', 1, TRUE), (3, 'usr_g_self', 1, TRUE),
  (4, 'usr_g_member', 1, FALSE), (5, 'usr_g_u1', 1, FALSE), (6, 'usr_g_u2', 1, FALSE),
  (7, 'usr_g_u3', 1, FALSE), (8, 'usr_g_nobody', 1, FALSE), (9, 'usr_d_admin', 2, TRUE),
  (10, 'usr_d_u1', 2, FALSE), (11, 'usr_g.dot-x', 1, FALSE);
INSERT INTO oauth_clients (id, client_id, tenant_id, name) VALUES
  (1, 'cli_g_console', 1, 'bearers'), (2, 'cli_g_filter', 1, 'filters, read only'),
  (3, 'cli_g_revoke', 1, 'revoked by filters'), (4, 'cli_g_race', 1, 'race'),
  (5, 'cli_g_single', 1, 'revoked by id'), (6, 'cli_g_empty', 1, 'no tokens'),
  (8, 'cli_g_atomic', 1, 'audit failure'), (9, 'cli_g_typo', 1, 'DELETE with typos'),
  (11, 'cli_d_app', 2, 'delta app'), (12, 'cli_d_console', 2, 'delta bearers');

INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id, scope, created_at, expires_at, revoked_at) VALUES
  (UNHEX(SHA2('h9-g-admin-live', 256)),     'access_token',  1, 1,    'c-admin',   @now - INTERVAL 5 MINUTE, @now + INTERVAL 3 HOUR, NULL),
  (UNHEX(SHA2('h9-g-victim-live', 256)),    'access_token',  1, 2,    'c-victim',  @now - INTERVAL 6 MINUTE, @now + INTERVAL 3 HOUR, NULL),
  (UNHEX(SHA2('h9-g-victim-refresh', 256)), 'refresh_token', 1, 2,    'c-victim-r',@now - INTERVAL 6 MINUTE, @now + INTERVAL 3 DAY,  NULL),
  (UNHEX(SHA2('h9-g-self-live', 256)),      'access_token',  1, 3,    'c-self',    @now - INTERVAL 7 MINUTE, @now + INTERVAL 3 HOUR, NULL),
  (UNHEX(SHA2('h9-g-member-live', 256)),    'access_token',  1, 4,    'c-member',  @now - INTERVAL 8 MINUTE, @now + INTERVAL 3 HOUR, NULL),
  (UNHEX(SHA2('h9-g-cc-live', 256)),        'access_token',  1, NULL, 'c-cc',      @now - INTERVAL 9 MINUTE, @now + INTERVAL 3 HOUR, NULL),
  (UNHEX(SHA2('h9-d-admin-live', 256)),     'access_token', 12, 9,    'c-d-admin', @now - INTERVAL 5 MINUTE, @now + INTERVAL 3 HOUR, NULL);

-- cli_g_filter: 120 rows; users cycle u1,u2,u3,dot-x,none; every 3rd a refresh
-- token; created_at repeats (ties); some expired, revoked, revoked in the future,
-- some expiring later this hour (the partial-hour part of the counted total).
INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id, scope, created_at, expires_at, revoked_at)
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 120)
SELECT UNHEX(SHA2(CONCAT('h9-filter-', n), 256)),
       IF(n MOD 3 = 0, 'refresh_token', 'access_token'), 2,
       CASE n MOD 5 WHEN 0 THEN NULL WHEN 1 THEN 5 WHEN 2 THEN 6 WHEN 3 THEN 7 ELSE 11 END,
       CONCAT('f-', LPAD(n, 3, '0')),
       @now - INTERVAL ((n * 7) MOD 40) MINUTE,
       CASE WHEN n MOD 11 = 0 THEN @now - INTERVAL n SECOND
            WHEN n MOD 13 = 0 THEN @now + INTERVAL (15 + n MOD 30) MINUTE
            ELSE @now + INTERVAL (24 + n) HOUR END,
       CASE WHEN n MOD 17 = 0 THEN @now - INTERVAL 1 HOUR
            WHEN n MOD 19 = 0 THEN @now + INTERVAL 1 HOUR ELSE NULL END
FROM seq;

-- cli_g_revoke: 60 rows, revoked step by step through the API.
INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id, scope, created_at, expires_at, revoked_at)
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 60)
SELECT UNHEX(SHA2(CONCAT('h9-revoke-', n), 256)),
       IF(n MOD 3 = 0, 'refresh_token', 'access_token'), 3,
       CASE n MOD 4 WHEN 0 THEN NULL WHEN 1 THEN 5 WHEN 2 THEN 6 ELSE 7 END,
       CONCAT('r-', LPAD(n, 3, '0')),
       @now - INTERVAL ((n * 5) MOD 23) MINUTE,
       IF(n MOD 9 = 0, @now - INTERVAL 1 HOUR, @now + INTERVAL 2 DAY),
       IF(n MOD 7 = 0, '2020-01-02 03:04:05', NULL)
FROM seq;

-- cli_g_race: 1200 active rows.
INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id, scope, created_at, expires_at, revoked_at)
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 1200)
SELECT UNHEX(SHA2(CONCAT('h9-race-', n), 256)),
       IF(n MOD 3 = 0, 'refresh_token', 'access_token'), 4,
       CASE n MOD 4 WHEN 0 THEN NULL WHEN 1 THEN 5 WHEN 2 THEN 6 ELSE 7 END,
       CONCAT('x-', n), @now - INTERVAL (n MOD 97) MINUTE, @now + INTERVAL 2 DAY, NULL
FROM seq;

INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id, scope, created_at, expires_at, revoked_at) VALUES
  (UNHEX(SHA2('h9-single-1', 256)), 'access_token',  5, 5,    's-1', @now - INTERVAL 1 MINUTE, @now + INTERVAL 1 DAY, NULL),
  (UNHEX(SHA2('h9-single-2', 256)), 'refresh_token', 5, 6,    's-2', @now - INTERVAL 2 MINUTE, @now + INTERVAL 1 DAY, NULL),
  (UNHEX(SHA2('h9-single-3', 256)), 'access_token',  5, 5,    's-3', @now - INTERVAL 3 HOUR,   @now - INTERVAL 1 HOUR, NULL),
  (UNHEX(SHA2('h9-single-4', 256)), 'access_token',  5, 5,    's-4', @now - INTERVAL 4 MINUTE, @now + INTERVAL 1 DAY, '2021-05-06 07:08:09'),
  (UNHEX(SHA2('h9-single-5', 256)), 'access_token',  5, NULL, 's-5', @now - INTERVAL 5 MINUTE, @now + INTERVAL 1 DAY, NULL),
  (UNHEX(SHA2('h9-single-6', 256)), 'refresh_token', 5, 7,    's-6', @now - INTERVAL 6 MINUTE, @now + INTERVAL 1 DAY, NULL),
  (UNHEX(SHA2('h9-atomic-1', 256)), 'access_token',  8, 5,    'a-1', @now - INTERVAL 1 MINUTE, @now + INTERVAL 1 DAY, NULL),
  (UNHEX(SHA2('h9-atomic-2', 256)), 'refresh_token', 8, 6,    'a-2', @now - INTERVAL 2 MINUTE, @now + INTERVAL 1 DAY, NULL),
  (UNHEX(SHA2('h9-atomic-3', 256)), 'access_token',  8, NULL, 'a-3', @now - INTERVAL 3 MINUTE, @now + INTERVAL 1 DAY, NULL),
  (UNHEX(SHA2('h9-typo-1', 256)),   'access_token',  9, 5,    'y-1', @now - INTERVAL 1 MINUTE, @now + INTERVAL 1 DAY, NULL),
  (UNHEX(SHA2('h9-typo-2', 256)),   'access_token',  9, NULL, 'y-2', @now - INTERVAL 2 MINUTE, @now + INTERVAL 1 DAY, NULL),
  (UNHEX(SHA2('h9-typo-3', 256)),   'refresh_token', 9, 6,    'y-3', @now - INTERVAL 3 MINUTE, @now + INTERVAL 1 DAY, NULL),
  (UNHEX(SHA2('h9-typo-4', 256)),   'refresh_token', 9, 6,    'y-4', @now - INTERVAL 4 MINUTE, @now + INTERVAL 1 DAY, NULL),
  (UNHEX(SHA2('h9-delta-1', 256)),  'access_token', 11, 10,   'd-1', @now - INTERVAL 1 MINUTE, @now + INTERVAL 1 DAY, NULL),
  (UNHEX(SHA2('h9-delta-2', 256)),  'refresh_token',11, 10,   'd-2', @now - INTERVAL 2 MINUTE, @now + INTERVAL 1 DAY, NULL),
  (UNHEX(SHA2('h9-delta-3', 256)),  'access_token', 11, NULL, 'd-3', @now - INTERVAL 3 MINUTE, @now + INTERVAL 1 DAY, NULL);
"""

TOKEN_TEXTS = (list(B.values()) + ["h9-filter-%d" % n for n in range(1, 121)]
               + ["h9-revoke-%d" % n for n in range(1, 61)]
               + ["h9-single-%d" % n for n in range(1, 7)]
               + ["h9-atomic-%d" % n for n in range(1, 4)]
               + ["h9-typo-%d" % n for n in range(1, 5)]
               + ["h9-delta-%d" % n for n in range(1, 4)])

USERS_F = ["usr_g_u1", "usr_g_u2", "usr_g_u3", "usr_g.dot-x"]
TYPES = ["access_token", "refresh_token"]


def t_fixture():
    sql(None, stdin=FIXTURE.encode())
    n = int(sql("SELECT COUNT(*) FROM oauth_tokens")[0])
    expect(n == 7 + 120 + 60 + 1200 + 16, "fixture loaded %d tokens" % n)
    expect(db_count("cli_g_filter") > 60, "cli_g_filter has %d active" % db_count("cli_g_filter"))


# ---------------------------------------------------------------- ids

def t_ids_match_store():
    items = page_through("cli_g_filter", 100)
    match_rows(items, db_rows("cli_g_filter"), "cli_g_filter")


def t_ids_unique():
    seen = {}
    for client, auth in (("cli_g_filter", B["admin"]), ("cli_g_race", B["admin"]),
                         ("cli_g_console", B["admin"]), ("cli_d_app", B["d_admin"])):
        for it in page_through(client, 100, auth=auth):
            expect(it["id"] not in seen, "id %s on %s and on %s"
                   % (it["id"], seen.get(it["id"]), client))
            seen[it["id"]] = client
    expect(len(seen) > 1300, "only %d ids seen" % len(seen))


def t_ids_stable():
    first = {it["scope"]: it["id"] for it in page_through("cli_g_filter", 100)}
    for size in (7, 20, 1):
        again = {it["scope"]: it["id"] for it in page_through("cli_g_filter", size)}
        expect(again == first, "ids changed with page_size %d" % size)
    for user in USERS_F:
        for it in page_through("cli_g_filter", 50, user=user):
            expect(first.get(it["scope"]) == it["id"],
                   "id of %s under user_id=%s: %s, unfiltered %s"
                   % (it["scope"], user, it["id"], first.get(it["scope"])))
    # The id is the row's, not the hash's: changing the stored hash keeps it.
    sql("UPDATE oauth_tokens SET token_hash = UNHEX(SHA2('h9-rehashed', 256)) WHERE scope = 'f-001'")
    try:
        items = page_through("cli_g_filter", 100)
        got = {it["scope"]: it["id"] for it in items}
        expect(got == first, "ids changed after the token hash of f-001 changed")
    finally:
        sql("UPDATE oauth_tokens SET token_hash = UNHEX(SHA2('h9-filter-1', 256)) WHERE scope = 'f-001'")


def t_ids_not_secret():
    hashes = {}
    for text in TOKEN_TEXTS:
        hashes[text] = hashlib.sha256(text.encode()).hexdigest()
    stored = set(sql("SELECT LOWER(HEX(token_hash)) FROM oauth_tokens"))
    derived = set()
    for text, h in hashes.items():
        for src in (text.encode(), bytes.fromhex(h)):
            derived.add(hashlib.md5(src).hexdigest())
            s = hashlib.sha256(src).hexdigest()
            derived.add(s[:32])
            derived.add(s[32:])
            derived.add(hashlib.sha1(src).hexdigest()[:32])
        derived.add(h[:32])
        derived.add(h[32:])
    items = (page_through("cli_g_filter", 100) + page_through("cli_g_console", 100)
             + page_through("cli_g_race", 100))
    for it in items:
        hx = it["id"][4:]
        expect(hx not in derived, "id %s is derived from a token text or hash" % it["id"])
        expect(not any(hx in s for s in stored), "id %s is part of a stored token hash"
               % it["id"])
    for r in RESPONSES:
        for text, h in hashes.items():
            expect(text.encode() not in r.raw and h.encode() not in r.raw,
                   "token text or hash of %s in the response to %s" % (text, r.describe()))


# ---------------------------------------------------------------- filters

def t_filter_combinations():
    for user in [None] + USERS_F:
        for ttype in [None] + TYPES:
            what = "user_id=%s token_type=%s" % (user, ttype)
            rows = db_rows("cli_g_filter", user, ttype)
            expect(rows, "fixture: no rows for %s" % what)
            orders = []
            for size in (7, 20, 100):
                items = page_through("cli_g_filter", size, user, ttype, total=len(rows))
                match_rows(items, rows, "%s page_size=%d" % (what, size))
                for it in items:
                    if user is not None:
                        expect(it.get("user_id") == user, "%s: item of %r" % (what, it.get("user_id")))
                    if ttype is not None:
                        expect(it["token_type"] == ttype, "%s: a %s" % (what, it["token_type"]))
                orders.append([it["id"] for it in items])
            expect(orders[0] == orders[1] == orders[2],
                   "%s: order differs between page sizes 7, 20, 100" % what)


def t_filter_total_exact():
    """total on a single request equals COUNT(*), for every filter and some page sizes."""
    for user in [None] + USERS_F + ["usr_g_nobody"]:
        for ttype in [None] + TYPES:
            want = db_count("cli_g_filter", user, ttype)
            for page, size in ((1, 1), (3, 5), (1, 100)):
                r = lst("cli_g_filter", page=page, page_size=size, user_id=user, token_type=ttype)
                check_list(r, page, size, want)


def t_filter_past_end():
    want = db_count("cli_g_filter", "usr_g_u2", "refresh_token")
    for page, size in ((2, 100), (want + 1, 1), (999999, 20)):
        items = check_list(lst("cli_g_filter", page=page, page_size=size, user_id="usr_g_u2",
                               token_type="refresh_token"), page, size, want)
        expect(items == [], "items past the end: %r" % items)


def t_filter_empty_results():
    long_ok = "u" * 64
    for user in ("usr_g_nobody", "usr_no_such_user", "usr_d_u1", "usr_g_admin", long_ok,
                 "a", "A.b-C_9"):
        check_list(lst("cli_g_filter", user_id=user), 1, 20, 0)
        check_list(lst("cli_g_filter", user_id=user, token_type="refresh_token"), 1, 20, 0)
    # client-credentials tokens never match a user filter
    n_cc = int(sql("SELECT COUNT(*)" + FROM + " WHERE " + where_active("cli_g_filter") +
                   " AND t.user_id IS NULL")[0])
    expect(n_cc > 0, "fixture has no client-credentials tokens on cli_g_filter")
    s = sum(db_count("cli_g_filter", u) for u in USERS_F)
    expect(s + n_cc == db_count("cli_g_filter"), "fixture arithmetic")
    got = sum(lst("cli_g_filter", user_id=u).json["total"] for u in USERS_F)
    expect(got == s, "sum of per-user totals %d, want %d" % (got, s))


def t_filter_encoded():
    plain = lst("cli_g_filter", page_size=100, user_id="usr_g_u1", token_type="refresh_token")
    want = db_count("cli_g_filter", "usr_g_u1", "refresh_token")
    a = check_list(plain, 1, 100, want)
    for query in ("user_id=usr%5Fg%5Fu1&token_type=refresh%5Ftoken&page_size=100",
                  "token_type=refresh_token&page_size=100&user_id=usr_g_u%31",
                  "user_id=usr_g.dot-x&page_size=100"):
        r = request("GET", target("cli_g_filter", query), auth=B["admin"])
        if "dot-x" in query:
            check_list(r, 1, 100, db_count("cli_g_filter", "usr_g.dot-x"))
            continue
        b = check_list(r, 1, 100, want)
        expect([i["id"] for i in a] == [i["id"] for i in b], "%s differs from plain" % query)


def t_filter_other_tenant():
    rows = db_rows("cli_d_app", "usr_d_u1")
    items = page_through("cli_d_app", 1, "usr_d_u1", auth=B["d_admin"])
    match_rows(items, rows, "delta user filter")
    items = page_through("cli_d_app", 20, None, "access_token", auth=B["d_admin"])
    match_rows(items, db_rows("cli_d_app", None, "access_token"), "delta type filter")


BAD_USER_IDS = ["", "a%20b", "a+b", "usr'x", "usr%22x", "usr%00x", "%C3%BC", "a%2Fb", "a;b",
                "%zz", "%", "a*", "usr_g_u1%0a", "a" * 65, "%25", "a,b", "a%09"]
BAD_TYPES = ["", "ACCESS_TOKEN", "access", "id_token", "access_token%20", "%20access_token",
             "refresh", "access_token,refresh_token", "%zz", "access_token%00",
             "Refresh_Token", "access+token", "x" * 300]
BAD_DRY_RUNS = ["", "1", "0", "yes", "TRUE", "True", "False", "true%20", "t", "%zz", "on"]


def t_filter_validation_get():
    for v in BAD_USER_IDS:
        check_error(request("GET", target("cli_g_filter", "user_id=" + v), auth=B["admin"]),
                    400, "user_id")
        check_error(request("GET", target("cli_g_filter", "page=2&user_id=" + v + "&token_type=access_token"),
                            auth=B["admin"]), 400, "user_id")
    for v in BAD_TYPES:
        check_error(request("GET", target("cli_g_filter", "token_type=" + v), auth=B["admin"]),
                    400, "token_type")
    for query, p in (("user_id", "user_id"), ("token_type", "token_type"),
                     ("user_id=usr_g_u1&user_id=usr_g_u1", "user_id"),
                     ("token_type=access_token&token_type=refresh_token", "token_type")):
        check_error(request("GET", target("cli_g_filter", query), auth=B["admin"]), 400, p)


def t_filter_validation_delete():
    before = db_checksums()
    start = audit_max_id()
    for v in BAD_USER_IDS[:8]:
        check_error(request("DELETE", target("cli_g_filter", "user_id=" + v), auth=B["admin"]),
                    400, "user_id")
    for v in BAD_TYPES[:6]:
        check_error(request("DELETE", target("cli_g_filter", "token_type=" + v), auth=B["admin"]),
                    400, "token_type")
    for v in BAD_DRY_RUNS:
        check_error(request("DELETE", target("cli_g_filter", "dry_run=" + v), auth=B["admin"]),
                    400, "dry_run")
        one = db_id_of("f-002")
        check_error(request("DELETE", target("cli_g_filter", "dry_run=" + v, one), auth=B["admin"]),
                    400, "dry_run")
    check_error(request("DELETE", target("cli_g_filter", "dry_run=true&dry_run=true"),
                        auth=B["admin"]), 400, "dry_run")
    check_error(request("DELETE", target("cli_g_filter", "dry_run=false&user_id=x&user_id=y"),
                        auth=B["admin"]), 400, "user_id")
    expect(db_checksums() == before, "a 400 DELETE changed the tables")
    expect(audit_max_id() == start, "a 400 DELETE wrote an audit row")


def t_filter_validation_order():
    bad = "user_id=a%20b&token_type=nope"
    for method in ("GET", "DELETE"):
        r = request(method, target("cli_g_filter", bad))
        check_error(r, 401)
        r = request(method, target("cli_g_filter", bad), auth=B["member"])
        check_error(r, 403)
        r = request(method, target("cli_g_filter", bad), auth=B["cc"])
        check_error(r, 403)
        r = request(method, target("cli_no_such_client", "token_type=nope"), auth=B["admin"])
        check_error(r, 400, "token_type")
        r = request(method, target("cli_d_app", "user_id=%20"), auth=B["admin"])
        check_error(r, 400, "user_id")


# ---------------------------------------------------------------- DELETE refuses what it does not know
# (issue 9: `?dry-run=true`, a typo of dry_run, revoked every token of a client.)

TYPO_CLIENT = "cli_g_typo"


def typo_state():
    """What a refused DELETE must leave alone: the unrevoked tokens of TYPO_CLIENT
    (each counted in SQL) and the audit trail."""
    return sql1("SELECT CONCAT_WS(' ', (SELECT COUNT(*) FROM oauth_tokens t"
                " JOIN oauth_clients c ON c.id = t.oauth_client_id"
                " WHERE c.client_id = %s AND t.revoked_at IS NULL),"
                " (SELECT COUNT(*) FROM audit_events), (SELECT COALESCE(MAX(id), 0)"
                " FROM audit_events))" % q(TYPO_CLIENT))


def typo_restore():
    """Every token of TYPO_CLIENT unrevoked again, so that each check starts from
    the fixture whatever the one before it did."""
    sql("UPDATE oauth_tokens t JOIN oauth_clients c ON c.id = t.oauth_client_id"
        " SET t.revoked_at = NULL WHERE c.client_id = %s" % q(TYPO_CLIENT))


def t_delete_refuses(query, named, one=False, body=None, content_type=None):
    """DELETE on the collection (or one token, `one`) with this query (and this
    request body, which no endpoint takes: a caller who puts dry_run or a filter
    there must not have every token revoked): 400, a SimpleResponse naming
    `named`, no audit row, nothing revoked."""
    def run():
        typo_restore()
        tid = db_id_of("y-3") if one else None
        before = typo_state()
        expect(int(before.split()[0]) == 4, "fixture: %s unrevoked tokens on %s, want 4"
               % (before.split()[0], TYPO_CLIENT))
        if body is None:
            r = request("DELETE", target(TYPO_CLIENT, query, tid), auth=B["admin"])
        else:
            hdrs = (("Content-Type", content_type),) if content_type else ()
            r = stacklib.request("DELETE", target(TYPO_CLIENT, query, tid), auth=B["admin"],
                                 headers=hdrs, body=body, rid=True, timeout=60)
        after = typo_state()
        expect(after == before, "a refused DELETE changed the store: unrevoked tokens, audit "
               "rows, last audit id %s -> %s (%s)" % (before, after, r.describe()))
        stacklib.check_error(r, 400, named)
        no_audit(r)
    return run


def t_delete_empty_body():
    """The control: Content-Length: 0 (and a Content-Type with it) is no body; a
    dry run so announced still counts, and changes nothing."""
    typo_restore()
    r = stacklib.request("DELETE", target(TYPO_CLIENT, "dry_run=true"), auth=B["admin"],
                         headers=(("Content-Type", "application/json"),), body=b"",
                         rid=True, timeout=60)
    check_revoked(r, 4, True)
    expect(db_count(TYPO_CLIENT) == 4, "a dry run revoked tokens")


def t_get_ignores_unknown():
    """A read goes on ignoring what it does not know: the whole list, 200."""
    typo_restore()
    for query in ("dry-run=true", "token_typ=refresh_token", "dry-run=true&foo=1&page=1"):
        check_list(request("GET", target(TYPO_CLIENT, query), auth=B["admin"]), 1, 20, 4)
        r = request("HEAD", target(TYPO_CLIENT, query), auth=B["admin"])
        check_common(r, 200, head=True)
    # and the spelling that is known does what it says (control for the 400s)
    r = revoke_all(TYPO_CLIENT, dry_run="true")
    check_revoked(r, 4, True)
    expect(db_count(TYPO_CLIENT) == 4, "a dry run revoked tokens")


# ---------------------------------------------------------------- revoke all

def revoke_step(client, user, ttype, dry_run=None):
    """One DELETE by filters: revoked == the rows that matched; exactly those rows
    changed (revoked_at = about now), others untouched; list totals follow."""
    states = db_states(client)
    matching = {r["pk"] for r in db_rows(client, user, ttype)}
    total_before = db_count(client)
    counts_before = db_checksums()
    kw = {"user_id": user, "token_type": ttype}
    if dry_run is not None:
        kw["dry_run"] = "true" if dry_run else "false"
    r = revoke_all(client, **kw)
    check_revoked(r, len(matching), bool(dry_run))
    check_audit(r, "tokens.revoke", client, list_filters(user, ttype), len(matching),
                bool(dry_run))
    after = db_states(client)
    if dry_run:
        expect(after == states, "a dry run changed revoked_at")
        expect(db_checksums() == counts_before, "a dry run changed the tables")
        check_list(lst(client, user_id=user, token_type=ttype), 1, 20, len(matching))
        check_list(lst(client), 1, 20, total_before)
        return r
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    for pk, was in states.items():
        if pk in matching:
            expect(was is None and after[pk] is not None, "row %d not revoked" % pk)
            at = datetime.datetime.strptime(after[pk], "%Y-%m-%d %H:%M:%S")
            expect(abs((now - at).total_seconds()) < 120, "revoked_at %s, now %s" % (at, now))
        else:
            expect(after[pk] == was, "row %d changed: %s -> %s" % (pk, was, after[pk]))
    check_list(lst(client, user_id=user, token_type=ttype), 1, 20, 0)
    check_list(lst(client), 1, 20, total_before - len(matching))
    expect(db_count(client) == total_before - len(matching), "SQL count after revocation")
    return r


def t_revoke_all_steps():
    c = "cli_g_revoke"
    pre = {s: db_revoked_at(s) for s in ("r-007", "r-014", "r-056")}
    expired = [l for l in sql("SELECT scope FROM oauth_tokens WHERE oauth_client_id = 3"
                              " AND expires_at <= UTC_TIMESTAMP() AND revoked_at IS NULL")]
    expect(len(expired) >= 3, "fixture: expired rows on cli_g_revoke: %s" % expired)
    for user, ttype in (("usr_g_u1", "refresh_token"), ("usr_g_u1", "access_token"),
                        (None, "access_token"), ("usr_g_u2", None), (None, None)):
        expect(db_count(c, user, ttype) > 0, "fixture: nothing matches %s %s" % (user, ttype))
        revoke_step(c, user, ttype)
    expect(db_count(c) == 0, "active rows left: %d" % db_count(c))
    check_list(lst(c), 1, 20, 0)
    # Pre-revoked rows keep their revoked_at; expired rows were never touched.
    for s, was in pre.items():
        expect(db_revoked_at(s) == was == "2020-01-02 03:04:05",
               "revoked_at of pre-revoked %s: %s" % (s, db_revoked_at(s)))
    for s in expired:
        expect(db_revoked_at(s) is None, "expired %s got revoked_at %s" % (s, db_revoked_at(s)))


def t_revoke_all_repeat():
    c = "cli_g_revoke"
    before = db_checksums()
    for kw in ({}, {"user_id": "usr_g_u3"}, {"token_type": "refresh_token"},
               {"dry_run": "false"}, {"user_id": "usr_no_such"}):
        r = revoke_all(c, **kw)
        check_revoked(r, 0, False)
        f = {k: v for k, v in kw.items() if k != "dry_run"}
        check_audit(r, "tokens.revoke", c, f, 0)
    expect(db_checksums() == before, "a repeated revocation changed the tables")


def t_revoke_by_filter_isolated():
    """A filtered revocation on one client touches no other client."""
    others = {c: db_states(c) for c in ("cli_g_filter", "cli_g_single", "cli_d_app",
                                         "cli_g_console")}
    r = revoke_all("cli_g_empty", user_id="usr_g_u1")
    check_revoked(r, 0, False)
    check_audit(r, "tokens.revoke", "cli_g_empty", {"user_id": "usr_g_u1"}, 0)
    for c, s in others.items():
        expect(db_states(c) == s, "revoking on cli_g_empty changed %s" % c)


# ---------------------------------------------------------------- revoked bearers

def t_revoked_bearer_by_filter():
    for _ in range(4):
        check_list(lst("cli_g_filter", auth=B["victim"]), 1, 20, db_count("cli_g_filter"))
    r = revoke_all("cli_g_console", user_id="usr_g_victim")
    check_revoked(r, 2, False)
    check_audit(r, "tokens.revoke", "cli_g_console", {"user_id": "usr_g_victim"}, 2)
    for i in range(6):
        r = lst("cli_g_filter", auth=B["victim"])
        check_error(r, 401)
        www = r.header("WWW-Authenticate") or ""
        expect('error="invalid_token"' in www, "WWW-Authenticate %r" % www)
        no_audit(r)
        r = revoke_all("cli_g_filter", auth=B["victim"], dry_run="true")
        check_error(r, 401)
        no_audit(r)
    check_list(lst("cli_g_filter"), 1, 20, db_count("cli_g_filter"))


def t_revoked_bearer_self():
    mine = check_list(lst("cli_g_console", auth=B["self"], user_id="usr_g_self"), 1, 20, 1)
    tid = mine[0]["id"]
    expect(tid == db_id_of("c-self"), "own id %s" % tid)
    r = revoke_one("cli_g_console", tid, auth=B["self"])
    check_revoked(r, 1, False)
    check_audit(r, "token.revoke", "cli_g_console", {"id": tid}, 1, actor="usr_g_self")
    for i in range(6):
        r = lst("cli_g_console", auth=B["self"])
        check_error(r, 401)
        r = revoke_one("cli_g_console", tid, auth=B["self"])
        check_error(r, 401)
    items = check_list(lst("cli_g_console", page_size=100), 1, 100, db_count("cli_g_console"))
    expect(tid not in [i["id"] for i in items], "revoked token still listed")


# ---------------------------------------------------------------- race

def t_race():
    c = "cli_g_race"
    N = db_count(c)
    expect(N == 1200, "fixture: %d active on cli_g_race" % N)
    u1 = db_count(c, "usr_g_u1")
    refresh_not_u1 = db_count(c, None, "refresh_token") - db_count(c, "usr_g_u1", "refresh_token")
    steps = [({"user_id": "usr_g_u1"}, u1), ({"token_type": "refresh_token"}, refresh_not_u1),
             ({}, N - u1 - refresh_not_u1)]
    # Totals a consistent snapshot may show, per list filter.
    u2, u2r = db_count(c, "usr_g_u2"), db_count(c, "usr_g_u2", "refresh_token")
    acc, acc_u1 = db_count(c, None, "access_token"), db_count(c, "usr_g_u1", "access_token")
    views = [
        ({}, {N, N - u1, N - u1 - refresh_not_u1, 0}),
        ({"user_id": "usr_g_u2"}, {u2, u2 - u2r, 0}),
        ({"token_type": "access_token"}, {acc, acc - acc_u1, 0}),
        ({"user_id": "usr_g_u1"}, {u1, 0}),
    ]
    stop = threading.Event()
    problems, answers = [], []
    lock = threading.Lock()

    def lister(seed):
        rnd = random.Random(seed)
        last = {}
        while not stop.is_set():
            vi = rnd.randrange(len(views))
            f, allowed = views[vi]
            size = rnd.choice((100, 50, 7))
            page = rnd.randint(1, max(1, math.ceil(max(allowed) / size)))
            try:
                r = lst(c, page=page, page_size=size, **f)
                if r.status != 200 or not isinstance(r.json, dict):
                    raise Fail("list answered %s" % r.describe())
                j = r.json
                tot, items = j["total"], j["items"]
                p = j["pagination"]
                want_n = max(0, min(size, tot - (page - 1) * size))
                if type(tot) is not int or tot < 0 or tot not in allowed:
                    raise Fail("%s total %r not in %s" % (f, tot, sorted(allowed)))
                if p["total"] != tot or p["total_pages"] != math.ceil(tot / size):
                    raise Fail("pagination %s vs total %d" % (p, tot))
                if len(items) != want_n or len(items) > tot:
                    raise Fail("%s page %d size %d: %d items with total %d"
                               % (f, page, size, len(items), tot))
                ids = [it["id"] for it in items]
                if len(set(ids)) != len(ids):
                    raise Fail("an id twice in one page")
                for it in items:
                    if "user_id" in f and it.get("user_id") != f["user_id"]:
                        raise Fail("filter %s returned %r" % (f, it))
                    if "token_type" in f and it["token_type"] != f["token_type"]:
                        raise Fail("filter %s returned %r" % (f, it))
                if vi in last and tot > last[vi]:
                    raise Fail("%s total went up from %d to %d" % (f, last[vi], tot))
                last[vi] = tot
                with lock:
                    answers.append((vi, tot))
            except Exception as e:
                with lock:
                    problems.append("%s: %s" % (type(e).__name__, e))
                return

    threads = [threading.Thread(target=lister, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    results = []
    try:
        time.sleep(0.5)
        for kw, want in steps:
            r = revoke_all(c, **kw)
            results.append((r, kw, want))
            time.sleep(0.3)
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=120)
    expect(not problems, "lists while revoking: %s" % problems[:3])
    for r, kw, want in results:
        check_revoked(r, want, False)
        check_audit(r, "tokens.revoke", c, kw, want)
    expect(sum(r.json["revoked"] for r, _, _ in results) == N, "revoked in all != %d" % N)
    check_list(lst(c), 1, 20, 0)
    for f, _ in views:
        check_list(lst(c, **f), 1, 20, 0)
    expect(db_count(c) == 0, "SQL: %d active left" % db_count(c))
    seen = sorted({t for vi, t in answers if vi == 0})
    note("race: %d list answers, unfiltered totals seen %s" % (len(answers), seen))
    expect(len(answers) > 50, "only %d list answers during the race" % len(answers))


def t_concurrent_revokers():
    """Revocations racing each other never count a token twice: several DELETEs of
    the same set sum to the rows revoked; one id revoked at once by many: one 1."""
    c = "cli_g_race"
    sql("UPDATE oauth_tokens SET revoked_at = NULL WHERE oauth_client_id = 4")
    N = db_count(c)
    expect(N == 1200, "restored %d" % N)
    tid = db_id_of("x-7")
    out, lock = [], threading.Lock()

    def worker(kind):
        r = revoke_one(c, tid) if kind == "one" else revoke_all(c)
        with lock:
            out.append((kind, r))

    threads = [threading.Thread(target=worker, args=(k,))
               for k in ("all", "one", "all", "one", "all", "one", "one", "all")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    expect(len(out) == len(threads), "only %d answers" % len(out))
    total = 0
    for kind, r in out:
        check_common(r, 200)
        expect(set(r.json) == REVOKE_KEYS, "keys %s" % sorted(r.json))
        total += r.json["revoked"]
        if kind == "one":
            check_audit(r, "token.revoke", c, {"id": tid}, r.json["revoked"])
        else:
            check_audit(r, "tokens.revoke", c, {}, r.json["revoked"])
    expect(total == N, "revocations racing each other revoked %d in all, want %d" % (total, N))
    check_list(lst(c), 1, 20, 0)
    expect(db_count(c) == 0, "SQL: %d left" % db_count(c))


# ---------------------------------------------------------------- revoke by id

def strip_volatile(r):
    """Body without its timestamp value; headers without Date and X-Request-Id."""
    body = r.body
    if isinstance(r.json, dict) and "timestamp" in r.json:
        body = body.replace(r.json["timestamp"].encode(), b"<ts>")
    hdrs = sorted((n.lower(), v) for n, v in r.headers
                  if n.lower() not in ("date", "x-request-id", "x-client-request-id"))
    return body, hdrs


def same_answer(a, b, what):
    ba, ha = strip_volatile(a)
    bb, hb = strip_volatile(b)
    expect(a.status == b.status and ba == bb, "%s: bodies differ: %r vs %r" % (what, ba, bb))
    expect(ha == hb, "%s: headers differ: %r vs %r" % (what, ha, hb))


def t_revoke_one():
    c = "cli_g_single"
    tid = db_id_of("s-1")
    others = {k: v for k, v in db_states(c).items()}
    n = db_count(c)
    r = revoke_one(c, tid)
    check_revoked(r, 1, False)
    check_audit(r, "token.revoke", c, {"id": tid}, 1)
    at = db_revoked_at("s-1")
    expect(at is not None, "s-1 not revoked in the store")
    items = check_list(lst(c), 1, 20, n - 1)
    expect(tid not in [i["id"] for i in items], "revoked token still listed")
    after = db_states(c)
    changed = [pk for pk in after if after[pk] != others[pk]]
    expect(len(changed) == 1, "rows changed: %s" % changed)
    # Repeating it is harmless.
    for _ in range(3):
        r = revoke_one(c, tid)
        check_revoked(r, 0, False)
        check_audit(r, "token.revoke", c, {"id": tid}, 0)
        expect(db_revoked_at("s-1") == at, "revoked_at overwritten by a repeat")
    # A token revoked long ago: 0, revoked_at kept.
    r = revoke_one(c, db_id_of("s-4"))
    check_revoked(r, 0, False)
    expect(db_revoked_at("s-4") == "2021-05-06 07:08:09", "revoked_at of s-4 changed")
    check_list(lst(c), 1, 20, n - 1)


def t_revoke_one_dry_run():
    c = "cli_g_single"
    before = db_checksums()
    tid = db_id_of("s-5")
    for _ in range(2):
        r = revoke_one(c, tid, dry_run="true")
        check_revoked(r, 1, True)
        check_audit(r, "token.revoke", c, {"id": tid}, 1, True)
    r = revoke_one(c, db_id_of("s-1"), dry_run="true")   # revoked already
    check_revoked(r, 0, True)
    check_audit(r, "token.revoke", c, {"id": db_id_of("s-1")}, 0, True)
    expect(db_checksums() == before, "a dry run by id changed the tables")
    expect(db_revoked_at("s-5") is None, "s-5 revoked by a dry run")
    r = revoke_one(c, tid, dry_run="false")
    check_revoked(r, 1, False)
    check_audit(r, "token.revoke", c, {"id": tid}, 1, False)


def t_revoke_one_not_found():
    """Another tenant's token, another client's token, unknown and malformed ids: the
    same 404 byte for byte (but timestamp, Date and X-Request-Id); nothing changes,
    nothing is audited."""
    c = "cli_g_single"
    before = db_checksums()
    start = audit_max_id()
    unknown = "tok_" + "%032x" % random.getrandbits(128)
    ref = revoke_one(c, unknown)
    check_error(ref, 404, message="Token not found")
    cases = {
        "other tenant's token": db_id_of("d-1"),
        "other client's token": db_id_of("f-002"),
        "other client's revoked token": db_id_of("f-017"),
        "bearer token of the console": db_id_of("c-admin"),
        "all zero": "tok_" + "0" * 32,
        "31 hex": unknown[:-1],
        "33 hex": unknown + "a",
        "no prefix": unknown[4:],
        "other prefix": "tkn_" + unknown[4:],
        "non-hex": "tok_" + "g" * 32,
        "token text": "h9-single-2",
        "sha256 hex of text": hashlib.sha256(b"h9-single-2").hexdigest(),
        "percent": "%25",
        "pk": "1",
    }
    for what, tid in cases.items():
        r = revoke_one(c, tid)
        check_error(r, 404)
        same_answer(ref, r, what)
        r2 = revoke_one(c, tid, dry_run="true")
        same_answer(ref, r2, what + " (dry run)")
    expect(db_checksums() == before, "a 404 revocation changed the tables")
    expect(audit_max_id() == start, "a 404 revocation was audited")
    expect(db_revoked_at("d-1") is None and db_revoked_at("f-002") is None,
           "a token of another client/tenant was revoked")


def t_revoke_other_tenant_client():
    """A client of another tenant: 404 like the list's, for both DELETE routes."""
    before = db_checksums()
    start = audit_max_id()
    d1 = db_id_of("d-1")
    for auth, other, unknown in ((B["admin"], "cli_d_app", "cli_d_apq"),
                                 (B["d_admin"], "cli_g_single", "cli_g_singlf")):
        tid = d1 if other == "cli_d_app" else db_id_of("s-2")
        a = revoke_one(other, tid, auth=auth)
        b = revoke_one(unknown, tid, auth=auth)
        check_error(a, 404)
        check_error(b, 404)
        same_answer(a, b, "DELETE one on %s" % other)
        g = request("GET", target(other), auth=auth)
        check_error(g, 404)
        same_answer(a, g, "DELETE one vs GET list on %s" % other)
        for kw in ({}, {"dry_run": "true"}, {"user_id": "usr_d_u1"}):
            a = revoke_all(other, auth=auth, **kw)
            b = revoke_all(unknown, auth=auth, **kw)
            check_error(a, 404)
            same_answer(a, b, "DELETE all %s on %s" % (kw, other))
            same_answer(a, g, "DELETE all vs GET list on %s" % other)
    expect(db_checksums() == before, "a cross-tenant revocation changed the tables")
    expect(audit_max_id() == start, "a cross-tenant revocation was audited")
    # Positive control: the tenant's own admin revokes it.
    r = revoke_one("cli_d_app", d1, auth=B["d_admin"])
    check_revoked(r, 1, False)
    check_audit(r, "token.revoke", "cli_d_app", {"id": d1}, 1, tenant="ten_delta",
                actor="usr_d_admin")


def t_revoke_forbidden():
    before = db_checksums()
    start = audit_max_id()
    tid = db_id_of("s-6")
    for auth, status in ((None, 401), (B["member"], 403), (B["cc"], 403),
                         ("h9-no-such-token", 401)):
        for r in (revoke_one("cli_g_single", tid, auth=auth),
                  revoke_all("cli_g_single", auth=auth),
                  revoke_all("cli_g_single", auth=auth, dry_run="true"),
                  revoke_one("cli_no_such", "tok_x", auth=auth)):
            check_error(r, status)
    expect(db_checksums() == before, "an unauthorised revocation changed the tables")
    expect(audit_max_id() == start, "an unauthorised revocation was audited")


# ---------------------------------------------------------------- dry runs

def t_dry_runs():
    c = "cli_g_filter"
    before = db_checksums()
    totals = {(u, t): db_count(c, u, t) for u in [None] + USERS_F for t in [None] + TYPES}
    for (u, t), n in totals.items():
        r = revoke_all(c, user_id=u, token_type=t, dry_run="true")
        check_revoked(r, n, True)
        check_audit(r, "tokens.revoke", c, list_filters(u, t), n, True)
    r = revoke_all(c, user_id="usr_g_nobody", dry_run="false")
    check_revoked(r, 0, False)
    check_audit(r, "tokens.revoke", c, {"user_id": "usr_g_nobody"}, 0, False)
    expect(db_checksums() == before, "dry runs changed the tables")
    for (u, t), n in totals.items():
        check_list(lst(c, user_id=u, token_type=t), 1, 20, n)
    revoke_step(c, "usr_g_u3", "refresh_token", dry_run=True)


# ---------------------------------------------------------------- audit

def t_audit_lists():
    c = "cli_g_filter"
    for u, t, page, size in ((None, None, 1, 20), ("usr_g_u2", None, 2, 5),
                             (None, "refresh_token", 1, 100), ("usr_g.dot-x", "access_token", 9, 20),
                             ("usr_g_nobody", None, 1, 20)):
        n = db_count(c, u, t)
        r = lst(c, page=page, page_size=size, user_id=u, token_type=t)
        check_list(r, page, size, n)
        check_audit(r, "tokens.list", c, list_filters(u, t), n)
    r = request("HEAD", target(c, "user_id=usr_g_u1"), auth=B["admin"])
    check_common(r, 200, head=True)
    check_audit(r, "tokens.list", c, {"user_id": "usr_g_u1"}, db_count(c, "usr_g_u1"))
    r = lst("cli_d_app", auth=B["d_admin"], token_type="refresh_token")
    check_audit(r, "tokens.list", "cli_d_app", {"token_type": "refresh_token"},
                db_count("cli_d_app", None, "refresh_token"), tenant="ten_delta",
                actor="usr_d_admin")
    r = lst("cli_g_empty")
    check_audit(r, "tokens.list", "cli_g_empty", {}, 0)


def t_audit_none_on_errors():
    start = audit_max_id()
    rs = [
        request("GET", target("cli_g_filter")),                                      # 401
        request("GET", target("cli_g_filter"), auth="h9-bogus-token"),                # 401
        request("GET", target("cli_g_filter"), auth=B["member"]),                     # 403
        request("GET", target("cli_g_filter"), auth=B["cc"]),                         # 403
        request("GET", target("cli_g_filter", "token_type=x"), auth=B["admin"]),      # 400
        request("GET", target("cli_g_filter", "page=0"), auth=B["admin"]),            # 400
        request("GET", target("cli_d_app"), auth=B["admin"]),                         # 404
        request("GET", target("cli_nope"), auth=B["admin"]),                          # 404
        request("DELETE", target("cli_g_filter")),                                    # 401
        request("DELETE", target("cli_g_filter"), auth=B["member"]),                  # 403
        request("DELETE", target("cli_g_filter", "dry_run=maybe"), auth=B["admin"]),  # 400
        request("DELETE", target("cli_nope"), auth=B["admin"]),                       # 404
        request("DELETE", target("cli_g_filter", "", "tok_" + "1" * 32), auth=B["admin"]),  # 404
        request("PUT", target("cli_g_filter"), auth=B["admin"]),                      # 405
        request("POST", target("cli_g_filter", "", db_id_of("f-002")), auth=B["admin"]),  # 405
        request("GET", "/admin/oauth/clients/cli_g_filter/tokens/x/y", auth=B["admin"]),  # 404 path
    ]
    want = [401, 401, 403, 403, 400, 400, 404, 404, 401, 403, 400, 404, 404, 405, 405, 404]
    for r, s in zip(rs, want):
        check_error(r, s)
        no_audit(r)
    expect(audited_since(start, rs) == [], "audit rows written by error answers: %s"
           % audited_since(start, rs))


def sanitizer_env():
    """The sanitizers' settings of this run (tests/sanitize/asan), for a program run here."""
    return {k: v for k, v in os.environ.items() if k.endswith("SAN_OPTIONS")}


def cgi_run(config_path, query, rid):
    prog = os.path.join(BUILDDIR, "src", "autional-admin.fcgi")
    env = {**sanitizer_env(),
           "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AUTIONAL_CONFIG": config_path,
           "REQUEST_METHOD": "GET", "REQUEST_URI": target("cli_g_filter", query),
           "QUERY_STRING": query, "HTTP_AUTHORIZATION": "Bearer " + B["admin"],
           "REQUEST_ID": rid, "GATEWAY_INTERFACE": "CGI/1.1",
           "SERVER_PROTOCOL": "HTTP/1.1"}
    p = subprocess.run([prog], env=env, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=60)
    out = p.stdout
    m = re.match(rb"^Status: (\d{3})", out)
    expect(p.returncode == 0 and m, "CGI run: rc %d, %r, stderr %r"
           % (p.returncode, out[:200], p.stderr[:300]))
    return int(m.group(1)), out


def t_audit_reads_switch():
    prog = os.path.join(BUILDDIR, "src", "autional-admin.fcgi")
    if not (BUILDDIR and APP_CONFIG and os.access(prog, os.X_OK) and os.path.exists(APP_CONFIG)):
        note("BUILDDIR/APP_CONFIG not usable: audit_reads switch checked only as default-on")
        return
    d = WORK or "/tmp"
    os.makedirs(d, exist_ok=True)
    with open(APP_CONFIG) as f:
        base = [l for l in f.read().splitlines() if not l.strip().startswith("audit_reads")]
    paths = {}
    for v in ("0", "1"):
        paths[v] = os.path.join(d, "h9-audit-reads-%s.conf" % v)
        fd = os.open(paths[v], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(base + ["audit_reads = %s" % v]) + "\n")
    try:
        rid0, rid1 = new_rid("cgi0"), new_rid("cgi1")
        s0, out0 = cgi_run(paths["0"], "user_id=usr_g_u1", rid0)
        expect(s0 == 200, "audit_reads = 0: status %d: %r" % (s0, out0[:300]))
        expect(audit_rows(rid0) == [], "audit_reads = 0 still wrote %s" % audit_rows(rid0))
        s1, out1 = cgi_run(paths["1"], "user_id=usr_g_u1", rid1)
        expect(s1 == 200, "audit_reads = 1: status %d" % s1)
        rows = audit_rows(rid1)
        expect(len(rows) == 1 and rows[0]["action"] == "tokens.list"
               and rows[0]["affected"] == db_count("cli_g_filter", "usr_g_u1"),
               "audit_reads = 1 rows %s" % rows)
        # Revocations are audited whatever audit_reads says (not a read).
    finally:
        for p in paths.values():
            try:
                os.unlink(p)
            except OSError:
                pass


# ---------------------------------------------------------------- revocation in batches

BATCH_CLIENT = "cli_g_batches"


def config_with(name, **settings):
    """APP_CONFIG with these settings in place of its own, as a file of its own."""
    with open(APP_CONFIG) as f:
        base = [l for l in f.read().splitlines()
                if l.partition("=")[0].strip() not in settings]
    path = os.path.join(WORK or "/tmp", name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(base + ["%s = %s" % kv for kv in settings.items()]) + "\n")
    return path


def cgi_delete(config_path, client, rid):
    """DELETE .../tokens of client, the program run once as a CGI: (status, headers, JSON)."""
    prog = os.path.join(BUILDDIR, "src", "autional-admin.fcgi")
    env = {**sanitizer_env(),
           "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AUTIONAL_CONFIG": config_path,
           "REQUEST_METHOD": "DELETE", "REQUEST_URI": target(client), "QUERY_STRING": "",
           "HTTP_AUTHORIZATION": "Bearer " + B["admin"], "REQUEST_ID": rid,
           "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1"}
    p = subprocess.run([prog], env=env, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=120)
    head, _, body = p.stdout.partition(b"\r\n\r\n")
    m = re.match(rb"^Status: (\d{3})", head)
    expect(p.returncode == 0 and m, "CGI run: rc %d, %r, stderr %r"
           % (p.returncode, p.stdout[:200], p.stderr[:300]))
    headers = dict(l.split(": ", 1) for l in head.decode().split("\r\n")[1:] if ": " in l)
    try:
        return int(m.group(1)), headers, json.loads(body)
    except ValueError:
        raise Fail("CGI answer not JSON: %r" % body[:200])


def batch_client(active):
    """BATCH_CLIENT afresh: `active` live tokens, 5 expired and 5 revoked ones."""
    tok = ("INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, scope,"
           " created_at, expires_at, revoked_at) SELECT RANDOM_BYTES(32),"
           " IF(seq %% 2, 'access_token', 'refresh_token'), @c, 'batch',"
           " @now - INTERVAL seq SECOND, %s, %s FROM seq_1_to_%d")
    sql(";\n".join([
        "SET @now = UTC_TIMESTAMP()",
        "INSERT IGNORE INTO oauth_clients (client_id, tenant_id, name)"
        " VALUES ('%s', 1, 'revoked in batches')" % BATCH_CLIENT,
        "SET @c = (SELECT id FROM oauth_clients WHERE client_id = '%s')" % BATCH_CLIENT,
        "DELETE FROM oauth_tokens WHERE oauth_client_id = @c",
        tok % ("@now + INTERVAL 1 DAY", "NULL", active),
        tok % ("@now - INTERVAL 1 HOUR", "NULL", 5),
        tok % ("@now + INTERVAL 1 DAY", "@now - INTERVAL 1 HOUR", 5)]))
    expect(db_count(BATCH_CLIENT) == active, "fixture: %d active" % db_count(BATCH_CLIENT))


def batch_states():
    """BATCH_CLIENT's (active, expired unrevoked, revoked) token counts."""
    row = sql("SELECT SUM(t.revoked_at IS NULL AND t.expires_at > UTC_TIMESTAMP()),"
              " SUM(t.revoked_at IS NULL AND t.expires_at <= UTC_TIMESTAMP()),"
              " SUM(t.revoked_at IS NOT NULL)" + FROM + " WHERE c.client_id = " + q(BATCH_CLIENT))
    return tuple(int(v) for v in row[0].split("\t"))


def t_revoke_in_batches():
    """revoke_batch = 7: one request revokes 20 (21) tokens in 3 committed batches,
    one audit row each (7, 7, 6; 7, 7, 7 and no row for the empty 4th)."""
    conf = config_with("h11-batch-7.conf", revoke_batch=7)
    for active, want in ((20, [7, 7, 6]), (21, [7, 7, 7])):
        batch_client(active)
        rid = new_rid("batches")
        st, _, j = cgi_delete(conf, BATCH_CLIENT, rid)
        expect(st == 200 and j.get("revoked") == active,
               "%d active: status %d %r" % (active, st, j))
        expect(batch_states() == (0, 5, 5 + active), "%d active: states after %s"
               % (active, batch_states()))
        rows = audit_rows(rid)
        expect([r["affected"] for r in rows] == want and
               all(r["action"] == "tokens.revoke" and r["client_id"] == BATCH_CLIENT
                   for r in rows), "%d active: audit rows %s, want affected %s"
               % (active, [(r["action"], r["affected"]) for r in rows], want))


def t_revoke_unfinished():
    """revoke_batch = 1, db_write_timeout = 1: a request begins no batch after 1 s and
    answers 503 + Retry-After naming what it revoked; the same request again goes on;
    in the end every token is revoked once and audited once.  The audit rows say what
    each request answered: 200 for a batch after which it went on or finished, 503 for
    the batch after which it stopped."""
    if FRONTEND not in ("", "lighttpd"):
        note("run under lighttpd only (a CGI run: the front end plays no part)")
        return
    if sql("SELECT @@wsrep_on") == ["1"]:
        # 20,000 replicated commits take half a minute there; test_cluster.py
        # checks batches against a node's write-set limit.
        note("not on a Galera cluster (the single-server stages run it)")
        return
    total = 20000
    batch_client(total)
    conf = config_with("h11-batch-1.conf", revoke_batch=1, db_write_timeout=1)
    counted, rids, answers = 0, [], []
    for _ in range(200):
        rid = new_rid("unfinished")
        rids.append(rid)
        st, h, j = cgi_delete(conf, BATCH_CLIENT, rid)
        answers.append(st)
        if st == 200:
            counted += j.get("revoked", -1)
            break
        m = re.match(r"^(\d+) tokens revoked so far \(committed and audited\): send the same"
                     r" request again to revoke the rest$", j.get("message", ""))
        expect(st == 503 and j.get("code") == 503 and h.get("Retry-After") == "1" and m
               and int(m.group(1)) >= 1, "an unfinished revocation answered %d %r %r"
               % (st, h.get("Retry-After"), j))
        counted += int(m.group(1))
    note("%d tokens in batches of 1: %d requests (%d answered 503)"
         % (total, len(answers), answers.count(503)))
    expect(answers[0] == 503, "the first request revoked all %d tokens within 1 s: the check"
           " needs more tokens to see a request run out of time" % total)
    expect(answers[-1] == 200, "still unfinished after %d requests" % len(answers))
    expect(counted == total, "the answers add up to %d revoked, want %d" % (counted, total))
    expect(batch_states() == (0, 5, 5 + total), "states after: %s" % (batch_states(),))
    # A request that found none left writes one row of 0 (when the batch the
    # time ran out after happened to take the last token: the last request's only row).
    n = sql("SELECT SUM(affected > 0), SUM(affected = 1), SUM(affected), SUM(affected = 0),"
            " SUM(affected = 0 AND request_id = %s) FROM audit_events WHERE request_id IN (%s)"
            % (q(rids[-1]), ",".join(q(r) for r in rids)))[0].split("\t")
    expect(n[:3] == [str(total)] * 3 and n[3] == n[4] and n[3] in ("0", "1"),
           "audit rows (of tokens, of 1 token, tokens, of none, of none by the last request):"
           " %s, want %d, %d, %d and at most the last request's one row of none"
           % (n, total, total, total))
    statuses = {rid: [] for rid in rids}
    for line in sql("SELECT request_id, status FROM audit_events WHERE request_id IN (%s)"
                    " ORDER BY id" % ",".join(q(r) for r in rids)):
        rid, status = line.split("\t")
        statuses[rid].append(int(status))
    wrong = []
    for rid, answered in zip(rids, answers):
        got = statuses[rid]
        if not got or got[:-1] != [200] * (len(got) - 1) or got[-1] != answered:
            wrong.append((answered, got))
    expect(not wrong, "%d of %d requests' audit statuses do not end with what they answered"
           " (answered, statuses): %s" % (len(wrong), len(rids),
                                          [(a, g[:2] + ["..."] + g[-2:]) for a, g in wrong[:3]]))


def t_audit_atomic():
    """An audit row that cannot be written takes the revocation down with it."""
    c = "cli_g_atomic"
    sql(None, stdin=b"DROP TRIGGER IF EXISTS h9_audit_fail;\nDELIMITER //\n"
        b"CREATE TRIGGER h9_audit_fail BEFORE INSERT ON audit_events FOR EACH ROW\n"
        b" IF NEW.client_request_id LIKE 'h9fail%' THEN\n"
        b"  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'h9 forced audit failure';\n"
        b" END IF//\nDELIMITER ;\n")
    before = db_checksums()
    n = db_count(c)
    try:
        for i, req in enumerate((lambda rid: request("DELETE", target(c), auth=B["admin"], rid=rid),
                                 lambda rid: request("DELETE", target(c, "user_id=usr_g_u1"),
                                                     auth=B["admin"], rid=rid),
                                 lambda rid: request("DELETE", target(c, "", db_id_of("a-2")),
                                                     auth=B["admin"], rid=rid))):
            rid = "h9fail-%s-%d" % (RUN, i)
            r = req(rid)
            expect(r.status in (500, 503), "revocation with a failing audit: %s" % r.describe())
            check_common(r, r.status)
            expect(db_checksums() == before and db_count(c) == n,
                   "revocation #%d committed without its audit row" % i)
        # and the worker recovers
        check_list(lst(c), 1, 20, n)
    finally:
        sql("DROP TRIGGER IF EXISTS h9_audit_fail")
    r = revoke_all(c, token_type="refresh_token")
    check_revoked(r, 1, False)
    check_audit(r, "tokens.revoke", c, {"token_type": "refresh_token"}, 1)
    check_list(lst(c), 1, 20, n - 1)


# ---------------------------------------------------------------- X-Request-Id

def t_request_id_echo():
    vals = ["a", "Z", "0", "-", "req-%s" % RUN, "A" * 64, "a.b_c-d@e:f",
            "550e8400-e29b-41d4-a716-446655440000", "x" * 63 + "9", "@:._-"]
    for v in vals:
        for r in (request("GET", target("cli_g_filter"), auth=B["admin"], rid=v),
                  request("GET", target("cli_g_filter"), rid=v),
                  request("DELETE", target("cli_g_empty"), auth=B["admin"], rid=v),
                  request("PUT", target("cli_g_filter"), auth=B["admin"], rid=v),
                  request("GET", "/admin/oauth/nothing", auth=B["admin"], rid=v)):
            # Issue 12: the caller's id comes back apart, never as the request id.
            expect(r.header_all("X-Client-Request-Id") == [v],
                   "sent %r, got X-Client-Request-Id %r (%s)"
                   % (v, r.header_all("X-Client-Request-Id"), r.describe()))
            got = r.header_all("X-Request-Id")
            expect(len(got) == 1 and got[0] != v and server_request_id(got[0]),
                   "sent %r, got X-Request-Id %r (%s)" % (v, got, r.describe()))


def t_request_id_replaced():
    bad = ["A" * 65, "a b", "a/b", "a<b>", "a%41", "a;b", "a,b", "a+b", "a=b", "a\"b", "a'b",
           "caf\xc3\xa9".encode("latin-1"), "a#b", "a?b", "a*b", "(x)", "a\\b", "{}",
           "x" * 200]
    for v in bad:
        r = request("GET", target("cli_g_filter"), auth=B["admin"], rid=v)
        check_common(r, 200)
        got = r.header_all("X-Request-Id")
        expect(len(got) == 1 and server_request_id(got[0]),
               "sent %r, got %r: want the server's or 32 random hex digits" % (v, got))
        expect(r.header_all("X-Client-Request-Id") == [],
               "sent %r, got X-Client-Request-Id %r: want none"
               % (v, r.header_all("X-Client-Request-Id")))
        check_audit(r, "tokens.list", "cli_g_filter", {}, db_count("cli_g_filter"))
    # empty header: generated
    r = request("GET", target("cli_g_filter"), auth=B["admin"], rid="")
    got = r.header_all("X-Request-Id")
    expect(len(got) == 1 and server_request_id(got[0]), "empty X-Request-Id gave %r" % got)


def t_request_id_generated():
    ids = []
    for method, t, auth, status in (
            ("GET", target("cli_g_filter"), B["admin"], 200),
            ("GET", target("cli_g_filter", "page=0"), B["admin"], 400),
            ("GET", target("cli_g_filter"), None, 401),
            ("GET", target("cli_g_filter"), B["member"], 403),
            ("GET", target("cli_nope"), B["admin"], 404),
            ("GET", "/admin/oauth/clients", B["admin"], 404),
            ("PATCH", target("cli_g_filter"), B["admin"], 405),
            ("DELETE", target("cli_g_empty", "dry_run=true"), B["admin"], 200),
            ("DELETE", target("cli_g_single", "", "tok_" + "2" * 32), B["admin"], 404),
            ("HEAD", target("cli_g_filter"), B["admin"], 200)) * 3:
        r = request(method, t, auth=auth, rid=None)
        check_common(r, status, head=(method == "HEAD"))
        got = r.header_all("X-Request-Id")
        expect(len(got) == 1 and server_request_id(got[0]),
               "%s: X-Request-Id %r, want the server's or 32 hex digits" % (r.describe(), got))
        ids.append(got[0])
        if method == "DELETE" and status == 200:
            check_audit(r, "tokens.revoke", "cli_g_empty", {}, 0, True)
        if method == "GET" and status == 200:
            check_audit(r, "tokens.list", "cli_g_filter", {}, db_count("cli_g_filter"))
    expect(len(set(ids)) == len(ids), "generated ids repeat: %d of %d distinct"
           % (len(set(ids)), len(ids)))


def t_request_id_logged():
    for rid, status, method, t, auth in (
            ("logged-%s-a" % RUN, 200, "GET", target("cli_g_filter"), B["admin"]),
            ("logged-%s-b" % RUN, 401, "DELETE", target("cli_g_filter"), None),
            ("logged-%s-c" % RUN, 200, "DELETE", target("cli_g_empty", "dry_run=true"), B["admin"]),
            ("logged-%s-d" % RUN, 405, "PUT", target("cli_g_filter", "", "tok_x"), B["admin"]),
            (None, 404, "DELETE", target("cli_g_single", "", "tok_" + "3" * 32), B["admin"])):
        start = log_size()
        r = request(method, t, auth=auth, rid=rid)
        check_common(r, status)
        got = r.rid
        if rid is not None:
            expect(got != rid and r.header_all("X-Client-Request-Id") == [rid],
                   "X-Request-Id %r, X-Client-Request-Id %r, sent %r"
                   % (got, r.header_all("X-Client-Request-Id"), rid))
        lines = log_lines_with((" request_id=%s" % got).encode(), start)
        expect(len(lines) == 1, "%d log lines with request_id=%s" % (len(lines), got))
        line = lines[0].decode("utf-8", "replace")
        expect(re.search(r" request_id=%s(\s|$)" % re.escape(got), line),
               "log line %r" % line)
        expect(re.search(r" client_request_id=%s(\s|$)" % re.escape(rid or "-"), line),
               "log line %r lacks client_request_id=%s" % (line, rid or "-"))
        expect("status=%d" % status in line, "status %d not in %r" % (status, line))


# ---------------------------------------------------------------- 405

def t_405():
    start = audit_max_id()
    before = db_checksums()
    answers = []
    one = target("cli_g_filter", "", db_id_of("f-002"))
    for t, methods, allow in ((target("cli_g_filter"), ("POST", "PUT", "PATCH"), ALLOW_COLLECTION),
                              (target("cli_nope"), ("POST", "PUT"), ALLOW_COLLECTION),
                              (one, ("GET", "HEAD", "POST", "PUT", "PATCH"), ALLOW_ONE),
                              (target("cli_nope", "", "tok_x"), ("GET", "PUT"), ALLOW_ONE)):
        for m in methods:
            for auth in (B["admin"], None, B["member"]):
                r = request(m, t, auth=auth)
                answers.append(r)
                check_common(r, 405, head=(m == "HEAD"))
                if m != "HEAD":
                    check_error(r, 405)
                got = r.header_all("Allow")
                expect(got == [allow], "%s %s: Allow %r, want %r" % (m, t, got, allow))
    expect(audited_since(start, answers) == [], "405 answers were audited")
    expect(db_checksums() == before, "405 answers changed the tables")


# ---------------------------------------------------------------- counts stay exact

def t_counts_exact():
    clients = [l.split("\t") for l in sql(
        "SELECT c.client_id, t.public_id FROM oauth_clients c JOIN tenants t ON t.id = c.tenant_id"
        " ORDER BY c.id")]
    for client, tenant in clients:
        auth = TENANT_ADMIN[tenant]
        for ttype in [None] + TYPES:
            want = db_count(client, None, ttype)
            r = lst(client, auth=auth, token_type=ttype, page_size=1)
            check_list(r, 1, 1, want)
        want = db_count(client)
        items = page_through(client, 100, auth=auth, total=want)
        match_rows(items, db_rows(client), client)
    # The derived counts table agrees with the rows it summarises.
    bad = sql("SELECT x.oauth_client_id, x.token_type, x.n, COALESCE(y.live, 0) FROM"
              " (SELECT oauth_client_id, token_type, COUNT(*) n FROM oauth_tokens"
              "   WHERE revoked_at IS NULL AND NOT swept GROUP BY oauth_client_id, token_type) x"
              " LEFT JOIN (SELECT oauth_client_id, token_type, SUM(live) live FROM oauth_token_totals"
              "   GROUP BY oauth_client_id, token_type) y USING (oauth_client_id, token_type)"
              " WHERE x.n <> COALESCE(y.live, 0)")
    expect(not bad, "oauth_token_totals disagrees with oauth_tokens: %s" % bad)


# ---------------------------------------------------------------- OpenAPI

def t_openapi():
    """A sample of the real responses of this run (every method/path/status seen, a
    few of each) validates against docs/openapi.yaml with tests/stack/openapi_check.py."""
    spec = os.path.join(SRCDIR, "docs", "openapi.yaml")
    checker = os.path.join(HERE, "openapi_check.py")
    if not (os.path.exists(spec) and os.path.exists(checker)):
        note("docs/openapi.yaml or tests/stack/openapi_check.py missing: OpenAPI validation skipped")
        return
    os.environ.setdefault("OPENAPI_DOC", spec)
    sys.path.insert(0, HERE)
    try:
        import openapi_check
    except ImportError as e:
        note("openapi_check not importable (%s): OpenAPI validation skipped" % e)
        return
    _, _, prefix = parse_base()
    groups = {}
    for r in RESPONSES:
        if (r.parse_error or r.header("Content-Type") != CONTENT_TYPE
                or b"the web server" in r.body):
            continue   # a front end's own refusal, not the program's answer
        path = urllib.parse.urlsplit(r.target).path[len(prefix):]
        key = (r.method, openapi_check.template_for(path), r.status)
        groups.setdefault(key, []).append(r)
    rnd = random.Random(6)
    sample = []
    for key, rs in sorted(groups.items(), key=lambda kv: str(kv[0])):
        sample += rnd.sample(rs, min(len(rs), 8))
    expect(len(groups) >= 15, "only %d method/path/status kinds seen" % len(groups))
    bad = []
    for r in sample:
        path = urllib.parse.urlsplit(r.target).path[len(prefix):]
        found = openapi_check.problems(r.method, openapi_check.template_for(path), r.status,
                                       r.headers, r.body)
        if found:
            bad.append("%s: %s" % (r.describe(), "; ".join(found)))
    note("OpenAPI: %d responses of %d kinds validated" % (len(sample), len(groups)))
    expect(not bad, "%d of %d responses differ from docs/openapi.yaml: %s"
           % (len(bad), len(sample), " | ".join(bad[:4])))


def t_no_secrets():
    secrets = set()
    for text in TOKEN_TEXTS:
        secrets.add(text.encode())
        h = hashlib.sha256(text.encode()).hexdigest()
        secrets.add(h.encode())
        secrets.add(h.upper().encode())
    expect(len(RESPONSES) > 500, "only %d responses recorded" % len(RESPONSES))
    for r in RESPONSES:
        for sec in secrets:
            expect(sec not in r.raw, "%r in the response to %s" % (sec, r.describe()))


# ---------------------------------------------------------------- main

def main():
    require("BASE_URL", "DB_SOCKET", "DB_NAME")
    test("fixture loads", t_fixture)
    if failed():
        return summary()

    test("ids: tok_ + 32 hex, equal to the row's public_id, every field as stored",
         t_ids_match_store)
    test("ids: unique across pages, clients and tenants", t_ids_unique)
    test("ids: stable across requests, page sizes, filters and a change of token hash",
         t_ids_stable)
    test("ids: not the token text's or hash's digest; no token text or hash in any answer",
         t_ids_not_secret)

    test("filters x paging: every user_id/token_type combination, page sizes 7/20/100, "
         "items and order as in SQL", t_filter_combinations)
    test("filters: total exact vs COUNT(*) for every combination", t_filter_total_exact)
    test("filters: pages past the end are empty with the exact total", t_filter_past_end)
    test("filters: unknown/other-tenant/token-less users give 200 total 0; "
         "client-credentials tokens match no user", t_filter_empty_results)
    test("filters: percent-encoded values, '.' and '-' in user_id", t_filter_encoded)
    test("filters: tenant B admin on its own client", t_filter_other_tenant)
    test("filter validation GET: 400 naming user_id / token_type", t_filter_validation_get)
    test("filter validation DELETE: 400 naming user_id / token_type / dry_run; "
         "nothing changed, nothing audited", t_filter_validation_delete)
    test("filter validation order: 401, 403 before 400; 400 before 404", t_filter_validation_order)

    for query, named, one in (
            ("dry-run=true", "dry-run", False),
            ("token_typ=refresh_token", "token_typ", False),
            ("token_type=access_token&token_type=refresh_token", "token_type", False),
            ("dry_run=true&dryrun=1", "dryrun", False),
            ("user_id=usr_g_u2&dry_run=false&token-type=refresh_token", "token-type", False),
            ("dry-run=true", "dry-run", True),
            ("token_type=refresh_token", "token_type", True),
            ("dry_run=true&dry_run=true", "dry_run", True)):
        test("DELETE %s?%s: 400 naming %s; no token revoked, no audit row"
             % ("one token" if one else "all", query, named), t_delete_refuses(query, named, one))
    for body, ctype, one in (
            (b'{"dry_run": true, "user_id": "usr_g_u2"}', "application/json", False),
            (b"dry_run=true", "application/x-www-form-urlencoded", False),
            (b"dry_run=true", None, False),
            (b'{"dry_run": true}', "application/json", True),
            (b"x", "text/plain", True)):
        test("DELETE %s with a %s body %r: 400 naming the body; no token revoked, no "
             "audit row" % ("one token" if one else "all", ctype or "type-less", body),
             t_delete_refuses("", "body", one, body, ctype))
    test("DELETE with Content-Length: 0 and a Content-Type is no body: the dry run counts 4",
         t_delete_empty_body)
    test("GET and HEAD ignore unknown parameters (200, the whole list); dry_run=true counts 4",
         t_get_ignores_unknown)

    test("dry runs: revoked = COUNT(*) for every filter, nothing changes, audited dry_run=1",
         t_dry_runs)
    test("revoke all by filters, step by step: exact rows revoked, others untouched, "
         "lists follow, audited", t_revoke_all_steps)
    test("revoke all repeated: 200 revoked 0, nothing changes, audited", t_revoke_all_repeat)
    test("revoke all on one client touches no other client", t_revoke_by_filter_isolated)
    test("admin token revoked by filter: 401 on the very next requests",
         t_revoked_bearer_by_filter)
    test("admin token revoking itself by id: 401 on the very next requests", t_revoked_bearer_self)
    test("revoke all racing lists: every answer consistent, totals never rise, end at 0",
         t_race)
    test("revocations racing each other: no token counted twice", t_concurrent_revokers)

    test("revoke by id: revoked 1, leaves the list; repeats 200 revoked 0; old revoked_at kept",
         t_revoke_one)
    test("revoke by id, dry run: nothing changes, audited dry_run=1", t_revoke_one_dry_run)
    test("revoke by id across tenants/clients, unknown and malformed ids: identical 404",
         t_revoke_one_not_found)
    test("revocation on another tenant's client: 404 identical to an unknown client and "
         "to the list's", t_revoke_other_tenant_client)
    test("revocation without auth / as non-admin: 401 / 403, nothing changed or audited",
         t_revoke_forbidden)

    test("audit: list rows (filters, affected = total, tenant, actor), HEAD too", t_audit_lists)
    test("audit: no row for 401/403/400/404/405", t_audit_none_on_errors)
    test("audit: audit_reads = 0 writes no list row (CGI mode, own config)", t_audit_reads_switch)
    test("audit: a failing audit insert rolls the revocation back", t_audit_atomic)
    test("revoke all in batches (revoke_batch = 7, CGI mode): 20 and 21 tokens in one request,"
         " one audit row per committed batch", t_revoke_in_batches)
    test("revoke all out of time (revoke_batch = 1, db_write_timeout = 1): 503 + Retry-After"
         " saying how many so far; sent again until 200; each token revoked and audited once",
         t_revoke_unfinished)

    test("X-Request-Id: a caller's safe value comes back as X-Client-Request-Id on every"
         " status, never as the request id", t_request_id_echo)
    test("X-Request-Id: a caller's unsafe value dropped; the request id is the server's",
         t_request_id_replaced)
    test("X-Request-Id: generated when absent, unique, on every status; audit rows carry it",
         t_request_id_generated)
    if APP_LOG:
        test("X-Request-Id: the log line has request_id=<the id>", t_request_id_logged)
    else:
        note("APP_LOG not set: log checks skipped")
    test("405: Allow 'GET, HEAD, DELETE' on the collection, 'DELETE' on one token", t_405)

    test("counts exact: for every client the API total equals COUNT(*) of active rows",
         t_counts_exact)
    test("OpenAPI: sample of real responses validates", t_openapi)
    test("no token text or hash in any response", t_no_secrets)

    return summary()


if __name__ == "__main__":
    sys.exit(main())
