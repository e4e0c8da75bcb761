-- fixture.sql: data for the whole-stack suite (tests/stack/test_tokens.py).
--
-- Loaded by the suite itself at start, so it can run again and again and against
-- any front end.  Empties the tables in foreign-key order (DELETE, not TRUNCATE:
-- InnoDB refuses TRUNCATE on a referenced table, and DELETE fires any trigger that
-- maintains derived counts), then inserts everything with times relative to one
-- UTC_TIMESTAMP().  Token texts are only hashed here; the suite knows them too
-- (BEARERS in test_tokens.py) and checks that none ever comes back.
--
-- Scopes are unique labels: the suite identifies list items by scope.

SET NAMES utf8mb4;
SET @now = UTC_TIMESTAMP();

DELETE FROM oauth_tokens;
DELETE FROM oauth_clients;
DELETE FROM users;
DELETE FROM tenants;

INSERT INTO tenants (id, public_id, name, created_at) VALUES
  (1, 'ten_alpha', 'Alpha Corp', @now - INTERVAL 400 DAY),
  (2, 'ten_beta',  'Beta Ltd',   @now - INTERVAL 300 DAY);

INSERT INTO users (id, public_id, tenant_id, is_admin) VALUES
  (1, 'usr_alpha_admin',  1, TRUE),
  (2, 'usr_alpha_user',   1, FALSE),
  (3, 'usr_beta_admin',   2, TRUE),
  (4, 'usr_beta_user',    2, FALSE),
  (5, 'usr_alpha_admin2', 1, TRUE),
  (6, REPEAT('ü', 64),      1, FALSE);

INSERT INTO oauth_clients (id, client_id, tenant_id, name) VALUES
  (1,  'cli_alpha_web',     1, 'Alpha web: every token state'),
  (2,  'cli_alpha_page',    1, 'Alpha paging: 45 active tokens, ties in created_at'),
  (3,  'cli_alpha_empty',   1, 'Alpha: only expired and revoked tokens'),
  (4,  'cli space',         1, 'Alpha: client_id with a space'),
  (5,  'cli+plus',          1, 'Alpha: client_id with a plus'),
  (6,  'cli-ünï',           1, 'Alpha: UTF-8 client_id'),
  (7,  'cli_alpha_mut',     1, 'Alpha: tokens the suite changes between requests'),
  (8,  REPEAT('😀', 255),   1, 'Alpha: longest client_id, 4-byte UTF-8 (1020 bytes)'),
  (9,  'cli/slash',         1, 'Alpha: client_id with a slash (%2F in the path)'),
  (10, 'cli_alpha_console', 1, 'Alpha: the bearer tokens of the suite'),
  (11, 'cli_beta_app',      2, 'Beta app'),
  (20, 'cli_beta_console',  2, 'Beta: the bearer tokens of the suite');

-- Bearer tokens (client cli_alpha_console / cli_beta_console).
INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id, scope, created_at, expires_at, revoked_at) VALUES
  (UNHEX(SHA2('h2-alpha-admin-live-0001', 256)),        'access_token',  10, 1,    'b-admin',        @now - INTERVAL 5 MINUTE,  @now + INTERVAL 2 HOUR,   NULL),
  (UNHEX(SHA2('h2.Alpha~admin_b64+/tok==', 256)),       'access_token',  10, 1,    'b-admin-b64',    @now - INTERVAL 6 MINUTE,  @now + INTERVAL 2 HOUR,   NULL),
  (UNHEX(SHA2('h2-alpha-user-live-0002', 256)),         'access_token',  10, 2,    'b-user',         @now - INTERVAL 7 MINUTE,  @now + INTERVAL 2 HOUR,   NULL),
  (UNHEX(SHA2('h2-alpha-cc-live-0003', 256)),           'access_token',  10, NULL, 'b-cc',           @now - INTERVAL 8 MINUTE,  @now + INTERVAL 2 HOUR,   NULL),
  (UNHEX(SHA2('h2-alpha-admin-expired-0004', 256)),     'access_token',  10, 1,    'b-expired',      @now - INTERVAL 3 HOUR,    @now - INTERVAL 1 HOUR,   NULL),
  (UNHEX(SHA2('h2-alpha-admin-revoked-0005', 256)),     'access_token',  10, 1,    'b-revoked',      @now - INTERVAL 9 MINUTE,  @now + INTERVAL 2 HOUR,   @now - INTERVAL 1 MINUTE),
  (UNHEX(SHA2('h2-alpha-admin-refresh-0006', 256)),     'refresh_token', 10, 1,    'b-refresh',      @now - INTERVAL 10 MINUTE, @now + INTERVAL 30 DAY,   NULL),
  (UNHEX(SHA2('h2-alpha-admin-revokelater-0007', 256)), 'access_token',  10, 1,    'b-revokelater',  @now - INTERVAL 11 MINUTE, @now + INTERVAL 2 HOUR,   NULL),
  (UNHEX(SHA2('h2-alpha-admin-expirelater-0008', 256)), 'access_token',  10, 1,    'b-expirelater',  @now - INTERVAL 12 MINUTE, @now + INTERVAL 2 HOUR,   NULL),
  (UNHEX(SHA2('h2-alpha-admin2-live-0009', 256)),       'access_token',  10, 5,    'b-admin2',       @now - INTERVAL 13 MINUTE, @now + INTERVAL 2 HOUR,   NULL),
  (UNHEX(SHA2('h2-alpha-admin-revokedfuture-0012', 256)),'access_token', 10, 1,    'b-revokedfuture',@now - INTERVAL 14 MINUTE, @now + INTERVAL 2 HOUR,   @now + INTERVAL 1 HOUR),
  (UNHEX(SHA2('h2-beta-admin-live-0010', 256)),         'access_token',  20, 3,    'b-beta-admin',   @now - INTERVAL 5 MINUTE,  @now + INTERVAL 2 HOUR,   NULL),
  (UNHEX(SHA2('h2-beta-user-live-0011', 256)),          'access_token',  20, 4,    'b-beta-user',    @now - INTERVAL 5 MINUTE,  @now + INTERVAL 2 HOUR,   NULL);

