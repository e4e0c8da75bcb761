#!/usr/bin/env python3
# frontends: lighttpd
"""test_cli.py: whole-stack tests of autionalctl, the operator's command line.

Runs the built autionalctl against the private MariaDB (every command, its
success and its error paths, exit statuses, --json output), and uses the API
behind the web server to show that what the command line does takes effect:
an issued administrator's access token gets 200, a revoked one 401, and the
API's responses validate against docs/openapi.yaml (openapi_check.py).
Cleans up its own rows (ids *_ctl_*) first, so it can run again and again and
against any front end.  Standard library, plus python3-yaml and
python3-jsonschema for the OpenAPI checks.

Environment (the same contract as test_tokens.py; see tests/run):
  BASE_URL       http://127.0.0.1:18080 (required)
  DB_SOCKET      MariaDB unix socket (required)
  DB_NAME        database name (required)
  DB_USER        administrative MariaDB account on that socket (default root)
  APP_CONFIG     the program's config (required)
  CTL_CONFIG     autionalctl's, as the schema owner (default APP_CONFIG)
  PURGE_CONFIG   autionalctl purge's (default CTL_CONFIG)
  BUILDDIR       the build directory (autionalctl is BUILDDIR/src/autionalctl),
                 or AUTIONALCTL the program itself
  SRCDIR         the checkout (default: two levels above this file)
  APP_LOG        file that collects the program's stderr (optional)
  WORK           scratch directory (optional)

Prints `ok - <name>` or `not ok - <name>: <why>` per check, then
`N passed, N failed`; exits 1 if any check failed.
"""

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
from stacklib import *  # noqa: E402,F401,F403

WORK = WORK or tempfile.mkdtemp(prefix="test_cli.")
CTL = os.environ.get("AUTIONALCTL") or os.path.join(BUILDDIR, "src", "autionalctl")

LIST_TEMPLATE = "/admin/oauth/clients/{client_id}/tokens"
ONE_TEMPLATE = "/admin/oauth/clients/{client_id}/tokens/{token_id}"
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
TOKEN_ID_RE = re.compile(r"^tok_[0-9a-f]{32}$")
AUDIT_TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
COMMANDS = ("migrate", "tenant create", "tenant list", "tenant show", "tenant update",
            "tenant delete", "user create", "user list", "user show", "user update",
            "user delete", "client create", "client list", "client show", "client update",
            "client delete", "token issue", "token list", "token show", "token revoke",
            "purge", "sweep", "audit")

# The suite's own ids.
TA, TB = "ten_ctl_a", "ten_ctl_b"
UA_ADMIN, UA_MEMBER, UB_ADMIN = "usr_ctl_a_admin", "usr_ctl_a_member", "usr_ctl_b_admin"
C_CONSOLE, C_WEB, C_OTHER, C_B = "cli_ctl_a_console", "cli_ctl_a_web", "cli_ctl_a_other", "cli_ctl_b_web"
MIG_DB = (DB_NAME + "_ctl_mig")[:60]
MIG_USER = "ctl_migrator"
NOAUDIT_USER = "ctl_noaudit"

BAD_IDS = ["", "has space", "quote'", 'dq"', "semi;colon", "x" * 65, "tab\tid", "ünï",
           "a/b", "x'; DROP TABLE tenants; --", "%41", "new\nline"]



def bad_lookups(make_args, option, missing):
    """An option naming an existing object, given each of BAD_IDS: a usage error
    (2) for what cannot be an id at all (empty, control characters, a user id
    over its 64 bytes), else exit 1 saying `missing` (ids create refuses may
    still exist: issuers write them)."""
    for bad in BAD_IDS:
        if bad == "" or any(ord(c) < 32 for c in bad) or (
                option == "--user" and len(bad.encode()) > 64):
            usage_error(ctl(*make_args(bad)), option)
        else:
            failure(ctl(*make_args(bad)), missing)


ISSUED = []          # every token text issued, for the secrets scans
SHARED = {}          # values one test leaves for the next

try:
    import openapi_check
    OPENAPI_ERROR = None
except Exception as e:  # python3-yaml or python3-jsonschema missing
    openapi_check = None
    OPENAPI_ERROR = "%s: %s (install python3-yaml python3-jsonschema)" % (type(e).__name__, e)


# ---------------------------------------------------------------- database

def counts():
    """Row counts that a failed command must not change."""
    return sql1("SELECT CONCAT_WS(' ', (SELECT COUNT(*) FROM tenants),"
                " (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM oauth_clients),"
                " (SELECT COUNT(*) FROM oauth_tokens),"
                " (SELECT COUNT(*) FROM oauth_tokens WHERE revoked_at IS NOT NULL),"
                " (SELECT COUNT(*) FROM audit_events))")


def token_row(token_id):
    """One oauth_tokens row by public id, as a dict (None when absent)."""
    rows = sql("SELECT JSON_OBJECT('hash', LOWER(HEX(k.token_hash)), 'type', k.token_type,"
               " 'client', c.client_id, 'user', u.public_id, 'scope', k.scope,"
               " 'lifetime', TIMESTAMPDIFF(SECOND, k.created_at, k.expires_at),"
               " 'age', TIMESTAMPDIFF(SECOND, k.created_at, UTC_TIMESTAMP()),"
               " 'revoked', k.revoked_at IS NOT NULL)"
               " FROM oauth_tokens k JOIN oauth_clients c ON c.id = k.oauth_client_id"
               " LEFT JOIN users u ON u.id = k.user_id"
               " WHERE k.public_id = UNHEX(%s)" % q(token_id[4:]))
    return json.loads(rows[0]) if rows else None


def active_count(client, user=None, ttype=None):
    where = ""
    if user:
        where += " AND u.public_id = %s" % q(user)
    if ttype:
        where += " AND k.token_type = %s" % q(ttype)
    return int(sql1("SELECT COUNT(*) FROM oauth_tokens k JOIN oauth_clients c"
                    " ON c.id = k.oauth_client_id LEFT JOIN users u ON u.id = k.user_id"
                    " WHERE c.client_id = %s AND k.revoked_at IS NULL"
                    " AND k.expires_at > UTC_TIMESTAMP()%s" % (q(client), where)))


def last_audit(client):
    """The newest audit row the command line wrote for a client."""
    rows = sql("SELECT JSON_OBJECT('tenant_id', tenant_id, 'actor', actor, 'action', action,"
               " 'client_id', client_id, 'filters', filters, 'affected', affected,"
               " 'dry_run', dry_run, 'request_id', request_id, 'status', status)"
               " FROM audit_events WHERE client_id = %s AND actor LIKE 'cli:%%'"
               " ORDER BY id DESC LIMIT 1" % q(client))
    return json.loads(rows[0]) if rows else None


def cleanup():
    """Remove what earlier runs of this suite left (rows one by one: the triggers
    keep the counts exact)."""
    sql("DELETE k FROM oauth_tokens k JOIN oauth_clients c ON c.id = k.oauth_client_id"
        " WHERE c.client_id LIKE 'cli\\_ctl\\_%';"
        "DELETE k FROM oauth_tokens k JOIN users u ON u.id = k.user_id"
        " WHERE u.public_id LIKE 'usr\\_ctl\\_%';"
        "DELETE FROM users WHERE public_id LIKE 'usr\\_ctl\\_%';"
        "DELETE FROM oauth_clients WHERE client_id LIKE 'cli\\_ctl\\_%';"
        "DELETE FROM tenants WHERE public_id LIKE 'ten\\_ctl\\_%';"
        "DELETE FROM audit_events WHERE tenant_id LIKE 'ten\\_ctl\\_%';")
    sql("DROP DATABASE IF EXISTS `%s`; DROP DATABASE IF EXISTS `%s_2`;"
        " DROP DATABASE IF EXISTS `%s_3`;"
        " DROP USER IF EXISTS '%s'@'localhost'; DROP USER IF EXISTS '%s'@'localhost'"
        % (MIG_DB, MIG_DB, MIG_DB, MIG_USER, NOAUDIT_USER), db="")


# ---------------------------------------------------------------- the command line

class Run:
    def __init__(self, args, p):
        self.args = args
        self.rc = p.returncode
        self.out = p.stdout.decode("utf-8", "replace")
        self.err = p.stderr.decode("utf-8", "replace")

    def describe(self):
        return "autionalctl %s -> exit %d, stdout %r, stderr %r" % (
            " ".join(self.args), self.rc, self.out[:300], self.err[:300])


