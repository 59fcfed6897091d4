-- A set-transaction batch written from the process's cache of recently written rows sends its guard, its
-- writes and its COMMIT together; the guard calls this with whether every cached row is still the version the
-- cache holds. SQLSTATE EN409 aborts the transaction, and the batch is written again from a fresh read.
CREATE FUNCTION entitle_assert_fresh(fresh boolean) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
  IF fresh IS NOT TRUE THEN
    RAISE EXCEPTION 'the cached rows of this batch have changed' USING ERRCODE = 'EN409';
  END IF;
  RETURN 1;
END
$$;
