-- +goose Up
-- An agent holds at most 3 units at once (SPEC.md §3.2, sales.MaxHolds), under any concurrency: written
-- by hand (the ent schema has no triggers; Atlas leaves them alone). When a row takes a hold (a new expiry
-- on a held unit: sales.HoldUnit), the trigger locks the holder's user row, which makes one agent's holds
-- wait for each other, then counts the holder's holds (rule.Holding: live, or pending approval with no
-- expiry) in a query of its own: in READ COMMITTED each query of a function takes a new snapshot, so the
-- count sees every hold committed while the lock was awaited, and the hold's own row. Done in the
-- statement that holds, the check needs no statement before it to take the lock, and no transaction
-- around the two: holdUnit is one statement (graph/tx.go). "Now" is the hold's updated_at, which
-- sales.HoldUnit sets to the request's clock.
-- +goose StatementBegin
CREATE FUNCTION units_hold_cap() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- FOR NO KEY UPDATE: exclusive among holds, but no conflict with the KEY SHARE locks of foreign-key checks
  -- (this statement's own on the holder, which run first, and any other write's that names the user).
  PERFORM 1 FROM users WHERE id = NEW.held_by_id FOR NO KEY UPDATE;
  IF (SELECT count(*) FROM units WHERE held_by_id = NEW.held_by_id AND status = 'HELD'
      AND (hold_expires_at IS NULL OR hold_expires_at > NEW.updated_at)) > TG_ARGV[0]::int THEN
    -- In PostgreSQL's words for a check constraint, which ent's drivers recognise.
    RAISE EXCEPTION 'new row for relation "units" violates check constraint "units_hold_cap": an agent holds at most % units at once', TG_ARGV[0]
      USING ERRCODE = 'check_violation', CONSTRAINT = 'units_hold_cap';
  END IF;
  RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER units_hold_cap AFTER UPDATE OF status, held_by_id, hold_expires_at ON units
  FOR EACH ROW
  WHEN (NEW.status = 'HELD' AND NEW.held_by_id IS NOT NULL AND NEW.hold_expires_at IS NOT NULL
    AND NEW.hold_expires_at IS DISTINCT FROM OLD.hold_expires_at)
  EXECUTE FUNCTION units_hold_cap(3);

-- +goose Down
DROP TRIGGER IF EXISTS units_hold_cap ON units;
DROP FUNCTION IF EXISTS units_hold_cap();