def ctl(*args, config=None, env=None, stdin=None):
    """Run autionalctl with --config (CTL_CONFIG unless given; False: none)."""
    args = [a if isinstance(a, (str, bytes)) else str(a) for a in args]
    if config is None:
        config = CTL_CONFIG
    full = (["--config", config] if config else []) + args
    e = dict(os.environ)
    e.pop("AUTIONAL_CONFIG", None)
    e.update(env or {})
    p = subprocess.run([CTL] + full, capture_output=True, timeout=120, env=e, input=stdin)
    return Run([a if isinstance(a, str) else repr(a) for a in full], p)


def ok(r):
    """Exit 0 and nothing on stderr; returns stdout."""
    expect(r.rc == 0, "want exit 0: " + r.describe())
    expect(r.err == "", "stderr on success: " + r.describe())
    return r.out


def ok_json(*args, config=None):
    """Run with --json; exit 0; stdout is exactly one JSON value on one line."""
    r = ctl("--json", *args, config=config)
    out = ok(r)
    expect(out.endswith("\n") and out.count("\n") == 1,
           "want one line of JSON: " + r.describe())
    try:
        return json.loads(out)
    except ValueError as e:
        raise Fail("stdout is not JSON (%s): %s" % (e, r.describe()))


def usage_error(r, mention=None):
    expect(r.rc == 2, "want exit 2 (usage): " + r.describe())
    expect(r.out == "", "stdout on a usage error: " + r.describe())
    expect(r.err.startswith("autionalctl: ") and "Try 'autionalctl" in r.err,
           "want 'autionalctl: ...' and a hint on stderr: " + r.describe())
    if mention:
        expect(mention in r.err, "stderr does not mention %r: %s" % (mention, r.describe()))


def failure(r, mention=None):
    expect(r.rc == 1, "want exit 1 (failure): " + r.describe())
    expect(r.out == "", "stdout on a failure: " + r.describe())
    expect(r.err.startswith("autional"), "want a message on stderr: " + r.describe())
    if mention:
        expect(mention in r.err, "stderr does not mention %r: %s" % (mention, r.describe()))


def issue(client, ttype="access_token", user=None, scope=None, lifetime=None):
    args = ["token", "issue", "--client", client, "--type", ttype]
    if user:
        args += ["--user", user]
    if scope is not None:
        args += ["--scope", scope]
    if lifetime:
        args += ["--lifetime", lifetime]
    j = ok_json(*args)
    expect(TOKEN_RE.match(j.get("token", "")), "token text %r" % j.get("token"))
    expect(TOKEN_ID_RE.match(j.get("id", "")), "token id %r" % j.get("id"))
    ISSUED.append(j["token"])
    return j


# ---------------------------------------------------------------- HTTP

def api(method, path, template, token=None, want=None):
    """One request; checks the status and validates the answer against the OpenAPI
    document.  Returns (status, the answer, its JSON)."""
    r = request(method, path, auth=token)
    if want is not None:
        expect(r.status == want, "want %d, got %s (%s)" % (want, r.describe(),
                                                           r.parse_error or "parsed"))
    if openapi_check is not None:
        try:
            openapi_check.validate(method, template, r.status, r.headers, r.body)
        except openapi_check.Mismatch as e:
            raise Fail("%s %s: %s" % (method, path, e))
    return r.status, r, r.json


# ---------------------------------------------------------------- tests: no database

def t_binary():
    expect(os.access(CTL, os.X_OK), "no executable autionalctl at %s (set BUILDDIR)" % CTL)


def t_help():
    out = ok(ctl("--help", config=False))
    for c in COMMANDS:
        expect(("  %s " % c) in out or ("  %s\n" % c) in out, "--help lacks %r" % c)
    out = ok(ctl("-h", config=False))
    expect(out.startswith("usage: autionalctl"), "-h: %r" % out[:80])


def t_command_help(cmd):
    def run():
        out = ok(ctl(*(cmd.split() + ["--help"]), config=False))
        expect(out.startswith("usage: autionalctl %s" % cmd), "help: %r" % out[:120])
        expect("Exit status" in out, "help lacks the exit statuses")
    return run


def t_usage_errors():
    usage_error(ctl(config=False), "missing command")
    usage_error(ctl("frobnicate", config=False), "unknown command")
    usage_error(ctl("token", config=False), "issue, list, show, revoke")
    usage_error(ctl("token", "frob", config=False), "token frob")
    usage_error(ctl("--bogus", "purge", config=False), "--bogus")
    usage_error(ctl("purge", "--bogus", config=False), "--bogus")
    usage_error(ctl("purge", "extra", config=False), "extra")
    usage_error(ctl("tenant", "create", "--id", config=False), "--id")
    usage_error(ctl("--config", config=False), "--config")


def t_config_errors():
    failure(ctl("audit", config="/nonexistent/autional.conf"), "/nonexistent/autional.conf")
    bad = os.path.join(WORK, "bad.conf")
    with open(bad, "w") as f:
        f.write("db_name = x\nno_such_key = 1\n")
    failure(ctl("audit", config=bad), "no_such_key")
    # A usage error is found before the configuration is read.
    usage_error(ctl("audit", "--limit", "0", config="/nonexistent/autional.conf"), "--limit")


def t_env_config():
    """Without --config: $AUTIONAL_CONFIG."""
    r = ctl("--json", "audit", "--limit", "1", config=False,
            env={"AUTIONAL_CONFIG": CTL_CONFIG})
    ok(r)
    json.loads(r.out)
    r = ctl("audit", config=False, env={"AUTIONAL_CONFIG": "/nonexistent/x.conf"})
    failure(r, "/nonexistent/x.conf")


def t_db_unavailable():
    conf = os.path.join(WORK, "away.conf")
    with open(conf, "w") as f:
        f.write("db_socket = %s/no-such.sock\ndb_name = %s\ndb_user = nobody\n"
                "db_connect_timeout = 1\n" % (WORK, DB_NAME))
    for args in (["tenant", "create", "--id", "ten_ctl_x", "--name", "x"],
                 ["token", "revoke", "--client", "cli_ctl_x", "--all"],
                 ["audit"], ["purge"], ["migrate", "--sql-dir", os.path.join(SRCDIR, "sql")]):
        r = ctl(*args, config=conf)
        failure(r)
        expect("unavailable" in r.err or "failed" in r.err, "message: " + r.describe())


# ---------------------------------------------------------------- tests: directory

def t_tenant_create():
    out = ok(ctl("tenant", "create", "--id", TA, "--name", "Acme (ctl tests)"))
    expect(TA in out, "text output %r" % out)
    j = ok_json("tenant", "create", "--id", TB, "--name", "Globex ✓ ünïcödé")
    expect(j == {"id": TB, "name": "Globex ✓ ünïcödé", "created": True}, "json %r" % j)
    expect(sql1("SELECT name FROM tenants WHERE public_id = %s" % q(TB)) == "Globex ✓ ünïcödé",
           "name not stored exactly")


def t_tenant_duplicate():
    before = counts()
    r = ctl("tenant", "create", "--id", TA, "--name", "again")
    failure(r, "exists already")
    expect(sql1("SELECT name FROM tenants WHERE public_id = %s" % q(TA)) == "Acme (ctl tests)",
           "the duplicate changed the name")
    expect(counts() == before, "a failed create changed the database")


def t_tenant_bad_input():
    before = counts()
    for bad in BAD_IDS:
        usage_error(ctl("tenant", "create", "--id", bad, "--name", "x"), "--id")
    usage_error(ctl("tenant", "create", "--id", "ten_ctl_noname"), "--name")
    usage_error(ctl("tenant", "create", "--name", "x"), "--id")
    for name in ("", "x" * 201, "tab\there", "nl\nhere", "\x7f"):
        usage_error(ctl("tenant", "create", "--id", "ten_ctl_z", "--name", name), "--name")
    usage_error(ctl(b"tenant", b"create", b"--id", b"ten_ctl_z", b"--name", b"bad \xff utf8"),
                "--name")
    ok(ctl("tenant", "create", "--id", "ten_ctl_" + "x" * 56, "--name", "é" * 200))
    expect(counts() != before, "the longest valid id and name were not stored")


def t_user_create():
    out = ok(ctl("user", "create", "--tenant", TA, "--id", UA_ADMIN, "--admin"))
    expect("administrator" in out and UA_ADMIN in out, "text output %r" % out)
    j = ok_json("user", "create", "--tenant", TA, "--id", UA_MEMBER)
    expect(j == {"id": UA_MEMBER, "tenant_id": TA, "is_admin": False, "created": True},
           "json %r" % j)
    ok_json("user", "create", "--tenant", TB, "--id", UB_ADMIN, "--admin")
    rows = sql("SELECT u.public_id, t.public_id, u.is_admin FROM users u JOIN tenants t"
               " ON t.id = u.tenant_id WHERE u.public_id LIKE 'usr\\_ctl\\_%' ORDER BY 1")
    expect(rows == ["%s\t%s\t1" % (UA_ADMIN, TA), "%s\t%s\t0" % (UA_MEMBER, TA),
                    "%s\t%s\t1" % (UB_ADMIN, TB)], "users %r" % rows)


