#!/usr/bin/env python3
# frontends: lighttpd
"""test_cli_objects.py: autionalctl's list, show, update and delete commands and its completion.

Runs the built autionalctl against the private MariaDB: tenant, user and client
list/show/update/delete and token list/show, in both output forms, with the
audit rows they write and, for every destructive command, the database
afterwards (the refused cases too: --force missing, unknown option, unknown id).
token list is compared with the API behind the web server for a client with
enough tokens to page (items, order, total, page and cursor walks, cursors
crossing between the two).  The bash completion file is sourced in bash and
asked for completions.  Rows of earlier runs (ids *_obj_*) are removed first.

Environment: as test_cli.py (BASE_URL, DB_SOCKET, DB_NAME, APP_CONFIG,
CTL_CONFIG, BUILDDIR or AUTIONALCTL, SRCDIR).  Prints `ok - <name>` or
`not ok - <name>: <why>` per check, then `N passed, N failed`.
"""

import json
import os
import pwd
import re
import subprocess
import sys

sys.dont_write_bytecode = True
from stacklib import *  # noqa: E402,F401,F403
import test_cli  # noqa: E402  (its helpers: running autionalctl, issuing tokens)
from test_cli import ctl, ok, ok_json, usage_error, failure, issue, counts  # noqa: E402

LIST_TEMPLATE = "/admin/oauth/clients/{client_id}/tokens"
ACTOR = "cli:" + pwd.getpwuid(os.getuid()).pw_name
TA, TB, TC = "ten_obj_a", "ten_obj_b", "ten_obj_c"
UA_ADMIN, UA_MEMBER, UB = "usr_obj_a_admin", "usr_obj_a_member", "usr_obj_b"
C_HOME, C_PAGED, C_GONE, C_B = "cli_obj_a_home", "cli_obj_a_paged", "cli_obj_a_gone", "cli_obj_b"
SHARED = {}
PAGED_TOKENS = 23     # enough for 5 pages of 5


# ---------------------------------------------------------------- helpers

def cleanup():
    sql("DELETE k FROM oauth_tokens k JOIN oauth_clients c ON c.id = k.oauth_client_id"
        " WHERE c.client_id LIKE 'cli\\_obj\\_%';"
        "DELETE k FROM oauth_tokens k JOIN users u ON u.id = k.user_id"
        " WHERE u.public_id LIKE 'usr\\_obj\\_%';"
        "DELETE FROM users WHERE public_id LIKE 'usr\\_obj\\_%';"
        "DELETE FROM oauth_clients WHERE client_id LIKE 'cli\\_obj\\_%';"
        "DELETE FROM tenants WHERE public_id LIKE 'ten\\_obj\\_%';"
        "DELETE FROM audit_events WHERE tenant_id LIKE 'ten\\_obj\\_%';")


def audit_rows(since_id, tenant=None):
    """The rows autionalctl (this user) wrote after since_id, oldest first, as dicts
    (the API's queued read audits may land at any time: they are left out)."""
    where = "id > %d AND actor = %s" % (since_id, q(ACTOR))
    if tenant:
        where += " AND tenant_id = %s" % q(tenant)
    rows = sql("SELECT JSON_OBJECT('tenant_id', tenant_id, 'actor', actor, 'action', action,"
               " 'client_id', client_id, 'filters', filters, 'affected', affected,"
               " 'dry_run', dry_run, 'status', status) FROM audit_events WHERE %s"
               " ORDER BY id" % where)
    return [json.loads(r) for r in rows]


def last_audit_id():
    return int(sql1("SELECT COALESCE(MAX(id), 0) FROM audit_events"))


def audit(action, tenant, client, filters, affected):
    return {"tenant_id": tenant, "actor": ACTOR, "action": action, "client_id": client,
            "filters": json.dumps(filters, separators=(",", ":"), ensure_ascii=False),
            "affected": affected, "dry_run": 0, "status": 0}


def unchanged(run, *args):
    """Run autionalctl; the database's row counts and audit trail must not move."""
    before = counts()
    r = run(*args)
    expect(counts() == before, "rows changed: %s -> %s after %s" % (before, counts(),
                                                                  " ".join(args)))
    return r


def table(out):
    """Text output of a list: (header cells, rows of cells, footer), checking
    that every column starts where its header does."""
    lines = out.rstrip("\n").split("\n")
    header, rows, footer = lines[0], lines[1:-1], lines[-1]
    starts = [m.start() for m in re.finditer(r"(?:^|(?<=  ))\S", header)]
    cells = []
    for line in rows:
        for s in starts[1:]:
            expect(len(line) > s and line[s - 1] == " " and line[s] != " ",
                   "column at %d not aligned in %r (header %r)" % (s, line, header))
        cells.append([line[a:b].strip() for a, b in zip(starts, starts[1:] + [None])])
    names = [header[a:b].strip() for a, b in zip(starts, starts[1:] + [None])]
    return names, cells, footer


