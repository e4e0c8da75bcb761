-- accounts.sql: the privileges of the API's and the purge job's MariaDB accounts.
--
-- Not a migration (autionalctl migrate skips it).  Run it as a MariaDB
-- administrator in the application's database after `autionalctl migrate`
-- (table and column privileges need the tables), and again after any
-- migration that adds a table:
--
--   mariadb autional < /usr/share/autional-admin/sql/accounts.sql
--
-- The two accounts must exist already, each with its own password:
--
--   CREATE USER 'autional'@'localhost' IDENTIFIED BY '...';        -- the API
--   CREATE USER 'autional_purge'@'localhost' IDENTIFIED BY '...';  -- autionalctl purge
--
-- The third account, 'autional_migrate'@'localhost', owns the schema: it has
-- ALL PRIVILEGES on the database, runs `autionalctl migrate` and the other
-- operator commands, and is the DEFINER of the token-count triggers
-- (sql/002), which run with its rights.  Keep it.
--
-- Each account first loses every privilege it had (on every database), so
-- running this file also narrows an account made with older, wider grants.

-- The API (autional-admin.fcgi): reads tokens, their users, tenants, clients
-- and the live counts; revokes by setting oauth_tokens.revoked_at (the triggers
-- keep oauth_token_totals right with their definer's rights); writes audit rows.
-- It cannot insert or delete a token, change a user, or touch an audit row
-- once written.
REVOKE ALL PRIVILEGES, GRANT OPTION FROM 'autional'@'localhost';
GRANT SELECT ON tenants TO 'autional'@'localhost';
GRANT SELECT ON users TO 'autional'@'localhost';
GRANT SELECT ON oauth_clients TO 'autional'@'localhost';
GRANT SELECT, UPDATE (revoked_at) ON oauth_tokens TO 'autional'@'localhost';
GRANT SELECT ON oauth_token_totals TO 'autional'@'localhost';
GRANT SELECT ON api_secrets TO 'autional'@'localhost';
GRANT INSERT ON audit_events TO 'autional'@'localhost';

-- autionalctl purge and sweep: walk the clients; the purge deletes dead tokens
-- in batches, the sweep marks expired ones (oauth_tokens.swept) and folds the
-- writers' counter rows of oauth_token_totals (sql/004).
REVOKE ALL PRIVILEGES, GRANT OPTION FROM 'autional_purge'@'localhost';
GRANT SELECT ON oauth_clients TO 'autional_purge'@'localhost';
GRANT SELECT, DELETE, UPDATE (swept) ON oauth_tokens TO 'autional_purge'@'localhost';
GRANT SELECT, INSERT, UPDATE, DELETE ON oauth_token_totals TO 'autional_purge'@'localhost';
