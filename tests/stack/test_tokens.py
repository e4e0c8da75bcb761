#!/usr/bin/env python3
"""test_tokens.py: black-box whole-stack tests of GET /admin/oauth/clients/{id}/tokens.

Talks HTTP over a raw socket to a web server in front of the program, and to MariaDB
through the `mariadb` client (as root, socket authentication).  Loads its own
fixture (fixture.sql beside this file) first, so it can run again and again and
against any front end.  Standard library only.

Environment: what tests/run passes (stacklib.py); BASE_URL, DB_SOCKET and
DB_NAME are required.  APP_LOG enables the log checks, MARIADB_CTL + MARIADB_DIR
the 503-and-recovery test.

Prints `ok - <name>` or `not ok - <name>: <why>` per check, then
`N passed, N failed`; exits 1 if any check failed.
"""

import base64
import hashlib
import http.client
import json
import math
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True
from stacklib import *  # noqa: E402,F401,F403

# The items' public ids ("tok_" + 32 hex digits, oauth_tokens.public_id) are
# compared with the store when the column exists (issue 6).
HAS_PUBLIC_ID = None
LOG_START = 0           # size of APP_LOG when the suite started

# Bearer token texts; fixture.sql stores SHA-256 of each.
BEARERS = {
    "admin": "h2-alpha-admin-live-0001",
    "admin_b64": "h2.Alpha~admin_b64+/tok==",
    "user": "h2-alpha-user-live-0002",
    "cc": "h2-alpha-cc-live-0003",
    "expired": "h2-alpha-admin-expired-0004",
    "revoked": "h2-alpha-admin-revoked-0005",
    "refresh": "h2-alpha-admin-refresh-0006",
    "revokelater": "h2-alpha-admin-revokelater-0007",
    "expirelater": "h2-alpha-admin-expirelater-0008",
    "admin2": "h2-alpha-admin2-live-0009",
    "beta_admin": "h2-beta-admin-live-0010",
    "beta_user": "h2-beta-user-live-0011",
    "revokedfuture": "h2-alpha-admin-revokedfuture-0012",
}
# Texts of the fixture's other (listed) tokens: must never appear either.
OTHER_TOKEN_TEXTS = (["h2-web-%d" % i for i in range(1, 13)]
                     + ["h2-page-%d" % i for i in range(1, 56)]
                     + ["h2-empty-1", "h2-empty-2", "h2-space-1", "h2-plus-1",
                        "h2-utf8-1", "h2-slash-1", "h2-slash-2", "h2-mut-1", "h2-mut-2", "h2-mut-3", "h2-mut-4",
                        "h2-beta-1", "h2-beta-2", "h2-beta-3", "h2-big-1", "h2-big-2"])


# ---------------------------------------------------------------- database

def has_public_id():
    global HAS_PUBLIC_ID
    if HAS_PUBLIC_ID is None:
        HAS_PUBLIC_ID = sql("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE"
                            " TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'oauth_tokens'"
                            " AND COLUMN_NAME = 'public_id'")[0] != "0"
    return HAS_PUBLIC_ID


def expected_items(client_id):
    """Active tokens of a client, newest first (created_at desc, id desc)."""
    pid = ("CONCAT('tok_', LOWER(HEX(t.public_id)))" if has_public_id() else "NULL")
    query = ("SELECT JSON_OBJECT('pk', t.id, 'public_id', {pid}, 'scope', t.scope,"
             " 'token_type', t.token_type, 'user_id', u.public_id,"
             " 'created_at', DATE_FORMAT(t.created_at, '%Y-%m-%dT%H:%i:%sZ'),"
             " 'expires_at', DATE_FORMAT(t.expires_at, '%Y-%m-%dT%H:%i:%sZ'))"
             " FROM oauth_tokens t JOIN oauth_clients c ON c.id = t.oauth_client_id"
             " LEFT JOIN users u ON u.id = t.user_id"
             " WHERE c.client_id = {cid} AND t.revoked_at IS NULL"
             " AND t.expires_at > UTC_TIMESTAMP()"
             " ORDER BY t.created_at DESC, t.id DESC").format(pid=pid, cid=q(client_id))
    return [json.loads(l) for l in sql(query)]


def table_checksums():
    rows = sql("CHECKSUM TABLE tenants, users, oauth_clients, oauth_tokens EXTENDED")
    return rows


# ---------------------------------------------------------------- HTTP

def get(client_id_enc, query="", auth=None, **kw):
    """GET the endpoint; client_id_enc is already percent-encoded as wanted."""
    t = PATH_FMT.format(client_id_enc)
    if query:
        t += "?" + query
    return request("GET", t, auth=auth, **kw)


def admin_get(client_id_enc, query=""):
    return get(client_id_enc, query, auth=BEARERS["admin"])


# ---------------------------------------------------------------- response checks

def check_items_match(items, expected):
    """items (from the API) equal expected rows (from the DB) in content and order."""
    got = [it["scope"] for it in items]
    want = [e["scope"] for e in expected]
    expect(sorted(got) == sorted(want), "items %s, want %s" % (got, want))
    expect(got == want, "order %s, want %s" % (got, want))
    for it, e in zip(items, expected):
        for k in ("created_at", "expires_at", "token_type"):
            expect(it[k] == e[k], "%s of %r: %r, want %r" % (k, e["scope"], it[k], e[k]))
        check_item_id(it, e)
        if e["user_id"] is None:
            expect("user_id" not in it, "user_id %r on a user-less token %r (want omitted)"
                   % (it.get("user_id"), e["scope"]))
        else:
            expect(it.get("user_id") == e["user_id"], "user_id of %r: %r, want %r"
                   % (e["scope"], it.get("user_id"), e["user_id"]))


def check_item_id(it, e):
    if "id" in it:
        expect(it["id"] == e["public_id"], "id of %r: %r, want %r (oauth_tokens.public_id)"
               % (e["scope"], it["id"], e["public_id"]))


def check_items_same_set_ordered(items, expected):
    """Like check_items_match, but rows with equal created_at may come in any order
    (the contract says a stable tie-break, not which one)."""
    got = [it["scope"] for it in items]
    want = [e["scope"] for e in expected]
    expect(sorted(got) == sorted(want), "items %s, want %s" % (got, want))
    by_scope = {e["scope"]: e for e in expected}
    for it in items:
        e = by_scope[it["scope"]]
        for k in ("created_at", "expires_at", "token_type"):
            expect(it[k] == e[k], "%s of %r: %r, want %r" % (k, e["scope"], it[k], e[k]))
        expect(it.get("user_id") == e["user_id"],
               "user_id of %r: %r, want %r" % (e["scope"], it.get("user_id"), e["user_id"]))
        check_item_id(it, e)
    created = [it["created_at"] for it in items]
    expect(all(a >= b for a, b in zip(created, created[1:])),
           "not newest first: %s" % created)


# ---------------------------------------------------------------- the tests

def t_fixture():
    with open(os.path.join(HERE, "fixture.sql"), "rb") as f:
        sql(None, stdin=f.read())
    n = sql("SELECT COUNT(*) FROM oauth_tokens")[0]
    expect(int(n) > 80, "fixture loaded %s tokens" % n)


def t_envelope():
    r = admin_get("cli_alpha_web")
    items = check_list(r, 1, 20, 5)
    check_items_match(items, expected_items("cli_alpha_web"))


def t_active_only():
    items = check_list(admin_get("cli_alpha_web"), 1, 20, 5)
    scopes = [it["scope"] for it in items]
    for dead in ("w-expired-access", "w-expired-refresh", "w-revoked-access",
                 "w-revoked-refresh", "w-expired-now", "w-revoked-future",
                 "w-revoked-expired"):
        expect(dead not in scopes, "inactive token %r is listed" % dead)
    types = {it["token_type"] for it in items}
    expect(types == {"access_token", "refresh_token"}, "token types listed: %s" % types)