def db_active(client, user=None, ttype=None):
    return test_cli.active_count(client, user, ttype)


def api_list(token, client, query):
    r = request("GET", PATH_FMT.format(client) + query, auth=token)
    expect(r.status == 200, "API: %s" % r.describe())
    return r.json


# ---------------------------------------------------------------- set-up

def t_setup():
    cleanup()
    ok(ctl("tenant", "create", "--id", TA, "--name", "Objekt Ünï A"))
    ok(ctl("tenant", "create", "--id", TB, "--name", "Object B"))
    ok(ctl("user", "create", "--tenant", TA, "--id", UA_ADMIN, "--admin"))
    ok(ctl("user", "create", "--tenant", TA, "--id", UA_MEMBER))
    ok(ctl("user", "create", "--tenant", TB, "--id", UB))
    for c, t in ((C_HOME, TA), (C_PAGED, TA), (C_GONE, TA), (C_B, TB)):
        ok(ctl("client", "create", "--tenant", t, "--id", c, "--name", "name of " + c))
    SHARED["admin"] = issue(C_HOME, user=UA_ADMIN)["token"]
    for i in range(PAGED_TOKENS):
        issue(C_PAGED, ttype=("access_token", "refresh_token")[i % 2],
              user=(UA_ADMIN, UA_MEMBER, None)[i % 3])


# ---------------------------------------------------------------- list and show

def t_tenant_list():
    j = ok_json("tenant", "list", "--match", "ten_obj_")
    expect(set(j) == {"items", "pagination", "total"}, "keys %s" % sorted(j))
    expect(j["total"] == 2 and [i["id"] for i in j["items"]] == [TA, TB], "list %r" % j)
    a = j["items"][0]
    expect(a == {"id": TA, "name": "Objekt Ünï A", "users": 2, "clients": 3,
                 "created_at": a["created_at"]} and TS_RE.match(a["created_at"]), "item %r" % a)
    expect(j["pagination"] == {"page": 1, "page_size": 20, "total": 2, "total_pages": 1,
                               "has_next": False, "has_prev": False}, "%r" % j["pagination"])
    # by name (UTF-8), and case-sensitive
    j = ok_json("tenant", "list", "--match", "Ünï")
    expect([i["id"] for i in j["items"]] == [TA], "match on name %r" % j)
    expect(ok_json("tenant", "list", "--match", "ÜNÏ")["total"] == 0, "match ignores case")
    # paging
    j = ok_json("tenant", "list", "--match", "ten_obj_", "--page", "2", "--page-size", "1")
    expect([i["id"] for i in j["items"]] == [TB] and j["total"] == 2 and
           j["pagination"]["has_prev"] and not j["pagination"]["has_next"] and
           j["pagination"]["total_pages"] == 2, "page 2 of 1-item pages: %r" % j)
    # for people: aligned columns, UTC dates, a footer with the total
    names, rows, footer = table(ok(ctl("tenant", "list", "--match", "ten_obj_")))
    expect(names == ["ID", "NAME", "USERS", "CLIENTS", "CREATED (UTC)"], "header %r" % names)
    expect(rows[0][:4] == [TA, "Objekt Ünï A", "2", "3"] and TS_RE.match(rows[0][4]),
           "row %r" % rows[0])
    expect(footer == "page 1 of 1, 2 tenants in all", "footer %r" % footer)
    total = int(sql1("SELECT COUNT(*) FROM tenants"))
    expect(ok_json("tenant", "list", "--page-size", "1")["total"] == total, "unfiltered total")