-- cli_alpha_web: every state.  Active, newest first: w-live-access-cc,
-- w-live-access-user, w-live-refresh-user, w-live-refresh-admin, w-live-special.
INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id, scope, created_at, expires_at, revoked_at) VALUES
  (UNHEX(SHA2('h2-web-1', 256)),  'access_token',  1, 2,    'w-live-access-user',   @now - INTERVAL 1 HOUR,    @now + INTERVAL 1 HOUR,   NULL),
  (UNHEX(SHA2('h2-web-2', 256)),  'refresh_token', 1, 2,    'w-live-refresh-user',  @now - INTERVAL 2 HOUR,    @now + INTERVAL 30 DAY,   NULL),
  (UNHEX(SHA2('h2-web-3', 256)),  'access_token',  1, NULL, 'w-live-access-cc',     @now - INTERVAL 30 MINUTE, @now + INTERVAL 30 MINUTE, NULL),
  (UNHEX(SHA2('h2-web-4', 256)),  'refresh_token', 1, 1,    'w-live-refresh-admin', @now - INTERVAL 3 HOUR,    @now + INTERVAL 7 DAY,    NULL),
  (UNHEX(SHA2('h2-web-5', 256)),  'access_token',  1, 2,    'w-live-special "q" \\ é ✓ </script>', @now - INTERVAL 4 HOUR, @now + INTERVAL 5 HOUR, NULL),
  (UNHEX(SHA2('h2-web-6', 256)),  'access_token',  1, 2,    'w-expired-access',     @now - INTERVAL 5 HOUR,    @now - INTERVAL 1 HOUR,   NULL),
  (UNHEX(SHA2('h2-web-7', 256)),  'refresh_token', 1, 2,    'w-expired-refresh',    @now - INTERVAL 40 DAY,    @now - INTERVAL 10 DAY,   NULL),
  (UNHEX(SHA2('h2-web-8', 256)),  'access_token',  1, 2,    'w-revoked-access',     @now - INTERVAL 20 MINUTE, @now + INTERVAL 40 MINUTE, @now - INTERVAL 5 MINUTE),
  (UNHEX(SHA2('h2-web-9', 256)),  'refresh_token', 1, 2,    'w-revoked-refresh',    @now - INTERVAL 25 MINUTE, @now + INTERVAL 10 DAY,   @now - INTERVAL 1 MINUTE),
  (UNHEX(SHA2('h2-web-10', 256)), 'access_token',  1, 1,    'w-expired-now',        @now - INTERVAL 50 MINUTE, @now,                     NULL),
  (UNHEX(SHA2('h2-web-11', 256)), 'access_token',  1, 1,    'w-revoked-future',     @now - INTERVAL 15 MINUTE, @now + INTERVAL 1 HOUR,   @now + INTERVAL 1 HOUR),
  (UNHEX(SHA2('h2-web-12', 256)), 'refresh_token', 1, 1,    'w-revoked-expired',    @now - INTERVAL 9 DAY,     @now - INTERVAL 2 DAY,    @now - INTERVAL 3 DAY);