def t_user_id_omitted():
    items = check_list(admin_get("cli_alpha_web"), 1, 20, 5)
    cc = [it for it in items if it["scope"] == "w-live-access-cc"]
    expect(len(cc) == 1, "client-credentials token not listed")
    expect("user_id" not in cc[0], "user_id %r on a user-less token (want omitted)"
           % cc[0].get("user_id"))
    u = [it for it in items if it["scope"] == "w-live-access-user"][0]
    expect(u.get("user_id") == "usr_alpha_user", "user_id %r, want the public id "
           "usr_alpha_user" % u.get("user_id"))


def t_order_newest_first():
    items = check_list(admin_get("cli_alpha_web"), 1, 20, 5)
    got = [it["scope"] for it in items]
    want = ["w-live-access-cc", "w-live-access-user", "w-live-refresh-user",
            "w-live-refresh-admin", 'w-live-special "q" \\ é ✓ </script>']
    expect(got == want, "order %s, want %s" % (got, want))


def t_json_escaping():
    r = admin_get("cli_alpha_web")
    items = check_list(r, 1, 20, 5)
    want = 'w-live-special "q" \\ é ✓ </script>'
    expect(any(it["scope"] == want for it in items),
           "scope with quote, backslash and UTF-8 not returned intact: %s"
           % [it["scope"] for it in items])


def check_page_of(items, full, start):
    """A page of a list with created_at ties: position by position the same
    created_at as the expected rows, every item one of the client's active rows
    with the right fields, no item twice."""
    want = full[start:start + len(items)]
    expect([i["created_at"] for i in items] == [e["created_at"] for e in want],
           "created_at sequence %s, want %s" % ([i["created_at"] for i in items],
                                                [e["created_at"] for e in want]))
    by_scope = {e["scope"]: e for e in full}
    scopes = [i["scope"] for i in items]
    expect(len(set(scopes)) == len(scopes), "an item twice: %s" % scopes)
    expect(all(s in by_scope for s in scopes), "items not among the active ones: %s"
           % [s for s in scopes if s not in by_scope])
    check_items_same_set_ordered(items, [by_scope[s] for s in scopes])


def t_defaults():
    items = check_list(admin_get("cli_alpha_page"), 1, 20, 45)
    check_page_of(items, expected_items("cli_alpha_page"), 0)


def t_page_sizes():
    full = expected_items("cli_alpha_page")
    expect(len(full) == 45, "fixture: %d active tokens on cli_alpha_page" % len(full))
    expect(len({e["created_at"] for e in full}) < 45, "fixture has no created_at ties")
    whole = check_list(admin_get("cli_alpha_page", "page_size=100"), 1, 100, 45)
    check_items_same_set_ordered(whole, full)
    order = [it["scope"] for it in whole]
    # Same total order whatever the page size: a stable tie-break.
    for size in (20, 7, 1, 45, 44, 15):
        pages = math.ceil(45 / size)
        seen = []
        for page in range(1, pages + 1):
            items = check_list(admin_get("cli_alpha_page", "page=%d&page_size=%d"
                                         % (page, size)), page, size, 45)
            seen += [it["scope"] for it in items]
        expect(seen == order, "page_size %d: pages together give %s, want %s (the order "
               "with page_size=100)" % (size, seen, order))
    again = check_list(admin_get("cli_alpha_page", "page_size=100"), 1, 100, 45)
    expect([it["scope"] for it in again] == order, "order changed between two requests")


def t_page_edges():
    full = expected_items("cli_alpha_page")
    for page in (1, 2):
        check_page_of(check_list(admin_get("cli_alpha_page", "page=%d" % page),
                                 page, 20, 45), full, (page - 1) * 20)
    last = check_list(admin_get("cli_alpha_page", "page=3"), 3, 20, 45)
    check_page_of(last, full, 40)
    expect(len(last) == 5, "last partial page has %d items, want 5" % len(last))


def t_page_past_end():
    for q, page, size in (("page=4", 4, 20), ("page=1000000", 1000000, 20),
                          ("page=46&page_size=1", 46, 1), ("page=2&page_size=100", 2, 100)):
        items = check_list(admin_get("cli_alpha_page", q), page, size, 45)
        expect(items == [], "%s: items %r, want []" % (q, items))


def t_empty_client():
    items = check_list(admin_get("cli_alpha_empty"), 1, 20, 0)
    expect(items == [], "items %r" % items)
    check_list(admin_get("cli_alpha_empty", "page=2"), 2, 20, 0)


def t_page_size_max():
    check_list(admin_get("cli_alpha_page", "page_size=%d" % PAGE_SIZE_MAX),
               1, PAGE_SIZE_MAX, 45)
    check_error(admin_get("cli_alpha_page", "page_size=%d" % (PAGE_SIZE_MAX + 1)),
                400, "page_size")


def t_tenant_b_admin():
    items = check_list(get("cli_beta_app", auth=BEARERS["beta_admin"]), 1, 20, 2)
    check_items_match(items, expected_items("cli_beta_app"))


def t_pct_client(enc, client_id):
    def run():
        items = check_list(admin_get(enc), 1, 20, len(expected_items(client_id)))
        check_items_match(items, expected_items(client_id))
    return run


def t_slash_client_link():
    """A client_id with '/' (any text is a client id): %2F reaches the program
    through every front end, and the Link of its first page leads to the next."""
    r = admin_get("cli%2Fslash", "page_size=1")
    items = check_list(r, 1, 1, 2)
    check_items_match(items, expected_items("cli/slash")[:1])
    m = LINK_NEXT_RE.match(r.header("Link") or "")
    expect(m and m.group(1).startswith(PATH_FMT.format("cli%2Fslash") + "?"),
           "Link %r" % r.header("Link"))
    nxt = request("GET", m.group(1), auth=BEARERS["admin"])
    expect(nxt.status == 200, "following Link: %s" % nxt.describe())
    expect([i["scope"] for i in nxt.json["items"]] == ["s-slash-2"],
           "next page %r" % nxt.json.get("items"))


def t_plus_is_literal():
    check_error(admin_get("cli+space"), 404)


def t_pct_query():
    check_list(admin_get("cli_alpha_page", "page=%32"), 2, 20, 45)
    check_list(admin_get("cli_alpha_page", "page_size=%31%30"), 1, 10, 45)


def t_unknown_params():
    for q in ("foo=bar", "Page=0", "pagesize=1000", "page_size_max=1000",
              "x=1&page=2&z", "callback=alert(1)", "page_size[]=5"):
        page = 2 if "page=2" in q else 1
        check_list(admin_get("cli_alpha_page", q), page, 20, 45)


BAD_NUMBERS = ["0", "-1", "+1", "%2B1", "1e3", "0x10", "%201", "1%20", "+",
               "12345678901234567890", "99999999999999999999999", "", "1.0", "1,5",
               "abc", "%EF%BC%91", "-0", "1_000", "%", "%zz", "00x1"]
# Control bytes: a front end may refuse these itself (lighttpd does, with 400).
BAD_NUMBERS_CTRL = ["%091", "%00", "1%00", "1%00abc", "1%0a", "%0d%0a1"]


def t_bad_param(param, value):
    def run():
        other = "page_size=5" if param == "page" else "page=1"
        q = "%s=%s&%s" % (param, value, other)
        check_error(admin_get("cli_alpha_page", q), 400, param)
    return run