def t_user_client_list():
    j = ok_json("user", "list", "--tenant", TA)
    expect([i["id"] for i in j["items"]] == [UA_ADMIN, UA_MEMBER] and j["total"] == 2, "%r" % j)
    expect(j["items"][0] == {"id": UA_ADMIN, "tenant_id": TA, "is_admin": True,
                             "created_at": j["items"][0]["created_at"]}, "%r" % j["items"][0])
    j = ok_json("user", "list", "--tenant", TA, "--no-admin")
    expect([i["id"] for i in j["items"]] == [UA_MEMBER], "--no-admin %r" % j)
    j = ok_json("user", "list", "--match", "usr_obj_", "--admin")
    expect([i["id"] for i in j["items"]] == [UA_ADMIN], "--admin %r" % j)
    names, rows, footer = table(ok(ctl("user", "list", "--match", "usr_obj_")))
    expect(names == ["ID", "TENANT", "ADMIN", "CREATED (UTC)"], "header %r" % names)
    expect([r[:3] for r in rows] == [[UA_ADMIN, TA, "yes"], [UA_MEMBER, TA, "no"],
                                     [UB, TB, "no"]], "rows %r" % rows)
    expect(footer == "page 1 of 1, 3 users in all", "footer %r" % footer)
    j = ok_json("client", "list", "--tenant", TA, "--page-size", "2")
    expect([i["client_id"] for i in j["items"]] == [C_GONE, C_HOME] and j["total"] == 3 and
           j["pagination"]["has_next"], "client list %r" % j)
    expect(j["items"][0]["name"] == "name of " + C_GONE and j["items"][0]["tenant_id"] == TA,
           "item %r" % j["items"][0])
    names, rows, footer = table(ok(ctl("client", "list", "--tenant", TB)))
    expect(names == ["CLIENT_ID", "TENANT", "NAME", "CREATED (UTC)"] and
           rows[0][:3] == [C_B, TB, "name of " + C_B] and footer.endswith("1 client in all"),
           "client list text %r %r %r" % (names, rows, footer))
    ok(ctl("tenant", "create", "--id", "ten_objx_empty", "--name", "no clients"))
    try:
        expect(ok(ctl("client", "list", "--tenant", "ten_objx_empty")).endswith("no clients\n"),
               "empty list footer")
    finally:
        ok(ctl("tenant", "delete", "--id", "ten_objx_empty"))


def t_list_bad_input():
    for args, mention in ((["tenant", "list", "--page", "0"], "--page"),
                          (["tenant", "list", "--page-size", str(PAGE_SIZE_MAX + 1)],
                           "--page-size"),
                          (["user", "list", "--tenant", "bad\nid"], "--tenant"),
                          (["tenant", "list", "--tenant", TA], "--tenant"),
                          (["client", "list", "--admin"], "--admin"),
                          (["user", "list", "--admin", "--no-admin"], "--no-admin"),
                          (["user", "list", "extra"], "extra"),
                          (["tenant", "show"], "--id"),
                          (["client", "show", "--id", "a\tb"], "--id"),
                          (["client", "show", "--id", "c" * 256], "--id")):
        usage_error(ctl(*args), mention)
    # Lookups take any id the schema may hold: one that names nothing is exit 1.
    failure(ctl("client", "show", "--id", "a'b"), "no client")
    failure(ctl("user", "list", "--tenant", "ten_obj_missing"), "no tenant")
    # Past the last page: an empty table that says so.
    out = ok(ctl("tenant", "list", "--match", "ten_obj_", "--page", "9"))
    expect(out.rstrip("\n").split("\n")[-1] == "page 9 is past the last page (1), 2 tenants"
           " in all", "footer %r" % out)


def t_show():
    j = ok_json("tenant", "show", "--id", TA)
    expect(j["id"] == TA and j["users"] == 2 and j["clients"] == 3, "tenant %r" % j)
    j = ok_json("user", "show", "--id", UA_MEMBER)
    expect(j["id"] == UA_MEMBER and j["tenant_id"] == TA and j["is_admin"] is False, "%r" % j)
    j = ok_json("client", "show", "--id", C_PAGED)
    expect(j["client_id"] == C_PAGED and j["tenant_id"] == TA and
           j["active_tokens"] == db_active(C_PAGED) == PAGED_TOKENS, "client %r" % j)
    out = ok(ctl("client", "show", "--id", C_PAGED))
    fields = dict(re.split(r"\s{2,}", l, 1) for l in out.strip().split("\n"))
    expect(fields.get("CLIENT_ID") == C_PAGED and fields.get("TENANT") == TA and
           fields.get("ACTIVE TOKENS") == str(PAGED_TOKENS) and
           TS_RE.match(fields.get("CREATED (UTC)", "")), "text %r" % out)
    for kind in ("tenant", "user", "client"):
        failure(ctl(kind, "show", "--id", "%s_obj_missing" % kind[:3]), "no %s" % kind)


# ---------------------------------------------------------------- update

def t_update():
    since = last_audit_id()
    j = ok_json("tenant", "update", "--id", TB, "--name", "Object B, renamed")
    expect(j["id"] == TB and j["name"] == "Object B, renamed", "%r" % j)
    expect(sql1("SELECT name FROM tenants WHERE public_id = %s" % q(TB)) == "Object B, renamed",
           "tenant not renamed")
    out = ok(ctl("client", "update", "--id", C_B, "--name", ""))
    expect(out == "updated client %s\n" % C_B, "text %r" % out)
    expect(sql1("SELECT CONCAT('[', name, ']') FROM oauth_clients WHERE client_id = %s"
                % q(C_B)) == "[]", "client not renamed")
    expect(audit_rows(since) == [
        audit("tenant.update", TB, "", {"old_name": "Object B", "name": "Object B, renamed"}, 1),
        audit("client.update", TB, C_B, {"old_name": "name of " + C_B, "name": ""}, 1)],
        "audit %r" % audit_rows(since))
    # The same values again: nothing written, nothing audited, and it says so.
    out = unchanged(lambda *a: ok(ctl(*a)), "tenant", "update", "--id", TB,
                    "--name", "Object B, renamed")
    expect(out == "unchanged (it was so already): tenant %s\n" % TB, "text %r" % out)
    unchanged(lambda *a: ok(ctl(*a)), "client", "update", "--id", C_B, "--name", "")
    unchanged(lambda *a: ok(ctl(*a)), "user", "update", "--id", UA_ADMIN, "--admin")


