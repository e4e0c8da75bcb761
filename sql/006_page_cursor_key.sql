-- 006_page_cursor_key.sql: the secret that authenticates page cursors, made once per database.
--
-- A list response carries an opaque cursor for its next page: the position
-- of its last token, with an HMAC-SHA-256 under this key over the position,
-- the client and the filters (src/core/cursor.c).  Every worker of a
-- deployment reads the same key (and a Galera cluster replicates the row), so
-- a cursor made by one worker is good on every other; a cursor that was
-- altered, or made for another client or other filters, is refused with 400.
-- To invalidate every cursor in circulation, replace the secret:
--   UPDATE api_secrets SET secret = RANDOM_BYTES(32) WHERE name = 'page_cursor';
-- (workers read it once per process: restart them afterwards).

CREATE TABLE IF NOT EXISTS api_secrets (
  name        VARCHAR(32)     NOT NULL PRIMARY KEY,
  secret      VARBINARY(64)   NOT NULL,
  created_at  DATETIME        NOT NULL DEFAULT UTC_TIMESTAMP()
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT IGNORE INTO api_secrets (name, secret) VALUES ('page_cursor', RANDOM_BYTES(32));

INSERT IGNORE INTO schema_migrations (version) VALUES (6);