def t_bad_param_novalue(param):
    def run():
        check_error(admin_get("cli_alpha_page", param), 400, param)
    return run


def t_repeated(q, param):
    def run():
        check_error(admin_get("cli_alpha_page", q), 400, param)
    return run


def t_401(name, raw_auth, with_error, query="", client="cli_alpha_web"):
    def run():
        r = get(client, query, raw_auth=raw_auth)
        check_error(r, 401)
        check_www_authenticate(r, with_error)
    return run


def t_401_no_header():
    r = get("cli_alpha_web")
    check_error(r, 401)
    check_www_authenticate(r, False)


def t_401_oversized():
    big = "A" * 10240
    r = get("cli_alpha_web", raw_auth="Bearer " + big)
    if front_end_refused(r, (400, 413, 431, 494)):
        return
    check_error(r, 401)
    check_www_authenticate(r, True)


def t_scheme_case(scheme):
    def run():
        items = check_list(get("cli_alpha_web", raw_auth=scheme + " " + BEARERS["admin"]),
                           1, 20, 5)
        check_items_match(items, expected_items("cli_alpha_web"))
    return run


def t_b64_token():
    check_list(get("cli_alpha_web", auth=BEARERS["admin_b64"]), 1, 20, 5)


def t_403(token, client):
    def run():
        r = get(client, auth=BEARERS[token])
        check_error(r, 403)
    return run


def t_order(name, status, auth, client, query, mention=None):
    def run():
        r = get(client, query, auth=BEARERS[auth] if auth else None)
        check_error(r, status, mention)
    return run


def t_order_hostile(enc, auth, status):
    def run():
        r = get(enc, auth=BEARERS[auth] if auth else None)
        if front_end_refused(r, (400, 404, 414)):
            return
        check_error(r, status)
    return run


PER_REQUEST_HEADERS = ("date", "x-request-id")


def strip_ts(r):
    """Body bytes with the timestamp value blanked, and headers without Date and
    X-Request-Id (both differ per request by design)."""
    j = r.json
    body = r.body.replace(j["timestamp"].encode(), b"<ts>") if isinstance(j, dict) else r.body
    hdrs = [(n.lower(), v) for n, v in r.headers if n.lower() not in PER_REQUEST_HEADERS]
    return body, hdrs


def t_404_identical(auth, other_tenant_client, unknown_client):
    def run():
        a = get(other_tenant_client, auth=BEARERS[auth])
        b = get(unknown_client, auth=BEARERS[auth])
        check_error(a, 404)
        check_error(b, 404)
        ja = dict(a.json)
        jb = dict(b.json)
        ja.pop("timestamp")
        jb.pop("timestamp")
        # The message may echo the requested id; compare with it blanked.
        sa = json.dumps(ja, sort_keys=True).replace(other_tenant_client, "<id>")
        sb = json.dumps(jb, sort_keys=True).replace(unknown_client, "<id>")
        expect(sa == sb, "other tenant's client %s vs unknown client %s"
               % (sa, sb))
        ba, ha = strip_ts(a)
        bb, hb = strip_ts(b)
        ba = ba.replace(other_tenant_client.encode(), b"<id>")
        bb = bb.replace(unknown_client.encode(), b"<id>")
        expect(ba == bb, "bodies differ beyond the timestamp: %r vs %r" % (ba, bb))
        expect(ha == hb, "headers differ beyond Date: %r vs %r" % (ha, hb))
    return run


def t_unknown_path(path):
    def run():
        r = request("GET", path, auth=BEARERS["admin"])
        check_error(r, 404)
    return run


def t_405(method, path, want_allow):
    def run():
        body = b'{"x":1}' if method in ("POST", "PUT", "PATCH") else None
        hdrs = [("Content-Type", "application/json")] if body else []
        r = request(method, path, auth=BEARERS["admin"], headers=hdrs, body=body)
        check_error(r, 405)
        allow = r.header_all("Allow")
        expect(allow == [want_allow], "Allow %r, want [%r]" % (allow, want_allow))
    return run


def t_head(client, query, auth, status):
    def run():
        path = PATH_FMT.format(client) + ("?" + query if query else "")
        g = request("GET", path, auth=auth)
        h = request("HEAD", path, auth=auth)
        check_common(g, status)
        check_common(h, status, head=True)
        gl = [(n.lower(), v) for n, v in g.headers if n.lower() not in PER_REQUEST_HEADERS]
        hl = [(n.lower(), v) for n, v in h.headers if n.lower() not in PER_REQUEST_HEADERS]
        expect(sorted(gl) == sorted(hl), "HEAD headers %r != GET headers %r" % (hl, gl))
        expect(h.header("Content-Length") == str(len(g.body)),
               "HEAD Content-Length %r, GET body is %d bytes"
               % (h.header("Content-Length"), len(g.body)))
    return run


def t_keepalive():
    host, port, prefix = parse_base()
    c = http.client.HTTPConnection(host, port, timeout=30)
    try:
        for q in ("page=1", "page=2", "page=3"):
            c.request("GET", prefix + PATH_FMT.format("cli_alpha_page") + "?" + q,
                      headers={"Authorization": "Bearer " + BEARERS["admin"]})
            r = c.getresponse()
            body = r.read()
            expect(r.status == 200, "status %d on keep-alive request %s" % (r.status, q))
            j = json.loads(body)
            expect(j["pagination"]["page"] == int(q[5:]), "page %r" % j["pagination"])
    finally:
        c.close()


