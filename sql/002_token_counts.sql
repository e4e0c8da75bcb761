-- 002_token_counts.sql: exact active-token totals without counting rows.
--
-- oauth_token_counts holds, per client, token type and hour of expiry, how many
-- tokens are not revoked.  Triggers keep it in the same transaction as the token row,
-- so any consistent read sees rows and counts agree, whoever writes the rows.
-- The active total at time NOW is then
--   SUM(live) over buckets with expiry_hour > hour(NOW)        (all still valid)
-- + COUNT(*) of the client's unrevoked tokens expiring in (NOW, hour(NOW)+1h)
-- which reads a few hundred bucket rows and one hour of index, not a million rows.
--
-- Concurrent writers for one client would all update the same bucket row; the
-- shard column (connection id mod 4) spreads them over four rows.  A shard may
-- go negative (insert on one connection, revoke on another); only the sum means
-- anything.
--
-- Bulk changes that skip triggers (TRUNCATE, replication filters, restores of
-- oauth_tokens alone) must be followed by CALL oauth_token_counts_rebuild().

CREATE TABLE IF NOT EXISTS oauth_token_counts (
  oauth_client_id BIGINT UNSIGNED  NOT NULL,
  token_type      ENUM('access_token', 'refresh_token') NOT NULL,
  expiry_hour     DATETIME         NOT NULL,  -- expires_at truncated to the hour
  shard           TINYINT UNSIGNED NOT NULL,
  live            BIGINT           NOT NULL,  -- unrevoked tokens (summed over shards)
  PRIMARY KEY (oauth_client_id, expiry_hour, token_type, shard)
) ENGINE=InnoDB;

-- Serves the partial-hour count above from the index alone (token_type
-- included: a type filter must not send it to the rows), and the purge.
CREATE INDEX IF NOT EXISTS oauth_tokens_expiry
  ON oauth_tokens (oauth_client_id, revoked_at, expires_at, token_type);

DROP TRIGGER IF EXISTS oauth_tokens_count_ins;
DROP TRIGGER IF EXISTS oauth_tokens_count_upd;
DROP TRIGGER IF EXISTS oauth_tokens_count_del;

DELIMITER //

CREATE TRIGGER oauth_tokens_count_ins AFTER INSERT ON oauth_tokens FOR EACH ROW
BEGIN
  IF NEW.revoked_at IS NULL THEN
    INSERT INTO oauth_token_counts (oauth_client_id, token_type, expiry_hour, shard, live)
    VALUES (NEW.oauth_client_id, NEW.token_type,
            DATE_FORMAT(NEW.expires_at, '%Y-%m-%d %H:00:00'), CONNECTION_ID() % 4, 1)
    ON DUPLICATE KEY UPDATE live = live + 1;
  END IF;
END//

CREATE TRIGGER oauth_tokens_count_upd AFTER UPDATE ON oauth_tokens FOR EACH ROW
BEGIN
  IF NOT ((OLD.revoked_at IS NULL) = (NEW.revoked_at IS NULL)
          AND OLD.oauth_client_id = NEW.oauth_client_id
          AND OLD.token_type = NEW.token_type
          AND DATE_FORMAT(OLD.expires_at, '%Y-%m-%d %H') = DATE_FORMAT(NEW.expires_at, '%Y-%m-%d %H')) THEN
    IF OLD.revoked_at IS NULL THEN
      INSERT INTO oauth_token_counts (oauth_client_id, token_type, expiry_hour, shard, live)
      VALUES (OLD.oauth_client_id, OLD.token_type,
              DATE_FORMAT(OLD.expires_at, '%Y-%m-%d %H:00:00'), CONNECTION_ID() % 4, -1)
      ON DUPLICATE KEY UPDATE live = live - 1;
    END IF;
    IF NEW.revoked_at IS NULL THEN
      INSERT INTO oauth_token_counts (oauth_client_id, token_type, expiry_hour, shard, live)
      VALUES (NEW.oauth_client_id, NEW.token_type,
              DATE_FORMAT(NEW.expires_at, '%Y-%m-%d %H:00:00'), CONNECTION_ID() % 4, 1)
      ON DUPLICATE KEY UPDATE live = live + 1;
    END IF;
  END IF;
END//

CREATE TRIGGER oauth_tokens_count_del AFTER DELETE ON oauth_tokens FOR EACH ROW
BEGIN
  IF OLD.revoked_at IS NULL THEN
    INSERT INTO oauth_token_counts (oauth_client_id, token_type, expiry_hour, shard, live)
    VALUES (OLD.oauth_client_id, OLD.token_type,
            DATE_FORMAT(OLD.expires_at, '%Y-%m-%d %H:00:00'), CONNECTION_ID() % 4, -1)
    ON DUPLICATE KEY UPDATE live = live - 1;
  END IF;
END//

-- Recompute every count from the token rows (after a bulk change that skipped
-- the triggers).  Locks oauth_tokens against writes while it runs.
DROP PROCEDURE IF EXISTS oauth_token_counts_rebuild//
CREATE PROCEDURE oauth_token_counts_rebuild()
BEGIN
  START TRANSACTION;
  SELECT COUNT(*) INTO @ignored FROM oauth_tokens LOCK IN SHARE MODE;
  DELETE FROM oauth_token_counts;
  INSERT INTO oauth_token_counts (oauth_client_id, token_type, expiry_hour, shard, live)
  SELECT oauth_client_id, token_type, DATE_FORMAT(expires_at, '%Y-%m-%d %H:00:00'), 0, COUNT(*)
    FROM oauth_tokens WHERE revoked_at IS NULL
   GROUP BY oauth_client_id, token_type, DATE_FORMAT(expires_at, '%Y-%m-%d %H:00:00');
  COMMIT;
END//

DELIMITER ;

CALL oauth_token_counts_rebuild();

INSERT IGNORE INTO schema_migrations (version) VALUES (2);
