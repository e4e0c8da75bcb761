#!/usr/bin/env python3
# frontends: lighttpd
"""test_counts.py: the exact totals (issues 4 and 10: trigger-kept oauth_token_totals).

Proves, through the real web server, the real store statement (tests/db/store_probe)
and MariaDB, that the list's `total` equals
    SELECT COUNT(*) ... WHERE revoked_at IS NULL AND expires_at > <instant>
  1. at many chosen instants around hour boundaries (the bucket arithmetic), per
     token type and under a user filter;
  2. after every kind of row change, including tokens expiring between two requests;
  3. under 4 concurrent writer connections while the API is being read;
  4. while `autionalctl purge` runs with writers and readers, which never removes a
     live token and reports exactly what it deleted (plus the retention window);
     and repeated purges beside API revocations by filter: both must complete;
  5. after the counts were corrupted and CALL oauth_token_counts_rebuild(), and
     after a TRUNCATE (which skips triggers) on a scratch database;
  6. with `autionalctl sweep` (issue 10): never run, run between every kind of row
     change, racing writers on several connections, revocations, deletions and
     purges of the tokens it sweeps; its folding of the writers' counter rows;
  7. migration 004 of a database that had 001-003 and tokens ends in the schema
     of a fresh install, with exact totals.

Its own data only: tenant ten_counts, users usr_counts_*, clients cli_counts_*
(removed with DELETE at start, so the triggers fire).  The purge itself works on
every client, as it does in production; the other suites reload their fixtures.

Environment (from tests/run): BASE_URL, DB_SOCKET, DB_NAME, DB_USER, APP_CONFIG,
BUILDDIR (store_probe, autionalctl), SRCDIR (sql/ for the scratch database), WORK.
Standard library only.  Prints `ok - <name>` / `not ok - <name>: <why>` per check,
then `N passed, N failed`; exits 1 if any check failed.
"""

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

stacklib.KEEP_RESPONSES = False   # thousands of list pages; no secrets scan here
WORK = WORK or "/tmp"
PROBE = os.path.join(BUILDDIR, "tests", "db", "store_probe")
CTL = os.path.join(BUILDDIR, "src", "autionalctl")
SCRATCH_DB = "autional_counts_scratch"

TYPES = (None, "access_token", "refresh_token")
USERS = ("usr_counts_u1", "usr_counts_u2", "usr_counts_u3")
CLIENTS = ("cli_counts_auth", "cli_counts_b", "cli_counts_e", "cli_counts_e2",
           "cli_counts_w", "cli_counts_w2", "cli_counts_p", "cli_counts_p2", "cli_counts_r",
           "cli_counts_x", "cli_counts_sw", "cli_counts_sr", "cli_counts_sb", "cli_counts_sf")
ADMIN_BEARER = "h10c-admin-bearer-%d-%d" % (os.getpid(), int(time.time()))
RUN = "h10c-%d-%d" % (os.getpid(), int(time.time()) % 1000000)
SEED = int(os.environ.get("COUNTS_SEED", "0")) or int(time.time() * 1000) % 1000000007
RNG = random.Random(SEED)

PK = {}     # client_id -> oauth_clients.id
UPK = {}    # user public id -> users.id

# ---------------------------------------------------------------- database
# sql() sessions work in UTC (stacklib.SQL_UTC); the writers' scripts say so too.

def h(text):
    return "UNHEX(SHA2(%s, 256))" % q(text)


def db_now():
    return int(sql("SELECT UNIX_TIMESTAMP()")[0])


def at(epoch):
    return "FROM_UNIXTIME(%d)" % epoch


def ins(text, client, ttype="access_token", user=None, expires=None, revoked=None,
        scope=None, created_ago=60):
    """One INSERT of a token; expires/revoked: epoch ints or SQL expressions."""
    def val(v):
        if v is None:
            return "NULL"
        return at(v) if isinstance(v, int) else v
    return ("INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id,"
            " scope, created_at, expires_at, revoked_at) VALUES (%s, '%s', %d, %s, %s,"
            " UTC_TIMESTAMP() - INTERVAL %d SECOND, %s, %s);"
            % (h(text), ttype, PK[client], UPK[user] if user else "NULL",
               q(scope if scope is not None else text), created_ago, val(expires), val(revoked)))


def where(client, ttype=None, user=None):
    w = "t.oauth_client_id = %d AND t.revoked_at IS NULL" % PK[client]
    if ttype:
        w += " AND t.token_type = '%s'" % ttype
    if user:
        w += " AND t.user_id = %d" % UPK[user]
    return w


def combos(clients, users=(None, "usr_counts_u1")):
    return [(c, t, u) for c in clients for t in TYPES for u in users]


def db_counts_now(keys):
    """COUNT(*) of active rows right now for each (client, type, user) key."""
    parts = ["SELECT %d, COUNT(*) FROM oauth_tokens t WHERE %s AND t.expires_at > UTC_TIMESTAMP()"
             % (i, where(*k)) for i, k in enumerate(keys)]
    out = sql(" UNION ALL ".join(parts) + ";")
    res = {}
    for l in out:
        i, n = l.split("\t")
        res[keys[int(i)]] = int(n)
    return res


def db_counts_at(client, ttype, user, instants):
    """{instant: COUNT(*) of rows active at that instant (expires_at > instant)}."""
    sel = " UNION ALL ".join("SELECT %d AS e" % e for e in instants)
    out = sql("SELECT i.e, COUNT(t.id) FROM (%s) i LEFT JOIN oauth_tokens t ON %s"
              " AND t.expires_at > FROM_UNIXTIME(i.e) GROUP BY i.e;" % (sel, where(client, ttype, user)))
    return {int(a): int(b) for a, b in (l.split("\t") for l in out)}


def counts_mismatch(client_ids=None):
    """(client, type) pairs where SUM(oauth_token_totals.live) differs from the
    number of unrevoked, unswept rows; [] when consistent."""
    f1 = f2 = ""
    if client_ids is not None:
        ids = ",".join(str(i) for i in client_ids)
        f1 = " WHERE oauth_client_id IN (%s)" % ids
        f2 = " AND oauth_client_id IN (%s)" % ids
    out = sql("SELECT c, ty, SUM(n) FROM ("
              " SELECT oauth_client_id c, CAST(token_type AS CHAR) ty, live n"
              "   FROM oauth_token_totals%s"
              " UNION ALL"
              " SELECT oauth_client_id, CAST(token_type AS CHAR), -1"
              "   FROM oauth_tokens WHERE revoked_at IS NULL AND NOT swept%s"
              ") x GROUP BY c, ty HAVING SUM(n) <> 0 ORDER BY c, ty LIMIT 20;" % (f1, f2))
    return out


def expect_counts_consistent(clients, what=""):
    bad = counts_mismatch([PK[c] for c in clients] if clients is not None else None)
    expect(not bad, "%soauth_token_totals differs from the unrevoked, unswept rows"
           " (client, type, totals minus rows): %s" % (what, "; ".join(bad)))


# ---------------------------------------------------------------- HTTP

def api_get(client, ttype=None, user=None, page=None, page_size=None):
    """GET the list; returns (status, json or None, raw body)."""
    qs = []
    if page is not None:
        qs.append("page=%d" % page)
    if page_size is not None:
        qs.append("page_size=%d" % page_size)
    if ttype:
        qs.append("token_type=" + ttype)
    if user:
        qs.append("user_id=" + urllib.parse.quote(user))
    path = PATH_FMT.format(urllib.parse.quote(client, safe=""))
    return admin_request("GET", path + ("?" + "&".join(qs) if qs else ""))


def api_delete(client, query="", token_id=None):
    path = PATH_FMT.format(client) + ("/" + token_id if token_id else "")
    return admin_request("DELETE", path + ("?" + query if query else ""))


def admin_request(method, path):
    r = request(method, path, auth=ADMIN_BEARER)
    return r.status, r.json, r.body


def api_answer(client, ttype=None, user=None):
    """The list's first page (size 1) as JSON, checked to carry a total and a timestamp."""
    st, j, body = api_get(client, ttype, user, page_size=1)
    expect(st == 200 and isinstance(j, dict) and isinstance(j.get("total"), int) and
           isinstance(j.get("timestamp"), str),
           "GET %s type=%s user=%s: %d %s" % (client, ttype, user, st, body[:300]))
    return j


def api_total(client, ttype=None, user=None):
    return api_answer(client, ttype, user)["total"]


def check_totals(keys, what):
    """API totals against COUNT(*) taken just before and just after: with nothing
    written meanwhile, only expiry changes the count, so before >= api >= after,
    and before == after makes it exact."""
    before = db_counts_now(keys)
    answers = {k: api_answer(*k) for k in keys}
    after = db_counts_now(keys)
    api = {k: a["total"] for k, a in answers.items()}
    bad = [k for k in keys if not (before[k] >= api[k] >= after[k])]
    expect(not bad, "%s: %s" % (what, "; ".join(explain_total(k, answers[k], before[k], after[k])
                                                 for k in bad)))
    return api


def explain_total(k, answer, before, after):
    """A wrong total, with what helps to tell why: the answer's own timestamp
    (the instant the program counted at) and COUNT(*) there, and a second answer."""
    stamp = int(sql1("SELECT UNIX_TIMESTAMP(%s)" % q(answer["timestamp"].replace("T", " ")[:19])))
    again = api_answer(*k)
    return ("%s type=%s user=%s: api %d at %s (COUNT(*) there %d), COUNT(*) %d..%d just before"
            " and after; asked again: %d at %s" % (
                k[0], k[1] or "any", k[2] or "-", answer["total"], answer["timestamp"],
                db_counts_at(*k, [stamp])[stamp], before, after, again["total"], again["timestamp"]))


def probe(client, ttype, user, instants):
    args = [PROBE, APP_CONFIG, str(PK[client]), ttype or "any", user or "-"] + [str(e) for e in instants]
    p = subprocess.run(args, capture_output=True, timeout=60)
    if p.returncode != 0:
        raise Fail("store_probe failed (%d): %s" % (p.returncode, p.stderr.decode()[:300]))
    res = {}
    for l in p.stdout.decode().split("\n"):
        if l.strip():
            a, b = l.split()
            res[int(a)] = int(b)
    return res


def hour_label(e, now):
    hh = now - now % 3600
    off = e - hh
    return "%d (H%+ds, now%+ds, %s)" % (e, off, e - now,
                                        time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(e)))


def check_probe(client, ttype, user, instants, now, what=""):
    instants = sorted(set(instants))
    got = probe(client, ttype, user, instants)
    want = db_counts_at(client, ttype, user, instants)
    bad = ["at %s: store %s, COUNT(*) %s" % (hour_label(e, now), got.get(e), want.get(e))
           for e in instants if got.get(e) != want.get(e)]
    expect(not bad, "%s%s type=%s user=%s, %d of %d instants wrong: %s"
           % (what, client, ttype or "any", user or "-", len(bad), len(instants), "; ".join(bad[:8])))
    return want


# ---------------------------------------------------------------- fixture

def cleanup_sql():
    return ("DELETE t FROM oauth_tokens t JOIN oauth_clients c ON c.id = t.oauth_client_id"
            "  WHERE c.client_id LIKE 'cli\\_counts\\_%';"
            "DELETE t FROM oauth_tokens t JOIN users u ON u.id = t.user_id"
            "  WHERE u.public_id LIKE 'usr\\_counts\\_%';"
            "DELETE FROM oauth_clients WHERE client_id LIKE 'cli\\_counts\\_%';"
            "DELETE FROM users WHERE public_id LIKE 'usr\\_counts\\_%';"
            "DELETE FROM tenants WHERE public_id = 'ten_counts';")