# Hostile inputs: (name, method, target, auth-kind, allowed statuses).  No 5xx; a
# JSON answer must be a correct one; a non-JSON answer is accepted only as a front
# end's refusal (400/404/413/414/431) before the program saw the request.
def hostile_cases():
    a = "admin"
    P = PATH_FMT.format
    kb = "a" * 1024
    cases = [
        ("client_id SQL quote", P("%27%20OR%20%271%27%3D%271"), a, {404}),
        ("client_id SQL comment", P("x%27%3B%20DROP%20TABLE%20oauth_tokens%3B--%20"), a, {404}),
        ("client_id SQL double quote", P('%22%20OR%20%22%22%3D%22'), a, {404}),
        ("client_id trailing space (PAD collation)", P("cli_alpha_web%20"), a, {404}),
        ("client_id leading space", P("%20cli_alpha_web"), a, {404}),
        ("client_id upper case", P("CLI_ALPHA_WEB"), a, {404}),
        ("client_id backslash", P("cli_alpha_web%5C"), a, {404}),
        ("client_id LIKE underscore", P("cli_alpha_we_"), a, {404}),
        ("client_id LIKE percent", P("cli_alpha_%25"), a, {404}),
        ("client_id percent only", P("%25"), a, {404}),
        ("client_id dot-dot", P(".."), a, {400, 404}),
        ("client_id encoded dot-dot", P("%2e%2e"), a, {400, 404}),
        ("client_id dot", P("."), a, {400, 404}),
        ("client_id %2F", P("a%2Fb"), a, {400, 404}),
        ("client_id %2F only", P("%2F"), a, {400, 404}),
        ("client_id %2F to other path", P("cli_alpha_web%2Ftokens%2F.."), a, {400, 404}),
        ("client_id %zz", P("%zz"), a, {400, 404}),
        ("client_id lone %", P("%"), a, {400, 404}),
        ("client_id truncated %4", P("abc%4"), a, {400, 404}),
        ("client_id %G1", P("abc%G1"), a, {400, 404}),
        ("client_id 1 KB", P(kb), a, {400, 404, 414}),
        ("client_id 256 chars", P("c" * 256), a, {400, 404}),
        ("client_id 255 chars", P("c" * 255), a, {404}),
        ("client_id NUL", P("%00"), a, {400, 404}),
        ("client_id NUL truncation", P("cli_alpha_web%00"), a, {400, 404}),
        ("client_id NUL suffix", P("cli_alpha_web%00x"), a, {400, 404}),
        ("client_id LF", P("cli_alpha_web%0a"), a, {400, 404}),
        ("client_id CRLF header injection", P("x%0d%0aSet-Cookie:%20a=b"), a, {400, 404}),
        ("client_id tab", P("cli%09alpha"), a, {400, 404}),
        ("client_id DEL", P("cli%7f"), a, {400, 404}),
        ("client_id UTF-8 snowman", P("%E2%98%83"), a, {404}),
        ("client_id overlong slash", P("%c0%af"), a, {400, 404}),
        ("client_id overlong dots", P("%c0%ae%c0%ae"), a, {400, 404}),
        ("client_id invalid UTF-8", P("%ff%fe"), a, {400, 404}),
        ("client_id lone continuation", P("cli%80"), a, {400, 404}),
        ("client_id surrogate", P("%ed%a0%80"), a, {400, 404}),
        ("client_id 4-byte UTF-8", P("%F0%9F%98%80"), a, {404}),
        ("client_id raw UTF-8 bytes", P("cli-\u00fcn\u00ef").encode("utf-8"), a, {200, 400, 404}),
        ("client_id empty", P(""), a, {400, 404}),
        ("client_id spaces", P("%20%20"), a, {400, 404}),
        ("client_id JSON breaker", P("%22%7D%2C%22code%22%3A200"), a, {404}),
        ("client_id HTML", P("%3Cscript%3Ealert(1)%3C%2Fscript%3E"), a, {400, 404}),
        ("client_id format string", P("%25s%25n%25x%25p"), a, {404}),
        ("client_id semicolon", P("cli_alpha_web;x=1"), a, {400, 404}),
        ("client_id query-ish %3F", P("cli_alpha_web%3Fpage=1"), a, {404}),
        ("client_id hash %23", P("cli_alpha_web%23"), a, {404}),
        ("double slash path", "/admin/oauth/clients//cli_alpha_web/tokens", a, {400, 404}),
        ("path trailing slash", P("cli_alpha_web") + "/", a, {404}),
        ("path extra segment (a token id route: GET not allowed)", P("cli_alpha_web") + "/x", a, {405}),
        ("path two extra segments", P("cli_alpha_web") + "/x/y", a, {404}),
        ("path dot segments", "/admin/oauth/clients/cli_alpha_web/../cli_alpha_web/tokens", a, {200, 400, 404}),
        ("path encoded tokens", "/admin/oauth/clients/cli_alpha_web/%74okens", a, {200, 404}),
        ("path case", "/admin/OAUTH/clients/cli_alpha_web/tokens", a, {404}),
        ("unknown path no auth", "/admin/nothing-here", None, {401, 404}),
        ("unknown path admin", "/admin/", a, {404}),
        ("query 4 KB", P("cli_alpha_web") + "?x=" + "q" * 4096, a, {200}),
        ("query 8 KB", P("cli_alpha_web") + "?x=" + "q" * 8192, a, {200, 414, 431}),
        ("query 500 params", P("cli_alpha_web") + "?" + "&".join("k%d=1" % i for i in range(500)), a, {200}),
        ("query only ampersands", P("cli_alpha_web") + "?&&&", a, {200}),
        ("query bare ?", P("cli_alpha_web") + "?", a, {200}),
        ("query page=%", P("cli_alpha_web") + "?page=%", a, {400}),
    ] + [("query page=%s" % v, P("cli_alpha_web") + "?page=" + v, a, {400})
         for v in BAD_NUMBERS_CTRL] + [
        ("query page_size=%s" % v, P("cli_alpha_web") + "?page_size=" + v, a, {400})
        for v in BAD_NUMBERS_CTRL] + [
        ("query page=%zz", P("cli_alpha_web") + "?page=%zz", a, {400}),
        ("query page huge int64", P("cli_alpha_web") + "?page=9223372036854775807", a, {200, 400}),
        ("query page int64+1", P("cli_alpha_web") + "?page=9223372036854775808", a, {200, 400}),
        ("query page 2^32", P("cli_alpha_web") + "?page=4294967296", a, {200, 400}),
        ("query page 2^31", P("cli_alpha_web") + "?page=2147483648", a, {200, 400}),
        ("query page*size overflow", P("cli_alpha_web") + "?page=922337203685477580&page_size=100", a, {200, 400}),
        ("query page_size 2^32+1", P("cli_alpha_web") + "?page_size=4294967297", a, {400}),
        ("query page_size -2^32+5", P("cli_alpha_web") + "?page_size=-4294967291", a, {400}),
        ("query unknown param bad encoding", P("cli_alpha_web") + "?y=%zz", a, {200, 400}),
        ("query name NUL", P("cli_alpha_web") + "?page%00=0", a, {200, 400}),
        ("query UTF-8 value", P("cli_alpha_web") + "?page=%E2%98%83", a, {400}),
        ("query overlong", P("cli_alpha_web") + "?page=%c0%b1", a, {400}),
    ]
    return [(n, "GET", t, au, ok) for (n, t, au, ok) in cases]


def hostile_auth_cases():
    P = PATH_FMT.format("cli_alpha_web")
    adm = BEARERS["admin"].encode()
    return [
        ("auth NUL raw", b"Bearer abc\x00def", {400, 401}),
        ("auth NUL percent", b"Bearer abc%00def", {401}),
        ("auth admin + NUL", b"Bearer " + adm + b"%00", {401}),
        ("auth CR only", b"Bearer abc\rdef", {400, 401}),
        ("auth latin-1 byte", b"Bearer \xe9t\xe9", {400, 401}),
        ("auth overlong UTF-8", b"Bearer \xc0\xaf", {400, 401}),
        ("auth tab separator", b"Bearer\t" + adm, {200, 400, 401}),
        ("auth trailing junk", b"Bearer " + adm + b" junk", {401}),
        ("auth comma list", b"Bearer " + adm + b", Basic eA==", {401}),
        ("auth quoted", b'Bearer "' + adm + b'"', {401}),
        ("auth token= param", b"Bearer token=" + adm, {401}),
        ("auth SQL", b"Bearer ' OR '1'='1", {401}),
        ("auth 5 KB", b"Bearer " + b"B" * 5120, {401}),
        ("auth 1 MB-ish prefix", b"Bearer " + b"C" * 60000, {400, 401, 413, 431}),
        ("auth scheme only long", b"X" * 4000, {401}),
    ]


def t_hostile(method, target, auth, allowed, raw_auth=None):
    def run():
        r = request(method, target, auth=BEARERS[auth] if auth else None,
                    raw_auth=raw_auth)
        expect(r.parse_error is None, "unparseable response: %s" % r.parse_error)
        expect(r.status < 500, "server error: %s" % r.describe())
        if front_end_refused(r, (400, 404, 413, 414, 431)):
            return
        expect(r.status in allowed, "status %d not in %s: %s"
               % (r.status, sorted(allowed), r.describe()))
        check_common(r, r.status)
        expect(not r.header_all("Set-Cookie"), "injected Set-Cookie header")
        if r.status == 200:
            expect(set(r.json) == ENVELOPE_KEYS, "200 envelope keys %s" % sorted(r.json))
    return run


def t_data_unchanged(before):
    def run():
        after = table_checksums()
        expect(after == before, "tables changed by hostile requests: %s -> %s"
               % (before, after))
        check_list(admin_get("cli_alpha_web"), 1, 20, 5)
    return run


# --- no caching: changes in the store show at once