def t_user_admin_rights():
    """--no-admin takes the API away from the user's token at once; --admin gives it back."""
    since = last_audit_id()
    token = SHARED["admin"]
    expect(request("GET", PATH_FMT.format(C_HOME), auth=token).status == 200, "before")
    j = ok_json("user", "update", "--id", UA_ADMIN, "--no-admin")
    expect(j["is_admin"] is False, "%r" % j)
    r = request("GET", PATH_FMT.format(C_HOME), auth=token)
    expect(r.status == 403, "a user without admin rights: %s" % r.describe())
    ok(ctl("user", "update", "--id", UA_ADMIN, "--admin"))
    expect(sql1("SELECT is_admin FROM users WHERE public_id = %s" % q(UA_ADMIN)) == "1", "db")
    expect(request("GET", PATH_FMT.format(C_HOME), auth=token).status == 200, "after --admin")
    expect(audit_rows(since, TA)[-2:] == [
        audit("user.update", TA, "", {"user_id": UA_ADMIN, "was_admin": True,
                                      "is_admin": False}, 1),
        audit("user.update", TA, "", {"user_id": UA_ADMIN, "was_admin": False,
                                      "is_admin": True}, 1)],
        "audit %r" % audit_rows(since, TA))


def t_update_refused():
    unchanged(lambda *a: usage_error(ctl(*a), "--name"), "tenant", "update", "--id", TA)
    unchanged(lambda *a: usage_error(ctl(*a), "--admin"), "user", "update", "--id", UA_MEMBER)
    unchanged(lambda *a: usage_error(ctl(*a), "--admin"), "client", "update", "--id", C_B,
              "--admin")
    unchanged(lambda *a: usage_error(ctl(*a), "--name"), "tenant", "update", "--id", TA,
              "--name", "")
    unchanged(lambda *a: usage_error(ctl(*a), "--id"), "client", "update", "--name", "x")
    unchanged(lambda *a: usage_error(ctl(*a), "extra"), "client", "update", "--id", C_B,
              "--name", "x", "extra")
    unchanged(lambda *a: failure(ctl(*a), "no user"), "user", "update", "--id",
              "usr_obj_missing", "--admin")
    # Both rights options: refused, not "the last one wins".
    unchanged(lambda *a: usage_error(ctl(*a), "--no-admin"), "user", "update", "--id",
              UA_ADMIN, "--admin", "--no-admin")
    expect(sql1("SELECT is_admin FROM users WHERE public_id = %s" % q(UA_ADMIN)) == "1",
           "--admin --no-admin took the admin rights away")


# ---------------------------------------------------------------- token list and show

def t_token_list_pages_match_api():
    token = SHARED["admin"]
    api_ids, cli_ids = [], []
    for page in range(1, 7):
        a = api_list(token, C_PAGED, "?page=%d&page_size=5" % page)
        c = ok_json("token", "list", "--client", C_PAGED, "--page", page, "--page-size", 5)
        expect(set(c) == ENVELOPE_KEYS, "keys %s" % sorted(c))
        expect(c["items"] == a["items"] and c["pagination"] == a["pagination"] and
               c["total"] == a["total"] == PAGED_TOKENS, "page %d: CLI %r, API %r" % (page, c, a))
        expect((c["next_cursor"] is None) == (a["next_cursor"] is None), "next_cursor")
        api_ids += [i["id"] for i in a["items"]]
        cli_ids += [i["id"] for i in c["items"]]
    expect(cli_ids == api_ids and len(set(cli_ids)) == PAGED_TOKENS, "page walk differs")
    SHARED["order"] = cli_ids


