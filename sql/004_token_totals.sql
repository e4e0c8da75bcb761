-- 004_token_totals.sql: exact active-token totals for the price of a few point lookups.
--
-- Replaces 002's per-expiry-hour counts.  oauth_token_totals holds, per client,
-- token type and writer, how many tokens are unrevoked and not swept.  The
-- triggers keep it in the writer's transaction, so a consistent read sees token
-- rows and totals agree, whoever writes the rows.  The active total at an
-- instant T is then, exactly, whatever `swept` says:
--
--     SUM(live) over the client's rows of oauth_token_totals
--   - COUNT of its unrevoked, unswept tokens with expires_at <= T
--   + COUNT of its unrevoked, swept tokens with expires_at >  T
--
-- (unswept - unswept and expired + swept and unexpired = unrevoked and
-- unexpired).  Both counts are ranges of oauth_tokens_unswept, read in one
-- walk: SUM(IF(swept, 1, -1)) WHERE (swept = 0 AND expires_at <= T) OR
-- (swept = 1 AND expires_at > T).  (Not the row constructor
-- (swept, expires_at) > (1, T): MariaDB 10.11 does not use it as a range.)  The sweeper
-- (`autionalctl sweep`) marks expired tokens swept, which moves them out of
-- the sum through the same trigger, so the first range holds only what expired
-- since the last sweep and the second is empty.  Correctness never depends on
-- the sweeper: without it, the first range grows (every expired, unpurged token)
-- and the total stays exact, only slower.
--
-- Shards: a writer only ever writes the row whose shard is its own node and
-- connection:  CRC32(@@hostname:@@port:@@datadir) << 32 | CONNECTION_ID().
-- Two connections, on one server or on two Galera nodes, never write the same
-- counter row, so the counting adds no lock waits, deadlocks or certification
-- conflicts between writers.  A shard may go negative (insert on one
-- connection, revoke on another); only the sum means anything.  The sweeper
-- folds the rows of its own node's other connections into the node's row
-- (connection part 0), so the rows a reader sums stay few.  Rows with shard 0
-- come from the rebuild below.
--
-- Bulk changes that skip triggers (TRUNCATE, restores of oauth_tokens alone)
-- must be followed by CALL oauth_token_counts_rebuild().

-- Set by the sweeper (and once by this migration): the token expired and has
-- been taken out of oauth_token_totals.
ALTER TABLE oauth_tokens
  ADD COLUMN IF NOT EXISTS swept BOOLEAN NOT NULL DEFAULT FALSE;

DROP TRIGGER IF EXISTS oauth_tokens_count_ins;
DROP TRIGGER IF EXISTS oauth_tokens_count_upd;
DROP TRIGGER IF EXISTS oauth_tokens_count_del;

-- A database that had tokens: what expired already is swept now, with no
-- trigger to pay for (the rebuild below counts what is left), so the totals
-- are cheap from the first request.  Tokens expiring later wait for
-- `autionalctl sweep` (and are counted exactly until then).
UPDATE oauth_tokens SET swept = TRUE
 WHERE revoked_at IS NULL AND NOT swept AND expires_at <= UTC_TIMESTAMP();

-- The two ranges of the total, the sweeper's walk and the purge of expired
-- tokens (which names swept IN (0, 1) to keep a range).  Replaces 002's
-- oauth_tokens_expiry, whose order (no swept) would make the first range
-- every expired token of the client.
ALTER TABLE oauth_tokens
  ADD KEY IF NOT EXISTS oauth_tokens_unswept
      (oauth_client_id, revoked_at, swept, expires_at, token_type),
  DROP KEY IF EXISTS oauth_tokens_expiry;

CREATE TABLE IF NOT EXISTS oauth_token_totals (
  oauth_client_id BIGINT UNSIGNED  NOT NULL,
  token_type      ENUM('access_token', 'refresh_token') NOT NULL,
  shard           BIGINT UNSIGNED  NOT NULL,  -- node << 32 | writer's connection id
  live            BIGINT           NOT NULL,  -- unrevoked, unswept (summed over shards)
  PRIMARY KEY (oauth_client_id, token_type, shard)
) ENGINE=InnoDB;