def t_list_follows_store():
    q = "UPDATE oauth_tokens SET %s WHERE token_hash = UNHEX(SHA2('%s', 256))"
    items = check_list(admin_get("cli_alpha_mut"), 1, 20, 2)
    expect([i["scope"] for i in items] == ["m-one", "m-two"], "start: %r" % items)
    sql(q % ("revoked_at = UTC_TIMESTAMP()", "h2-mut-1"))
    items = check_list(admin_get("cli_alpha_mut"), 1, 20, 1)
    expect([i["scope"] for i in items] == ["m-two"], "after revoking m-one: %r" % items)
    sql(q % ("revoked_at = NULL", "h2-mut-1"))
    check_list(admin_get("cli_alpha_mut"), 1, 20, 2)
    sql(q % ("expires_at = UTC_TIMESTAMP() - INTERVAL 1 SECOND", "h2-mut-2"))
    items = check_list(admin_get("cli_alpha_mut"), 1, 20, 1)
    expect([i["scope"] for i in items] == ["m-one"], "after expiring m-two: %r" % items)
    sql(q % ("expires_at = UTC_TIMESTAMP() + INTERVAL 1 DAY", "h2-mut-2"))
    sql("INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id, scope,"
        " created_at, expires_at) VALUES (UNHEX(SHA2('h2-mut-3', 256)), 'access_token', 7,"
        " NULL, 'm-new', UTC_TIMESTAMP(), UTC_TIMESTAMP() + INTERVAL 1 HOUR)")
    items = check_list(admin_get("cli_alpha_mut"), 1, 20, 3)
    expect(items[0]["scope"] == "m-new", "a new token is not first: %r" % items)
    sql("DELETE FROM oauth_tokens WHERE token_hash = UNHEX(SHA2('h2-mut-3', 256))")
    check_list(admin_get("cli_alpha_mut"), 1, 20, 2)


def t_expiry_between_requests():
    sql("INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id, scope,"
        " created_at, expires_at) VALUES (UNHEX(SHA2('h2-mut-4', 256)), 'refresh_token', 7,"
        " 2, 'm-soon', UTC_TIMESTAMP(), UTC_TIMESTAMP() + INTERVAL 2 SECOND)")
    r = admin_get("cli_alpha_mut")
    alive = sql("SELECT expires_at > UTC_TIMESTAMP() FROM oauth_tokens"
                " WHERE token_hash = UNHEX(SHA2('h2-mut-4', 256))")[0] == "1"
    if alive:
        items = check_list(r, 1, 20, 3)
        expect("m-soon" in [i["scope"] for i in items], "token about to expire not listed")
    for _ in range(100):
        if sql("SELECT expires_at <= UTC_TIMESTAMP() FROM oauth_tokens"
               " WHERE token_hash = UNHEX(SHA2('h2-mut-4', 256))")[0] == "1":
            break
        time.sleep(0.1)
    time.sleep(1.1)  # a whole second past, whatever clock the program compares with
    items = check_list(admin_get("cli_alpha_mut"), 1, 20, 2)
    expect("m-soon" not in [i["scope"] for i in items], "expired token still listed")
    sql("DELETE FROM oauth_tokens WHERE token_hash = UNHEX(SHA2('h2-mut-4', 256))")


def t_bearer_revoked_while_warm():
    for _ in range(6):
        check_list(get("cli_alpha_web", auth=BEARERS["revokelater"]), 1, 20, 5)
    sql("UPDATE oauth_tokens SET revoked_at = UTC_TIMESTAMP() WHERE token_hash ="
        " UNHEX(SHA2('%s', 256))" % BEARERS["revokelater"])
    for i in range(6):
        r = get("cli_alpha_web", auth=BEARERS["revokelater"])
        expect(r.status == 401, "request %d after revocation: %s" % (i + 1, r.describe()))
        check_www_authenticate(r, True)


def t_bearer_expired_while_warm():
    for _ in range(6):
        check_list(get("cli_alpha_web", auth=BEARERS["expirelater"]), 1, 20, 5)
    sql("UPDATE oauth_tokens SET expires_at = UTC_TIMESTAMP() - INTERVAL 1 SECOND"
        " WHERE token_hash = UNHEX(SHA2('%s', 256))" % BEARERS["expirelater"])
    for i in range(6):
        r = get("cli_alpha_web", auth=BEARERS["expirelater"])
        expect(r.status == 401, "request %d after expiry: %s" % (i + 1, r.describe()))


def t_admin_demoted():
    for _ in range(6):
        check_list(get("cli_alpha_web", auth=BEARERS["admin2"]), 1, 20, 5)
    sql("UPDATE users SET is_admin = FALSE WHERE public_id = 'usr_alpha_admin2'")
    try:
        for i in range(6):
            r = get("cli_alpha_web", auth=BEARERS["admin2"])
            expect(r.status == 403, "request %d after demotion: %s" % (i + 1, r.describe()))
    finally:
        sql("UPDATE users SET is_admin = TRUE WHERE public_id = 'usr_alpha_admin2'")
    check_list(get("cli_alpha_web", auth=BEARERS["admin2"]), 1, 20, 5)


def t_client_replaced_while_warm():
    """A worker that has listed a client goes by the client as it is now: the
    client deleted and made again under the same client_id (a new row), moved
    to another tenant, or gone."""
    def make(n, scope):
        sql("INSERT INTO oauth_clients (client_id, tenant_id, name) VALUES ('cli_alpha_swap', 1,"
            " 'Alpha: replaced while warm'); SET @c = LAST_INSERT_ID();"
            "INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id, scope,"
            " created_at, expires_at) SELECT UNHEX(SHA2(CONCAT('h2-swap-%s-', seq), 256)),"
            " 'access_token', @c, 2, '%s', UTC_TIMESTAMP() - INTERVAL seq SECOND,"
            " UTC_TIMESTAMP() + INTERVAL 1 HOUR FROM seq_1_to_%d" % (scope, scope, n))

    def drop():
        sql("DELETE k FROM oauth_tokens k JOIN oauth_clients c ON c.id = k.oauth_client_id"
            " WHERE c.client_id = 'cli_alpha_swap';"
            "DELETE FROM oauth_clients WHERE client_id = 'cli_alpha_swap'")

    make(2, "swap-old")
    try:
        for _ in range(6):      # every worker has listed it
            items = check_list(admin_get("cli_alpha_swap"), 1, 20, 2)
        drop()
        make(3, "swap-new")
        for i in range(6):
            items = check_list(admin_get("cli_alpha_swap"), 1, 20, 3)
            expect({it["scope"] for it in items} == {"swap-new"},
                   "request %d after the client was replaced: %r" % (i + 1, items))
        sql("UPDATE oauth_clients SET tenant_id = 2 WHERE client_id = 'cli_alpha_swap'")
        for i in range(6):
            r = admin_get("cli_alpha_swap")
            expect(r.status == 404, "request %d after the move to another tenant: %s"
                   % (i + 1, r.describe()))
        sql("UPDATE oauth_clients SET tenant_id = 1 WHERE client_id = 'cli_alpha_swap'")
        check_list(admin_get("cli_alpha_swap"), 1, 20, 3)
        drop()
        for i in range(6):
            r = admin_get("cli_alpha_swap")
            expect(r.status == 404, "request %d after the client was deleted: %s"
                   % (i + 1, r.describe()))
    finally:
        drop()