def t_fixture():
    s = [cleanup_sql(),
         "INSERT INTO tenants (public_id, name) VALUES ('ten_counts', 'counts suite');",
         "SET @t = LAST_INSERT_ID();",
         "INSERT INTO users (public_id, tenant_id, is_admin) VALUES ('usr_counts_admin', @t, TRUE),"
         + ",".join("(%s, @t, FALSE)" % q(u) for u in USERS) + ";"]
    s.append("INSERT INTO oauth_clients (client_id, tenant_id, name) VALUES "
             + ",".join("(%s, @t, 'counts')" % q(c) for c in CLIENTS) + ";")
    sql("\n".join(s))
    for l in sql("SELECT client_id, id FROM oauth_clients WHERE client_id LIKE 'cli\\_counts\\_%'"):
        a, b = l.split("\t")
        PK[a] = int(b)
    for l in sql("SELECT public_id, id FROM users WHERE public_id LIKE 'usr\\_counts\\_%'"):
        a, b = l.split("\t")
        UPK[a] = int(b)
    expect(set(PK) == set(CLIENTS) and len(UPK) == 4, "fixture ids %s %s" % (PK, UPK))
    sql(ins(ADMIN_BEARER, "cli_counts_auth", user="usr_counts_admin",
            expires="UTC_TIMESTAMP() + INTERVAL 1 DAY"))
    # The sessions really work in UTC: FROM_UNIXTIME(UNIX_TIMESTAMP()) = UTC_TIMESTAMP().
    chk = sql("SELECT FROM_UNIXTIME(UNIX_TIMESTAMP(UTC_TIMESTAMP())) = UTC_TIMESTAMP(),"
              " UNIX_TIMESTAMP() - %d" % int(time.time()))[0].split("\t")
    expect(chk[0] == "1", "session time zone is not UTC")
    expect(abs(int(chk[1])) <= 2, "database clock and this clock differ by %s s" % chk[1])
    st, j, body = api_get("cli_counts_b")
    expect(st == 200 and j and j.get("total") == 0, "empty client: %d %s" % (st, body[:200]))
    for p in (PROBE, CTL):
        expect(os.access(p, os.X_OK), "%s is not built" % p)


# ---------------------------------------------------------------- 1. boundaries

def t_boundaries():
    now = db_now()
    hh = now - now % 3600
    c = "cli_counts_b"
    expiries = []
    for k in range(-2, 6):
        b = hh + k * 3600
        expiries += [b - 1, b, b + 1, b + 1800]
    expiries += [now - 1, now, now + 1, now + 2, now + 120, hh + 3599, hh + 3598,
                 now + 86400, now + 86400 + 3600, now + 30 * 86400, now - 86400]
    users = (None, "usr_counts_u1", "usr_counts_u2")
    s = []
    n = 0
    for i, e in enumerate(sorted(expiries)):
        for rep in range(2 + i % 2):
            n += 1
            ttype = "access_token" if (i + rep) % 2 == 0 else "refresh_token"
            user = users[(i + rep) % 3]
            revoked = None
            if rep == 1 and i % 3 == 0:
                revoked = now - 300          # revoked: never counted
            elif rep == 2:
                revoked = now + 3600         # revoked with a future time: revoked too
            s.append(ins("%s-b-%d" % (RUN, n), c, ttype, user, e, revoked, created_ago=n))
    # the same expiries on another client must not leak in
    for i, e in enumerate(expiries):
        s.append(ins("%s-bx-%d" % (RUN, i), "cli_counts_x", "access_token", None, e))
    sql("\n".join(s))
    instants = set()
    for k in range(-3, 7):
        b = hh + k * 3600
        instants |= {b - 1, b, b + 1, b + 1799, b + 1800, b + 1801}
    for e in expiries:
        instants |= {e - 1, e, e + 1}
    instants |= {now, now + 59 * 60, now + 3600, now + 86400, now + 86400 + 3600,
                 now + 40 * 86400, now - 86400, now - 3 * 86400, 0, 86400}
    instants = sorted(x for x in instants if x > 0)
    note("boundaries: %d tokens, %d instants, now=%s" % (n, len(instants), hour_label(now, now)))
    want_any = None
    errors = []
    for ttype in TYPES:
        for user in (None, "usr_counts_u1", "usr_counts_u2", "usr_counts_u3"):
            try:
                w = check_probe(c, ttype, user, instants, now)
                if ttype is None and user is None:
                    want_any = w
            except Fail as e:
                errors.append(str(e))
    expect(not errors, " | ".join(errors))
    # the fixture really straddles the boundaries (else the check proves nothing)
    steps = sum(1 for k in range(1, 5) if want_any[hh + k * 3600 - 1] > want_any[hh + k * 3600]
                > want_any[hh + k * 3600 + 1])
    expect(steps == 4, "fixture does not change the count at each boundary: %s"
           % [(want_any[hh + k * 3600 - 1], want_any[hh + k * 3600], want_any[hh + k * 3600 + 1])
              for k in range(1, 5)])


def t_boundaries_api():
    check_totals(combos(["cli_counts_b", "cli_counts_x"],
                        (None, "usr_counts_u1", "usr_counts_u2", "usr_counts_u3")),
                 "API at the current instant")


# ---------------------------------------------------------------- 2. changes via the API

E_KEYS = None
E_STEPS = []


def e_check(what, now=None):
    """After a change: API totals (all type filters, with and without a user) of
    cli_counts_e and cli_counts_e2 against COUNT(*), the store at boundary
    instants, and the counts table."""
    check_totals(E_KEYS, what)
    now = now or db_now()
    hh = now - now % 3600
    inst = [now, now + 1, now + 1800, now + 59 * 60, now + 86400, now - 3600]
    for k in range(0, 11):
        inst += [hh + k * 3600 - 1, hh + k * 3600, hh + k * 3600 + 1]
    for c in ("cli_counts_e", "cli_counts_e2"):
        check_probe(c, None, None, inst, now, what + ": ")
    expect_counts_consistent(["cli_counts_e", "cli_counts_e2"], what + ": ")


def t_changes():
    global E_KEYS
    E_KEYS = combos(["cli_counts_e", "cli_counts_e2"], (None, "usr_counts_u1"))
    now = db_now()
    hh = now - now % 3600
    c, c2 = "cli_counts_e", "cli_counts_e2"
    base = [
        ("a1", c, "access_token", "usr_counts_u1", now + 600, None),
        ("a2", c, "access_token", "usr_counts_u1", now + 5 * 3600, None),
        ("a3", c, "access_token", "usr_counts_u2", now + 6 * 3600, None),
        ("r1", c, "refresh_token", "usr_counts_u2", now + 2 * 86400, None),
        ("r2", c, "refresh_token", None, now + 1800, None),
        ("x1", c, "access_token", "usr_counts_u1", now - 100, None),
        ("v1", c, "access_token", "usr_counts_u1", now + 3 * 3600, now - 50),
        ("v2", c, "refresh_token", "usr_counts_u2", now + 4000, now - 50),
        ("m1", c, "access_token", "usr_counts_u1", now + 1200, None),
        ("m2", c, "refresh_token", "usr_counts_u1", now + 7200, None),
        ("m3", c, "access_token", "usr_counts_u1", now + 3 * 3600, None),
        ("m4", c, "refresh_token", "usr_counts_u1", now + 8 * 3600, None),
        ("m5", c2, "refresh_token", "usr_counts_u2", now + 9 * 3600, None),
        ("d1", c, "access_token", "usr_counts_u1", now + 2 * 3600, None),
        ("d2", c, "access_token", "usr_counts_u1", now + 2 * 3600, now - 10),
        ("d3", c, "refresh_token", "usr_counts_u1", now - 10, None),
        ("u1", c, "access_token", "usr_counts_u1", now + 3 * 3600, None),
    ]
    s = [ins("%s-e-%s" % (RUN, n), cl, ty, us, ex, rv, scope="e-" + n)
         for (n, cl, ty, us, ex, rv) in base]
    for i in range(30):
        s.append(ins("%s-e-fill-%d" % (RUN, i), c, ("access_token", "refresh_token")[i % 2],
                     (None, "usr_counts_u1", "usr_counts_u2")[i % 3],
                     now + 900 + i * 1500, None, scope="fill-%d" % i))
    sql("\n".join(s))
    e_check("after loading")
    T = lambda n: "token_hash = " + h("%s-e-%s" % (RUN, n))
    cur = hh + 3599 if hh + 3599 - now >= 120 else now + 1800
    steps = [
        ("UPDATE expires_at to the past",
         "UPDATE oauth_tokens SET expires_at = UTC_TIMESTAMP() - INTERVAL 5 SECOND WHERE %s;" % T("a1")),
        ("UPDATE expires_at across hours, later",
         "UPDATE oauth_tokens SET expires_at = UTC_TIMESTAMP() + INTERVAL 7 HOUR WHERE %s;" % T("m1")),
        ("UPDATE expires_at across hours, earlier",
         "UPDATE oauth_tokens SET expires_at = UTC_TIMESTAMP() + INTERVAL 2 HOUR WHERE %s;" % T("a2")),
        ("UPDATE expires_at from a later hour into the current hour",
         "UPDATE oauth_tokens SET expires_at = %s WHERE %s;" % (at(cur), T("a3"))),
        ("UPDATE expires_at from the current hour to a later hour",
         "UPDATE oauth_tokens SET expires_at = %s WHERE %s;" % (at(hh + 4 * 3600 + 5), T("r2"))),
        ("UPDATE expires_at onto the next hour boundary exactly",
         "UPDATE oauth_tokens SET expires_at = %s WHERE %s;" % (at(hh + 3600), T("m2"))),
        ("UPDATE expires_at to one second before the second boundary",
         "UPDATE oauth_tokens SET expires_at = %s WHERE %s;" % (at(hh + 7200 - 1), T("m2"))),
        ("UPDATE expires_at within the same hour",
         "UPDATE oauth_tokens SET expires_at = expires_at + INTERVAL 1 SECOND WHERE %s;" % T("m2")),
        ("UPDATE an expired token back to life",
         "UPDATE oauth_tokens SET expires_at = UTC_TIMESTAMP() + INTERVAL 4 HOUR WHERE %s;" % T("x1")),
        ("UPDATE token_type",
         "UPDATE oauth_tokens SET token_type = 'access_token' WHERE %s;" % T("r1")),
        ("UPDATE token_type of a revoked token",
         "UPDATE oauth_tokens SET token_type = 'refresh_token' WHERE %s;" % T("v1")),
        ("UPDATE oauth_client_id (move to another client)",
         "UPDATE oauth_tokens SET oauth_client_id = %d WHERE %s;" % (PK[c2], T("m3"))),
        ("UPDATE client, type and hour at once (move back)",
         "UPDATE oauth_tokens SET oauth_client_id = %d, token_type = 'access_token',"
         " expires_at = expires_at + INTERVAL 3 HOUR WHERE %s;" % (PK[c], T("m5"))),
        ("UPDATE user_id",
         "UPDATE oauth_tokens SET user_id = %d WHERE %s;" % (UPK["usr_counts_u2"], T("u1"))),
        ("UPDATE revoked_at (revoke)",
         "UPDATE oauth_tokens SET revoked_at = UTC_TIMESTAMP() WHERE %s;" % T("m4")),
        ("UPDATE revoked_at back to NULL (un-revoke)",
         "UPDATE oauth_tokens SET revoked_at = NULL WHERE %s;" % T("v1")),
        ("un-revoke and move hours in one UPDATE",
         "UPDATE oauth_tokens SET revoked_at = NULL, expires_at = UTC_TIMESTAMP() + INTERVAL 9 HOUR"
         " WHERE %s;" % T("v2")),
        ("DELETE a live row", "DELETE FROM oauth_tokens WHERE %s;" % T("d1")),
        ("DELETE a revoked row", "DELETE FROM oauth_tokens WHERE %s;" % T("d2")),
        ("DELETE an expired row", "DELETE FROM oauth_tokens WHERE %s;" % T("d3")),
        ("multi-row UPDATE moving many tokens across hours",
         "UPDATE oauth_tokens SET expires_at = expires_at + INTERVAL 90 MINUTE"
         " WHERE oauth_client_id = %d AND scope LIKE 'fill-%%';" % PK[c]),
        ("multi-row UPDATE revoking one user's tokens",
         "UPDATE oauth_tokens SET revoked_at = UTC_TIMESTAMP() WHERE oauth_client_id = %d"
         " AND user_id = %d AND scope LIKE 'fill-%%';" % (PK[c], UPK["usr_counts_u2"])),
        ("INSERT of a revoked and of an expired row",
         ins(RUN + "-e-ins1", c, revoked="UTC_TIMESTAMP()", expires=now + 7200)
         + ins(RUN + "-e-ins2", c, expires="UTC_TIMESTAMP() - INTERVAL 1 HOUR")),
        ("INSERT ... ON DUPLICATE KEY UPDATE (update path)",
         ins(RUN + "-e-r1", c, "refresh_token", expires=now + 99).rstrip(";")
         + " ON DUPLICATE KEY UPDATE expires_at = UTC_TIMESTAMP() - INTERVAL 1 MINUTE,"
           " token_type = 'refresh_token';"),
        ("REPLACE INTO (delete and insert)",
         ins(RUN + "-e-a2", c, "refresh_token", "usr_counts_u1",
             expires="UTC_TIMESTAMP() + INTERVAL 26 HOUR").replace("INSERT INTO", "REPLACE INTO", 1)),
        ("a rolled back transaction",
         "START TRANSACTION;" + ins(RUN + "-e-rb", c, expires=now + 7200)
         + "UPDATE oauth_tokens SET revoked_at = UTC_TIMESTAMP() WHERE %s;" % T("r1")
         + "DELETE FROM oauth_tokens WHERE %s;" % T("m2") + "ROLLBACK;"),
        ("one transaction inserting, moving and revoking",
         "START TRANSACTION;" + ins(RUN + "-e-tx", c, expires=now + 7200)
         + "UPDATE oauth_tokens SET expires_at = UTC_TIMESTAMP() + INTERVAL 30 HOUR WHERE %s;"
         % ("token_hash = " + h(RUN + "-e-tx"))
         + "UPDATE oauth_tokens SET revoked_at = UTC_TIMESTAMP() WHERE %s;" % T("m2")
         + "COMMIT;"),
    ]
    E_STEPS[:] = steps


