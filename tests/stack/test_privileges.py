#!/usr/bin/env python3
"""test_privileges.py: the API's MariaDB account can do what the API does, and nothing more.

Logs in as the account of APP_CONFIG (the one the workers use; sql/accounts.sql
grants it) with the `mariadb` client and tries what a compromised worker would:
insert a token, make a user an administrator, rewrite or delete an audit row,
delete a token, change a token's expiry, create a table.  Each must be refused
and change nothing.  Then, over HTTP, the API still lists and revokes, and the
live counts (kept by sql/002's triggers, which run with their definer's rights,
not the API's) stay equal to the rows.

Environment (from tests/run): BASE_URL, DB_SOCKET, DB_NAME, DB_USER (an
administrative account for the fixture), APP_CONFIG (db_user and db_password of
the API's account).
"""

import os
import secrets
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stacklib import *  # noqa: E402,F401,F403

TENANT, ADMIN, CLIENT = "ten_priv", "usr_priv_admin", "cli_priv"
BEARER = "priv-" + secrets.token_hex(16)
LIVE = 5  # active tokens of CLIENT besides the bearer's own
admin_sql = sql


def api_sql(query):
    """Run SQL as the API's own account (APP_CONFIG); (rc, stdout lines, stderr)."""
    env = dict(os.environ, MYSQL_PWD=config_value("db_password", ""))
    p = subprocess.run(mariadb_args(user=config_value("db_user")), input=query.encode(),
                       capture_output=True, timeout=60, env=env)
    return p.returncode, p.stdout.decode().splitlines(), p.stderr.decode().strip()


def call(method, path):
    r = request(method, path, auth=BEARER)
    expect(r.parse_error is None, "%s %s: %s" % (method, path, r.parse_error))
    return r.status, r.json


def load_fixture():
    """Own rows only (other suites' data is left alone); runs again and again."""
    admin_sql(
        "SET @c = (SELECT id FROM oauth_clients WHERE client_id = %(c)s);"
        "DELETE FROM oauth_tokens WHERE oauth_client_id = @c;"
        "DELETE FROM oauth_clients WHERE client_id = %(c)s;"
        "DELETE FROM users WHERE public_id = %(u)s;"
        "DELETE FROM tenants WHERE public_id = %(t)s;"
        "INSERT INTO tenants (public_id, name) VALUES (%(t)s, 'Privileges');"
        "SET @t = LAST_INSERT_ID();"
        "INSERT INTO users (public_id, tenant_id, is_admin) VALUES (%(u)s, @t, TRUE);"
        "SET @u = LAST_INSERT_ID();"
        "INSERT INTO oauth_clients (client_id, tenant_id) VALUES (%(c)s, @t);"
        "SET @c = LAST_INSERT_ID();"
        "INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id, expires_at)"
        " VALUES (UNHEX(SHA2(%(b)s, 256)), 'access_token', @c, @u,"
        "         UTC_TIMESTAMP() + INTERVAL 1 HOUR);"
        % {"c": q(CLIENT), "u": q(ADMIN), "t": q(TENANT), "b": q(BEARER)}
        + "".join("INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id,"
                  " expires_at) VALUES (UNHEX(SHA2('%s', 256)), 'refresh_token', @c, @u,"
                  " UTC_TIMESTAMP() + INTERVAL %d HOUR);" % (secrets.token_hex(16), i + 2)
                  for i in range(LIVE)))