def t_client_renamed_while_warm():
    """A worker that has listed a client by its client_id answers by the name as
    it is now: renamed (its tokens still there), the old name is 404 and its
    cursor is refused; a new client under the old name lists its own tokens;
    another tenant's administrator gets 404 and a user 403 for it."""
    def make(name, n, scope):
        sql("INSERT INTO oauth_clients (client_id, tenant_id, name) VALUES ('%s', 1,"
            " 'Alpha: renamed while warm'); SET @c = LAST_INSERT_ID();"
            "INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id, scope,"
            " created_at, expires_at) SELECT UNHEX(SHA2(CONCAT('h2-ren-%s-', seq), 256)),"
            " 'access_token', @c, 2, '%s', UTC_TIMESTAMP() - INTERVAL seq SECOND,"
            " UTC_TIMESTAMP() + INTERVAL 1 HOUR FROM seq_1_to_%d" % (name, scope, scope, n))

    def drop():
        sql("DELETE k FROM oauth_tokens k JOIN oauth_clients c ON c.id = k.oauth_client_id"
            " WHERE c.client_id IN ('cli_alpha_ren', 'cli_alpha_ren_was');"
            "DELETE FROM oauth_clients WHERE client_id IN ('cli_alpha_ren', 'cli_alpha_ren_was')")

    drop()
    make("cli_alpha_ren", 2, "ren-old")
    try:
        for _ in range(6):      # the workers have listed it
            check_list(admin_get("cli_alpha_ren"), 1, 20, 2)
            r = admin_get("cli_alpha_ren", "page_size=1")
            check_list(r, 1, 1, 2)
        old_cursor = r.json["next_cursor"]
        sql("UPDATE oauth_clients SET client_id = 'cli_alpha_ren_was'"
            " WHERE client_id = 'cli_alpha_ren'")
        for i in range(6):
            r = admin_get("cli_alpha_ren")
            expect(r.status == 404, "request %d by the old name after the rename: %s"
                   % (i + 1, r.describe()))
            r = admin_get("cli_alpha_ren", "page_size=1&cursor=" + old_cursor)
            expect(r.status == 404, "cursor %d by the old name after the rename: %s"
                   % (i + 1, r.describe()))
        make("cli_alpha_ren", 3, "ren-new")
        for i in range(6):
            items = check_list(admin_get("cli_alpha_ren"), 1, 20, 3)
            expect({it["scope"] for it in items} == {"ren-new"},
                   "request %d by the name of a renamed client: %r" % (i + 1, items))
            r = admin_get("cli_alpha_ren", "page_size=1&cursor=" + old_cursor)
            expect(r.status == 400, "cursor %d of the renamed client on the new one: %s"
                   % (i + 1, r.describe()))
            r = get("cli_alpha_ren", auth=BEARERS["beta_admin"])
            expect(r.status == 404, "request %d by another tenant's administrator: %s"
                   % (i + 1, r.describe()))
            r = get("cli_alpha_ren", auth=BEARERS["user"])
            expect(r.status == 403, "request %d by a user: %s" % (i + 1, r.describe()))
    finally:
        drop()


def t_paging_follows_store():
    sql("UPDATE oauth_tokens SET revoked_at = UTC_TIMESTAMP() WHERE oauth_client_id = 2"
        " AND scope IN ('p-01', 'p-02', 'p-03', 'p-04', 'p-05')")
    try:
        check_list(admin_get("cli_alpha_page", "page=2"), 2, 20, 40)
        check_list(admin_get("cli_alpha_page", "page=3"), 3, 20, 40)
    finally:
        sql("UPDATE oauth_tokens SET revoked_at = NULL WHERE oauth_client_id = 2"
            " AND scope IN ('p-01', 'p-02', 'p-03', 'p-04', 'p-05')")
    check_list(admin_get("cli_alpha_page", "page=3"), 3, 20, 45)


def t_nul_in_param_name():
    """`page%00=2` is an unknown parameter, not `page` cut at the NUL."""
    r = admin_get("cli_alpha_page", "page%00=2")
    if front_end_refused(r, (400,)):
        return
    if r.status == 400:
        check_error(r, 400)
        return
    items = check_list(r, r.json.get("pagination", {}).get("page", 0), 20, 45)
    expect(r.json["pagination"]["page"] == 1,
           "page%%00=2 was taken as page=2 (name cut at the NUL): pagination %r"
           % r.json["pagination"])


def t_snapshot_consistent():
    """While another session revokes and restores 5 tokens over and over, every
    answer's items agree with its total (one consistent snapshot)."""
    flip = ("UPDATE oauth_tokens SET revoked_at = IF(revoked_at IS NULL,"
            " UTC_TIMESTAMP(), NULL) WHERE oauth_client_id = 2"
            " AND scope IN ('p-01', 'p-02', 'p-03', 'p-04', 'p-05');\n")
    stop = threading.Event()
    errors = []

    def writer():
        args = mariadb_args()
        try:
            p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE)
            while not stop.is_set():
                p.stdin.write((flip * 20).encode())
                p.stdin.flush()
            p.stdin.close()
            p.wait(timeout=60)
        except Exception as e:
            errors.append(e)

    th = threading.Thread(target=writer)
    th.start()
    seen = set()
    try:
        for _ in range(150):
            r = admin_get("cli_alpha_page", "page_size=100")
            expect(r.status == 200, r.describe())
            total = r.json["total"]
            seen.add(total)
            expect(total in (40, 45), "total %d, want 40 or 45" % total)
            expect(len(r.json["items"]) == total and r.json["pagination"]["total"] == total,
                   "total %d but %d items: total and page from different snapshots"
                   % (total, len(r.json["items"])))
    finally:
        stop.set()
        th.join()
        sql("UPDATE oauth_tokens SET revoked_at = NULL WHERE oauth_client_id = 2"
            " AND scope IN ('p-01', 'p-02', 'p-03', 'p-04', 'p-05')")
    expect(not errors, "writer failed: %s" % errors)
    if seen != {40, 45}:
        note("snapshot test saw only totals %s" % sorted(seen))
    check_list(admin_get("cli_alpha_page"), 1, 20, 45)


def t_database_outage():
    """Database down: 503 JSON with Retry-After; back up: the same workers answer
    200 again without being restarted."""
    for _ in range(4):
        check_list(admin_get("cli_alpha_web"), 1, 20, 5)
    mariadb_ctl("kill")
    try:
        for i in range(4):
            r = admin_get("cli_alpha_web")
            check_error(r, 503)
            ra = r.header_all("Retry-After")
            expect(len(ra) == 1 and ra[0].isdigit() and int(ra[0]) > 0,
                   "Retry-After %r on a 503" % ra)
    finally:
        mariadb_ctl("start")
    deadline = time.time() + 15
    while True:
        r = admin_get("cli_alpha_web")
        if r.status == 200:
            break
        expect(r.status == 503, "after restart: %s" % r.describe())
        expect(time.time() < deadline, "still 503 15 s after the database came back")
        time.sleep(0.2)
    for _ in range(6):
        check_list(admin_get("cli_alpha_web"), 1, 20, 5)


# --- secrets and the log

def all_secrets():
    texts = set(BEARERS.values()) | set(OTHER_TOKEN_TEXTS)
    out = set()
    for t in texts:
        out.add(t.encode())
    for h in sql("SELECT HEX(token_hash) FROM oauth_tokens"):
        raw = bytes.fromhex(h)
        out.add(h.upper().encode())
        out.add(h.lower().encode())
        out.add(base64.b64encode(raw).rstrip(b"="))
        out.add(base64.urlsafe_b64encode(raw).rstrip(b"="))
    for t in texts:
        raw = hashlib.sha256(t.encode()).digest()
        out.add(raw.hex().encode())
        out.add(raw.hex().upper().encode())
    return out


def t_no_secrets_in_responses():
    secrets = all_secrets()
    expect(len(RESPONSES) > 100, "only %d responses recorded" % len(RESPONSES))
    for r in RESPONSES:
        for s in secrets:
            expect(s not in r.raw, "secret %r appears in the response to %s"
                   % (shorten(s, 40), r.describe()))


