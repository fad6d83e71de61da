-- +goose Up
-- require_changed(n) fails its statement unless n > 0: a write whose other rows ride on an UPDATE as
-- data-modifying CTEs (sales.LogVisit: the visit's INSERT on its customer's UPDATE), and which runs without
-- a transaction around it (graph/tx.go), ends its statement with SELECT require_changed(count(*)) FROM the
-- UPDATE's rows, so that an UPDATE that matched nothing (the customer changed hands since it was read)
-- takes the INSERTs with it, as a rollback would. SQLSTATE no_data_found (P0002). Written by hand: the ent
-- schema has no functions; Atlas leaves them alone.
-- +goose StatementBegin
CREATE FUNCTION require_changed(n bigint) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
  IF n < 1 THEN
    RAISE EXCEPTION 'require_changed: the statement changed no row' USING ERRCODE = 'no_data_found';
  END IF;
  RETURN n;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION IF EXISTS require_changed(bigint);
