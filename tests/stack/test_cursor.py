#!/usr/bin/env python3
# frontends: lighttpd apache
"""test_cursor.py: cursor paging beside page numbers (issue 10).

Every list response with a next page carries next_cursor and a Link rel="next";
a request with that cursor returns the next page_size tokens in list order,
with the exact total.  Checked here against the rows in SQL: walks by cursor
over a client's whole list (ties in created_at included), with filters, at
every page size from 1; Link and next_cursor lead to the same page; a walk sees
every token that stays active for the whole walk exactly once while other
tokens are issued and revoked between its pages; cursors are bound to the
client and the filters (tampered, foreign, other filters: 400), and cursor with
page is 400; HEAD carries the Link; the last page has neither.  Numbered pages
deep in a longer list (read from its nearer end past the middle) match the rows
and lead on by cursor.
"""

import os
import secrets
import sys
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stacklib import *  # noqa: E402,F401,F403

RUN = secrets.token_hex(4)
TENANT, ADMIN, OTHER_USER = "ten_cur_" + RUN, "usr_cur_admin_" + RUN, "usr_cur_u2_" + RUN
CLIENT, CLIENT2, DEEP = "cli_cur_" + RUN, "cli_cur2_" + RUN, "cli_cur_deep_" + RUN
DEEP_ROWS = 26000         # rows of DEEP: every 9th expired, every 13th other one revoked
DEEP_ACTIVE = 21013       # 211 pages of 100, the last one of 13
BEARER = "cur-" + secrets.token_hex(16)
PATH = "/admin/oauth/clients/%s/tokens"