def run_step(what, stmt):
    sql(stmt)
    e_check(what)


def api_revoke(query):
    before = db_counts_now([("cli_counts_e", None, "usr_counts_u1")])
    st, j, body = api_delete("cli_counts_e", query)
    expect(st == 200 and j and j.get("revoked", -1) >= 1, "DELETE ?%s: %d %s" % (query, st, body[:200]))
    expect(j["revoked"] == list(before.values())[0], "revoked %d, COUNT(*) was %s"
           % (j["revoked"], before))
    e_check("after DELETE ?" + query)


def api_revoke_one():
    tid = sql("SELECT CONCAT('tok_', LOWER(HEX(t.public_id))) FROM oauth_tokens t WHERE %s"
              " AND t.expires_at > UTC_TIMESTAMP() + INTERVAL 1 HOUR LIMIT 1"
              % where("cli_counts_e"))
    expect(tid, "no live token left on cli_counts_e")
    st, j, body = api_delete("cli_counts_e", "", tid[0])
    expect(st == 200 and j and j.get("revoked") == 1, "DELETE %s: %d %s" % (tid[0], st, body[:200]))
    e_check("after DELETE of one token")


SB_FILTERS = [(None, None), ("access_token", None), ("refresh_token", None),
              (None, "usr_counts_u1")] * 2


def t_second_boundary():
    """Tokens expire at whole seconds S; the API is asked about a millisecond after
    each S by this host's clock (the one MariaDB reads): they are gone from the
    total, and the answer's timestamp is S, not the second before.  (The program
    once took its now from time(), which lags that clock by up to a tick: a
    request in the first milliseconds of a second counted what had just expired,
    e.g. api 2447 against COUNT(*) 1996 after the sweep race.)"""
    c = "cli_counts_sb"
    start = db_now() + 2
    s = [ins("%s-sb-live-%d" % (RUN, i), c, ("access_token", "refresh_token")[i % 2],
             (None, "usr_counts_u1")[i % 3 == 0], "UTC_TIMESTAMP() + INTERVAL 1 DAY")
         for i in range(6)]
    for k in range(len(SB_FILTERS)):
        s += [ins("%s-sb-%d-%d" % (RUN, k, i), c, ("access_token", "refresh_token")[i % 2],
                  (None, "usr_counts_u1", "usr_counts_u2")[i % 3], start + k) for i in range(12)]
    sql("\n".join(s))
    bad, late = [], 0
    for k, (ttype, user) in enumerate(SB_FILTERS):
        edge = start + k
        while time.time() < edge + 0.0005:
            time.sleep(max(0.0, min(0.05, edge + 0.0005 - time.time())))
        st, j, body = api_get(c, ttype, user, page_size=1)
        answered = time.time() - edge
        expect(st == 200 and isinstance(j, dict) and isinstance(j.get("total"), int),
               "GET %s: %d %s" % (c, st, body[:200]))
        stamp = int(sql1("SELECT UNIX_TIMESTAMP(%s)" % q(j["timestamp"].replace("T", " ")[:19])))
        want = db_counts_at(c, ttype, user, sorted({edge, stamp}))
        if stamp < edge or j["total"] != want[stamp]:
            bad.append("asked after %d (answered %.4f s after it) type=%s user=%s: total %d,"
                       " answer's timestamp %+d s; COUNT(*) at %d: %d, at that timestamp: %d"
                       % (edge, answered, ttype or "any", user or "-", j["total"],
                          stamp - edge, edge, want[edge], want[stamp]))
        late += stamp > edge
    if late:
        note("second boundary: %d of %d answers came a second late (slow machine)"
             % (late, len(SB_FILTERS)))
    expect(not bad, "%d of %d answers counted tokens expired before the request: %s"
           % (len(bad), len(SB_FILTERS), "; ".join(bad[:3])))


def expire_between():
    """Five tokens expire at E, one at E+1, one at E+2 (E = now+2); totals are taken
    before E, within second E, and after E+2 (waited out), each exact."""
    for attempt in range(3):
        now = db_now()
        e = now + 2
        toks = [(("access_token", "refresh_token")[i % 2], (None, "usr_counts_u1")[i // 3], e)
                for i in range(5)]
        toks += [("access_token", "usr_counts_u1", e + 1), ("refresh_token", None, e + 2)]
        sql("\n".join(ins("%s-e-exp-%d-%d" % (RUN, attempt, i), "cli_counts_e", ty, us, ex)
                      for i, (ty, us, ex) in enumerate(toks)))
        first = check_totals(E_KEYS, "before expiry")
        if time.time() < e - 0.05:
            break
        note("expire_between: the first look came too late (slow machine); again")
    else:
        raise Fail("could not look before the tokens expired in three attempts")
    while time.time() < e + 0.15:
        time.sleep(0.02)
    mid = check_totals(E_KEYS, "within the second the first five expired")
    mid_in_time = time.time() < e + 0.95
    while time.time() < e + 3.15:
        time.sleep(0.05)
    last = check_totals(E_KEYS, "after all seven expired")
    def drop(key, upto):
        return sum(1 for ty, us, ex in toks if key[0] == "cli_counts_e" and ex <= upto
                   and key[1] in (None, ty) and key[2] in (None, us))
    bad = ["%s/%s/%s %d -> %d -> %d, want drops of %d then %d"
           % (k[0], k[1] or "any", k[2] or "-", first[k], mid[k], last[k], drop(k, e),
              drop(k, e + 2)) for k in E_KEYS
           if first[k] - last[k] != drop(k, e + 2)
           or (mid_in_time and first[k] - mid[k] != drop(k, e))]
    expect(not bad, "; ".join(bad))
    e_check("after the expiry", db_now())


# ---------------------------------------------------------------- 3. concurrent writers

def expiry_expr(rng, now):
    r = rng.random()
    hh = now - now % 3600
    if r < 0.15:
        return "UTC_TIMESTAMP() + INTERVAL %d SECOND" % rng.randint(1, 25)   # expires during the run
    if r < 0.30:
        return at(hh + rng.randint(1, 4) * 3600 + rng.choice((-1, 0, 1)))  # on a boundary
    if r < 0.45:
        return "UTC_TIMESTAMP() - INTERVAL %d SECOND" % rng.randint(0, 7200)
    return "UTC_TIMESTAMP() + INTERVAL %d SECOND" % rng.randint(26, 6 * 3600)


def writer_script(k, nstmts, pool, now, rng):
    lines = [SQL_UTC]
    ops = 0
    for i in range(nstmts):
        r = rng.random()
        target = "token_hash = " + h(rng.choice(pool))
        client = "cli_counts_w" if rng.random() < 0.85 else "cli_counts_w2"
        if r < 0.40:
            lines.append(ins("%s-w%d-%d" % (RUN, k, i), client,
                             rng.choice(("access_token", "refresh_token")),
                             rng.choice((None, "usr_counts_u1", "usr_counts_u2")),
                             expiry_expr(rng, now),
                             "UTC_TIMESTAMP()" if rng.random() < 0.1 else None, created_ago=i % 97))
        elif r < 0.60:
            lines.append("UPDATE oauth_tokens SET revoked_at = UTC_TIMESTAMP() WHERE %s;" % target)
        elif r < 0.67:
            lines.append("UPDATE oauth_tokens SET revoked_at = NULL WHERE %s;" % target)
        elif r < 0.85:
            lines.append("UPDATE oauth_tokens SET expires_at = %s WHERE %s;"
                         % (expiry_expr(rng, now), target))
        elif r < 0.90:
            lines.append("UPDATE oauth_tokens SET token_type = IF(token_type = 'access_token',"
                         " 'refresh_token', 'access_token') WHERE %s;" % target)
        elif r < 0.95:
            lines.append("UPDATE oauth_tokens SET oauth_client_id = %d WHERE %s;"
                         % (PK[client], target))
        else:
            lines.append("DELETE FROM oauth_tokens WHERE %s;" % target)
        ops += 1
    return "\n".join(lines) + "\n", ops


class Readers:
    """Threads listing clients through the API until stopped; every answer must be a
    200 whose pagination, item count and items agree with its own total."""

    def __init__(self, clients, n=2):
        self.clients = clients
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.count = 0
        self.errors = []
        self.totals = set()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True)
                        for i in range(n)]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *a):
        self.stop.set()
        for t in self.threads:
            t.join(60)

    def run(self, i):
        rng = random.Random(i * 7919 + int(time.time()))
        while not self.stop.is_set():
            client = rng.choice(self.clients)
            ttype = rng.choice(TYPES)
            user = rng.choice((None, None, "usr_counts_u1", "usr_counts_u2"))
            size = rng.choice((1, 7, 20, 100))
            page = rng.choice((1, 1, 2, 3))
            try:
                st, j, body = api_get(client, ttype, user, page, size)
                why = self.consistent(st, j, body, ttype, user, page, size)
            except Exception as e:
                why = "%s: %s" % (type(e).__name__, e)
            with self.lock:
                self.count += 1
                if why:
                    self.errors.append("%s type=%s user=%s page=%d size=%d: %s"
                                       % (client, ttype, user, page, size, why))
                else:
                    self.totals.add((client, ttype, user, j["total"]))

    @staticmethod
    def consistent(st, j, body, ttype, user, page, size):
        if st != 200 or not isinstance(j, dict):
            return "status %d %s" % (st, body[:200])
        total, p, items = j.get("total"), j.get("pagination") or {}, j.get("items")
        if not isinstance(total, int) or not isinstance(items, list):
            return "no total/items: %s" % body[:200]
        pages = math.ceil(total / size)
        want = {"page": page, "page_size": size, "total": total, "total_pages": pages,
                "has_next": page < pages, "has_prev": page > 1}
        if p != want:
            return "pagination %s, want %s" % (p, want)
        n = max(0, min(size, total - (page - 1) * size))
        if len(items) != n:
            return "%d items, total %d says %d" % (len(items), total, n)
        ts = j.get("timestamp", "")
        ids = set()
        for it in items:
            if ttype and it.get("token_type") != ttype:
                return "item of type %s under token_type=%s" % (it.get("token_type"), ttype)
            if user and it.get("user_id") != user:
                return "item of user %s under user_id=%s" % (it.get("user_id"), user)
            if ts and it.get("expires_at", "") <= ts:
                return "item expired %s listed at %s" % (it.get("expires_at"), ts)
            ids.add(it.get("id"))
        if len(ids) != len(items):
            return "duplicate ids on one page"
        return None