def t_user_errors():
    before = counts()
    failure(ctl("user", "create", "--tenant", "ten_ctl_nope", "--id", "usr_ctl_x"),
            "no tenant 'ten_ctl_nope'")
    failure(ctl("user", "create", "--tenant", TA, "--id", UA_MEMBER), "exists already")
    # public user ids are unique across tenants
    failure(ctl("user", "create", "--tenant", TB, "--id", UA_MEMBER), "exists already")
    for bad in BAD_IDS:
        usage_error(ctl("user", "create", "--tenant", TA, "--id", bad), "--id")
        usage_error(ctl("user", "create", "--tenant", bad, "--id", "usr_ctl_x"), "--tenant")
    usage_error(ctl("user", "create", "--id", "usr_ctl_x"), "--tenant")
    usage_error(ctl("user", "create", "--tenant", TA, "--id", "usr_ctl_x", "--admin=yes"))
    expect(counts() == before, "failed user creates changed the database")
    expect(sql1("SELECT is_admin FROM users WHERE public_id = %s" % q(UA_MEMBER)) == "0",
           "a failed create promoted the member")


def t_client_create():
    out = ok(ctl("client", "create", "--tenant", TA, "--id", C_CONSOLE, "--name", "Console"))
    expect(C_CONSOLE in out, "text %r" % out)
    j = ok_json("client", "create", "--tenant", TA, "--id", C_WEB, "--name", "Web app")
    expect(j == {"client_id": C_WEB, "tenant_id": TA, "name": "Web app", "created": True},
           "json %r" % j)
    j = ok_json("client", "create", "--tenant", TA, "--id", C_OTHER)
    expect(j == {"client_id": C_OTHER, "tenant_id": TA, "name": "", "created": True},
           "json %r" % j)
    ok(ctl("client", "create", "--tenant", TB, "--id", C_B))
    rows = sql("SELECT c.client_id, t.public_id, c.name FROM oauth_clients c JOIN tenants t"
               " ON t.id = c.tenant_id WHERE c.client_id LIKE 'cli\\_ctl\\_%' ORDER BY 1")
    expect(rows == ["%s\t%s\tConsole" % (C_CONSOLE, TA), "%s\t%s\t" % (C_OTHER, TA),
                    "%s\t%s\tWeb app" % (C_WEB, TA), "%s\t%s\t" % (C_B, TB)],
           "clients %r" % rows)


def t_client_errors():
    before = counts()
    failure(ctl("client", "create", "--tenant", "ten_ctl_nope", "--id", "cli_ctl_x"),
            "no tenant")
    failure(ctl("client", "create", "--tenant", TB, "--id", C_WEB), "exists already")
    for bad in BAD_IDS:
        usage_error(ctl("client", "create", "--tenant", TA, "--id", bad), "--id")
    usage_error(ctl("client", "create", "--tenant", TA, "--id", "cli_ctl_x",
                    "--name", "bad\x01name"), "--name")
    expect(counts() == before, "failed client creates changed the database")


# ---------------------------------------------------------------- tests: tokens

def t_issue_admin():
    j = issue(C_CONSOLE, user=UA_ADMIN, scope="openid admin")
    SHARED["admin"] = j
    expect(set(j) == {"token", "id", "token_type", "client_id", "user_id", "scope",
                      "created_at", "expires_at"}, "keys %s" % sorted(j))
    expect(j["token_type"] == "access_token" and j["client_id"] == C_CONSOLE
           and j["user_id"] == UA_ADMIN and j["scope"] == "openid admin", "json %r" % j)
    expect(TS_RE.match(j["created_at"]) and TS_RE.match(j["expires_at"]), "times %r" % j)
    row = token_row(j["id"])
    expect(row is not None, "no row with public id %s" % j["id"])
    expect(row["hash"] == hashlib.sha256(j["token"].encode()).hexdigest(),
           "token_hash is not SHA-256 of the text")
    expect(row["type"] == "access_token" and row["client"] == C_CONSOLE
           and row["user"] == UA_ADMIN and row["scope"] == "openid admin"
           and not row["revoked"], "row %r" % row)
    expect(row["lifetime"] == 3600, "default access lifetime %s s, want 3600" % row["lifetime"])
    expect(abs(row["age"]) < 120, "created_at is %s s from now" % row["age"])
    raw = base64.urlsafe_b64decode(j["token"] + "=")
    expect(len(raw) == 32, "token text decodes to %d bytes, want 32" % len(raw))
    expect(j["id"][4:] not in row["hash"], "the public id is part of the hash")


def t_issue_text_output():
    r = ctl("token", "issue", "--client", C_WEB, "--user", UA_MEMBER, "--type",
            "refresh_token", "--scope", "offline_access")
    out = ok(r)
    fields = dict(l.split(None, 1) for l in out.strip().split("\n"))
    expect(TOKEN_RE.match(fields.get("token", "")) and TOKEN_ID_RE.match(fields.get("id", "")),
           "text output %r" % out)
    ISSUED.append(fields["token"])
    expect(fields.get("token_type") == "refresh_token" and fields.get("user_id") == UA_MEMBER,
           "text output %r" % out)
    row = token_row(fields["id"])
    expect(row and row["lifetime"] == 30 * 86400,
           "default refresh lifetime %s, want 30 d" % (row and row["lifetime"]))
    expect(row["hash"] == hashlib.sha256(fields["token"].encode()).hexdigest(), "hash")


def t_issue_variants():
    seen = set()
    for lifetime, seconds in (("90", 90), ("90s", 90), ("15m", 900), ("2h", 7200),
                              ("3d", 259200), ("3650d", 3650 * 86400)):
        j = issue(C_WEB, user=UA_ADMIN, lifetime=lifetime)
        row = token_row(j["id"])
        expect(row["lifetime"] == seconds, "--lifetime %s stored %s s" % (lifetime,
                                                                          row["lifetime"]))
        seen.add(j["token"])
        seen.add(j["id"])
    expect(len(seen) == 12, "tokens or ids repeat")
    j = issue(C_WEB)      # the client's own (client-credentials) token
    expect(j["user_id"] is None, "user_id %r, want null" % j["user_id"])
    expect(token_row(j["id"])["user"] is None, "user set on a client token")
    j = issue(C_WEB, ttype="refresh_token", user=UA_MEMBER, scope="a b:c d/e")
    expect(token_row(j["id"])["scope"] == "a b:c d/e", "scope not stored exactly")
    issue(C_WEB, scope="s" * 1000)


def t_issue_errors():
    before = counts()
    failure(ctl("token", "issue", "--client", "cli_ctl_nope", "--type", "access_token"),
            "no client 'cli_ctl_nope'")
    failure(ctl("token", "issue", "--client", C_WEB, "--user", "usr_ctl_nope",
                "--type", "access_token"), "no user 'usr_ctl_nope'")
    # a user of another tenant
    failure(ctl("token", "issue", "--client", C_WEB, "--user", UB_ADMIN,
                "--type", "access_token"), UB_ADMIN)
    bad_lookups(lambda bad: ("token", "issue", "--client", bad, "--type", "access_token"),
                "--client", "no client")
    bad_lookups(lambda bad: ("token", "issue", "--client", C_WEB, "--user", bad,
                             "--type", "access_token"), "--user", "no user")
    usage_error(ctl("token", "issue", "--client", C_WEB), "--type")
    usage_error(ctl("token", "issue", "--type", "access_token"), "--client")
    for t in ("bearer", "", "ACCESS_TOKEN", "access_token "):
        usage_error(ctl("token", "issue", "--client", C_WEB, "--type", t), "--type")
    for s in (" a", "a ", "a  b", 'a"b', "a\\b", "é", "a\tb", "s" * 1001):
        usage_error(ctl("token", "issue", "--client", C_WEB, "--type", "access_token",
                        "--scope", s), "--scope")
    for lt in ("0", "0s", "-5", "1w", "h", "", "3651d", "1.5h", "99999999999999999999"):
        usage_error(ctl("token", "issue", "--client", C_WEB, "--type", "access_token",
                        "--lifetime", lt), "--lifetime")
    expect(counts() == before, "failed issues changed the database")