def t_token_list_cursor_walk():
    token = SHARED["admin"]
    walks = {}
    for who in ("cli", "api"):
        ids, cursor = [], None
        for _ in range(10):
            if who == "cli":
                args = ["token", "list", "--client", C_PAGED, "--page-size", 5]
                j = ok_json(*(args + (["--cursor", cursor] if cursor else [])))
            else:
                j = api_list(token, C_PAGED, "?page_size=5" + ("&cursor=" + cursor if cursor
                                                                 else ""))
            expect(j["total"] == PAGED_TOKENS, "%s total %r" % (who, j["total"]))
            ids += [i["id"] for i in j["items"]]
            cursor = j["next_cursor"]
            if cursor is None:
                break
        walks[who] = ids
    expect(walks["cli"] == walks["api"] == SHARED["order"], "cursor walks differ: %r" % walks)
    # a cursor crosses: the CLI's works in the API and the API's in the CLI
    c1 = ok_json("token", "list", "--client", C_PAGED, "--page-size", 5)["next_cursor"]
    a2 = api_list(token, C_PAGED, "?page_size=5&cursor=" + c1)
    c2 = ok_json("token", "list", "--client", C_PAGED, "--page-size", 5, "--cursor", c1)
    expect(a2["items"] == c2["items"] and a2["next_cursor"] == c2["next_cursor"] and
           c2["pagination"] == a2["pagination"] and "page" not in c2["pagination"],
           "page after the CLI's cursor: %r vs %r" % (c2, a2))
    c3 = ok_json("token", "list", "--client", C_PAGED, "--page-size", 5, "--cursor",
                 a2["next_cursor"])
    expect([i["id"] for i in c3["items"]] == SHARED["order"][10:15], "API cursor in the CLI")


def t_token_list_filters():
    token = SHARED["admin"]
    for query, args in (("?user_id=%s" % UA_MEMBER, ["--user", UA_MEMBER]),
                        ("?token_type=refresh_token", ["--type", "refresh_token"]),
                        ("?user_id=%s&token_type=access_token&page_size=3" % UA_ADMIN,
                         ["--user", UA_ADMIN, "--type", "access_token", "--page-size", 3])):
        a = api_list(token, C_PAGED, query)
        c = ok_json("token", "list", "--client", C_PAGED, *args)
        expect(c["items"] == a["items"] and c["total"] == a["total"] and
               c["pagination"] == a["pagination"], "%s: CLI %r API %r" % (query, c, a))
    expect(c["total"] == db_active(C_PAGED, UA_ADMIN, "access_token"), "filtered total")
    # a cursor is bound to its filters, as in the API
    cur = ok_json("token", "list", "--client", C_PAGED, "--user", UA_ADMIN, "--page-size", 1)
    usage_error(ctl("token", "list", "--client", C_PAGED, "--cursor", cur["next_cursor"]),
                "--cursor")
    usage_error(ctl("token", "list", "--client", C_HOME, "--user", UA_ADMIN,
                    "--cursor", cur["next_cursor"]), "--cursor")


def t_token_list_text():
    out = ok(ctl("token", "list", "--client", C_PAGED, "--page-size", 5))
    names, rows, footer = table(out.rsplit("\n", 2)[0] + "\n")
    expect(names == ["ID", "TYPE", "USER", "CREATED (UTC)", "EXPIRES (UTC)", "SCOPE"],
           "header %r" % names)
    expect([r[0] for r in rows] == SHARED["order"][:5], "rows %r" % rows)
    lines = out.rstrip("\n").split("\n")
    expect(lines[-2] == "page 1 of 5, %d active tokens in all" % PAGED_TOKENS, "%r" % lines[-2])
    expect(re.match(r"^next page: --cursor [A-Za-z0-9_-]{44}$", lines[-1]), "%r" % lines[-1])
    expect(all(TS_RE.match(r[3]) and TS_RE.match(r[4]) for r in rows), "UTC dates %r" % rows)


def t_token_list_bad_input():
    usage_error(ctl("token", "list"), "--client")
    usage_error(ctl("token", "list", "--client", C_PAGED, "--type", "id_token"), "--type")
    usage_error(ctl("token", "list", "--client", C_PAGED, "--page", "2", "--cursor", "x" * 44),
                "--cursor")
    usage_error(ctl("token", "list", "--client", C_PAGED, "--cursor", "x" * 44), "--cursor")
    usage_error(ctl("token", "list", "--client", C_PAGED, "--page-size", "0"), "--page-size")
    failure(ctl("token", "list", "--client", "cli_obj_missing"), "no client")
    # A user id is never cut to fit its buffer (a prefix may be another user's id).
    usage_error(ctl("token", "list", "--client", C_PAGED, "--user", UA_MEMBER + "x" * 64),
                "--user")
    usage_error(ctl("token", "revoke", "--client", C_PAGED, "--all", "--user",
                    UA_MEMBER + "x" * 64), "--user")