def snapshot():
    """What a refused statement must leave as it was."""
    return admin_sql(
        "SELECT COUNT(*), COALESCE(SUM(revoked_at IS NULL), 0), MAX(expires_at) FROM oauth_tokens;"
        "SELECT COUNT(*), SUM(is_admin) FROM users;"
        "SELECT COUNT(*), COALESCE(MAX(id), 0), COALESCE(SUM(affected), 0) FROM audit_events;"
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE();")


def refused(what, query):
    before = snapshot()
    rc, _, err = api_sql(query)
    expect(rc != 0, "the API's account could %s: %s" % (what, query))
    expect("denied" in err, "want 'command denied', got: %s" % err)
    expect(snapshot() == before, "refused, yet something changed: %s" % query)


def live_counts_match():
    """oauth_token_totals (kept by the triggers) agrees with the rows."""
    rows = admin_sql(
        "SELECT (SELECT COALESCE(SUM(live), 0) FROM oauth_token_totals n JOIN oauth_clients c"
        "          ON c.id = n.oauth_client_id WHERE c.client_id = %(c)s),"
        "       (SELECT COUNT(*) FROM oauth_tokens k JOIN oauth_clients c"
        "          ON c.id = k.oauth_client_id WHERE c.client_id = %(c)s"
        "          AND k.revoked_at IS NULL AND NOT k.swept)" % {"c": q(CLIENT)})
    counted, rows_live = (int(x) for x in rows[0].split("\t"))
    expect(counted == rows_live, "counts say %d live, the rows %d" % (counted, rows_live))
    return rows_live


def t_grants_exact():
    """The account holds exactly sql/accounts.sql's privileges, none on the database."""
    user = config_value("db_user", "")
    grantee = q("'%s'@'localhost'" % user)
    got = set(admin_sql(
        "SELECT CONCAT('schema ', privilege_type) FROM information_schema.schema_privileges"
        " WHERE grantee = %(g)s UNION ALL"
        " SELECT CONCAT('global ', privilege_type) FROM information_schema.user_privileges"
        " WHERE grantee = %(g)s AND privilege_type <> 'USAGE' UNION ALL"
        " SELECT CONCAT(table_name, ' ', privilege_type) FROM information_schema.table_privileges"
        " WHERE grantee = %(g)s UNION ALL"
        " SELECT CONCAT(table_name, '.', column_name, ' ', privilege_type)"
        " FROM information_schema.column_privileges WHERE grantee = %(g)s" % {"g": grantee}))
    want = {"tenants SELECT", "users SELECT", "oauth_clients SELECT", "oauth_tokens SELECT",
            "oauth_token_totals SELECT", "api_secrets SELECT", "audit_events INSERT",
            "oauth_tokens.revoked_at UPDATE"}
    expect(got == want, "extra %s, missing %s" % (sorted(got - want), sorted(want - got)))


def t_triggers_definer():
    """The counting triggers run as the schema owner, not as the API's account."""
    user = config_value("db_user", "")
    definers = set(admin_sql("SELECT DEFINER FROM information_schema.triggers"
                             " WHERE trigger_schema = DATABASE()"))
    expect(definers, "no triggers in the database")
    expect(not any(d.split("@")[0] == user for d in definers),
           "a trigger runs as the API's account: %s" % definers)
    note("trigger definers: %s" % ", ".join(sorted(definers)))


def t_list():
    status, body = call("GET", "/admin/oauth/clients/%s/tokens" % CLIENT)
    expect(status == 200, "GET answered %d: %s" % (status, body))
    expect(body["pagination"]["total"] == LIVE + 1, "total %r, want %d"
           % (body["pagination"]["total"], LIVE + 1))


def t_revoke_one():
    status, body = call("GET", "/admin/oauth/clients/%s/tokens?token_type=refresh_token" % CLIENT)
    expect(status == 200 and body["items"], "GET answered %d: %s" % (status, body))
    audits = int(admin_sql("SELECT COUNT(*) FROM audit_events")[0])
    status, body = call("DELETE", "/admin/oauth/clients/%s/tokens/%s" % (CLIENT, body["items"][0]["id"]))
    expect(status == 200, "DELETE one answered %d: %s" % (status, body))
    expect(live_counts_match() == LIVE, "not exactly one token revoked")
    expect(int(admin_sql("SELECT COUNT(*) FROM audit_events")[0]) > audits, "no audit row")


def t_revoke_all():
    status, body = call("DELETE", "/admin/oauth/clients/%s/tokens?token_type=refresh_token" % CLIENT)
    expect(status == 200, "DELETE all answered %d: %s" % (status, body))
    expect(body.get("revoked") == LIVE - 1, "revoked %r, want %d" % (body.get("revoked"), LIVE - 1))
    expect(live_counts_match() == 1, "want only the bearer's own token left")
    status, body = call("GET", "/admin/oauth/clients/%s/tokens" % CLIENT)
    expect(status == 200 and body["pagination"]["total"] == 1, "GET after: %d %s" % (status, body))


def main():
    require("BASE_URL", "DB_SOCKET", "DB_NAME", "APP_CONFIG")
    try:
        load_fixture()
    except Fail as e:
        print("fixture: %s" % e, file=sys.stderr)
        return 2
    admin_sql("INSERT INTO audit_events (occurred_at, tenant_id, actor, action, client_id,"
              " status) VALUES (UTC_TIMESTAMP(6), %s, 'test', 'tokens.list', %s, 200)"
              % (q(TENANT), q(CLIENT)))
    test("the API's account holds exactly its grants", t_grants_exact)
    test("the counting triggers do not run as the API's account", t_triggers_definer)
    test("the API's account cannot insert a token", refused, "insert a token",
         "INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, expires_at)"
         " SELECT UNHEX(SHA2('forged', 256)), 'access_token', id, UTC_TIMESTAMP() + INTERVAL 1 DAY"
         " FROM oauth_clients WHERE client_id = %s" % q(CLIENT))
    test("the API's account cannot change users.is_admin", refused, "make a user an admin",
         "UPDATE users SET is_admin = TRUE")
    test("the API's account cannot update an audit row", refused, "rewrite an audit row",
         "UPDATE audit_events SET affected = affected + 1")
    test("the API's account cannot delete an audit row", refused, "delete an audit row",
         "DELETE FROM audit_events")
    test("the API's account cannot delete a token", refused, "delete a token",
         "DELETE FROM oauth_tokens")
    test("the API's account cannot extend a token's expiry", refused, "extend a token",
         "UPDATE oauth_tokens SET expires_at = expires_at + INTERVAL 1 YEAR")
    test("the API's account cannot create a table", refused, "create a table",
         "CREATE TABLE priv_probe (i INT)")
    test("the API lists a client's tokens", t_list)
    test("the API revokes one token; counts and audit follow", t_revoke_one)
    test("the API revokes all of a type; counts follow", t_revoke_all)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