def run_writers(scripts):
    """Starts one `mariadb --force` per script (single-row autocommit statements,
    one per line); returns (process, its stdin, its script) triples."""
    procs = []
    for i, text in enumerate(scripts):
        path = os.path.join(WORK, "writer-%d.sql" % i)
        with open(path, "w") as f:
            f.write(text)
        fin = open(path, "rb")
        procs.append((subprocess.Popen(mariadb_args(force=True), stdin=fin,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), fin,
                      text))
    return procs


# `mariadb --force` reports a failed statement as its text between two dashed
# lines, then "ERROR <code> (<state>) at line <line of the script>: <message>".
CLIENT_ERROR = re.compile(r"^ERROR (\d+) \(\w+\) at line (\d+): ")
CLIENT_ECHO_RULE = "-" * 14


def wait_writers(procs, timeout=120):
    """Waits for the writers; returns what failed, one line per failed statement.
    With the program on several Galera nodes, see writer_conflicts_rerun."""
    errs = []
    for p, fin, text in procs:
        try:
            _, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
            errs.append("a writer timed out")
        fin.close()
        errs += writer_failures(err.decode("utf-8", "replace").split("\n"), text.split("\n"))
    return errs


def writer_failures(lines, script):
    """The ERROR lines of one writer's stderr (its echoes of the failed statements
    dropped), and any other line it printed; on a cluster, less the conflicts
    writer_conflicts_rerun settled."""
    failed = []
    echoed = set()
    for line in lines:
        m = CLIENT_ERROR.match(line)
        if m:
            stmt = script[int(m.group(2)) - 1]
            failed.append((line, m.group(1), stmt))
            echoed.add(stmt.rstrip(";"))
    if failed and purge_config_servers():
        failed = writer_conflicts_rerun(failed)
    others = [l for l in lines if l.strip() and not CLIENT_ERROR.match(l)
              and l != CLIENT_ECHO_RULE and l not in echoed]
    return [line for line, _, _ in failed] + others


WRITER_RERUNS = {"settled": 0}


def writer_conflicts_rerun(failed):
    """With the program on several Galera nodes, a writer's UPDATE or DELETE of a
    token may lose Galera's certification (1213) to a write of the same row on
    another node (a sweep marking it, a purge deleting it, an API revocation):
    first committer wins, whichever node, and the application runs it again, as
    here (after its script, up to 10 times).  A token INSERT is a new row: its only
    write another node could also make is the counting's, so a 1213 on an INSERT
    stays a failure (the counting must not make writers conflict)."""
    left = []
    for line, code, stmt in failed:
        if code != "1213" or stmt.startswith("INSERT"):
            left.append((line, code, stmt))
            continue
        for attempt in range(10):
            try:
                sql(stmt)
                WRITER_RERUNS["settled"] += 1
                break
            except Fail as e:
                if "ERROR 1213" not in str(e):
                    left.append(("%s, then on its rerun: %s" % (line, e), code, stmt))
                    break
                time.sleep(0.05 * (attempt + 1))
        else:
            left.append((line + " (10 reruns lost too)", code, stmt))
    return left


W_STATE = {}


def t_writers_load():
    now = db_now()
    W_STATE["now"] = now
    rng = random.Random(RNG.random())
    pool = []
    s = []
    for i in range(400):
        t = "%s-wpre-%d" % (RUN, i)
        pool.append(t)
        s.append(ins(t, ("cli_counts_w", "cli_counts_w2")[i % 5 == 0],
                     ("access_token", "refresh_token")[i % 2],
                     (None, "usr_counts_u1", "usr_counts_u2")[i % 3], expiry_expr(rng, now),
                     "UTC_TIMESTAMP()" if i % 6 == 0 else None, created_ago=i))
    sql("\n".join(s))
    nst = int(os.environ.get("COUNTS_WRITER_STATEMENTS", "2500"))
    # each writer also touches the rows the others insert (revoke on one connection
    # what another inserted: shards go negative, only the sum counts)
    for k in range(4):
        pool += ["%s-w%d-%d" % (RUN, k, i) for i in range(0, nst, 3)]
    W_STATE["scripts"] = [writer_script(k, nst, pool, now, rng)[0] for k in range(4)]
    check_totals(combos(["cli_counts_w", "cli_counts_w2"]), "after loading")


def t_writers():
    t0 = time.time()
    with Readers(["cli_counts_w", "cli_counts_w2"], 2) as rd:
        procs = run_writers(W_STATE["scripts"])
        errs = wait_writers(procs)
    W_STATE["readers"] = rd
    W_STATE["errors"] = errs
    note("writers: 4 x %d statements in %.1f s; readers: %d answers, %d distinct totals"
         % (len(W_STATE["scripts"][0].split("\n")) - 2, time.time() - t0, rd.count, len(rd.totals)))
    expect(not errs, "%d writer statements failed, e.g. %s" % (len(errs), errs[:3]))


def t_writers_readers():
    rd = W_STATE["readers"]
    expect(rd.count >= 20, "only %d reads ran during the writes" % rd.count)
    expect(not rd.errors, "%d of %d answers wrong: %s" % (len(rd.errors), rd.count,
                                                           "; ".join(rd.errors[:4])))


def t_writers_after():
    check_totals(combos(["cli_counts_w", "cli_counts_w2"],
                        (None, "usr_counts_u1", "usr_counts_u2")), "after the writers")
    n = int(sql("SELECT COUNT(*) FROM oauth_tokens WHERE oauth_client_id IN (%d, %d)"
                % (PK["cli_counts_w"], PK["cli_counts_w2"]))[0])
    expect(n > 1000, "only %d rows on the writers' clients: the writes did not land" % n)


def t_writers_counts():
    expect_counts_consistent(["cli_counts_w", "cli_counts_w2"])
    shards = sql("SELECT COUNT(DISTINCT shard), SUM(live < 0) FROM oauth_token_totals"
                 " WHERE oauth_client_id = %d" % PK["cli_counts_w"])[0].split("\t")
    note("cli_counts_w: %s shards in use, %s counter rows negative" % tuple(shards))


def t_writers_probe():
    now = db_now()
    hh = now - now % 3600
    inst = [now, now + 30, now + 59 * 60, now + 86400, now - 7200]
    for k in range(-2, 8):
        inst += [hh + k * 3600 - 1, hh + k * 3600, hh + k * 3600 + 1]
    for c in ("cli_counts_w", "cli_counts_w2"):
        for ttype in TYPES:
            check_probe(c, ttype, None, inst, now)
    check_probe("cli_counts_w", None, "usr_counts_u2", inst, now)


# ---------------------------------------------------------------- 4. purge

def snapshot():
    """{id: (public_id hex, revoked_at epoch or None, expires_at epoch, client pk)}
    of every token row (all clients)."""
    # TIMESTAMPDIFF, not UNIX_TIMESTAMP: other suites' tokens may expire after
    # 2038, where MariaDB 10.11's UNIX_TIMESTAMP() is NULL.
    out = sql("SELECT id, LOWER(HEX(public_id)),"
              " COALESCE(TIMESTAMPDIFF(SECOND, '1970-01-01', revoked_at), -1),"
              " TIMESTAMPDIFF(SECOND, '1970-01-01', expires_at), oauth_client_id FROM oauth_tokens")
    res = {}
    for l in out:
        a, b, c, d, e = l.split("\t")
        res[int(a)] = (b, None if c == "-1" else int(c), int(d), int(e))
    return res


P_STATE = {}