def fixture():
    """CLIENT: 57 active tokens over 20 distinct created_at seconds (ties), of two
    users and both types, plus expired and revoked ones; CLIENT2: 5 tokens."""
    rows = []
    for i in range(57):
        rows.append("(UNHEX(SHA2('%s-%d', 256)), '%s', @c, %s, 'scope%d',"
                    " UTC_TIMESTAMP() - INTERVAL %d SECOND, UTC_TIMESTAMP() + INTERVAL 2 HOUR, NULL)"
                    % (RUN, i, "access_token" if i % 3 else "refresh_token",
                       "@u" if i % 2 else "@u2", i, 1000 + (i % 20) * 7))
    for i in range(6):   # neither listed nor counted
        rows.append("(UNHEX(SHA2('%s-dead-%d', 256)), 'access_token', @c, @u, '',"
                    " UTC_TIMESTAMP() - INTERVAL 2000 SECOND, UTC_TIMESTAMP() - INTERVAL %d SECOND, %s)"
                    % (RUN, i, 10 + i, "UTC_TIMESTAMP()" if i % 2 else "NULL"))
    sql("INSERT INTO tenants (public_id, name) VALUES (%(t)s, 'cursor');"
        "SET @t = LAST_INSERT_ID();"
        "INSERT INTO users (public_id, tenant_id, is_admin) VALUES (%(a)s, @t, TRUE);"
        "SET @u = LAST_INSERT_ID();"
        "INSERT INTO users (public_id, tenant_id, is_admin) VALUES (%(u2)s, @t, FALSE);"
        "SET @u2 = LAST_INSERT_ID();"
        "INSERT INTO oauth_clients (client_id, tenant_id) VALUES (%(c2)s, @t);"
        "SET @c2 = LAST_INSERT_ID();"
        "INSERT INTO oauth_clients (client_id, tenant_id) VALUES (%(c)s, @t);"
        "SET @c = LAST_INSERT_ID();"
        "INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id,"
        " expires_at) VALUES (UNHEX(SHA2(%(b)s, 256)), 'access_token', @c2, @u,"
        " UTC_TIMESTAMP() + INTERVAL 2 HOUR);"
        "INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id, scope,"
        " created_at, expires_at, revoked_at) VALUES %(rows)s;"
        "INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id,"
        " expires_at) SELECT UNHEX(SHA2(CONCAT(%(r)s, seq), 256)), 'access_token', @c2, @u,"
        " UTC_TIMESTAMP() + INTERVAL 1 HOUR FROM seq_1_to_4;"
        % {"t": q(TENANT), "a": q(ADMIN), "u2": q(OTHER_USER), "c": q(CLIENT),
           "c2": q(CLIENT2), "b": q(BEARER), "r": q(RUN + "-c2-"), "rows": ", ".join(rows)})
    # DEEP: DEEP_ACTIVE active tokens, three to a created_at second (ties), with
    # expired and revoked ones among them (every 9th and every 13th of DEEP_ROWS).
    sql("SET @t = (SELECT id FROM tenants WHERE public_id = %(t)s);"
        "SET @u = (SELECT id FROM users WHERE public_id = %(a)s);"
        "INSERT INTO oauth_clients (client_id, tenant_id) VALUES (%(d)s, @t);"
        "SET @d = LAST_INSERT_ID();"
        "INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id,"
        " created_at, expires_at, revoked_at)"
        " SELECT UNHEX(SHA2(CONCAT(%(r)s, seq), 256)),"
        "  IF(seq %% 4, 'refresh_token', 'access_token'), @d, IF(seq %% 5, @u, NULL),"
        "  UTC_TIMESTAMP() - INTERVAL 100000 SECOND + INTERVAL seq DIV 3 SECOND,"
        "  IF(seq %% 9 = 0, UTC_TIMESTAMP() - INTERVAL 1 SECOND, UTC_TIMESTAMP() + INTERVAL 3 HOUR),"
        "  IF(seq %% 13 = 0 AND seq %% 9 <> 0, UTC_TIMESTAMP(), NULL)"
        "  FROM seq_1_to_%(n)d;"
        "DELETE FROM oauth_tokens WHERE oauth_client_id = @d AND revoked_at IS NULL"
        " AND expires_at > UTC_TIMESTAMP() ORDER BY id DESC LIMIT %(extra)d;"
        % {"t": q(TENANT), "a": q(ADMIN), "d": q(DEEP), "r": q(RUN + "-deep-"),
           "n": DEEP_ROWS, "extra": DEEP_ROWS - DEEP_ROWS // 9
           - (DEEP_ROWS // 13 - DEEP_ROWS // 117) - DEEP_ACTIVE})


def expected(client, where=""):
    """The client's active tokens' ids in list order, from the rows."""
    return ["tok_" + h.lower() for h in sql(
        "SELECT HEX(k.public_id) FROM oauth_tokens k JOIN oauth_clients c"
        " ON c.id = k.oauth_client_id LEFT JOIN users u ON u.id = k.user_id"
        " WHERE c.client_id = %s AND k.revoked_at IS NULL AND k.expires_at > UTC_TIMESTAMP() %s"
        " ORDER BY k.created_at DESC, k.id DESC" % (q(client), where))]


def get(client, **query):
    return request("GET", PATH % client + "?" + urllib.parse.urlencode(query), auth=BEARER)


def check_cursor_page(r, total, n, has_next):
    """A 200 page found by a cursor: exact total, no page number, n items."""
    check_common(r, 200)
    j = r.json
    expect(set(j) == ENVELOPE_KEYS, "envelope keys %s" % sorted(j))
    p = j["pagination"]
    expect(set(p) == PAGINATION_KEYS - {"page"}, "cursor page's pagination keys %s" % sorted(p))
    expect(j["total"] == total and p["total"] == total, "total %r, want %d" % (j["total"], total))
    expect(p["has_prev"] is True and p["has_next"] is has_next,
           "has_prev %r has_next %r, want true %r" % (p["has_prev"], p["has_next"], has_next))
    expect(len(j["items"]) == n, "%d items, want %d" % (len(j["items"]), n))
    for it in j["items"]:
        check_item(it)
    check_next_cursor(r, has_next)
    return [it["id"] for it in j["items"]]


def walk(client, size, **filters):
    """Follow next_cursor from page 1 to the end; the ids in order, and the pages."""
    r = get(client, page_size=size, **filters)
    check_common(r, 200)
    ids = [it["id"] for it in r.json["items"]]
    total = r.json["total"]
    check_next_cursor(r, len(ids) < total)
    pages = 1
    while r.json["next_cursor"] is not None:
        expect(pages <= total, "the walk does not end")
        left = total - len(ids)
        r = get(client, cursor=r.json["next_cursor"], page_size=size, **filters)
        ids += check_cursor_page(r, total, min(size, left), left > size)
        pages += 1
    return ids, pages


def t_walk_whole_list():
    want = expected(CLIENT)
    expect(len(want) == 57, "fixture: %d active tokens, want 57" % len(want))
    for size in (1, 7, 20, 56, 57, 100):
        got, pages = walk(CLIENT, size)
        expect(got == want, "page_size %d: the walk's ids differ from the list order (%d vs %d)"
               % (size, len(got), len(want)))
        expect(pages == max(1, -(-len(want) // size)), "page_size %d: %d pages" % (size, pages))


def t_matches_page_numbers():
    """Cursor pages are the numbered pages, token for token."""
    r = get(CLIENT, page_size=10)
    check_list(r, 1, 10, 57)
    for page in range(2, 7):
        numbered = check_list(get(CLIENT, page=page, page_size=10), page, 10, 57)
        r = get(CLIENT, cursor=r.json["next_cursor"], page_size=10)
        by_cursor = check_cursor_page(r, 57, len(numbered), page < 6)
        expect(by_cursor == [it["id"] for it in numbered], "page %d differs by cursor" % page)


def t_link_is_next():
    """Following the Link header gives the same page as next_cursor."""
    r = get(CLIENT, page_size=5, token_type="access_token")
    link = LINK_NEXT_RE.match(r.header("Link") or "")
    expect(link, "no Link rel=next: %r" % r.header("Link"))
    target = link.group(1)
    expect(target.startswith(PATH % CLIENT + "?"), "Link target %r is not this list" % target)
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(target).query)
    expect(q.get("page_size") == ["5"] and q.get("token_type") == ["access_token"],
           "Link keeps page_size and filters: %r" % q)
    expect("page" not in q, "Link carries page: %r" % q)
    via_link = request("GET", target, auth=BEARER)
    via_body = get(CLIENT, cursor=r.json["next_cursor"], page_size=5, token_type="access_token")
    check_common(via_link, 200)
    expect(via_link.json["items"] == via_body.json["items"], "Link and next_cursor differ")
    head = request("HEAD", target, auth=BEARER)
    expect(head.status == 200 and head.body == b"", "HEAD: %d, %d body bytes"
           % (head.status, len(head.body)))
    expect(head.header("Link") == via_link.header("Link"), "HEAD's Link %r, GET's %r"
           % (head.header("Link"), via_link.header("Link")))


def t_filters():
    for filters, where in (({"token_type": "refresh_token"}, "AND k.token_type = 'refresh_token'"),
                           ({"user_id": OTHER_USER}, "AND u.public_id = %s" % q(OTHER_USER)),
                           ({"user_id": ADMIN, "token_type": "access_token"},
                            "AND u.public_id = %s AND k.token_type = 'access_token'" % q(ADMIN))):
        want = expected(CLIENT, where)
        got, _ = walk(CLIENT, 4, **filters)
        expect(got == want, "filters %r: walk %d ids, rows %d" % (filters, len(got), len(want)))


def t_last_page():
    r = get(CLIENT2, page_size=10)
    check_list(r, 1, 10, 5)
    r = get(CLIENT, page=6, page_size=10)
    check_list(r, 6, 10, 57)
    r = get(CLIENT, page=99, page_size=10)
    check_list(r, 99, 10, 57)


def refused(r, what):
    check_error(r, 400, mentions="cursor")
    expect("cursor" in r.json.get("message", ""), "%s: message %r does not name cursor"
           % (what, r.json.get("message")))


def t_refusals():
    r = get(CLIENT, page_size=3)
    cur = r.json["next_cursor"]
    before = sql1("SELECT COUNT(*) FROM audit_events")
    for i in (0, 10, 21, 43):
        alt = "A" if cur[i] != "A" else "B"
        refused(get(CLIENT, cursor=cur[:i] + alt + cur[i + 1:], page_size=3),
                "one character changed at %d" % i)
    refused(get(CLIENT2, cursor=cur, page_size=3), "another client's cursor")
    refused(get(CLIENT, cursor=cur, page_size=3, token_type="access_token"),
            "a cursor with other filters")
    refused(get(CLIENT, cursor=cur, page_size=3, user_id=ADMIN), "a cursor with a user filter")
    refused(get(CLIENT, cursor=cur, page=2), "cursor and page")
    refused(get(CLIENT, cursor=cur[:-1]), "a cut cursor")
    refused(get(CLIENT, cursor="x" * 44), "a made-up cursor")
    refused(request("GET", PATH % CLIENT + "?cursor=" + cur + "&cursor=" + cur, auth=BEARER),
            "cursor twice")
    expect(sql1("SELECT COUNT(*) FROM audit_events") == before, "a refused cursor was audited")
    r = get(CLIENT, cursor=cur, page_size=3)
    check_cursor_page(r, 57, 3, True)


def t_walk_while_writing():
    """Tokens active for the whole walk are seen exactly once, while others are
    issued (newer and older than the walk's position) and revoked between pages."""
    stable = set(expected(CLIENT))
    doomed = sorted(stable)[::5]   # revoked during the walk: not "active for the whole walk"
    stable -= set(doomed)
    r = get(CLIENT, page_size=6)
    seen = [it["id"] for it in r.json["items"]]
    step = 0
    while r.json["next_cursor"] is not None:
        step += 1
        sql("SET @c = (SELECT id FROM oauth_clients WHERE client_id = %(c)s);"
            "INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, created_at,"
            " expires_at) VALUES (UNHEX(SHA2(%(n)s, 256)), 'access_token', @c,"
            " UTC_TIMESTAMP(), UTC_TIMESTAMP() + INTERVAL 1 HOUR),"
            " (UNHEX(SHA2(%(o)s, 256)), 'access_token', @c,"
            " UTC_TIMESTAMP() - INTERVAL %(age)d SECOND, UTC_TIMESTAMP() + INTERVAL 1 HOUR);"
            % {"c": q(CLIENT), "n": q("%s-new-%d" % (RUN, step)),
               "o": q("%s-old-%d" % (RUN, step)), "age": 1000 + 7 * (step % 20)})
        if doomed:
            victim = doomed.pop()
            rv = request("DELETE", PATH % CLIENT + "/" + victim, auth=BEARER)
            expect(rv.status == 200, "revoking %s: %d" % (victim, rv.status))
        total = int(sql1("SELECT COUNT(*) FROM oauth_tokens k JOIN oauth_clients c"
                         " ON c.id = k.oauth_client_id WHERE c.client_id = %s"
                         " AND k.revoked_at IS NULL AND k.expires_at > UTC_TIMESTAMP()"
                         % q(CLIENT)))
        r = get(CLIENT, cursor=r.json["next_cursor"], page_size=6)
        check_common(r, 200)
        expect(r.json["total"] == total, "total %r during the walk, rows say %d"
               % (r.json["total"], total))
        seen += [it["id"] for it in r.json["items"]]
    expect(step > 3, "the walk had only %d steps" % step)
    twice = sorted({i for i in seen if seen.count(i) > 1})
    expect(not twice, "seen twice: %s" % twice[:5])
    missing = stable - set(seen)
    expect(not missing, "%d tokens active for the whole walk were not seen: %s"
           % (len(missing), sorted(missing)[:5]))


def check_pages(want, size, pages, **filters):
    """Each numbered page is the rows' slice, with the exact total."""
    for page in pages:
        items = check_list(get(DEEP, page=page, page_size=size, **filters), page, size,
                           len(want))
        got = [it["id"] for it in items]
        expect(got == want[(page - 1) * size:page * size],
               "page %d of size %d %s differs from the rows" % (page, size, filters))
        if filters.get("token_type"):
            expect({it["token_type"] for it in items} <= {filters["token_type"]},
                   "page %d %s holds another type" % (page, filters))


def t_deep_pages():
    """Pages by number of a list of 21,013 around the offsets where the reading
    changes: below 10,000 one statement; from 10,000 counted first in one
    snapshot, then walked from the newest end up to the middle (offset 10,506)
    and from the oldest end past it; the last page, past it, and a cursor
    from a page read from the oldest end."""
    want = expected(DEEP)
    expect(len(want) == DEEP_ACTIVE, "fixture: %d active tokens, want %d"
           % (len(want), DEEP_ACTIVE))
    check_pages(want, 100, (1, 2, 99, 100, 101, 102, 105, 106, 107, 108, 150, 209, 210, 211,
                            212, 400))
    check_pages(want, 7, (1428, 1429, 1430, 1431, 1500, 1501, 1502, 1503, 2000, 3001, 3002,
                          3003))
    r = get(DEEP, page=2000, page_size=7)
    r = get(DEEP, cursor=r.json["next_cursor"], page_size=7)
    expect(check_cursor_page(r, len(want), 7, True) == want[14000:14007],
           "the cursor of page 2000 does not lead to page 2001")


def t_deep_pages_filtered():
    """The same with token_type=refresh_token (3 in 4 of the list): pages from
    offset 10,000 are past its middle, read from the oldest end; they hold
    only that type and are the filtered rows' slice, with the filtered total."""
    want = expected(DEEP, "AND k.token_type = 'refresh_token'")
    size = 100
    last = (len(want) + size - 1) // size
    expect(len(want) > 15000, "fixture: %d refresh tokens, want more than 15,000"
           % len(want))
    check_pages(want, size, (99, 100, 101, 102, 130, last - 1, last, last + 1),
                token_type="refresh_token")


def main():
    require("BASE_URL", "DB_SOCKET", "DB_NAME")
    fixture()
    test("a walk by cursor returns the whole list in order, at page sizes 1 to 100", t_walk_whole_list)
    test("cursor pages equal the numbered pages, with the exact total", t_matches_page_numbers)
    test("Link rel=next leads where next_cursor does; HEAD carries it", t_link_is_next)
    test("walks with user and type filters match the rows", t_filters)
    test("the last page (and past it) has neither next_cursor nor Link", t_last_page)
    test("tampered, foreign, other-filter cursors and cursor+page are 400; nothing audited",
         t_refusals)
    test("a walk while tokens are issued and revoked sees each stable token once", t_walk_while_writing)
    test("deep numbered pages, read from either end of a longer list, match the rows",
         t_deep_pages)
    test("deep numbered pages of one token type match the filtered rows",
         t_deep_pages_filtered)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
