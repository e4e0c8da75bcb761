-- 001_core.sql: tenants, users, OAuth clients and the token store (all times UTC).
--
-- Whatever issues tokens writes oauth_tokens directly; see README, "Issuing tokens".
-- Token text is never stored: token_hash is SHA-256 over the exact bytes the client
-- sends after "Bearer ".

CREATE TABLE IF NOT EXISTS schema_migrations (
  version     INT UNSIGNED NOT NULL PRIMARY KEY,
  applied_at  DATETIME     NOT NULL DEFAULT UTC_TIMESTAMP()
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS tenants (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  public_id   VARCHAR(64)     NOT NULL,             -- e.g. "ten_acme"
  name        VARCHAR(200)    NOT NULL,
  created_at  DATETIME        NOT NULL DEFAULT UTC_TIMESTAMP(),
  UNIQUE KEY tenants_public_id (public_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS users (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  public_id   VARCHAR(64)     NOT NULL,             -- e.g. "usr_abc123"; shown as user_id
  tenant_id   BIGINT UNSIGNED NOT NULL,
  is_admin    BOOLEAN         NOT NULL DEFAULT FALSE, -- administrator of its tenant
  created_at  DATETIME        NOT NULL DEFAULT UTC_TIMESTAMP(),
  UNIQUE KEY users_public_id (public_id),
  KEY users_tenant (tenant_id),
  CONSTRAINT users_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS oauth_clients (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  client_id   VARCHAR(255)    NOT NULL,             -- the public OAuth client_id
  tenant_id   BIGINT UNSIGNED NOT NULL,
  name        VARCHAR(200)    NOT NULL DEFAULT '',
  created_at  DATETIME        NOT NULL DEFAULT UTC_TIMESTAMP(),
  UNIQUE KEY oauth_clients_client_id (client_id),
  KEY oauth_clients_tenant (tenant_id),
  CONSTRAINT oauth_clients_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- One store for access and refresh tokens.  A token is active while
-- revoked_at IS NULL AND expires_at > UTC_TIMESTAMP().
CREATE TABLE IF NOT EXISTS oauth_tokens (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  token_hash      BINARY(32)      NOT NULL,         -- SHA-256 of the token text
  token_type      ENUM('access_token', 'refresh_token') NOT NULL,
  oauth_client_id BIGINT UNSIGNED NOT NULL,         -- oauth_clients.id
  user_id         BIGINT UNSIGNED NULL,             -- users.id; NULL for client-credentials tokens
  scope           VARCHAR(1000)   NOT NULL DEFAULT '',
  created_at      DATETIME        NOT NULL DEFAULT UTC_TIMESTAMP(),
  expires_at      DATETIME        NOT NULL,
  revoked_at      DATETIME        NULL,
  UNIQUE KEY oauth_tokens_hash (token_hash),
  -- Serves the list: equality on (client, revoked_at IS NULL), then the order
  -- created_at DESC, id DESC straight from the index, expiry filtered in the index.
  KEY oauth_tokens_list (oauth_client_id, revoked_at, created_at, id, expires_at),
  KEY oauth_tokens_user (user_id),
  CONSTRAINT oauth_tokens_client_fk FOREIGN KEY (oauth_client_id) REFERENCES oauth_clients (id),
  CONSTRAINT oauth_tokens_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

INSERT IGNORE INTO schema_migrations (version) VALUES (1);