-- cli_alpha_page: 45 active tokens whose created_at values repeat (ties) and do
-- not follow insertion order, plus 5 expired and 5 revoked ones among them.
INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id, scope, created_at, expires_at, revoked_at)
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 55)
SELECT UNHEX(SHA2(CONCAT('h2-page-', n), 256)),
       IF(n MOD 2 = 0, 'refresh_token', 'access_token'),
       2,
       CASE n MOD 3 WHEN 0 THEN 2 WHEN 1 THEN 1 ELSE NULL END,
       CONCAT(CASE WHEN n > 50 THEN 'p-revoked-' WHEN n > 45 THEN 'p-expired-' ELSE 'p-' END, LPAD(n, 2, '0')),
       @now - INTERVAL (10 + ((n * 7) MOD 16)) MINUTE,
       IF(n BETWEEN 46 AND 50, @now - INTERVAL n SECOND, @now + INTERVAL (1 + n) HOUR),
       IF(n > 50, @now - INTERVAL 30 SECOND, NULL)
FROM seq;

-- cli_alpha_empty: nothing active.
INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id, scope, created_at, expires_at, revoked_at) VALUES
  (UNHEX(SHA2('h2-empty-1', 256)), 'access_token',  3, 1, 'e-expired', @now - INTERVAL 2 HOUR, @now - INTERVAL 1 HOUR, NULL),
  (UNHEX(SHA2('h2-empty-2', 256)), 'refresh_token', 3, 1, 'e-revoked', @now - INTERVAL 2 HOUR, @now + INTERVAL 1 DAY,  @now - INTERVAL 1 HOUR);

-- Clients whose client_id needs percent-encoding; one token each.
INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id, scope, created_at, expires_at, revoked_at) VALUES
  (UNHEX(SHA2('h2-space-1', 256)), 'access_token', 4, 1, 's-space', @now - INTERVAL 1 HOUR, @now + INTERVAL 1 HOUR, NULL),
  (UNHEX(SHA2('h2-plus-1', 256)),  'access_token', 5, 1, 's-plus',  @now - INTERVAL 1 HOUR, @now + INTERVAL 1 HOUR, NULL),
  (UNHEX(SHA2('h2-utf8-1', 256)),  'access_token', 6, 1, 's-utf8',  @now - INTERVAL 1 HOUR, @now + INTERVAL 1 HOUR, NULL),
  (UNHEX(SHA2('h2-slash-1', 256)), 'access_token', 9, 1, 's-slash-1', @now - INTERVAL 1 HOUR, @now + INTERVAL 1 HOUR, NULL),
  (UNHEX(SHA2('h2-slash-2', 256)), 'refresh_token', 9, 2, 's-slash-2', @now - INTERVAL 2 HOUR, @now + INTERVAL 1 DAY, NULL);

-- The longest client_id: a scope of 1000 4-byte characters, a 64-character
-- user id, an expiry at the end of year 9999.
INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id, scope, created_at, expires_at, revoked_at) VALUES
  (UNHEX(SHA2('h2-big-1', 256)), 'refresh_token', 8, 6,    CONCAT('big-', REPEAT('😀', 996)), @now - INTERVAL 1 HOUR, @now + INTERVAL 1 HOUR, NULL),
  (UNHEX(SHA2('h2-big-2', 256)), 'access_token',  8, NULL, 'far-future', @now - INTERVAL 2 HOUR, '9999-12-31 23:59:59', NULL);

-- cli_alpha_mut: two live tokens the suite revokes, expires and restores.
INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id, scope, created_at, expires_at, revoked_at) VALUES
  (UNHEX(SHA2('h2-mut-1', 256)), 'access_token',  7, 2, 'm-one', @now - INTERVAL 1 HOUR, @now + INTERVAL 1 HOUR, NULL),
  (UNHEX(SHA2('h2-mut-2', 256)), 'refresh_token', 7, 2, 'm-two', @now - INTERVAL 2 HOUR, @now + INTERVAL 1 DAY,  NULL);

-- cli_beta_app (tenant beta): two live tokens, one expired.
INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id, scope, created_at, expires_at, revoked_at) VALUES
  (UNHEX(SHA2('h2-beta-1', 256)), 'access_token',  11, 4,    'x-beta-access',  @now - INTERVAL 1 HOUR, @now + INTERVAL 1 HOUR, NULL),
  (UNHEX(SHA2('h2-beta-2', 256)), 'refresh_token', 11, 4,    'x-beta-refresh', @now - INTERVAL 2 HOUR, @now + INTERVAL 9 DAY,  NULL),
  (UNHEX(SHA2('h2-beta-3', 256)), 'access_token',  11, NULL, 'x-beta-expired', @now - INTERVAL 3 HOUR, @now - INTERVAL 1 HOUR, NULL);