def t_api_admin_token():
    admin = SHARED["admin"]
    status, r, j = api("GET", PATH_FMT.format(C_WEB) + "?page_size=100", LIST_TEMPLATE,
                          admin["token"], 200)
    expect(j["total"] == active_count(C_WEB), "total %s, want %s" % (j["total"],
                                                                      active_count(C_WEB)))
    SHARED["list_request_id"] = r.header("X-Request-Id")
    ids = {it["id"] for it in j["items"]}
    expect(j["total"] <= 100 and len(ids) == j["total"], "items %d of %d" % (len(ids),
                                                                             j["total"]))
    api("HEAD", PATH_FMT.format(C_WEB), LIST_TEMPLATE, admin["token"], 200)
    # its own client's list shows the token under the id the CLI printed
    status, r, j = api("GET", PATH_FMT.format(C_CONSOLE), LIST_TEMPLATE, admin["token"], 200)
    mine = [it for it in j["items"] if it["id"] == admin["id"]]
    expect(len(mine) == 1, "the issued token %s is not listed" % admin["id"])
    expect(mine[0]["created_at"] == admin["created_at"]
           and mine[0]["expires_at"] == admin["expires_at"]
           and mine[0]["scope"] == admin["scope"] and mine[0]["user_id"] == UA_ADMIN,
           "listed %r, issued %r" % (mine[0], admin))
    # the other tenant's client is not found
    api("GET", PATH_FMT.format(C_B), LIST_TEMPLATE, admin["token"], 404)


def t_api_other_tokens():
    member = issue(C_CONSOLE, user=UA_MEMBER)
    api("GET", PATH_FMT.format(C_WEB), LIST_TEMPLATE, member["token"], 403)
    refresh = issue(C_CONSOLE, ttype="refresh_token", user=UA_ADMIN)
    api("GET", PATH_FMT.format(C_WEB), LIST_TEMPLATE, refresh["token"], 401)
    cc = issue(C_CONSOLE)
    api("GET", PATH_FMT.format(C_WEB), LIST_TEMPLATE, cc["token"], 403)
    b = issue(C_B, user=UB_ADMIN)
    SHARED["b_admin"] = b
    api("GET", PATH_FMT.format(C_B), LIST_TEMPLATE, b["token"], 200)
    api("GET", PATH_FMT.format(C_WEB), LIST_TEMPLATE, b["token"], 404)
    short = issue(C_CONSOLE, user=UA_ADMIN, lifetime="1s")
    time.sleep(2.1)
    api("GET", PATH_FMT.format(C_WEB), LIST_TEMPLATE, short["token"], 401)


def t_openapi_more():
    """A few more statuses through the validator: 400, 401 without a credential,
    405, unknown path, DELETE dry runs (collection and one token)."""
    admin = SHARED["admin"]["token"]
    api("GET", PATH_FMT.format(C_WEB) + "?page_size=0", LIST_TEMPLATE, admin, 400)
    api("GET", PATH_FMT.format(C_WEB), LIST_TEMPLATE, None, 401)
    api("PUT", PATH_FMT.format(C_WEB), LIST_TEMPLATE, admin, 405)
    api("GET", "/admin/oauth/clients/%s/tokenz" % C_WEB, None, admin, 404)
    before = counts()
    status, _, j = api("DELETE", PATH_FMT.format(C_WEB) + "?dry_run=true", LIST_TEMPLATE,
                       admin, 200)
    expect(j["dry_run"] is True and j["revoked"] == active_count(C_WEB), "dry run %r" % j)
    api("DELETE", PATH_FMT.format(C_WEB) + "/tok_" + "0" * 32 + "?dry_run=true",
        ONE_TEMPLATE, admin, 404)
    expect(counts().split()[:5] == before.split()[:5], "dry runs changed tokens")


def t_revoke_one():
    victim = issue(C_WEB, user=UA_ADMIN)
    api("GET", PATH_FMT.format(C_WEB), LIST_TEMPLATE, victim["token"], 200)
    out = ok(ctl("token", "revoke", "--client", C_WEB, "--id", victim["id"]))
    expect("revoked 1 token" in out, "text %r" % out)
    expect(token_row(victim["id"])["revoked"], "the row is not revoked")
    api("GET", PATH_FMT.format(C_WEB), LIST_TEMPLATE, victim["token"], 401)
    _, _, j = api("GET", PATH_FMT.format(C_WEB) + "?page_size=100", LIST_TEMPLATE,
                  SHARED["admin"]["token"], 200)
    expect(victim["id"] not in {it["id"] for it in j["items"]}, "a revoked token is listed")
    a = last_audit(C_WEB)
    login = __import__("pwd").getpwuid(os.getuid()).pw_name
    expect(a == {"tenant_id": TA, "actor": "cli:" + login, "action": "token.revoke",
                 "client_id": C_WEB, "filters": json.dumps({"id": victim["id"]},
                                                           separators=(",", ":")),
                 "affected": 1, "dry_run": 0, "request_id": "", "status": 0},
           "audit row %r" % a)
    # again (hex digits in upper case): harmless, counts 0, audited
    j = ok_json("token", "revoke", "--client", C_WEB, "--id", "tok_" + victim["id"][4:].upper())
    expect(j == {"client_id": C_WEB, "filters": {"id": victim["id"]}, "revoked": 0,
                 "dry_run": False}, "json %r" % j)
    expect(last_audit(C_WEB)["affected"] == 0, "repeat not audited with 0")
    SHARED["revoked_one"] = victim


def t_revoke_one_dry_run():
    t = issue(C_WEB, user=UA_MEMBER)
    j = ok_json("token", "revoke", "--client", C_WEB, "--id", t["id"], "--dry-run")
    expect(j["revoked"] == 1 and j["dry_run"] is True, "json %r" % j)
    expect(not token_row(t["id"])["revoked"], "a dry run revoked the token")
    a = last_audit(C_WEB)
    expect(a["dry_run"] == 1 and a["affected"] == 1 and a["action"] == "token.revoke",
           "audit %r" % a)


def t_revoke_one_errors():
    other = issue(C_OTHER)                  # same tenant, another client
    before = counts()
    failure(ctl("token", "revoke", "--client", C_WEB, "--id", other["id"]), "has no token")
    b = SHARED["b_admin"]                   # another tenant's token
    failure(ctl("token", "revoke", "--client", C_WEB, "--id", b["id"]), "has no token")
    failure(ctl("token", "revoke", "--client", "cli_ctl_nope", "--id", other["id"]),
            "no client")
    for bad in ("tok_" + "0" * 31, "tok_" + "g" * 32, "tik_" + "0" * 32, "0" * 32,
                "tok_" + "0" * 33, ""):
        usage_error(ctl("token", "revoke", "--client", C_WEB, "--id", bad), "--id")
    usage_error(ctl("token", "revoke", "--client", C_WEB), "--all")
    usage_error(ctl("token", "revoke", "--client", C_WEB, "--all", "--id", other["id"]))
    usage_error(ctl("token", "revoke", "--client", C_WEB, "--id", other["id"],
                    "--user", UA_ADMIN), "--user")
    usage_error(ctl("token", "revoke", "--client", C_WEB, "--all", "--type", "x"), "--type")
    bad_lookups(lambda bad: ("token", "revoke", "--client", bad, "--all"), "--client",
                "no client")
    bad_lookups(lambda bad: ("token", "revoke", "--client", C_WEB, "--all", "--user", bad),
                "--user", "no user")
    failure(ctl("token", "revoke", "--client", C_WEB, "--all", "--user", "usr_ctl_nope"),
            "no user")
    failure(ctl("token", "revoke", "--client", C_WEB, "--all", "--user", UB_ADMIN), "no user")
    now = counts().split()
    expect(now[:5] == before.split()[:5] and int(now[3]) == int(before.split()[3]),
           "failed revocations changed tokens: %s -> %s" % (before, counts()))
    expect(now[5] == before.split()[5], "failed revocations wrote audit rows")
    expect(not token_row(other["id"])["revoked"], "another client's token was revoked")


def t_repeated_options():
    """An option with a value given twice is a usage error, as the API's DELETE
    refuses a repeated parameter: the last one silently winning turned
    `--client a --client b --all` into a revocation of b's tokens, and
    `--user u1 --user u2` revoked only u2's.  Nothing changes, nothing is audited."""
    mine = issue(C_OTHER, user=UA_MEMBER)
    theirs = issue(C_WEB, user=UA_MEMBER)
    before = counts()
    usage_error(ctl("token", "revoke", "--client", C_WEB, "--client", C_OTHER, "--all"),
                "--client")
    usage_error(ctl("token", "revoke", "--client", C_OTHER, "--all", "--user", UA_ADMIN,
                    "--user", UA_MEMBER), "--user")
    usage_error(ctl("token", "revoke", "--client", C_OTHER, "--all", "--dry-run", "--type",
                    "access_token", "--type", "refresh_token"), "--type")
    usage_error(ctl("token", "revoke", "--client", C_WEB, "--id", theirs["id"], "--id",
                    mine["id"]), "--id")
    usage_error(ctl("token", "revoke", "--client=" + C_OTHER, "--client", C_WEB, "--all",
                    "--dry-run"), "--client")
    usage_error(ctl("client", "delete", "--id", "cli_ctl_nope", "--id", C_OTHER), "--id")
    usage_error(ctl("token", "list", "--client", C_WEB, "--page", "1", "--page", "2"),
                "--page")
    usage_error(ctl("audit", "--limit", "5", "--limit", "6"), "--limit")
    after = counts()
    expect(after == before, "refused commands changed the store (tenants users clients "
           "tokens revoked audit): %s -> %s" % (before, after))
    expect(not token_row(mine["id"])["revoked"] and not token_row(theirs["id"])["revoked"],
           "a refused command revoked a token")
    # A flag given twice says the same thing twice: still accepted.
    j = ok_json("token", "revoke", "--client", C_OTHER, "--all", "--dry-run", "--dry-run")
    expect(j["dry_run"] is True and j["revoked"] >= 1, "--dry-run --dry-run: %r" % j)


