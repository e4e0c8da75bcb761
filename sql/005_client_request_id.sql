-- 005_client_request_id.sql: the caller's X-Request-Id, kept apart from the request id.
--
-- audit_events.request_id is the web server's id of the request (Apache
-- UNIQUE_ID, nginx $request_id) or the program's random one, never a value the
-- caller chose.  A caller's X-Request-Id (1-64 of A-Z a-z 0-9 . _ - @ :) is
-- kept here, NULL when it sent none or one of another form.
ALTER TABLE audit_events
  ADD COLUMN IF NOT EXISTS client_request_id VARCHAR(64) NULL AFTER request_id;

INSERT IGNORE INTO schema_migrations (version) VALUES (5);