def t_foreign_client_id():
    """A client whose id the create command would refuse (issuers and the API take
    up to 255 characters of any text) can be shown, listed and deleted."""
    cid = "cli_obj_mobile:app/ü " + "x" * 200
    sql("INSERT INTO oauth_clients (tenant_id, client_id, name) SELECT id, %s, 'foreign'"
        " FROM tenants WHERE public_id = %s" % (q(cid), q(TB)))
    j = ok_json("client", "show", "--id", cid)
    expect(j["client_id"] == cid and j["tenant_id"] == TB, "show %r" % j)
    expect(ok_json("token", "list", "--client", cid)["total"] == 0, "token list")
    ok(ctl("client", "delete", "--id", cid))
    expect(sql1("SELECT COUNT(*) FROM oauth_clients WHERE client_id = %s" % q(cid)) == "0",
           "not deleted")


def t_token_show():
    t = issue(C_HOME, ttype="refresh_token", user=UA_MEMBER, scope="offline_access")
    j = ok_json("token", "show", "--client", C_HOME, "--id", t["id"])
    expect(j == {"id": t["id"], "client_id": C_HOME, "tenant_id": TA, "user_id": UA_MEMBER,
                 "token_type": "refresh_token", "scope": "offline_access",
                 "created_at": t["created_at"], "expires_at": t["expires_at"],
                 "revoked_at": None, "state": "active"}, "show %r" % j)
    ok(ctl("token", "revoke", "--client", C_HOME, "--id", t["id"]))
    out = ok(ctl("token", "show", "--client", C_HOME, "--id", t["id"].upper().replace("TOK_",
                                                                                      "tok_")))
    fields = dict(re.split(r"\s{2,}", l, 1) for l in out.strip().split("\n"))
    expect(fields.get("STATE") == "revoked" and TS_RE.match(fields.get("REVOKED (UTC)", "")),
           "text %r" % out)
    row = test_cli.token_row(t["id"])
    expect(t["token"] not in out + json.dumps(j) and row["hash"] not in (out + json.dumps(j)).lower(),
           "token text or hash shown")
    failure(ctl("token", "show", "--client", C_PAGED, "--id", t["id"]), "no token")
    failure(ctl("token", "show", "--client", C_HOME, "--id", "tok_" + "0" * 32), "no token")
    usage_error(ctl("token", "show", "--client", C_HOME, "--id", "tok_xyz"), "--id")
    usage_error(ctl("token", "show", "--client", C_HOME), "--id")


# ---------------------------------------------------------------- delete

def t_client_delete():
    live = [issue(C_GONE, user=UA_ADMIN) for _ in range(3)]
    issue(C_GONE, ttype="refresh_token")
    old = issue(C_GONE)
    sql("UPDATE oauth_tokens SET expires_at = UTC_TIMESTAMP() - INTERVAL 1 HOUR"
        " WHERE public_id = UNHEX(%s)" % q(old["id"][4:]))
    ok(ctl("token", "revoke", "--client", C_GONE, "--id", live[2]["id"]))
    expect(request("GET", PATH_FMT.format(C_HOME), auth=live[0]["token"]).status == 200,
           "the client's admin token works before")
    pk = sql1("SELECT id FROM oauth_clients WHERE client_id = %s" % q(C_GONE))
    others = counts().split()[3]
    since = last_audit_id()
    j = ok_json("client", "delete", "--id", C_GONE)
    expect(j == {"client_id": C_GONE, "deleted": True, "revoked": 3, "tokens_deleted": 5},
           "json %r" % j)
    expect(sql1("SELECT COUNT(*) FROM oauth_clients WHERE id = %s" % pk) == "0", "client row")
    expect(sql1("SELECT COUNT(*) FROM oauth_tokens WHERE oauth_client_id = %s" % pk) == "0",
           "token rows left")
    expect(sql1("SELECT COUNT(*) FROM oauth_token_totals WHERE oauth_client_id = %s" % pk)
           == "0", "counter rows left")
    expect(int(counts().split()[3]) == int(others) - 5, "other clients' tokens changed")
    expect(audit_rows(since) == [audit("tokens.revoke", TA, C_GONE, {}, 3),
                                 audit("client.delete", TA, C_GONE, {}, 5)],
           "audit %r" % audit_rows(since))
    r = request("GET", PATH_FMT.format(C_HOME), auth=live[0]["token"])
    expect(r.status == 401, "a deleted client's token: %s" % r.describe())
    expect(db_active(C_PAGED) == PAGED_TOKENS and db_active(C_HOME) >= 1, "others' tokens")