def t_output_lost():
    """Standard output that cannot be written (a full disk: /dev/full) is a
    failure, exit 1 with a message, for the text output of every command as
    for --json: a script must not read exit 0 and an empty file."""
    tok = issue(C_OTHER, user=UA_MEMBER)
    for args in (("token", "revoke", "--client", C_OTHER, "--all", "--dry-run"),
                 ("token", "revoke", "--client", C_OTHER, "--id", tok["id"], "--dry-run"),
                 ("--json", "token", "revoke", "--client", C_OTHER, "--all", "--dry-run"),
                 ("client", "update", "--id", C_OTHER, "--name", "Other client"),
                 ("tenant", "list")):
        full = ["--config", CTL_CONFIG] + list(args)
        with open("/dev/full", "wb") as out:
            p = subprocess.run([CTL] + full, stdout=out, stderr=subprocess.PIPE, timeout=120)
        err = p.stderr.decode("utf-8", "replace")
        expect(p.returncode == 1 and "cannot" in err,
               "autionalctl %s > /dev/full: exit %d, stderr %r (want 1 and a message)"
               % (" ".join(full), p.returncode, err))


def t_revoke_all_filters():
    for _ in range(3):
        issue(C_WEB, user=UA_MEMBER)
        issue(C_WEB, ttype="refresh_token", user=UA_MEMBER)
    issue(C_WEB, ttype="refresh_token")
    expired = issue(C_WEB, user=UA_MEMBER)
    sql("UPDATE oauth_tokens SET expires_at = UTC_TIMESTAMP() - INTERVAL 1 HOUR"
        " WHERE public_id = UNHEX(%s)" % q(expired["id"][4:]))
    total = active_count(C_WEB)
    before_revoked = counts().split()[4]
    j = ok_json("token", "revoke", "--client", C_WEB, "--all", "--dry-run")
    expect(j == {"client_id": C_WEB, "filters": {}, "revoked": total, "dry_run": True},
           "dry run %r (active %d)" % (j, total))
    expect(counts().split()[4] == before_revoked, "the dry run revoked tokens")
    a = last_audit(C_WEB)
    expect(a["action"] == "tokens.revoke" and a["dry_run"] == 1 and a["affected"] == total
           and a["filters"] == "{}", "dry-run audit %r" % a)

    want = active_count(C_WEB, ttype="refresh_token", user=UA_MEMBER)
    j = ok_json("token", "revoke", "--client", C_WEB, "--all", "--user", UA_MEMBER,
                "--type", "refresh_token")
    expect(j["revoked"] == want and want >= 3, "revoked %r, want %d" % (j, want))
    expect(active_count(C_WEB, ttype="refresh_token", user=UA_MEMBER) == 0, "some remain")
    expect(active_count(C_WEB, ttype="refresh_token") > 0, "the client's own refresh "
           "token went too")
    a = last_audit(C_WEB)
    expect(json.loads(a["filters"]) == {"user_id": UA_MEMBER, "token_type": "refresh_token"}
           and a["affected"] == want, "audit %r" % a)

    want = active_count(C_WEB, ttype="access_token")
    j = ok_json("token", "revoke", "--client", C_WEB, "--all", "--type", "access_token")
    expect(j["revoked"] == want, "revoked %r, want %d" % (j, want))
    expect(active_count(C_WEB, ttype="access_token") == 0, "access tokens remain")

    want = active_count(C_WEB)
    out = ok(ctl("token", "revoke", "--client", C_WEB, "--all"))
    expect(out.startswith("revoked %d token" % want), "text %r, want %d" % (out, want))
    expect(active_count(C_WEB) == 0, "tokens remain")
    expect(not token_row(expired["id"])["revoked"], "--all revoked an expired token")
    _, _, j = api("GET", PATH_FMT.format(C_WEB), LIST_TEMPLATE, SHARED["admin"]["token"], 200)
    expect(j["total"] == 0 and j["items"] == [], "the API still lists %d" % j["total"])
    expect(active_count(C_CONSOLE) > 0, "another client's tokens were revoked")
    j = ok_json("token", "revoke", "--client", C_WEB, "--all")
    expect(j["revoked"] == 0, "a second --all revoked %r" % j)


def t_revoke_needs_audit():
    """No revocation without its audit row: an account that may revoke but not
    write audit rows fails, and revokes nothing."""
    t = issue(C_OTHER, user=UA_ADMIN)
    pw = "pw-" + os.urandom(8).hex()
    sql("CREATE OR REPLACE USER '%s'@'localhost' IDENTIFIED BY '%s';"
        " GRANT SELECT ON `%s`.* TO '%s'@'localhost';"
        " GRANT UPDATE ON `%s`.oauth_tokens TO '%s'@'localhost';"
        % (NOAUDIT_USER, pw, DB_NAME, NOAUDIT_USER, DB_NAME, NOAUDIT_USER), db="")
    conf = os.path.join(WORK, "noaudit.conf")
    with open(conf, "w") as f:
        f.write("db_socket = %s\ndb_name = %s\ndb_user = %s\ndb_password = %s\n"
                % (DB_SOCKET, DB_NAME, NOAUDIT_USER, pw))
    before = counts()
    for args in (["--all"], ["--id", t["id"]]):
        r = ctl("token", "revoke", "--client", C_OTHER, *args, config=conf)
        failure(r)
        expect("INSERT" in r.err or "denied" in r.err, "why: " + r.describe())
    expect(counts() == before, "tokens or audit changed: %s -> %s" % (before, counts()))
    expect(not token_row(t["id"])["revoked"], "revoked without an audit row")
    sql("DROP USER '%s'@'localhost'" % NOAUDIT_USER, db="")


def t_revoke_race():
    """--all while the API lists the client: every list is consistent (total equals
    the items) and afterwards nothing is active."""
    for _ in range(40):
        issue(C_OTHER, user=UA_MEMBER) if len(ISSUED) % 2 else issue(C_OTHER)
    stop = threading.Event()
    problems, lists = [], []

    def lister():
        while not stop.is_set():
            r = request("GET", PATH_FMT.format(C_OTHER) + "?page_size=100",
                        auth=SHARED["admin"]["token"])
            if r.error:
                problems.append(r.error)
                return
            j = r.json
            if r.status != 200 or j is None or j["total"] != len(j["items"]):
                problems.append((r.status, r.body[:200]))
            lists.append(j["total"] if j else None)
    th = threading.Thread(target=lister)
    th.start()
    try:
        time.sleep(0.2)
        j = ok_json("token", "revoke", "--client", C_OTHER, "--all")
        time.sleep(0.2)
    finally:
        stop.set()
        th.join()
    expect(j["revoked"] >= 40, "revoked %r" % j)
    expect(not problems, "lists during the revocation: %r" % problems[:3])
    expect(len(lists) >= 2, "only %d lists ran during the revocation" % len(lists))
    _, _, j = api("GET", PATH_FMT.format(C_OTHER), LIST_TEMPLATE, SHARED["admin"]["token"], 200)
    expect(j["total"] == 0, "after --all the API lists %d" % j["total"])


