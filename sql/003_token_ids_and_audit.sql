-- 003_token_ids_and_audit.sql: public token ids, list filters' indexes, the audit trail.

-- A stable, opaque, non-secret identifier per token row: random bytes, not
-- derived from the token text or its hash.  Shown as "tok_" + 32 hex digits.
-- Writers need not set it: the default draws it.
ALTER TABLE oauth_tokens
  ADD COLUMN IF NOT EXISTS public_id BINARY(16) NOT NULL DEFAULT (RANDOM_BYTES(16)) AFTER id,
  ADD UNIQUE KEY IF NOT EXISTS oauth_tokens_public_id (public_id);

-- The filters.  oauth_tokens_page replaces oauth_tokens_list with token_type
-- added, so a type filter is checked inside the index; the user filter gets its
-- own index in list order.  (New names keep this migration safe to re-run.)
ALTER TABLE oauth_tokens
  DROP KEY IF EXISTS oauth_tokens_user,
  DROP KEY IF EXISTS oauth_tokens_list,
  ADD KEY IF NOT EXISTS oauth_tokens_page
      (oauth_client_id, revoked_at, created_at, id, expires_at, token_type),
  ADD KEY IF NOT EXISTS oauth_tokens_by_user
      (user_id, oauth_client_id, revoked_at, created_at, id, expires_at, token_type);

-- Who did what to which client's tokens.  Public ids are copied, not referenced,
-- so the trail outlives users, clients and tenants.
CREATE TABLE IF NOT EXISTS audit_events (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  occurred_at  DATETIME(6)     NOT NULL,            -- UTC
  tenant_id    VARCHAR(64)     NOT NULL,            -- tenants.public_id
  actor        VARCHAR(128)    NOT NULL,            -- users.public_id, or "cli:<login>"
  action       VARCHAR(32)     NOT NULL,            -- tokens.list, tokens.revoke, token.revoke
  client_id    VARCHAR(255)    NOT NULL,            -- oauth_clients.client_id
  filters      VARCHAR(1000)   NOT NULL DEFAULT '', -- JSON object of the filters used
  affected     BIGINT UNSIGNED NOT NULL DEFAULT 0,  -- tokens listed (total) or revoked
  dry_run      BOOLEAN         NOT NULL DEFAULT FALSE,
  request_id   VARCHAR(64)     NOT NULL DEFAULT '',
  status       SMALLINT UNSIGNED NOT NULL,          -- HTTP status answered (0 for the CLI)
  KEY audit_events_tenant_time (tenant_id, occurred_at),
  KEY audit_events_time (occurred_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

INSERT IGNORE INTO schema_migrations (version) VALUES (3);