def t_purge_load():
    now = db_now()
    rng = random.Random(RNG.random())
    s = []
    live = []
    n = 0
    for c in ("cli_counts_p", "cli_counts_p2"):
        for i in range(2500):
            n += 1
            t = "%s-p-%d" % (RUN, n)
            r = rng.random()
            ty = rng.choice(("access_token", "refresh_token"))
            us = rng.choice((None, "usr_counts_u1", "usr_counts_u2"))
            if r < 0.40:     # live for the whole test
                s.append(ins(t, c, ty, us, now + rng.randint(600, 10 * 86400), None))
                live.append(t)
            elif r < 0.65:   # expired, from seconds to days ago
                s.append(ins(t, c, ty, us, now - rng.choice((1, 2, 60, 3600, 86400 * 3))
                             - rng.randint(0, 3600), None))
            elif r < 0.90:   # revoked, expired or not
                s.append(ins(t, c, ty, us, now + rng.randint(-86400, 86400),
                             now - rng.randint(1, 5 * 86400)))
            else:            # revoked, but with a future revoked_at: kept by the purge
                s.append(ins(t, c, ty, us, now + rng.randint(600, 86400), now + 7200))
    sql("\n".join(s))
    rng.shuffle(live)
    revoke = live[: len(live) // 8]
    stay = live[len(live) // 8:]
    P_STATE.update(now=now, revoke=revoke, stay=stay)
    # writers: only insert live tokens and revoke the chosen ones
    scripts = []
    ninsert = 0
    nst = int(os.environ.get("COUNTS_PURGE_WRITER_STATEMENTS", "3000"))
    for k in range(3):
        lines = [SQL_UTC]
        mine = revoke[k::3]
        every = max(2, nst // (len(mine) + 1))
        for i in range(nst):
            if i % every == every - 1 and mine:
                lines.append("UPDATE oauth_tokens SET revoked_at = UTC_TIMESTAMP() WHERE"
                             " token_hash = %s;" % h(mine.pop()))
            else:
                ninsert += 1
                lines.append(ins("%s-pw%d-%d" % (RUN, k, i), ("cli_counts_p", "cli_counts_p2")[i % 2],
                                 rng.choice(("access_token", "refresh_token")),
                                 rng.choice((None, "usr_counts_u1")),
                                 "UTC_TIMESTAMP() + INTERVAL %d SECOND" % rng.randint(600, 86400),
                                 None, scope="pw-" + RUN))
        lines += ["UPDATE oauth_tokens SET revoked_at = UTC_TIMESTAMP() WHERE token_hash = %s;"
                  % h(t) for t in mine]
        scripts.append("\n".join(lines) + "\n")
    P_STATE.update(scripts=scripts, ninsert=ninsert)
    st = sql("SELECT LOWER(HEX(public_id)) FROM oauth_tokens WHERE token_hash IN (%s)"
             % ",".join(h(t) for t in stay))
    P_STATE["stay_ids"] = set(st)
    expect(len(st) == len(stay), "stay-live ids: %d of %d" % (len(st), len(stay)))
    P_STATE["revoke_ids"] = set(sql("SELECT LOWER(HEX(public_id)) FROM oauth_tokens WHERE"
                                    " token_hash IN (%s)" % ",".join(h(t) for t in revoke)))
    check_totals(combos(["cli_counts_p", "cli_counts_p2"]), "after loading")


def run_purge(older):
    # purge runs as its own account (sql/accounts.sql), as an operator would.
    conf = PURGE_CONFIG
    p = subprocess.run([CTL, "--config", conf, "purge", "--older-than", older,
                        "--batch", "50", "--pause-ms", "0", "--json"],
                       capture_output=True, timeout=120)
    if p.returncode != 0:
        raise Fail("autionalctl purge exited %d: %s %s" % (p.returncode, p.stdout[:300],
                                                            p.stderr[-600:]))
    try:
        return json.loads(p.stdout.decode())
    except ValueError:
        raise Fail("purge --json printed %r" % p.stdout[:300])


def t_purge_serving():
    s0 = snapshot()
    P_STATE["s0"] = s0
    with Readers(["cli_counts_p", "cli_counts_p2"], 2) as rd:
        procs = run_writers(P_STATE["scripts"])
        time.sleep(0.3)
        t_launch = time.time()
        # Overlap: every writer still at work when the purge starts (a faster
        # purge may outlive none of them, which proves nothing either way).
        running = sum(1 for p, _, _ in procs if p.poll() is None)
        try:
            rep = run_purge("0")
        finally:
            t_done = time.time()
            errs = wait_writers(procs)
    P_STATE.update(readers=rd, report=rep, t_launch=t_launch, t_done=t_done, s1=snapshot())
    note("purge: %s in %.2f s; readers: %d answers" % (json.dumps(rep, sort_keys=True),
                                                        t_done - t_launch, rd.count))
    expect(not errs, "%d writer statements failed, e.g. %s" % (len(errs), errs[:3]))
    expect(running == len(procs), "only %d of %d writers still ran when the purge started"
           " (the test did not overlap them)" % (running, len(procs)))
    expect(rd.count > 0 and not rd.errors, "%d of %d answers wrong during the purge: %s"
           % (len(rd.errors), rd.count, "; ".join(rd.errors[:4])))


def t_purge_live_kept():
    s1 = P_STATE["s1"]
    now = db_now()
    by_pub = {v[0]: v for v in s1.values()}
    missing = [i for i in P_STATE["stay_ids"] if i not in by_pub]
    expect(not missing, "%d live tokens purged, e.g. tok_%s" % (len(missing), missing[:3]))
    dead = [i for i in P_STATE["stay_ids"] if by_pub[i][1] is not None or by_pub[i][2] <= now]
    expect(not dead, "tokens that should be live are not: %s" % dead[:3])
    n = int(sql("SELECT COUNT(*) FROM oauth_tokens WHERE scope = %s" % q("pw-" + RUN))[0])
    expect(n == P_STATE["ninsert"], "%d of the %d tokens inserted during the purge remain"
           % (n, P_STATE["ninsert"]))


def t_purge_removed_old():
    cut = int(P_STATE["t_launch"])   # the purge's cutoff is at least this
    bad = sql("SELECT COUNT(*), SUM(oauth_client_id IN (%d, %d)) FROM oauth_tokens WHERE"
              " (revoked_at IS NULL AND expires_at < FROM_UNIXTIME(%d))"
              " OR revoked_at < FROM_UNIXTIME(%d)" % (PK["cli_counts_p"], PK["cli_counts_p2"],
                                                      cut, cut))[0].split("\t")
    expect(bad[0] == "0", "%s expired or revoked rows older than the cutoff remain (%s on"
           " cli_counts_p*)" % (bad[0], bad[1]))
    # and it had work to do
    s0 = P_STATE["s0"]
    mine = (PK["cli_counts_p"], PK["cli_counts_p2"])
    old = sum(1 for v in s0.values() if v[3] in mine and
              ((v[1] is not None and v[1] < cut) or (v[1] is None and v[2] < cut)))
    expect(old > 1000, "fixture: only %d purgeable rows" % old)


def t_purge_report():
    s0, s1, rep = P_STATE["s0"], P_STATE["s1"], P_STATE["report"]
    revoke_ids = P_STATE["revoke_ids"]
    t_done = int(P_STATE["t_done"]) + 1
    gone = [i for i in s0 if i not in s1]
    wrong = []
    expired = revoked = 0
    for i in gone:
        pub, rv, ex, cl = s0[i]
        if pub in revoke_ids:
            revoked += 1            # revoked by a writer, then purged
        elif rv is not None:
            revoked += 1
            # Dead if revoked or expired before the purge ended; a row revoked
            # "in the future" that expired long ago is dead on the second count.
            if rv >= t_done and ex >= t_done:
                wrong.append("tok_%s revoked at %d, live until %d" % (pub, rv, ex))
        else:
            expired += 1
            if ex >= t_done:
                wrong.append("tok_%s live until %d" % (pub, ex))
    expect(not wrong, "purged rows that were live: %s" % wrong[:5])
    nclients = int(sql("SELECT COUNT(*) FROM oauth_clients")[0])
    got = {k: rep.get(k) for k in ("expired_deleted", "revoked_deleted", "clients",
                                   "older_than_seconds")}
    want = {"expired_deleted": expired, "revoked_deleted": revoked, "clients": nclients,
            "older_than_seconds": 0}
    expect(got == want, "report %s, rows gone %s" % (got, want))


def t_purge_totals():
    check_totals(combos(["cli_counts_p", "cli_counts_p2"],
                        (None, "usr_counts_u1", "usr_counts_u2")), "after the purge")
    expect_counts_consistent(["cli_counts_p", "cli_counts_p2"])
    now = db_now()
    hh = now - now % 3600
    inst = [now, now + 59 * 60, now + 86400, now - 3600]
    for k in range(-1, 6):
        inst += [hh + k * 3600 - 1, hh + k * 3600, hh + k * 3600 + 1]
    check_probe("cli_counts_p", None, None, inst, now)


def t_purge_counts_all():
    # the purge deletes count rows itself (empty past hours): every client's
    # buckets still match its rows
    expect_counts_consistent(None, "all clients: ")


def t_purge_retention():
    now = db_now()
    c = "cli_counts_p"
    d = 86400
    rows = {   # name: (expires_at, revoked_at, kept by --older-than 1d)
        "exp23h": (now - 23 * 3600, None, True),
        "exp1d-60s": (now - d + 60, None, True),
        "exp1d+60s": (now - d - 60, None, False),
        "exp25h": (now - 25 * 3600, None, False),
        "rev23h": (now + 3600, now - 23 * 3600, True),
        "rev1d-60s": (now + 3600, now - d + 60, True),
        "rev1d+60s": (now + 3600, now - d - 60, False),
        "rev25h-exp23h": (now - 23 * 3600, now - 25 * 3600, False),
        "rev23h-exp25h": (now - 25 * 3600, now - 23 * 3600, False),  # expired > 1 d ago
        "live": (now + 3600, None, True),
        "live-old": (now + 3600, None, True),
    }
    sql("\n".join(ins("%s-ret-%s" % (RUN, k), c, expires=v[0], revoked=v[1],
                      created_ago=(3 * d if k == "live-old" else 60))
                  for k, v in rows.items()))
    s0 = snapshot()
    rep = run_purge("1d")
    s1 = snapshot()
    left = set(sql("SELECT scope FROM oauth_tokens WHERE scope LIKE %s" % q(RUN + "-ret-%")))
    wrong = ["%s %s" % (k, "purged" if v[2] else "kept") for k, v in rows.items()
             if v[2] is not None and ((RUN + "-ret-" + k) in left) != v[2]]
    expect(not wrong, "--older-than 1d: %s" % wrong)
    gone = [i for i in s0 if i not in s1]
    exp = sum(1 for i in gone if s0[i][1] is None)
    want = {"expired_deleted": exp, "revoked_deleted": len(gone) - exp, "older_than_seconds": d}
    got = {k: rep.get(k) for k in want}
    expect(got == want, "report %s, rows gone %s" % (got, want))
    check_totals(combos([c]), "after purge --older-than 1d")
    expect_counts_consistent([c])


R_STATE = {}


def t_purge_revoke_load():
    """cli_counts_r: expired rows in past hours, old revocations and live tokens of
    three users: what a purge deletes and what API revocations scan, side by side."""
    now = db_now()
    hh = now - now % 3600
    rng = random.Random(RNG.random())
    s = []
    for i in range(3000):
        us = USERS[i % 3]
        ty = ("access_token", "refresh_token")[i % 2]
        r = i % 4
        if r == 0:
            s.append(ins("%s-r-%d" % (RUN, i), "cli_counts_r", ty, us,
                         hh - rng.randint(0, 6) * 3600 + rng.randint(0, 3599) - 3600))
        elif r == 1:
            s.append(ins("%s-r-%d" % (RUN, i), "cli_counts_r", ty, us,
                         now - rng.randint(1, 3000)))
        elif r == 2:
            s.append(ins("%s-r-%d" % (RUN, i), "cli_counts_r", ty, us,
                         now + rng.randint(60, 86400), now - rng.randint(60, 3 * 86400)))
        else:
            s.append(ins("%s-r-%d" % (RUN, i), "cli_counts_r", ty, us, now + rng.randint(60, 86400)))
    sql("\n".join(s))
    nst = int(os.environ.get("COUNTS_REVOKE_WRITER_STATEMENTS", "8000"))
    R_STATE["scripts"] = [
        SQL_UTC + "\n".join(ins("%s-rw%d-%d" % (RUN, k, i), "cli_counts_r",
                             ("access_token", "refresh_token")[i % 2], USERS[i % 3],
                             "UTC_TIMESTAMP() + INTERVAL %d SECOND"
                             % (rng.randint(2, 300) if i % 2 else rng.randint(300, 86400)))
                         for i in range(nst)) + "\n"
        for k in range(2)]
    check_totals(combos(["cli_counts_r"]), "after loading")


def t_purge_revoke_run():
    stop = threading.Event()
    lock = threading.Lock()
    api = {"n": 0, "bad": []}

    def revoker(seed):
        rng = random.Random(seed)
        while not stop.is_set():
            query = "user_id=" + rng.choice(USERS)
            if rng.random() < 0.3:
                query += "&token_type=" + rng.choice(("access_token", "refresh_token"))
            try:
                st, j, body = api_delete("cli_counts_r", query)
                ok = st == 200 and isinstance(j, dict) and isinstance(j.get("revoked"), int)
                why = None if ok else "%d %s" % (st, body[:120])
            except Exception as e:
                why = "%s: %s" % (type(e).__name__, e)
            with lock:
                api["n"] += 1
                if why:
                    api["bad"].append("DELETE ?%s: %s" % (query, why))

    threads = [threading.Thread(target=revoker, args=(i + 11,), daemon=True) for i in range(3)]
    procs = run_writers(R_STATE["scripts"])
    for t in threads:
        t.start()
    runs, failed = 0, []
    deadline = time.time() + float(os.environ.get("COUNTS_REVOKE_SECONDS", "8"))
    try:
        while time.time() < deadline:
            runs += 1
            try:
                run_purge("0")
            except Fail as e:
                failed.append(str(e))
    finally:
        stop.set()
        for t in threads:
            t.join(60)
        errs = wait_writers(procs)
    R_STATE.update(api=api, runs=runs, failed=failed,
                   errs=[e for e in errs if e.startswith("ERROR")] or errs)
    note("purge vs API revocations: %d purge runs (%d failed), %d API revocations (%d not 200),"
         " %d writer statement errors" % (runs, len(failed), api["n"], len(api["bad"]),
                                          len(R_STATE["errs"])))
    expect(runs >= 2 and api["n"] >= 20, "too little overlap: %d purges, %d revocations"
           % (runs, api["n"]))


def t_purge_revoke_api():
    api = R_STATE["api"]
    expect(not api["bad"], "%d of %d API revocations failed while purges ran, e.g. %s"
           % (len(api["bad"]), api["n"], api["bad"][:2]))


def t_purge_revoke_purges():
    f = R_STATE["failed"]
    expect(not f, "%d of %d purge runs failed beside API revocations and writers, e.g. %s"
           % (len(f), R_STATE["runs"], f[:1]))


def t_purge_revoke_writers():
    e = R_STATE["errs"]
    expect(not e, "%d token INSERTs failed while purges ran, e.g. %s" % (len(e), e[:2]))


def t_purge_revoke_totals():
    check_totals(combos(["cli_counts_r"], (None,) + USERS), "after purges and revocations")
    expect_counts_consistent(["cli_counts_r"])


# ---------------------------------------------------------------- 5. rebuild

def t_rebuild():
    c = "cli_counts_e"
    keys = combos([c], (None,))
    before = check_totals(keys, "before corrupting")
    n = int(sql("UPDATE oauth_token_totals SET live = live + 5 WHERE oauth_client_id = %d;"
                " SELECT ROW_COUNT();" % PK[c])[0])
    now = db_now()
    hh = now - now % 3600
    got = api_total(c)
    expect(n > 0 and got != before[(c, None, None)],
           "corrupting %d count rows did not show in the total (%d)" % (n, got))
    note("corrupted: API total %d, rows %d, %d counter rows" % (got, before[(c, None, None)], n))
    sql("CALL oauth_token_counts_rebuild();")
    check_totals(combos(["cli_counts_b", "cli_counts_e", "cli_counts_e2", "cli_counts_w",
                         "cli_counts_w2", "cli_counts_p", "cli_counts_p2", "cli_counts_r"]),
                 "after the rebuild")
    expect_counts_consistent(None, "after the rebuild: ")
    check_probe(c, None, None, [now, hh + 3600, hh + 3599, hh + 7200, now + 86400], now)


def scratch_config():
    path = os.path.join(WORK, "scratch.conf")
    with open(APP_CONFIG) as f:
        lines = [l for l in f if l.split("=")[0].strip() not in ("db_name", "db_user", "db_password")]
    lines += ["db_name = %s\n" % SCRATCH_DB, "db_user = %s\n" % DB_USER]
    with open(path, "w") as f:
        f.writelines(lines)
    return path


def t_truncate_scratch():
    """TRUNCATE skips the triggers: on a scratch database (never the shared one) the
    total goes stale as documented, and the rebuild makes it exact again."""
    global APP_CONFIG
    sql("DROP DATABASE IF EXISTS %s; CREATE DATABASE %s CHARACTER SET utf8mb4;"
        % (SCRATCH_DB, SCRATCH_DB))
    saved_pk, saved_conf = dict(PK), APP_CONFIG
    try:
        for f in sorted(os.listdir(os.path.join(SRCDIR, "sql"))):
            if f[0].isdigit() and f.endswith(".sql"):
                with open(os.path.join(SRCDIR, "sql", f)) as fh:
                    sql(fh.read(), db=SCRATCH_DB)
        sql("INSERT INTO tenants (public_id, name) VALUES ('ten_s', 's');"
            "INSERT INTO oauth_clients (client_id, tenant_id) VALUES ('cli_s', LAST_INSERT_ID());",
            db=SCRATCH_DB)
        PK["cli_counts_s"] = int(sql("SELECT id FROM oauth_clients", db=SCRATCH_DB)[0])
        now = db_now()
        sql("\n".join(ins("s-%d" % i, "cli_counts_s", expires=now + 600 + i * 900)
                      for i in range(20)), db=SCRATCH_DB)
        APP_CONFIG = scratch_config()
        inst = [now, now + 3600, now + 86400]
        got = probe("cli_counts_s", None, None, inst)
        expect(got[now] == 20, "scratch: total %s before TRUNCATE" % got)
        sql("SET FOREIGN_KEY_CHECKS = 0; TRUNCATE TABLE oauth_tokens;", db=SCRATCH_DB)
        got = probe("cli_counts_s", None, None, inst)
        note("scratch: after TRUNCATE the store says %s (rows: 0)" % got)
        expect(got[now] > 0, "TRUNCATE did not leave the counts stale (%s): is the"
               " documented limitation gone?" % got)
        sql("CALL oauth_token_counts_rebuild();", db=SCRATCH_DB)
        got = probe("cli_counts_s", None, None, inst)
        expect(all(v == 0 for v in got.values()), "after the rebuild: %s" % got)
    finally:
        APP_CONFIG = saved_conf
        PK.clear()
        PK.update(saved_pk)
        sql("DROP DATABASE IF EXISTS %s;" % SCRATCH_DB)


# ---------------------------------------------------------------- 6. the sweeper (issue 10)

SWEEP_CLIENTS = ("cli_counts_sw", "cli_counts_sr")


def run_sweep(batch=None, config=None):
    """`autionalctl sweep --json` as the purge account (sql/accounts.sql); its report."""
    args = [CTL, "--config", config or PURGE_CONFIG, "sweep", "--json"]
    if batch:
        args[4:4] = ["--batch", str(batch)]
    p = subprocess.run(args, capture_output=True, timeout=120)
    if p.returncode != 0:
        raise Fail("autionalctl sweep exited %d: %s %s" % (p.returncode, p.stdout[:300],
                                                            p.stderr[-600:]))
    try:
        return json.loads(p.stdout.decode())
    except ValueError:
        raise Fail("sweep --json printed %r" % p.stdout[:300])


def swept_count(client):
    return int(sql("SELECT COUNT(*) FROM oauth_tokens WHERE oauth_client_id = %d AND swept"
                   % PK[client])[0])


def sweep_check(client, what):
    """Totals of one client, every filter, against COUNT(*): through the API now,
    through the store at instants from 2 h in the past to 2 days ahead (the
    swept-but-unexpired range makes past instants exact too), and the totals
    table against the rows."""
    check_totals(combos([client], (None, "usr_counts_u1")), what)
    now = db_now()
    hh = now - now % 3600
    inst = [now, now + 1, now + 2, now + 60, now + 3600, now + 2 * 86400, now - 1, now - 5,
            now - 120, now - 7200, hh, hh + 3600]
    for ttype in TYPES:
        check_probe(client, ttype, None, inst, now, what + ": ")
    check_probe(client, None, "usr_counts_u1", inst, now, what + ": ")
    expect_counts_consistent([client], what + ": ")


def t_sweep_never_ran():
    """Everything above ran without a sweep: no token of this suite is swept, and
    expired unswept tokens were there to subtract (the slow path was exercised)."""
    ids = ",".join(str(PK[c]) for c in CLIENTS)
    row = sql("SELECT SUM(swept), SUM(revoked_at IS NULL AND NOT swept"
              " AND expires_at <= UTC_TIMESTAMP()) FROM oauth_tokens"
              " WHERE oauth_client_id IN (%s)" % ids)[0].split("\t")
    expect(row[0] in ("0", "NULL") and int(row[1]) > 0,
           "swept %s, expired unswept %s: the sections above were not sweep-free" % tuple(row))


SW_STEPS = []


def t_sweep_load():
    c = "cli_counts_sw"
    now = db_now()
    base = [  # name, type, user, expires, revoked
        ("soon1", "access_token", "usr_counts_u1", now + 2, None),
        ("soon2", "refresh_token", "usr_counts_u1", now + 2, None),
        ("soon3", "access_token", None, now + 3, None),
        ("soon4", "refresh_token", "usr_counts_u2", now + 3, None),
        ("soon5", "access_token", "usr_counts_u1", now + 3, None),
        ("soon6", "access_token", "usr_counts_u1", now + 3, None),
        ("old1", "access_token", "usr_counts_u1", now - 3600, None),
        ("old2", "refresh_token", None, now - 60, None),
        ("rev1", "access_token", "usr_counts_u1", now + 7200, now - 10),
        ("live1", "access_token", "usr_counts_u1", now + 600, None),
        ("live2", "refresh_token", "usr_counts_u2", now + 86400, None),
        ("live3", "access_token", "usr_counts_u1", now + 5000, None),
    ]
    sql("\n".join(ins("%s-sw-%s" % (RUN, n), c, ty, us, ex, rv, scope="sw-" + n)
                  for n, ty, us, ex, rv in base))
    sweep_check(c, "loaded, not swept")
    while db_now() <= now + 3:
        time.sleep(0.2)
    rep = run_sweep()
    n = swept_count(c)
    expect(n == 8 and rep.get("swept", 0) >= 8, "swept %d of 8 expired tokens (report %s)"
           % (n, rep))
    sweep_check(c, "after the first sweep")
    T = lambda n: "token_hash = " + h("%s-sw-%s" % (RUN, n))
    SW_STEPS[:] = [
        ("revoke a swept token (revoked after expiry)",
         "UPDATE oauth_tokens SET revoked_at = UTC_TIMESTAMP() WHERE %s;" % T("soon1")),
        ("un-revoke it again", "UPDATE oauth_tokens SET revoked_at = NULL WHERE %s;" % T("soon1")),
        ("move a swept token's expiry into the future (alive again)",
         "UPDATE oauth_tokens SET expires_at = UTC_TIMESTAMP() + INTERVAL 2 HOUR WHERE %s;"
         % T("soon2")),
        ("move a swept token's expiry to another past instant",
         "UPDATE oauth_tokens SET expires_at = UTC_TIMESTAMP() - INTERVAL 1 DAY WHERE %s;"
         % T("soon3")),
        ("change a swept token's type", "UPDATE oauth_tokens SET token_type = 'refresh_token'"
         " WHERE %s;" % T("soon5")),
        ("move a swept token to another client and back", "UPDATE oauth_tokens SET"
         " oauth_client_id = %d WHERE %s; UPDATE oauth_tokens SET oauth_client_id = %d WHERE %s;"
         % (PK["cli_counts_sr"], T("soon6"), PK[c], T("soon6"))),
        ("DELETE a swept token", "DELETE FROM oauth_tokens WHERE %s;" % T("soon4")),
        ("DELETE an expired token not swept yet",
         ins("%s-sw-late" % RUN, c, expires="UTC_TIMESTAMP() - INTERVAL 5 SECOND")
         + "DELETE FROM oauth_tokens WHERE %s;" % T("late")),
        ("a writer sets swept on a live token (not the sweeper's job: still exact)",
         "UPDATE oauth_tokens SET swept = TRUE WHERE %s;" % T("live1")),
        ("a writer clears swept on an expired token",
         "UPDATE oauth_tokens SET swept = FALSE WHERE %s;" % T("old1")),
        ("revoke a live token", "UPDATE oauth_tokens SET revoked_at = UTC_TIMESTAMP() WHERE %s;"
         % T("live2")),
        ("INSERT an expired and a live token",
         ins("%s-sw-new1" % RUN, c, expires="UTC_TIMESTAMP() - INTERVAL 1 MINUTE")
         + ins("%s-sw-new2" % RUN, c, "refresh_token", "usr_counts_u1",
               expires="UTC_TIMESTAMP() + INTERVAL 3 HOUR")),
        ("a rolled back transaction that swept, revoked and deleted",
         "START TRANSACTION; UPDATE oauth_tokens SET swept = TRUE WHERE %s;"
         " UPDATE oauth_tokens SET revoked_at = UTC_TIMESTAMP() WHERE %s;"
         " DELETE FROM oauth_tokens WHERE %s; ROLLBACK;" % (T("live3"), T("soon1"), T("old2"))),
        ("purge --older-than 0 (deletes swept and unswept expired tokens)", None),
    ]


def sweep_step(what, stmt, sweep_after):
    """One change; then, when sweep_after, a sweep; the totals exact after each."""
    if stmt is None:
        run_purge("0")
    else:
        sql(stmt)
    sweep_check("cli_counts_sw", what + " (before any sweep)")
    if sweep_after:
        run_sweep()
        sweep_check("cli_counts_sw", what + ", then a sweep")


def t_sweep_unswept():
    """A swept token whose expiry moved into the future is unmarked by the next sweep."""
    n = int(sql("SELECT COUNT(*) FROM oauth_tokens WHERE oauth_client_id = %d AND swept"
                " AND revoked_at IS NULL AND expires_at > UTC_TIMESTAMP()" % PK["cli_counts_sw"])[0])
    expect(n == 0, "%d unexpired tokens still marked swept after a sweep" % n)


def purge_config_servers():
    """The servers of PURGE_CONFIG's db_servers (a Galera stage's nodes), or []."""
    with open(PURGE_CONFIG) as f:
        for line in f:
            k, eq, v = line.partition("=")
            if eq and k.strip() == "db_servers":
                return [s.strip() for s in v.split(",") if s.strip()]
    return []


def t_sweep_folded():
    """After a sweep with no writer busy, this node's counter rows of the suite's
    clients are one per (client, type): the node's own row (connection part 0),
    next to the rebuild's shard 0; the sum is unchanged (checked by the totals).
    With the program on several Galera nodes (db_servers), each node has counter
    rows of its own and a sweep folds its own node's: it runs on every node, and
    every node's rows are folded."""
    ids = ",".join(str(PK[c]) for c in CLIENTS)
    servers = purge_config_servers()
    if not servers:
        run_sweep()
        node = sql("SELECT CRC32(CONCAT(@@hostname, ':', @@port, ':', @@datadir))")[0]
        mine = "shard <> %s << 32" % node
    else:
        with open(PURGE_CONFIG) as f:
            lines = [l for l in f if l.partition("=")[0].strip() != "db_servers"]
        for i, server in enumerate(servers):
            one = os.path.join(WORK, "purge-node%d.conf" % i)
            fd = os.open(one, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write("".join(lines) + "db_socket = %s\n" % server)
            run_sweep(config=one)
        mine = "(shard & 0xFFFFFFFF) <> 0"
    bad = sql("SELECT oauth_client_id, token_type, shard >> 32, shard & 0xFFFFFFFF, live"
              " FROM oauth_token_totals WHERE oauth_client_id IN (%s) AND shard <> 0"
              " AND %s" % (ids, mine))
    expect(not bad, "counter rows left unfolded: %s" % bad[:5])
    check_totals(combos(list(CLIENTS[1:]), (None,)), "after folding")
    expect_counts_consistent(None, "all clients after folding: ")


def t_sweep_fold_ends():
    """A sweep's fold takes each counter row once, whatever --batch: rows the
    writers make again while it folds wait for the next sweep.  4 writer
    connections insert tokens of cli_counts_sf throughout sweeps with --batch 1
    back to back: each folds at most the rows there were when it started, plus
    its own (it marks tokens of every client, up to 2 rows a client), and ends
    while the writers still write; the totals stay exact.  (A fold that took
    whatever it found until a batch came back short chased the writers: 1,000
    to 10,000 rows in one sweep, in some of the sweeps.)"""
    c = "cli_counts_sf"
    scripts = [SQL_UTC + "\n".join(
        ins("%s-sf%d-%d" % (RUN, k, i), c, ("access_token", "refresh_token")[i % 2],
            expires="UTC_TIMESTAMP() + INTERVAL 1 DAY") for i in range(15000)) + "\n"
        for k in range(4)]
    procs = run_writers(scripts)
    sweeps, chased = [], []
    try:
        deadline = time.time() + 20
        while int(sql("SELECT COUNT(DISTINCT shard) FROM oauth_token_totals"
                      " WHERE oauth_client_id = %d" % PK[c])[0]) < 4:
            expect(time.time() < deadline, "the 4 writers wrote no counter rows in 20 s")
            time.sleep(0.05)
        clients = int(sql("SELECT COUNT(*) FROM oauth_clients")[0])
        while len(sweeps) < 10:
            before = int(sql("SELECT COUNT(*) FROM oauth_token_totals"
                             " WHERE (shard & 0xFFFFFFFF) <> 0")[0])
            rep = run_sweep(1)
            if all(p.poll() is not None for p, _, _ in procs):
                break                     # the writers were done before this sweep was
            sweeps.append(rep["rows_folded"])
            if rep["rows_folded"] > before + 2 * clients:
                chased.append("%d rows folded, %d there at its start"
                              % (rep["rows_folded"], before))
    finally:
        errs = wait_writers(procs)
    expect(not errs, "writer statements failed: %s" % errs[:3])
    note("sweeps --batch 1 beside 4 writers, rows folded by each: %s" % sweeps)
    expect(len(sweeps) >= 3, "only %d sweeps ended while the writers wrote: nothing proved"
           % len(sweeps))
    expect(not chased, "the fold chased the writers (%d clients, at most 2 rows each of"
           " its own): %s" % (clients, "; ".join(chased[:3])))
    check_totals(combos([c], (None,)), "after the sweeps beside writers")
    expect_counts_consistent([c], "after the sweeps beside writers: ")

def t_shards_per_connection():
    """The 4 writer connections of section 3 wrote 4 different counter rows of
    cli_counts_w (before any sweep or rebuild folded them), all of this server's node."""
    node = sql("SELECT CRC32(CONCAT(@@hostname, ':', @@port, ':', @@datadir))")[0]
    rows = sql("SELECT shard >> 32, shard & 0xFFFFFFFF FROM oauth_token_totals"
               " WHERE oauth_client_id = %d AND shard <> 0" % PK["cli_counts_w"])
    conns = {r.split("\t")[1] for r in rows}
    nodes = {r.split("\t")[0] for r in rows}
    expect(len(conns) >= 4 and nodes == {node},
           "connections %s, nodes %s (this node %s)" % (sorted(conns), nodes, node))


SR_STATE = {}


def t_sweep_race_load():
    """cli_counts_sr: 3000 tokens expiring within seconds, live tokens, and
    writer scripts that revoke, delete, revive and insert those very tokens."""
    c = "cli_counts_sr"
    now = db_now()
    rng = random.Random(RNG.random())
    names = ["%s-sr-%d" % (RUN, i) for i in range(3000)]
    s = []
    for i, t in enumerate(names):
        ex = now + 1 + i % 6 if i % 4 else now + rng.randint(600, 86400)
        s.append(ins(t, c, ("access_token", "refresh_token")[i % 2],
                     (None, "usr_counts_u1", "usr_counts_u2")[i % 3], ex, None))
    sql("\n".join(s))
    scripts = []
    for k in range(3):
        lines = [SQL_UTC]
        for i in range(1500):
            t = "token_hash = " + h(rng.choice(names))
            r = rng.random()
            if r < 0.35:
                lines.append("UPDATE oauth_tokens SET revoked_at = UTC_TIMESTAMP() WHERE %s;" % t)
            elif r < 0.45:
                lines.append("UPDATE oauth_tokens SET revoked_at = NULL WHERE %s;" % t)
            elif r < 0.55:
                lines.append("DELETE FROM oauth_tokens WHERE %s;" % t)
            elif r < 0.70:
                lines.append("UPDATE oauth_tokens SET expires_at = UTC_TIMESTAMP() + INTERVAL %d"
                             " SECOND WHERE %s;" % (rng.choice((-30, 1, 2, 3, 600)), t))
            elif r < 0.75:
                lines.append("UPDATE oauth_tokens SET token_type = IF(token_type ="
                             " 'access_token', 'refresh_token', 'access_token') WHERE %s;" % t)
            else:
                lines.append(ins("%s-srw%d-%d" % (RUN, k, i), c,
                                 rng.choice(("access_token", "refresh_token")),
                                 rng.choice((None, "usr_counts_u1")),
                                 "UTC_TIMESTAMP() + INTERVAL %d SECOND" % rng.randint(1, 8), None))
        scripts.append("\n".join(lines) + "\n")
    SR_STATE["scripts"] = scripts
    check_totals(combos([c]), "after loading")


def t_sweep_race_run():
    """Writers on 3 connections, API readers, sweeps back to back (batch 50) and a
    purge in the middle of them, all on the same tokens; then exact totals."""
    c = "cli_counts_sr"
    sweeps, purges, failed = 0, 0, []
    with Readers([c, "cli_counts_w"], 2) as rd:
        procs = run_writers(SR_STATE["scripts"])
        deadline = time.time() + float(os.environ.get("COUNTS_SWEEP_SECONDS", "10"))
        try:
            while time.time() < deadline and any(p.poll() is None for p, _, _ in procs):
                try:
                    run_sweep(50)
                    sweeps += 1
                    if sweeps % 3 == 0:
                        run_purge("0")
                        purges += 1
                except Fail as e:
                    failed.append(str(e))
        finally:
            errs = wait_writers(procs)
    note("sweep race: %d sweeps, %d purges between them, %d API answers, %d swept now;"
         " writers' statements run again after losing a row to another node (cluster"
         " only), in this suite so far: %d"
         % (sweeps, purges, rd.count, swept_count(c), WRITER_RERUNS["settled"]))
    failures = [e for e in errs if e.startswith("ERROR")] or errs
    expect(not errs, "%d writer statements failed beside the sweeps (the counting must not"
           " make writers conflict), e.g. %s" % (len(failures), failures[:3]))
    expect(not failed, "%d of %d sweeps/purges failed, e.g. %s" % (len(failed), sweeps, failed[:1]))
    expect(sweeps >= 3 and purges >= 1, "too little overlap: %d sweeps, %d purges" % (sweeps, purges))
    expect(rd.count > 0 and not rd.errors, "%d of %d answers wrong during the sweeps: %s"
           % (len(rd.errors), rd.count, "; ".join(rd.errors[:3])))
    sweep_check(c, "after the race")
    run_sweep()
    sweep_check(c, "after the race and one more sweep")


# ---------------------------------------------------------------- 7. migration 004

MIG_OLD, MIG_NEW = "autional_counts_mig_old", "autional_counts_mig_new"


def schema_lines(db):
    """Tables, columns, indexes, triggers and routines of db, comparable across databases."""
    out = sql("SELECT CONCAT_WS(' ', table_name, ordinal_position, column_name, column_type,"
              " is_nullable, COALESCE(column_default, '-'), extra) FROM information_schema.columns"
              " WHERE table_schema = %s ORDER BY table_name, ordinal_position" % q(db))
    out += sql("SELECT CONCAT_WS(' ', table_name, index_name, non_unique, seq_in_index,"
               " column_name) FROM information_schema.statistics WHERE table_schema = %s"
               " ORDER BY table_name, index_name, seq_in_index" % q(db))
    out += sql("SELECT CONCAT_WS(' ', trigger_name, action_timing, event_manipulation,"
               " event_object_table, REPLACE(action_statement, '\\n', ' ')) FROM information_schema.triggers"
               " WHERE trigger_schema = %s ORDER BY 1" % q(db))
    out += sql("SELECT CONCAT_WS(' ', routine_name, routine_type, REPLACE(routine_definition,"
               " '\\n', ' ')) FROM information_schema.routines WHERE routine_schema = %s ORDER BY 1"
               % q(db))
    return out


def apply_migrations(db, upto=None, since=None):
    """sql/NNN_*.sql in order, those with upto >= NNN >= since."""
    for f in sorted(os.listdir(os.path.join(SRCDIR, "sql"))):
        if not (f[0].isdigit() and f.endswith(".sql")):
            continue
        v = int(f.split("_")[0])
        if (upto is not None and v > upto) or (since is not None and v < since):
            continue
        with open(os.path.join(SRCDIR, "sql", f)) as fh:
            sql(fh.read(), db=db)


def t_migrate_existing():
    """A database with 001-003 and tokens (live, expired, revoked, both types, two
    clients), migrated by 004, has the schema of a fresh install, its expired tokens
    swept, totals equal to COUNT(*) at many instants, and consistent counters;
    running 004 again changes nothing."""
    global APP_CONFIG, SCRATCH_DB
    saved = (dict(PK), APP_CONFIG, SCRATCH_DB)
    try:
        for db in (MIG_OLD, MIG_NEW):
            sql("DROP DATABASE IF EXISTS %s; CREATE DATABASE %s CHARACTER SET utf8mb4;" % (db, db))
        apply_migrations(MIG_NEW)
        apply_migrations(MIG_OLD, upto=3)
        sql("INSERT INTO tenants (public_id, name) VALUES ('ten_m', 'm');"
            "SET @t = LAST_INSERT_ID();"
            "INSERT INTO oauth_clients (client_id, tenant_id) VALUES ('cli_m1', @t), ('cli_m2', @t);",
            db=MIG_OLD)
        for l in sql("SELECT client_id, id FROM oauth_clients", db=MIG_OLD):
            a, b = l.split("\t")
            PK["cli_counts_" + a] = int(b)
        now = db_now()
        rng = random.Random(RNG.random())
        s = []
        for i in range(600):
            c = ("cli_counts_cli_m1", "cli_counts_cli_m2")[i % 2]
            r = rng.random()
            ex = now + rng.randint(-5 * 86400, 5 * 86400)
            rv = now - rng.randint(1, 86400) if r < 0.2 else None
            s.append(ins("m-%d" % i, c, ("access_token", "refresh_token")[i % 3 == 0],
                         None, ex, rv))
        sql("\n".join(s), db=MIG_OLD)
        apply_migrations(MIG_OLD, since=4)    # 004 and whatever came after it
        mine, fresh = schema_lines(MIG_OLD), schema_lines(MIG_NEW)
        diff = [l for l in mine if l not in fresh] + [l for l in fresh if l not in mine]
        expect(not diff, "migrated schema differs from a fresh one: %s" % diff[:3])
        left = sql("SELECT COUNT(*) FROM oauth_tokens WHERE revoked_at IS NULL AND NOT swept"
                   " AND expires_at <= UTC_TIMESTAMP() - INTERVAL 5 SECOND", db=MIG_OLD)[0]
        expect(left == "0", "%s expired tokens not swept by the migration" % left)
        SCRATCH_DB = MIG_OLD
        APP_CONFIG = scratch_config()
        inst = [now, now + 1, now - 86400, now - 3 * 86400, now + 3600, now + 3 * 86400, now + 9 * 86400]

        def exact(what):
            bad = []
            for c in ("cli_counts_cli_m1", "cli_counts_cli_m2"):
                for ttype in TYPES:
                    got = probe(c, ttype, None, inst)
                    tf = " AND token_type = '%s'" % ttype if ttype else ""
                    for e in inst:
                        want = int(sql("SELECT COUNT(*) FROM oauth_tokens WHERE oauth_client_id = %d"
                                       " AND revoked_at IS NULL AND expires_at > FROM_UNIXTIME(%d)%s"
                                       % (PK[c], e, tf), db=MIG_OLD)[0])
                        if got[e] != want:
                            bad.append("%s %s at now%+d: %d, COUNT(*) %d"
                                       % (c, ttype or "any", e - now, got[e], want))
            mism = sql("SELECT c, ty, SUM(n) FROM (SELECT oauth_client_id c, token_type ty, live n"
                       " FROM oauth_token_totals UNION ALL SELECT oauth_client_id, token_type, -1"
                       " FROM oauth_tokens WHERE revoked_at IS NULL AND NOT swept) x"
                       " GROUP BY c, ty HAVING SUM(n) <> 0", db=MIG_OLD)
            expect(not bad and not mism, "%s: %s %s" % (what, bad[:4], mism))
        exact("after migrating")
        apply_migrations(MIG_OLD, since=4, upto=4)
        expect(schema_lines(MIG_OLD) == mine, "running 004 again changed the schema")
        exact("after running 004 again")
    finally:
        PK.clear()
        PK.update(saved[0])
        APP_CONFIG, SCRATCH_DB = saved[1], saved[2]
        sql("DROP DATABASE IF EXISTS %s; DROP DATABASE IF EXISTS %s;" % (MIG_OLD, MIG_NEW))


# ---------------------------------------------------------------- main

def main():
    require("BASE_URL", "DB_SOCKET", "DB_NAME", "APP_CONFIG", "BUILDDIR")
    t0 = time.time()
    note("random choices: COUNTS_SEED=%d" % SEED)
    test("fixture: tenant, users, clients of this suite (DELETE of earlier rows)", t_fixture)
    if failed():
        return summary()
    test("boundaries: store total = COUNT(*) at hour boundaries -1/0/+1 s, now, +59 min,"
         " +1 d, the past; per type and user", t_boundaries)
    test("boundaries: API totals = COUNT(*) now, per type and user", t_boundaries_api)
    test("changes: fixture on cli_counts_e / cli_counts_e2", t_changes)
    if E_STEPS:
        test("changes: tokens expiring 2 s ahead leave the totals between two requests",
             expire_between)
        for what, stmt in E_STEPS:
            test("changes: " + what, run_step, what, stmt)
        test("changes: API revocation by user filter", api_revoke, "user_id=usr_counts_u1")
        test("changes: API revocation of one token by id", api_revoke_one)
    test("changes: a token that expired at second S is not counted by a request made"
         " just after S by the clock the database reads", t_second_boundary)
    test("writers: fixture and scripts", t_writers_load)
    if "scripts" in W_STATE:
        test("writers: 4 concurrent writer connections, no statement failed", t_writers)
    if "readers" in W_STATE:
        test("writers: every API answer during the writes was 200 and consistent",
             t_writers_readers)
        test("writers: API totals = COUNT(*) after the writes (type x user)", t_writers_after)
        test("writers: oauth_token_totals per (client, type) = unrevoked, unswept rows",
             t_writers_counts)
        test("writers: store totals = COUNT(*) at boundary instants after the writes",
             t_writers_probe)
        test("shards: each writer connection writes its own counter row, all of this node",
             t_shards_per_connection)
    test("purge: fixture (live, expired, revoked) and writer scripts", t_purge_load)
    if "scripts" in P_STATE:
        test("purge: --older-than 0 --batch 50 while writers insert/revoke and the API reads",
             t_purge_serving)
    if "s1" in P_STATE:
        test("purge: every token live throughout is still there and live", t_purge_live_kept)
        test("purge: no expired or revoked row older than the cutoff remains", t_purge_removed_old)
        test("purge: --json numbers equal the rows that disappeared, none of them live",
             t_purge_report)
        test("purge: totals exact and counts consistent afterwards", t_purge_totals)
        test("purge: counts consistent for every client", t_purge_counts_all)
    test("purge: --older-than 1d keeps what expired or was revoked less than a day ago",
         t_purge_retention)
    test("purge: fixture for purges beside API revocations (cli_counts_r)", t_purge_revoke_load)
    if "scripts" in R_STATE:
        test("purge: repeated purges while the API revokes by filter and writers insert",
             t_purge_revoke_run)
    if "api" in R_STATE:
        test("purge: every API revocation during the purges answered 200", t_purge_revoke_api)
        test("purge: every purge run beside API revocations completed", t_purge_revoke_purges)
        test("purge: no writer INSERT failed during the purges", t_purge_revoke_writers)
        test("purge: totals exact and counts consistent after purges and revocations",
             t_purge_revoke_totals)
    test("rebuild: corrupted counts of one client show, CALL oauth_token_counts_rebuild()"
         " makes every total exact", t_rebuild)
    test("rebuild: TRUNCATE on a scratch database leaves stale counts; the rebuild fixes them",
         t_truncate_scratch)
    main_sweep()
    note("took %.1f s" % (time.time() - t0))
    return summary()


def main_sweep():
    """Sections 6 and 7 (issue 10): the sweeper and migration 004."""
    test("sweep: everything above ran with the sweeper never run (expired tokens unswept)",
         t_sweep_never_ran)
    test("sweep: fixture on cli_counts_sw, swept after expiry", t_sweep_load)
    for what, stmt in SW_STEPS:
        test("sweep: " + what + ", exact before and after a sweep", sweep_step, what, stmt, True)
    if SW_STEPS:
        test("sweep: an unexpired token is never left swept", t_sweep_unswept)
    test("sweep: fixture for the race (cli_counts_sr)", t_sweep_race_load)
    if "scripts" in SR_STATE:
        test("sweep: writers on 3 connections, readers, sweeps and purges on the same tokens",
             t_sweep_race_run)
    test("sweep: folds this node's counter rows into one per (client, type)", t_sweep_folded)
    test("sweep: --batch 1 beside 4 writers folds each counter row once and ends",
         t_sweep_fold_ends)
    test("migration 004 of a database with 001-003 and tokens = a fresh install, totals exact",
         t_migrate_existing)


if __name__ == "__main__":
    sys.exit(main())