DELIMITER //

CREATE TRIGGER oauth_tokens_count_ins AFTER INSERT ON oauth_tokens FOR EACH ROW
BEGIN
  IF NEW.revoked_at IS NULL AND NOT NEW.swept THEN
    INSERT INTO oauth_token_totals (oauth_client_id, token_type, shard, live)
    VALUES (NEW.oauth_client_id, NEW.token_type,
            CRC32(CONCAT(@@hostname, ':', @@port, ':', @@datadir)) << 32 | CONNECTION_ID(), 1)
    ON DUPLICATE KEY UPDATE live = live + 1;
  END IF;
END//

-- Only a change of "counted" (unrevoked and unswept), client or type writes:
-- a revocation or a sweep is one upsert, a new expiry none.
CREATE TRIGGER oauth_tokens_count_upd AFTER UPDATE ON oauth_tokens FOR EACH ROW
BEGIN
  DECLARE was_counted BOOLEAN DEFAULT OLD.revoked_at IS NULL AND NOT OLD.swept;
  DECLARE is_counted BOOLEAN DEFAULT NEW.revoked_at IS NULL AND NOT NEW.swept;
  IF NOT (was_counted AND is_counted AND OLD.oauth_client_id = NEW.oauth_client_id
          AND OLD.token_type = NEW.token_type) THEN
    IF was_counted THEN
      INSERT INTO oauth_token_totals (oauth_client_id, token_type, shard, live)
      VALUES (OLD.oauth_client_id, OLD.token_type,
              CRC32(CONCAT(@@hostname, ':', @@port, ':', @@datadir)) << 32 | CONNECTION_ID(), -1)
      ON DUPLICATE KEY UPDATE live = live - 1;
    END IF;
    IF is_counted THEN
      INSERT INTO oauth_token_totals (oauth_client_id, token_type, shard, live)
      VALUES (NEW.oauth_client_id, NEW.token_type,
              CRC32(CONCAT(@@hostname, ':', @@port, ':', @@datadir)) << 32 | CONNECTION_ID(), 1)
      ON DUPLICATE KEY UPDATE live = live + 1;
    END IF;
  END IF;
END//

CREATE TRIGGER oauth_tokens_count_del AFTER DELETE ON oauth_tokens FOR EACH ROW
BEGIN
  IF OLD.revoked_at IS NULL AND NOT OLD.swept THEN
    INSERT INTO oauth_token_totals (oauth_client_id, token_type, shard, live)
    VALUES (OLD.oauth_client_id, OLD.token_type,
            CRC32(CONCAT(@@hostname, ':', @@port, ':', @@datadir)) << 32 | CONNECTION_ID(), -1)
    ON DUPLICATE KEY UPDATE live = live - 1;
  END IF;
END//

-- Recompute every total from the token rows (after a bulk change that skipped
-- the triggers).  Locks oauth_tokens against writes on this server while it
-- runs (REPEATABLE READ: the shared lock covers the gaps too); on a Galera
-- cluster run it while no other node writes tokens.
DROP PROCEDURE IF EXISTS oauth_token_counts_rebuild//
CREATE PROCEDURE oauth_token_counts_rebuild()
BEGIN
  SET TRANSACTION ISOLATION LEVEL REPEATABLE READ;
  START TRANSACTION;
  SELECT COUNT(*) INTO @ignored FROM oauth_tokens LOCK IN SHARE MODE;
  DELETE FROM oauth_token_totals;
  INSERT INTO oauth_token_totals (oauth_client_id, token_type, shard, live)
  SELECT oauth_client_id, token_type, 0, COUNT(*)
    FROM oauth_tokens WHERE revoked_at IS NULL AND NOT swept
   GROUP BY oauth_client_id, token_type;
  COMMIT;
END//

DELIMITER ;

CALL oauth_token_counts_rebuild();

-- 002's hourly counts: nothing reads or writes them any more.
DROP TABLE IF EXISTS oauth_token_counts;

INSERT IGNORE INTO schema_migrations (version) VALUES (4);