def t_revoke_all_batches():
    """revoke_batch = 3: --all revokes in transactions of 3 tokens, an audit row each.  A
    failure at the third batch (its audit row refused) leaves the first two revoked and
    says so (exit 1); the command again revokes the rest."""
    c = "cli_ctl_a_batches"
    sql("INSERT INTO oauth_clients (client_id, tenant_id, name) SELECT %s, id, 'batches'"
        " FROM tenants WHERE public_id = %s;"
        "INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, scope, created_at,"
        " expires_at) SELECT RANDOM_BYTES(32), 'access_token', c.id, 'batch',"
        " UTC_TIMESTAMP() - INTERVAL seq SECOND, UTC_TIMESTAMP() + INTERVAL 1 DAY"
        " FROM seq_1_to_8 JOIN oauth_clients c ON c.client_id = %s" % (q(c), q(TA), q(c)))
    with open(CTL_CONFIG) as f:
        lines = [l for l in f.read().splitlines()
                 if l.partition("=")[0].strip() != "revoke_batch"]
    conf = os.path.join(WORK, "revoke-batch-3.conf")
    with open(conf, "w") as f:
        f.write("\n".join(lines + ["revoke_batch = 3"]) + "\n")

    def rows():
        return [tuple(int(v) for v in l.split("\t")) for l in
                sql("SELECT affected, status FROM audit_events WHERE client_id = %s"
                    " AND actor LIKE 'cli:%%' ORDER BY id" % q(c))]
    sql(None, stdin=("DROP TRIGGER IF EXISTS ctl_batch_fail;\nDELIMITER //\n"
                     "CREATE TRIGGER ctl_batch_fail BEFORE INSERT ON audit_events FOR EACH ROW\n"
                     " IF NEW.client_id = %s AND"
                     " (SELECT COUNT(*) FROM audit_events WHERE client_id = %s) >= 2 THEN\n"
                     "  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'ctl forced audit failure';\n"
                     " END IF//\nDELIMITER ;\n" % (q(c), q(c))).encode())
    try:
        r = ctl("token", "revoke", "--client", c, "--all", config=conf)
        failure(r, "ctl forced audit failure")
        expect(re.search(r"\b6 tokens were revoked \(and audited\) in batches before the"
                         r" failure .*run the command again", r.err), "message: " + r.describe())
        expect(active_count(c) == 2 and rows() == [(3, 0), (3, 0)],
               "after the failure: %d active, audit rows %s" % (active_count(c), rows()))
    finally:
        sql("DROP TRIGGER IF EXISTS ctl_batch_fail")
    j = ok_json("token", "revoke", "--client", c, "--all", config=conf)
    expect(j["revoked"] == 2 and active_count(c) == 0 and rows() == [(3, 0), (3, 0), (2, 0)],
           "again: %r, %d active, audit rows %s" % (j, active_count(c), rows()))


# ---------------------------------------------------------------- tests: audit, purge

def t_audit_rows():
    rows = ok_json("audit", "--client", C_WEB, "--limit", "100")
    expect(isinstance(rows, list) and rows, "no rows: %r" % rows)
    keys = {"id", "occurred_at", "tenant_id", "actor", "action", "client_id", "filters",
            "affected", "dry_run", "request_id", "status"}
    for r in rows:
        expect(set(r) == keys, "row keys %s" % sorted(r))
        expect(AUDIT_TS_RE.match(r["occurred_at"]), "occurred_at %r" % r["occurred_at"])
        expect(r["client_id"] == C_WEB and r["tenant_id"] == TA, "row %r" % r)
        expect(isinstance(r["filters"], dict), "filters not an object: %r" % r)
    order = [(r["occurred_at"], r["id"]) for r in rows]
    expect(order == sorted(order, reverse=True), "not newest first")
    cli = [r for r in rows if r["actor"].startswith("cli:")]
    n_db = int(sql1("SELECT COUNT(*) FROM audit_events WHERE client_id = %s"
                    " AND actor LIKE 'cli:%%'" % q(C_WEB)))
    expect(len(cli) == n_db and n_db >= 7, "CLI rows %d, in the table %d" % (len(cli), n_db))
    expect(all(r["status"] == 0 and r["request_id"] == "" for r in cli), "CLI rows %r" % cli)
    actions = {r["action"] for r in cli}
    expect(actions == {"token.revoke", "tokens.revoke"}, "actions %s" % actions)
    # the API's reads are audited too, with the request id it answered with
    rid = SHARED.get("list_request_id")
    api_rows = [r for r in rows if r["request_id"] == rid]
    expect(rid and len(api_rows) == 1 and api_rows[0]["action"] == "tokens.list"
           and api_rows[0]["actor"] == UA_ADMIN and api_rows[0]["status"] == 200,
           "no tokens.list row with request id %r: %r" % (rid, rows[-3:]))


def t_audit_filters():
    one = ok_json("audit", "--limit", "1")
    expect(isinstance(one, list) and len(one) == 1, "--limit 1: %r" % one)
    rows = ok_json("audit", "--tenant", TA, "--action", "token.revoke")
    expect(rows and all(r["tenant_id"] == TA and r["action"] == "token.revoke" for r in rows),
           "filtered %r" % rows[:2])
    expect(ok_json("audit", "--tenant", TB, "--action", "token.revoke") == [],
           "tenant B has no revocations")
    expect(ok_json("audit", "--since", "2999-01-01") == [], "rows from the future")
    rows = ok_json("audit", "--client", C_WEB, "--since",
                   time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600)))
    expect(rows, "nothing in the last hour")
    out = ok(ctl("audit", "--client", C_WEB, "--limit", "2"))
    lines = out.rstrip("\n").split("\n")
    expect(lines[0].split("\t")[:3] == ["id", "occurred_at", "tenant_id"] and len(lines) == 3,
           "text %r" % out)
    expect(all(len(l.split("\t")) == 11 for l in lines), "not 11 tab-separated columns")
    out = ok(ctl("audit", "--client", "cli_ctl_none"))
    expect(out.count("\n") == 1 and out.startswith("id\t"), "empty text %r" % out)
    for args in (["--since", "yesterday"], ["--since", "2026-02-30"],
                 ["--since", "2026-01-01T25:00:00Z"], ["--limit", "0"], ["--limit", "10001"],
                 ["--limit", "x"], ["--action", "Tokens.Revoke"], ["--action", "a;b"],
                 ["--tenant", "bad id"], ["--client", "x" * 65]):
        usage_error(ctl("audit", *args), args[0])


def t_purge():
    live = issue(C_OTHER, user=UA_ADMIN)
    old = issue(C_OTHER, user=UA_ADMIN)
    ok(ctl("token", "revoke", "--client", C_OTHER, "--id", old["id"]))
    # (long ago, so other suites' recent fixture rows are left alone)
    sql("UPDATE oauth_tokens SET revoked_at = UTC_TIMESTAMP() - INTERVAL 400 DAY"
        " WHERE public_id = UNHEX(%s)" % q(old["id"][4:]))
    j = ok_json("purge", "--older-than", "365d", "--batch", "10", "--pause-ms", "0",
                config=PURGE_CONFIG)
    expect(set(j) == {"expired_deleted", "revoked_deleted", "clients", "older_than_seconds"}
           and j["revoked_deleted"] >= 1 and j["older_than_seconds"] == 365 * 86400,
           "json %r" % j)
    expect(token_row(old["id"]) is None, "the old revoked token is still there")
    expect(token_row(live["id"]) is not None, "purge deleted a live token")
    out = ok(ctl("purge", "--older-than", "3650d", config=PURGE_CONFIG))
    expect(out.startswith("purged "), "text %r" % out)
    for bad in (["--older-than", "1w"], ["--batch", "0"], ["--pause-ms", "60001"]):
        usage_error(ctl("purge", *bad), bad[0])


# ---------------------------------------------------------------- tests: migrate

def write_conf(path, db, user=None, password=None):
    with open(path, "w") as f:
        f.write("db_socket = %s\ndb_name = %s\ndb_user = %s\n" % (DB_SOCKET, db, user or DB_USER))
        if password:
            f.write("db_password = %s\n" % password)
    return path


def schema_of(db):
    """What the migrations make, comparable across databases (schema_migration_lock is
    migrate's own, made by the command, not by a migration)."""
    out = []
    for t in sql("SELECT table_name FROM information_schema.tables WHERE table_schema = %s"
                 " AND table_name <> 'schema_migration_lock' ORDER BY 1" % q(db), db=""):
        create = sql("SHOW CREATE TABLE `%s`.`%s`" % (db, t), db="")[0]
        out.append(re.sub(r" AUTO_INCREMENT=\d+", "", create))
    out += sql("SELECT CONCAT_WS(' ', trigger_name, action_timing, event_manipulation,"
               " event_object_table, action_statement) FROM information_schema.triggers"
               " WHERE trigger_schema = %s ORDER BY 1" % q(db), db="")
    out += sql("SELECT CONCAT_WS(' ', routine_name, routine_type, routine_definition)"
               " FROM information_schema.routines WHERE routine_schema = %s ORDER BY 1" % q(db),
               db="")
    return out