def t_log_line(method, target, auth, status, marker):
    def run():
        start = log_size()
        r = request(method, target, auth=auth)
        expect(r.status == status, "request gave %s" % r.describe())
        lines = []
        for _ in range(40):  # the line may be flushed just after the response
            lines = [l for l in read_log_from(start).split(b"\n") if marker.encode() in l]
            if lines:
                break
            time.sleep(0.05)
        time.sleep(0.1)
        lines = [l for l in read_log_from(start).split(b"\n") if marker.encode() in l]
        expect(len(lines) == 1, "want one log line for %s %s, got %d: %r"
               % (method, marker, len(lines), lines[:3]))
        l = lines[0].decode("utf-8", "replace")
        expect(re.search(r"(?<![A-Za-z])%s(?![A-Za-z])" % method, l),
               "method %s not in log line %r" % (method, l))
        expect(re.search(r"(?<![0-9])%d(?![0-9])" % status, l),
               "status %d not in log line %r" % (status, l))
    return run


def t_log_line_count(offset, first):
    def run():
        reached = sum(1 for r in RESPONSES[first:] if r.header("Content-Type") == CONTENT_TYPE)
        for _ in range(40):
            lines = [l for l in read_log_from(offset).split(b"\n")
                     if b"/admin/" in l]
            if len(lines) >= reached:
                break
            time.sleep(0.05)
        expect(len(lines) == reached, "%d log lines naming /admin/ for %d requests the "
               "program answered" % (len(lines), reached))
    return run


def t_token_text_as_token_id():
    """A token's text pasted where the token id goes (an admin revoking a leaked
    token by its text): 404, and the text reaches neither the answer nor the
    program's log line, which still shows the request (method, client, status)."""
    mark = "cli_logmark_tid_%d" % os.getpid()
    leaked = BEARERS["revokelater"]
    start = log_size()
    for method in ("DELETE", "GET"):
        r = request(method, PATH_FMT.format(mark) + "/" + leaked, auth=BEARERS["admin"])
        check_error(r, 404 if method == "DELETE" else 405)
        expect(leaked.encode() not in r.raw, "the token text is in the answer")
    lines = log_lines_with(mark.encode(), start)
    expect(len(lines) == 2, "want 2 log lines for %s, got %r" % (mark, lines))
    for l in lines:
        expect(leaked.encode() not in l, "the token text is in the log line %r" % l)
        expect(b"/tokens/" in l and (b"status=404" in l or b"status=405" in l),
               "log line %r" % l)


def t_no_secrets_in_log():
    data = read_log_from(LOG_START)
    expect(data.strip() != b"", "the log is empty")
    creds = set(SENT_CREDENTIALS) | {t.encode() for t in BEARERS.values()}
    for c in creds:
        expect(c not in data, "bearer credential %r appears in APP_LOG" % shorten(c, 40))


# ---------------------------------------------------------------- main

