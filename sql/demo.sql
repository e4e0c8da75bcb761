-- demo.sql: demo data for scripts/demo (load after the migrations).
--
-- Two tenants, an admin and a non-admin user in each, clients with access and
-- refresh tokens, client-credentials tokens (no user), expired and revoked
-- tokens, and one client (acme-bulk) with 137 active tokens to page through.
-- Every time is relative to UTC_TIMESTAMP(), so the data never goes stale.
-- Token texts are memorable demo strings; only their SHA-256 is stored, as any
-- token issuer must (README, "Demo data", lists them).  Re-running this file
-- replaces the demo tenants' data.

SET @now = UTC_TIMESTAMP();

-- Start over: remove what an earlier load left.
DELETE t FROM oauth_tokens t
  JOIN oauth_clients c ON c.id = t.oauth_client_id
  JOIN tenants n ON n.id = c.tenant_id
  WHERE n.public_id IN ('ten_acme', 'ten_globex');
DELETE c FROM oauth_clients c JOIN tenants n ON n.id = c.tenant_id
  WHERE n.public_id IN ('ten_acme', 'ten_globex');
DELETE u FROM users u JOIN tenants n ON n.id = u.tenant_id
  WHERE n.public_id IN ('ten_acme', 'ten_globex');
DELETE FROM tenants WHERE public_id IN ('ten_acme', 'ten_globex');

INSERT INTO tenants (public_id, name) VALUES
  ('ten_acme', 'Acme Corporation'),
  ('ten_globex', 'Globex Inc.');

INSERT INTO users (public_id, tenant_id, is_admin)
  SELECT v.public_id, n.id, v.is_admin
  FROM (SELECT 'usr_acme_admin' AS public_id, 'ten_acme' AS tenant, TRUE AS is_admin
        UNION ALL SELECT 'usr_acme_member', 'ten_acme', FALSE
        UNION ALL SELECT 'usr_globex_admin', 'ten_globex', TRUE
        UNION ALL SELECT 'usr_globex_member', 'ten_globex', FALSE) v
  JOIN tenants n ON n.public_id = v.tenant;

INSERT INTO oauth_clients (client_id, tenant_id, name)
  SELECT v.client_id, n.id, v.name
  FROM (SELECT 'acme-web' AS client_id, 'ten_acme' AS tenant, 'Acme web app' AS name
        UNION ALL SELECT 'acme-backend', 'ten_acme', 'Acme backend (client credentials)'
        UNION ALL SELECT 'acme-bulk', 'ten_acme', 'Acme bulk importer (137 active tokens)'
        UNION ALL SELECT 'globex-web', 'ten_globex', 'Globex web app'
        UNION ALL SELECT 'globex-batch', 'ten_globex', 'Globex batch jobs (client credentials)'
        UNION ALL SELECT 'globex-empty', 'ten_globex', 'Globex client without tokens') v
  JOIN tenants n ON n.public_id = v.tenant;

-- The named demo tokens.  Times are minutes from now; revoked NULL = not revoked.
INSERT INTO oauth_tokens
    (token_hash, token_type, oauth_client_id, user_id, scope, created_at, expires_at, revoked_at)
  WITH d (token, token_type, client, usr, scope, created, expires, revoked) AS (VALUES
    -- acme-web: users' tokens of both types (30 days = 43200 minutes)
    ('demo-acme-admin',           'access_token',  'acme-web', 'usr_acme_admin',  'openid profile admin', -10,  43200, NULL),
    ('demo-acme-admin-refresh',   'refresh_token', 'acme-web', 'usr_acme_admin',  'openid profile admin', -10,  43200, NULL),
    ('demo-acme-member',          'access_token',  'acme-web', 'usr_acme_member', 'openid profile email', -20,  43200, NULL),
    ('demo-acme-member-refresh',  'refresh_token', 'acme-web', 'usr_acme_member', 'openid profile email', -20,  43200, NULL),
    ('demo-acme-admin-expired',   'access_token',  'acme-web', 'usr_acme_admin',  'openid profile admin', -2880, -1440, NULL),
    ('demo-acme-admin-revoked',   'access_token',  'acme-web', 'usr_acme_admin',  'openid profile admin', -180, 1440, -60),
    ('demo-acme-refresh-revoked', 'refresh_token', 'acme-web', 'usr_acme_member', 'openid profile email', -300, 1440, -120),
    -- acme-backend: client-credentials tokens, no user
    ('demo-acme-cc',              'access_token',  'acme-backend', NULL, 'tokens:read', -5,   60, NULL),
    ('demo-acme-cc-expired',      'access_token',  'acme-backend', NULL, 'tokens:read', -120, -60, NULL),
    ('demo-acme-cc-revoked',      'access_token',  'acme-backend', NULL, 'tokens:read', -30,  30, -15),
    -- globex-web
    ('demo-globex-admin',         'access_token',  'globex-web', 'usr_globex_admin',  'openid profile admin', -15, 43200, NULL),
    ('demo-globex-admin-refresh', 'refresh_token', 'globex-web', 'usr_globex_admin',  'openid profile admin', -15, 43200, NULL),
    ('demo-globex-member',        'access_token',  'globex-web', 'usr_globex_member', 'openid profile',       -25, 43200, NULL),
    ('demo-globex-member-expired','access_token',  'globex-web', 'usr_globex_member', 'openid profile',       -200, -100, NULL),
    -- globex-batch: client credentials
    ('demo-globex-cc',            'access_token',  'globex-batch', NULL, 'reports:write', -7, 60, NULL),
    ('demo-globex-cc-revoked',    'access_token',  'globex-batch', NULL, 'reports:write', -40, 20, -10))
  SELECT UNHEX(SHA2(d.token, 256)), d.token_type, c.id, u.id, d.scope,
         @now + INTERVAL d.created MINUTE, @now + INTERVAL d.expires MINUTE,
         @now + INTERVAL d.revoked MINUTE
  FROM d
  JOIN oauth_clients c ON c.client_id = d.client
  LEFT JOIN users u ON u.public_id = d.usr;

-- acme-bulk: tokens demo-acme-bulk-1 .. -150.  1..137 are active (7 pages of 20,
-- the last one short); they come in pairs created the same minute, so the order's
-- tie-break shows.  Every 3rd is a refresh token, every 5th has no user
-- (client credentials).  138..150 are inactive: odd ones expired, even ones revoked.
INSERT INTO oauth_tokens
    (token_hash, token_type, oauth_client_id, user_id, scope, created_at, expires_at, revoked_at)
  WITH RECURSIVE seq (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 150)
  SELECT UNHEX(SHA2(CONCAT('demo-acme-bulk-', seq.n), 256)),
         IF(seq.n % 3 = 0, 'refresh_token', 'access_token'),
         c.id,
         CASE WHEN seq.n % 5 = 0 THEN NULL
              WHEN seq.n % 2 = 0 THEN (SELECT id FROM users WHERE public_id = 'usr_acme_member')
              ELSE (SELECT id FROM users WHERE public_id = 'usr_acme_admin') END,
         IF(seq.n % 5 = 0, 'import:write', 'openid profile'),
         @now - INTERVAL ((seq.n + 1) DIV 2) MINUTE,
         IF(seq.n > 137 AND seq.n % 2 = 1, @now - INTERVAL 1 MINUTE, @now + INTERVAL 1 DAY),
         IF(seq.n > 137 AND seq.n % 2 = 0, @now - INTERVAL 2 MINUTE, NULL)
  FROM seq JOIN oauth_clients c ON c.client_id = 'acme-bulk';