def t_migrate_fresh():
    sql("CREATE DATABASE `%s` CHARACTER SET utf8mb4" % MIG_DB, db="")
    conf = write_conf(os.path.join(WORK, "mig.conf"), MIG_DB)
    sqldir = os.path.join(SRCDIR, "sql")
    j = ok_json("migrate", "--sql-dir", sqldir, "--dry-run", config=conf)
    files = sorted(f for f in os.listdir(sqldir) if re.match(r"^\d+_.*\.sql$", f))
    expect([p["file"] for p in j["pending"]] == files and j["version"] == 0,
           "dry run %r" % j)
    expect(sql("SHOW TABLES", db=MIG_DB) == [], "the dry run created tables")
    j = ok_json("migrate", "--sql-dir", sqldir, config=conf)
    expect([p["file"] for p in j["applied"]] == files, "applied %r, files %r" % (j, files))
    versions = [int(f.split("_")[0]) for f in files]
    expect(j["version"] == versions[-1], "version %r" % j)
    expect([int(v) for v in sql("SELECT version FROM schema_migrations ORDER BY 1",
                                db=MIG_DB)] == versions, "schema_migrations")
    mine, theirs = schema_of(MIG_DB), schema_of(DB_NAME)
    diff = [l for l in mine if l not in theirs] + [l for l in theirs if l not in mine]
    expect(not diff, "schema differs from the suite's database: %r" % diff[:3])
    # the new schema works: the count triggers fire
    sql("INSERT INTO tenants (public_id, name) VALUES ('t', 't');"
        " INSERT INTO oauth_clients (client_id, tenant_id) SELECT 'c', id FROM tenants;"
        " INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, expires_at)"
        " SELECT UNHEX(SHA2('x', 256)), 'access_token', id, UTC_TIMESTAMP() + INTERVAL 1 DAY"
        " FROM oauth_clients", db=MIG_DB)
    expect(sql1("SELECT SUM(live) FROM oauth_token_totals", db=MIG_DB) == "1",
           "the count trigger did not fire")


def t_migrate_again():
    conf = os.path.join(WORK, "mig.conf")
    before = schema_of(MIG_DB)
    j = ok_json("migrate", "--sql-dir", os.path.join(SRCDIR, "sql"), config=conf)
    expect(j["applied"] == [] and j["dry_run"] is False, "second run %r" % j)
    out = ok(ctl("migrate", "--sql-dir", os.path.join(SRCDIR, "sql"), config=conf))
    expect(out.startswith("schema version "), "text %r" % out)
    expect(schema_of(MIG_DB) == before, "a second run changed the schema")
    # the app's own database is fully migrated already
    j = ok_json("migrate", "--sql-dir", os.path.join(SRCDIR, "sql"))
    expect(j["applied"] == [], "the suite's database had pending migrations: %r" % j)


def t_migrate_account():
    """A password account with rights on its database only, as the man page says."""
    db = MIG_DB + "_3"
    pw = "pw-" + os.urandom(8).hex()
    sql("CREATE DATABASE `%s` CHARACTER SET utf8mb4;"
        " CREATE OR REPLACE USER '%s'@'localhost' IDENTIFIED BY '%s';"
        " GRANT ALL PRIVILEGES ON `%s`.* TO '%s'@'localhost'"
        % (db, MIG_USER, pw, db, MIG_USER), db="")
    conf = write_conf(os.path.join(WORK, "mig3.conf"), db, MIG_USER, pw)
    r = ctl("migrate", "--sql-dir", os.path.join(SRCDIR, "sql"), config=conf)
    out = ok(r)
    expect("applied 001_" in out, "text %r" % out)
    # the least-privilege app account cannot run a pending migration
    d = os.path.join(WORK, "pending")
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(os.path.join(SRCDIR, "sql"), d)
    with open(os.path.join(d, "900_extra.sql"), "w") as f:
        f.write("CREATE TABLE ctl_extra (x INT);\n")
    # (it cannot even see schema_migrations, so it is refused at 001_core.sql)
    r = ctl("migrate", "--sql-dir", d, config=APP_CONFIG)
    failure(r, "command denied")
    expect(sql("SHOW TABLES LIKE 'ctl_extra'") == [], "the app account created a table")
    expect(sql("SELECT version FROM schema_migrations WHERE version = 900") == [],
           "a failed migration was recorded")


def t_migrate_splitting():
    """The statement splitter: DELIMITER blocks, delimiters inside quotes and
    comments, a failure naming file and line, a fixed file applied afterwards."""
    db = MIG_DB + "_2"
    sql("CREATE DATABASE `%s` CHARACTER SET utf8mb4" % db, db="")
    conf = write_conf(os.path.join(WORK, "mig2.conf"), db)
    d = os.path.join(WORK, "tricky")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(d, "001_base.sql"), "w") as f:
        f.write("""-- 001: a comment; with a semicolon
# another; comment
CREATE TABLE schema_migrations (version INT UNSIGNED NOT NULL PRIMARY KEY,
  applied_at DATETIME NOT NULL DEFAULT UTC_TIMESTAMP());
/* a block comment; with ; semicolons */
CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, s VARCHAR(200)) CHARACTER SET utf8mb4;
INSERT INTO t (s) VALUES ('semi;colon'), ("dq;\\"x"), ('it''s; -- not a comment'),
  ('slash // slash'), ('back\\\\slash'); -- trailing comment
INSERT INTO t (s) VALUES (CONCAT('a', /* inline; */ 'b'))
;
DELIMITER //
CREATE PROCEDURE p() BEGIN
  INSERT INTO t (s) VALUES ('in proc; 1');
  INSERT INTO t (s) VALUES ('in proc // not the end');
END//
DELIMITER ;
CALL p();
/*!40101 INSERT INTO t (s) VALUES ('executable comment') */;
INSERT INTO t (s) VALUES ('no final delimiter')
""")
    with open(os.path.join(d, "002_broken.sql"), "w") as f:
        f.write("CREATE TABLE u (x INT);\n\nINSERT INTO u VALUES (1);\nTHIS IS NOT SQL;\n"
                "CREATE TABLE never (x INT);\n")
    r = ctl("migrate", "--sql-dir", d, config=conf)
    expect(r.rc == 1 and "002_broken.sql:4" in r.err, "want exit 1 naming 002_broken.sql:4: "
           + r.describe())
    expect(r.out == "applied 001_base.sql\n", "progress on stdout: " + r.describe())
    got = sql("SELECT s FROM t ORDER BY id", db=db)
    want = ["semi;colon", 'dq;"x', "it's; -- not a comment", "slash // slash",
            "back\\slash", "ab", "in proc; 1", "in proc // not the end",
            "executable comment", "no final delimiter"]
    expect(got == want, "rows %r, want %r" % (got, want))
    expect(sql("SELECT version FROM schema_migrations ORDER BY 1", db=db) == ["1"],
           "versions after the failure")
    expect(sql("SHOW TABLES LIKE 'never'", db=db) == [], "ran past the failing statement")
    with open(os.path.join(d, "002_broken.sql"), "w") as f:
        f.write("CREATE TABLE IF NOT EXISTS u (x INT);\nINSERT INTO u VALUES (2);\n")
    j = ok_json("migrate", "--sql-dir", d, config=conf)
    expect([a["version"] for a in j["applied"]] == [2] and j["version"] == 2, "json %r" % j)
    expect(sql("SELECT x FROM u ORDER BY 1", db=db) == ["1", "2"], "u rows")
    # malformed files: nothing of them runs
    with open(os.path.join(d, "003_quote.sql"), "w") as f:
        f.write("CREATE TABLE q1 (x INT);\nINSERT INTO u VALUES ('open);\n")
    r = ctl("migrate", "--sql-dir", d, config=conf)
    failure(r, "003_quote.sql")
    expect("line 2" in r.err, "line not named: " + r.describe())
    expect(sql("SHOW TABLES LIKE 'q1'", db=db) == [], "a malformed file ran in part")
    os.unlink(os.path.join(d, "003_quote.sql"))
    with open(os.path.join(d, "003_dup.sql"), "w") as f:
        f.write("SELECT 1;\n")
    with open(os.path.join(d, "3_dup_again.sql"), "w") as f:
        f.write("SELECT 1;\n")
    failure(ctl("migrate", "--sql-dir", d, config=conf), "two migrations have version 3")
    failure(ctl("migrate", "--sql-dir", os.path.join(WORK, "no-such-dir"), config=conf),
            "no-such-dir")
    empty = os.path.join(WORK, "empty-sql")
    os.makedirs(empty, exist_ok=True)
    failure(ctl("migrate", "--sql-dir", empty, config=conf), "no migrations")


def t_migrate_concurrent():
    """Two runs at once on a fresh database: each migration runs once."""
    db = MIG_DB
    sql("DROP DATABASE `%s`; CREATE DATABASE `%s` CHARACTER SET utf8mb4" % (db, db), db="")
    conf = os.path.join(WORK, "mig.conf")
    e = dict(os.environ)
    e.pop("AUTIONAL_CONFIG", None)
    args = [CTL, "--config", conf, "--json", "migrate", "--sql-dir", os.path.join(SRCDIR, "sql")]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs):
        expect(p.returncode == 0, "a concurrent run failed: %r %r" % (out, err))
    applied = [len(json.loads(out)["applied"]) for out, _ in outs]
    n = len([f for f in os.listdir(os.path.join(SRCDIR, "sql")) if re.match(r"^\d+_", f)])
    expect(sorted(applied) == [0, n], "applied counts %r, want one run to apply %d" % (applied, n))
    expect(sql("SELECT holder FROM schema_migration_lock", db=db) == [],
           "the migration lock row was left behind")