def main():
    global LOG_START
    require("BASE_URL", "DB_SOCKET", "DB_NAME")
    LOG_START = log_size()

    test("fixture loads", t_fixture)
    if failed():
        return summary()

    # 200: shape, content, order
    test("200 envelope: exact keys, code, message, timestamp, pagination, total", t_envelope)
    test("200 lists only active tokens (not revoked, not expired), both types", t_active_only)
    test("200 user_id is the public id, omitted for user-less tokens", t_user_id_omitted)
    test("200 newest first (created_at desc)", t_order_newest_first)
    test("200 scope with quote, backslash, UTF-8, </script> round-trips", t_json_escaping)
    test("defaults: page 1, page_size 20", t_defaults)
    test("pages 1, 2, 3 (last partial) of 45", t_page_edges)
    test("page past the end: 200 with empty items and right pagination", t_page_past_end)
    test("page sizes 100, 20, 7, 1, 45, 44, 15: total_pages, has_next/has_prev, "
         "stable order across pages with created_at ties", t_page_sizes)
    test("client with no active token: total 0, total_pages 0", t_empty_client)
    test("page_size maximum accepted, maximum+1 is 400", t_page_size_max)
    test("tenant B admin lists tenant B's client", t_tenant_b_admin)

    # Percent-decoding of client_id and query
    test("client_id 'cli space' as cli%20space", t_pct_client("cli%20space", "cli space"))
    test("client_id 'cli+plus' as cli+plus", t_pct_client("cli+plus", "cli+plus"))
    test("client_id 'cli+plus' as cli%2Bplus", t_pct_client("cli%2Bplus", "cli+plus"))
    test("client_id 'cli+plus' as cli%2bplus", t_pct_client("cli%2bplus", "cli+plus"))
    test("client_id UTF-8 'cli-ünï' percent-encoded", t_pct_client("cli-%C3%BCn%C3%AF", "cli-ünï"))
    big = "\U0001F600" * 255
    test("longest client_id (255 4-byte chars): 1000-char scope, 64-char user_id, "
         "expiry 9999-12-31", t_pct_client(urllib.parse.quote(big), big))
    test("client_id 'cli/slash' as cli%2Fslash", t_pct_client("cli%2Fslash", "cli/slash"))
    test("client_id 'cli/slash' as cli%2fslash", t_pct_client("cli%2fslash", "cli/slash"))
    test("client_id 'cli/slash': its Link header leads to page 2", t_slash_client_link)
    test("client_id with encoded unreserved char (cli_alpha_w%65b)",
         t_pct_client("cli_alpha_w%65b", "cli_alpha_web"))
    test("'+' in the path is not a space (cli+space is 404)", t_plus_is_literal)
    test("percent-encoded digits in page/page_size are accepted", t_pct_query)
    test("unknown query parameters are ignored", t_unknown_params)
    test("a NUL in a parameter name does not make it page", t_nul_in_param_name)

    # 400
    for param in ("page", "page_size"):
        for v in BAD_NUMBERS:
            test("400 %s=%s names %s" % (param, v, param), t_bad_param(param, v))
        test("400 %s without '=' names %s" % (param, param), t_bad_param_novalue(param))
    test("400 page_size=1000 names page_size", t_bad_param("page_size", "1000"))
    for q, p in (("page=1&page=2", "page"), ("page=1&page=1", "page"),
                 ("page_size=20&page_size=20", "page_size"),
                 ("page_size=5&page=1&page_size=6", "page_size"),
                 ("page=1&page=", "page")):
        test("400 repeated parameter %s names %s" % (q, p), t_repeated(q, p))

    # 401
    test("401 no Authorization: WWW-Authenticate without error", t_401_no_header)
    test("401 Basic scheme: WWW-Authenticate without error (RFC 6750 3.1)",
         t_401("basic", "Basic dXNlcjpwYXNz", False))
    test("401 Digest-like scheme", t_401("other", "Token " + BEARERS["admin"], None))
    test("401 'Bearer' alone", t_401("bare", "Bearer", None))
    test("401 'Bearer ' with empty token", t_401("empty", "Bearer ", None))
    test("401 empty Authorization value", t_401("emptyhdr", "", None))
    test("401 two spaces before the token", t_401("2sp", "Bearer  " + BEARERS["admin"], True))
    test("401 non-ASCII token", t_401("nonascii", "Bearer tök\u00e9n-ü".encode("utf-8"), True))
    test("401 5 KB token", t_401("5k", "Bearer " + "Z" * 5120, True))
    test("401 10 KB token", t_401_oversized)
    test("401 unknown token", t_401("unknown", "Bearer h2-no-such-token-9999", True))
    test("401 token in another case", t_401("case", "Bearer " + BEARERS["admin"].upper(), True))
    test("401 token prefix", t_401("prefix", "Bearer " + BEARERS["admin"][:-1], True))
    test("401 expired access token", t_401("expired", "Bearer " + BEARERS["expired"], True))
    test("401 revoked access token", t_401("revoked", "Bearer " + BEARERS["revoked"], True))
    test("401 token revoked_at in the future counts as revoked",
         t_401("revfut", "Bearer " + BEARERS["revokedfuture"], True))
    test("401 refresh token used as bearer",
         t_401("refresh", "Bearer " + BEARERS["refresh"], True))
    for scheme in ("bearer", "BEARER", "BeArEr"):
        test("200 scheme %r is case-insensitive" % scheme, t_scheme_case(scheme))
    test("200 token with b64token characters . ~ _ + / =", t_b64_token)

    # 403
    test("403 non-admin user's live access token", t_403("user", "cli_alpha_web"))
    test("403 client-credentials token (no user)", t_403("cc", "cli_alpha_web"))
    test("403 tenant B non-admin on tenant B's client", t_403("beta_user", "cli_beta_app"))

    # Order of checks 401 > 403 > 400 > 404
    U = "cli_no_such_client"
    test("order: no auth + bad page + unknown client -> 401", t_order("", 401, None, U, "page=0"))
    test("order: expired + bad page_size -> 401",
         t_order("", 401, "expired", "cli_alpha_web", "page_size=abc"))
    test("order: non-admin + bad page -> 403", t_order("", 403, "user", "cli_alpha_web", "page=0"))
    test("order: non-admin + unknown client -> 403", t_order("", 403, "user", U, ""))
    test("order: non-admin + bad page_size + unknown client -> 403",
         t_order("", 403, "user", U, "page_size=101"))
    test("order: client-credentials + bad page -> 403",
         t_order("", 403, "cc", "cli_alpha_web", "page=-1"))
    test("order: admin + bad page + unknown client -> 400",
         t_order("", 400, "admin", U, "page=0", "page"))
    test("order: admin + bad page_size + other tenant's client -> 400",
         t_order("", 400, "admin", "cli_beta_app", "page_size=101", "page_size"))
    test("order: admin + unknown client -> 404", t_order("", 404, "admin", U, ""))
    for enc in ("%zz", "%25", "c" * 300, "%E2%98%83", "%00", "%ff"):
        test("order: malformed client_id %r without auth -> 401" % shorten(enc, 12),
             t_order_hostile(enc, None, 401))
        test("order: malformed client_id %r as non-admin -> 403" % shorten(enc, 12),
             t_order_hostile(enc, "user", 403))

    # 404
    test("404 other tenant's client == unknown client (body but timestamp, headers but Date)",
         t_404_identical("admin", "cli_beta_app", "cli_beta_ap0"))
    test("404 same the other way round (tenant B admin, tenant A client)",
         t_404_identical("beta_admin", "cli_alpha_web", "cli_alpha_we0"))
    for p in ("/admin/oauth/clients/cli_alpha_web/tokenz", "/admin/oauth/clients/cli_alpha_web",
              "/admin/oauth/clients", "/admin/oauth/clients/cli_alpha_web/tokens/a/b",
              "/admin/oauth/clients/cli_alpha_web/TOKENS", "/admin/oauth", "/admin/x"):
        test("404 JSON for unknown path %s" % p, t_unknown_path(p))

    # 405 and HEAD
    # (cli_alpha_empty: nothing to lose if a method ever starts to mean "revoke")
    for m in ("POST", "PUT", "PATCH", "OPTIONS"):
        test("405 %s on the list with Allow: GET, HEAD, DELETE" % m,
             t_405(m, PATH_FMT.format("cli_alpha_empty"), "GET, HEAD, DELETE"))
    for m in ("GET", "POST", "PUT", "PATCH"):
        test("405 %s on one token with Allow: DELETE" % m,
             t_405(m, PATH_FMT.format("cli_alpha_empty") + "/tok_" + "0" * 32, "DELETE"))
    test("HEAD 200: same status and headers as GET, no body",
         t_head("cli_alpha_page", "page=2", BEARERS["admin"], 200))
    test("HEAD 401", t_head("cli_alpha_web", "", None, 401))
    test("HEAD 400", t_head("cli_alpha_web", "page=0", BEARERS["admin"], 400))
    test("HEAD 403", t_head("cli_alpha_web", "", BEARERS["user"], 403))
    test("HEAD 404", t_head("cli_no_such_client", "", BEARERS["admin"], 404))
    test("keep-alive: three requests on one connection", t_keepalive)

    # Hostile input: no 5xx, nothing changed
    before = table_checksums()
    log_before, responses_before = (log_size() if APP_LOG else 0), len(RESPONSES)
    for name, method, target, auth, allowed in hostile_cases():
        test("hostile: %s" % name, t_hostile(method, target, auth, allowed))
    for name, raw, allowed in hostile_auth_cases():
        test("hostile: %s" % name,
             t_hostile("GET", PATH_FMT.format("cli_alpha_web"), None, allowed, raw))
    if APP_LOG:
        test("log: one line per hostile request that reached the program (no line "
             "injection)", t_log_line_count(log_before, responses_before))
    test("hostile requests changed no data; the program still answers", t_data_unchanged(before))

    # No caching
    test("list follows the store at once: revoke, expire, insert", t_list_follows_store)
    test("a token expiring between two requests leaves the list", t_expiry_between_requests)
    test("paging follows the store at once (5 revoked: total 40)", t_paging_follows_store)
    test("bearer revoked while workers are warm: 401 on the next requests",
         t_bearer_revoked_while_warm)
    test("bearer expired while workers are warm: 401 on the next requests",
         t_bearer_expired_while_warm)
    test("admin demoted: 403 on the next requests", t_admin_demoted)
    test("client replaced, moved or deleted: the next lists follow", t_client_replaced_while_warm)
    test("client renamed, its name taken by another: the next lists follow",
         t_client_renamed_while_warm)
    test("total and items from one snapshot while tokens are revoked concurrently",
         t_snapshot_consistent)
    if MARIADB_CTL and MARIADB_DIR:
        test("database down: 503 JSON with Retry-After; back up: 200 again", t_database_outage)
    else:
        note("MARIADB_CTL/MARIADB_DIR not set: outage test skipped")

    # Log
    if APP_LOG:
        mark = "cli_logmark_%d" % os.getpid()
        test("log: one line for a 200 with method, path, status", t_log_line(
            "GET", PATH_FMT.format("cli_alpha_empty"), BEARERS["admin"], 200,
            "/clients/cli_alpha_empty/tokens"))
        test("log: one line for a 404", t_log_line(
            "GET", PATH_FMT.format(mark + "a"), BEARERS["admin"], 404, mark + "a"))
        test("log: one line for a 401", t_log_line(
            "GET", PATH_FMT.format(mark + "b"), None, 401, mark + "b"))
        test("log: one line for a 400", t_log_line(
            "GET", PATH_FMT.format(mark + "c") + "?page=0", BEARERS["admin"], 400, mark + "c"))
        test("log: one line for a 405", t_log_line(
            "PUT", PATH_FMT.format(mark + "d"), BEARERS["admin"], 405, mark + "d"))
        test("log: a token text sent as the token id is not logged (DELETE 404, GET 405)",
             t_token_text_as_token_id)
        test("log: no bearer token of any request appears", t_no_secrets_in_log)
    else:
        note("APP_LOG not set: log checks skipped")

    test("no token text or hash in any response", t_no_secrets_in_responses)

    return summary()


if __name__ == "__main__":
    sys.exit(main())