def t_client_delete_refused():
    unchanged(lambda *a: failure(ctl(*a), "no client"), "client", "delete", "--id", C_GONE)
    unchanged(lambda *a: usage_error(ctl(*a), "--force"), "client", "delete", "--id", C_B,
              "--force")
    unchanged(lambda *a: usage_error(ctl(*a), "--id"), "client", "delete")
    unchanged(lambda *a: usage_error(ctl(*a), "extra"), "client", "delete", "--id", C_B,
              "extra")
    unchanged(lambda *a: usage_error(ctl(*a), "--id"), "client", "delete", "--id", "a\tb")
    unchanged(lambda *a: failure(ctl(*a), "no client"), "client", "delete", "--id", "a b")
    unchanged(lambda *a: failure(ctl(*a), "no user"), "user", "delete", "--id", "usr_obj_nope")
    unchanged(lambda *a: usage_error(ctl(*a), "--name"), "user", "delete", "--id", UB,
              "--name", "x")
    expect(sql1("SELECT COUNT(*) FROM oauth_clients WHERE client_id = %s" % q(C_B)) == "1",
           "client gone")


def t_user_delete():
    on_home = issue(C_HOME, user=UA_MEMBER)
    issue(C_PAGED, user=UA_MEMBER, ttype="refresh_token")
    member_paged = db_active(C_PAGED, UA_MEMBER)
    member_home = db_active(C_HOME, UA_MEMBER)
    rows = int(sql1("SELECT COUNT(*) FROM oauth_tokens k JOIN users u ON u.id = k.user_id"
                    " WHERE u.public_id = %s" % q(UA_MEMBER)))
    admin_tokens = db_active(C_PAGED, UA_ADMIN)
    since = last_audit_id()
    out = ok(ctl("user", "delete", "--id", UA_MEMBER))
    expect(out == "deleted user %s: revoked %d active token(s), deleted %d token row(s)\n"
           % (UA_MEMBER, member_paged + member_home, rows), "text %r" % out)
    expect(sql1("SELECT COUNT(*) FROM users WHERE public_id = %s" % q(UA_MEMBER)) == "0", "row")
    expect(db_active(C_PAGED, UA_ADMIN) == admin_tokens, "another user's tokens changed")
    expect(db_active(C_PAGED) == PAGED_TOKENS + 1 - member_paged, "the user's tokens stayed")
    expect(audit_rows(since) == [
        audit("tokens.revoke", TA, C_HOME, {"user_id": UA_MEMBER}, member_home),
        audit("tokens.revoke", TA, C_PAGED, {"user_id": UA_MEMBER}, member_paged),
        audit("user.delete", TA, "", {"user_id": UA_MEMBER}, rows)],
        "audit %r" % audit_rows(since))
    expect(request("GET", PATH_FMT.format(C_HOME), auth=on_home["token"]).status == 401,
           "deleted user's token")


def t_tenant_delete():
    # refused while it holds a client or a user: exit 1, nothing changed, no audit row
    r = unchanged(ctl, "tenant", "delete", "--id", TB)
    failure(r, "--force")
    expect("1 client(s) and 1 user(s)" in r.err, "message %r" % r.err)
    unchanged(lambda *a: usage_error(ctl(*a), "--all"), "tenant", "delete", "--id", TB,
              "--all")
    unchanged(lambda *a: failure(ctl(*a), "no tenant"), "tenant", "delete", "--id", TC,
              "--force")
    # --force: everything under it goes, revoked and audited first
    b_token = issue(C_B, user=UB)
    since = last_audit_id()
    j = ok_json("tenant", "delete", "--id", TB, "--force")
    expect(j == {"id": TB, "deleted": True, "clients_deleted": 1, "users_deleted": 1,
                 "revoked": 1, "tokens_deleted": 1}, "json %r" % j)
    expect(sql1("SELECT CONCAT_WS(' ', (SELECT COUNT(*) FROM tenants WHERE public_id = %s),"
                " (SELECT COUNT(*) FROM users WHERE public_id = %s),"
                " (SELECT COUNT(*) FROM oauth_clients WHERE client_id = %s))"
                % (q(TB), q(UB), q(C_B))) == "0 0 0", "rows left")
    expect(test_cli.token_row(b_token["id"]) is None, "token row left")
    expect(audit_rows(since) == [audit("tokens.revoke", TB, C_B, {}, 1),
                                 audit("client.delete", TB, C_B, {}, 1),
                                 audit("user.delete", TB, "", {"user_id": UB}, 0),
                                 audit("tenant.delete", TB, "", {"force": True}, 2)],
           "audit %r" % audit_rows(since))
    expect(ok_json("tenant", "show", "--id", TA)["clients"] == 2, "another tenant changed")
    # an empty tenant needs no --force
    ok(ctl("tenant", "create", "--id", TC, "--name", "empty"))
    out = ok(ctl("tenant", "delete", "--id", TC))
    expect(out.startswith("deleted tenant %s with 0 client(s) and 0 user(s)" % TC), out)
    expect(sql1("SELECT COUNT(*) FROM tenants WHERE public_id = %s" % q(TC)) == "0", "row")