def t_migrate_lock_row():
    """A lock row left by a dead run: removed on its own server; another server's waits."""
    conf = os.path.join(WORK, "mig.conf")
    sqldir = os.path.join(SRCDIR, "sql")
    take = ("INSERT INTO schema_migration_lock (id, holder, server, taken_at)"
            " VALUES (1, %s, %s, UTC_TIMESTAMP(6) - INTERVAL 1 HOUR)")
    here = "CONCAT(@@hostname, ':', @@port, ':', @@datadir)"
    # a migrate killed on this server: the next one removes its row and runs
    sql(take % (q("autionalctl migrate (pid 1 on gone)"), here), db=MIG_DB)
    r = ctl("--json", "migrate", "--sql-dir", sqldir, config=conf)
    expect(r.rc == 0 and json.loads(r.out)["applied"] == [], "want exit 0: " + r.describe())
    expect("removed the migration lock of autionalctl migrate (pid 1 on gone)" in r.err,
           "no word of the stale lock: " + r.describe())
    expect(sql("SELECT COUNT(*) FROM schema_migration_lock", db=MIG_DB) == ["0"],
           "the stale row is still there")
    # a run on another node (as Galera would show it): wait, then fail naming it
    sql(take % (q("autionalctl migrate (pid 2 on elsewhere)"), q("node9:3306:/var/lib/mysql/")),
        db=MIG_DB)
    t0 = time.monotonic()
    r = ctl("migrate", "--sql-dir", sqldir, "--wait", "2", config=conf)
    took = time.monotonic() - t0
    failure(r, "the migration lock is held by autionalctl migrate (pid 2 on elsewhere) on"
               " node9:3306:/var/lib/mysql/ since ")
    expect("waiting up to 2 s" in r.err and "--break-lock" in r.err,
           "want the wait said and --break-lock named: " + r.describe())
    expect(took >= 2, "gave up after %.1f s, before --wait 2 was over" % took)
    expect(sql("SELECT holder FROM schema_migration_lock", db=MIG_DB) ==
           ["autionalctl migrate (pid 2 on elsewhere)"], "the failed run touched the row")
    # a dry run changes nothing and does not wait for the row
    j = ok_json("migrate", "--sql-dir", sqldir, "--dry-run", config=conf)
    expect(j["pending"] == [], "dry run %r" % j)
    # --break-lock removes it, says whose it was, and runs
    r = ctl("migrate", "--sql-dir", sqldir, "--break-lock", config=conf)
    expect(r.rc == 0 and r.out.startswith("schema version "), "want exit 0: " + r.describe())
    expect("--break-lock removed the migration lock of autionalctl migrate (pid 2 on elsewhere)"
           in r.err, "not said whose lock was broken: " + r.describe())
    expect(sql("SELECT COUNT(*) FROM schema_migration_lock", db=MIG_DB) == ["0"],
           "the row is still there after --break-lock")
    usage_error(ctl("migrate", "--wait", "soon", config=conf), "--wait")
    usage_error(ctl("migrate", "--wait", "2d", config=conf), "--wait")


# ---------------------------------------------------------------- tests: secrets

def t_no_secrets():
    expect(ISSUED, "no tokens were issued")
    blob = "\n".join(sql("SELECT CONCAT_WS(' ', scope, HEX(public_id)) FROM oauth_tokens") +
                     sql("SELECT CONCAT_WS(' ', filters, actor, request_id) FROM audit_events"))
    leaked = [t for t in ISSUED if t in blob]
    expect(not leaked, "token texts stored in the database: %r" % leaked[:2])
    if APP_LOG and os.path.exists(APP_LOG):
        with open(APP_LOG, encoding="utf-8", errors="replace") as f:
            log = f.read()
        leaked = [t for t in ISSUED if t in log]
        expect(not leaked, "token texts in the program's log: %r" % leaked[:2])


def t_openapi_available():
    expect(openapi_check is not None, OPENAPI_ERROR or "openapi_check missing")
    found = openapi_check.lint()
    expect(not found, "docs/openapi.yaml: %s" % "; ".join(found[:5]))


def main():
    require("BASE_URL", "DB_SOCKET", "DB_NAME", "APP_CONFIG")
    test("autionalctl is built", t_binary)
    if failed():
        return summary()
    test("clean up rows of earlier runs", cleanup)
    test("openapi_check and docs/openapi.yaml are usable", t_openapi_available)

    test("--help lists every command; exit 0", t_help)
    for c in COMMANDS:
        test("%s --help: usage and exit statuses, exit 0" % c, t_command_help(c))
    test("usage errors: exit 2, message and hint on stderr, nothing on stdout", t_usage_errors)
    test("configuration errors: exit 1 naming the file or key", t_config_errors)
    test("$AUTIONAL_CONFIG is read when --config is absent", t_env_config)
    test("database unreachable: exit 1, every command", t_db_unavailable)

    test("tenant create: text and --json; UTF-8 name stored exactly", t_tenant_create)
    test("tenant create: duplicate id is exit 1 and changes nothing", t_tenant_duplicate)
    test("tenant create: bad ids and names are exit 2 and never reach SQL", t_tenant_bad_input)
    test("user create: --admin, --json, rows in the right tenant", t_user_create)
    test("user create: unknown tenant, duplicates (across tenants too), bad ids", t_user_errors)
    test("client create: with and without --name, --json", t_client_create)
    test("client create: unknown tenant, duplicate, bad ids and names", t_client_errors)

    test("token issue: 32 random bytes base64url, only SHA-256 stored, public id, 1h default",
         t_issue_admin)
    test("token issue: text output; refresh token defaults to 30 days", t_issue_text_output)
    test("token issue: lifetimes, client tokens (user null), scopes, unique texts and ids",
         t_issue_variants)
    test("token issue: unknown client/user, user of another tenant, bad input: nothing stored",
         t_issue_errors)
    test("API: an issued admin access token gets 200 and lists the CLI's ids", t_api_admin_token)
    test("API: member 403, refresh 401, client token 403, other tenant 404, expired 401",
         t_api_other_tokens)
    test("API: 400, 401, 405, unknown path, DELETE dry runs validate against openapi.yaml",
         t_openapi_more)

    test("token revoke --id: API refuses the token at once (401); audit row; repeat counts 0",
         t_revoke_one)
    test("token revoke --id --dry-run: counts 1, revokes nothing, audited", t_revoke_one_dry_run)
    test("token revoke: other client's/tenant's token, unknown ids, bad input: exit 1/2, "
         "no change, no audit row", t_revoke_one_errors)
    test("an option with a value given twice (--client, --user, --type, --id, --page, "
         "--limit): exit 2, nothing changed", t_repeated_options)
    test("standard output lost (/dev/full): exit 1 and a message, text and --json",
         t_output_lost)
    test("token revoke --all: dry run, --user + --type, --type, all; expired untouched; API "
         "lists 0", t_revoke_all_filters)
    test("token revoke: no revocation without its audit row (same transaction)",
         t_revoke_needs_audit)
    test("token revoke --all racing API lists: every list consistent", t_revoke_race)
    test("token revoke --all in batches (revoke_batch = 3): a row each; a failure at the "
         "third says 6 revoked, exit 1; again revokes the rest", t_revoke_all_batches)

    test("audit: CLI revocations and the API's reads (request id), newest first, --json",
         t_audit_rows)
    test("audit: --tenant --client --action --since --limit, text output, bad input",
         t_audit_filters)
    test("purge: old revoked token deleted, live token kept, --json, bad input", t_purge)

    test("migrate: fresh database, dry run first, same schema as tests/lib's, triggers work",
         t_migrate_fresh)
    test("migrate: idempotent (second run applies nothing)", t_migrate_again)
    test("migrate: a password account with rights on its database; the app account cannot",
         t_migrate_account)
    test("migrate: DELIMITER, quotes and comments; failure names file:line; fixed file "
         "applies; malformed files", t_migrate_splitting)
    test("migrate: two concurrent runs apply each migration once", t_migrate_concurrent)
    test("migrate: a lock row left by a dead run on this server is removed; another server's"
         " is waited for (--wait), named, and removed by --break-lock", t_migrate_lock_row)

    test("no token text in the database or the program's log", t_no_secrets)

    return summary()


if __name__ == "__main__":
    sys.exit(main())