# ---------------------------------------------------------------- completion

def complete(*words):
    """What the completion offers for the last word, after sourcing the file in bash."""
    path = os.path.join(SRCDIR, "completion", "autionalctl")
    script = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); '
              '_autionalctl; printf "%s\\n" "${COMPREPLY[@]}"')
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c", script, "bash", path,
                        "autionalctl"] + list(words), capture_output=True, text=True, timeout=30)
    expect(p.returncode == 0 and p.stderr == "", "bash: %r" % p.stderr)
    return [w for w in p.stdout.split("\n") if w]


def t_completion():
    expect(complete("") == ["migrate", "tenant", "user", "client", "token", "purge", "sweep",
                            "audit"], "commands %r" % complete(""))
    expect(complete("tenant", "") == ["create", "list", "show", "update", "delete"],
           "tenant %r" % complete("tenant", ""))
    expect(complete("--config", "x.conf", "token", "l") == ["list"], "token l")
    expect(complete("token", "list", "--type", "") == ["access_token", "refresh_token"],
           "--type values")
    expect(complete("tenant", "delete", "--id", "x", "--f") == ["--force"], "--f")
    expect(complete("client", "delete", "--") == ["--id", "--config", "--json", "--help"],
           "client delete options %r" % complete("client", "delete", "--"))
    # what is on the line already is not offered again, nor the opposite of --admin
    got = complete("user", "update", "--id", "x", "--admin", "--")
    expect(got == ["--config", "--json", "--help"], "after --id x --admin: %r" % got)
    got = complete("user", "list", "--no-admin", "--json", "--")
    expect("--admin" not in got and "--json" not in got and "--tenant" in got,
           "after --no-admin --json: %r" % got)
    # every command's options, as its usage line names them, are offered
    commands = re.findall(r"^  ([a-z]+)(?: ([a-z]+)\b)?", ok(ctl("--help", config=False)),
                          re.M)
    expect(len(commands) >= 20, "commands in --help: %r" % commands)
    for first, second in commands:
        cmd = [first, second] if second else [first]
        usage = ok(ctl(*(cmd + ["--help"]), config=False)).split("\n\n")[0]
        want = set(re.findall(r"--[a-z][a-z-]*", usage))
        got = set(complete(*(cmd + ["--"])))
        expect(want <= got and {"--config", "--json", "--help"} <= got,
               "%s: usage names %s, completion offers %s" % (" ".join(cmd), sorted(want),
                                                           sorted(got)))


def main():
    require("BASE_URL", "DB_SOCKET", "DB_NAME", "APP_CONFIG")
    test("autionalctl is built", test_cli.t_binary)
    if failed():
        return summary()
    test("set up two tenants, users, clients, %d tokens to page" % PAGED_TOKENS, t_setup)
    if failed():
        return summary()
    test("tenant list: --match (id, UTF-8 name, case), paging, total, aligned text", t_tenant_list)
    test("user list / client list: --tenant, --admin/--no-admin, paging, text", t_user_client_list)
    test("list and show: bad input is exit 2, an unknown id or tenant exit 1, past the last"
         " page said so", t_list_bad_input)
    test("tenant/user/client show: both forms, active tokens, unknown id exit 1", t_show)
    test("tenant/client update: rows renamed, audit rows", t_update)
    test("user update --no-admin: API 403 at once; --admin: 200 again; audit rows",
         t_user_admin_rights)
    test("update refused (nothing to change, bad name, unknown option/id): nothing changed",
         t_update_refused)
    test("token list --page: items, order, pagination, total equal to the API's",
         t_token_list_pages_match_api)
    test("token list --cursor: same walk as the API; cursors cross both ways",
         t_token_list_cursor_walk)
    test("token list --user/--type: equal to the API; a cursor is bound to its filters",
         t_token_list_filters)
    test("token list: text columns, UTC dates, footer with total, next cursor",
         t_token_list_text)
    test("token list: bad input exit 2, unknown client exit 1", t_token_list_bad_input)
    test("token show: fields and state, never the text or hash; errors", t_token_show)
    test("a client id create refuses (':', '/', space, 220 chars) can be shown and deleted",
         t_foreign_client_id)
    test("client delete: revoked and audited, then every token row, counters, client; "
         "its tokens get 401", t_client_delete)
    test("delete refused (unknown id, --force on a client, missing --id, extra argument): "
         "nothing changed", t_client_delete_refused)
    test("user delete: its tokens revoked per client with audit rows, rows deleted",
         t_user_delete)
    test("tenant delete: refused without --force (nothing changed); --force deletes all, "
         "audited; empty tenant", t_tenant_delete)
    test("bash completion: commands, sub-commands, option values, every usage option",
         t_completion)
    test("clean up", cleanup)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
