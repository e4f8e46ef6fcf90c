-- Retention (README, "Partitions, retention and rollups"): `ald-gui db retention` drops
-- whole partitions of the sample tables older than the span kept, never single rows, and
-- writes down here what it dropped, when and by whom. The ledger rows of the dropped
-- samples stay (runs and gaps refer to them); retention_ledger keeps, for each of them,
-- how many of its rows went, so that the doctor's count of a transaction's rows
-- (invariant 3) adds those dropped to those found and stays clean. Runs, steps, gaps,
-- alarms, refusals and the audit trail are never dropped.

CREATE TABLE retention_drops (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dropped_at timestamptz NOT NULL DEFAULT now(),
    dropped_by text NOT NULL DEFAULT session_user,  -- the login that ran it
    keep interval NOT NULL,            -- the span asked to be kept
    cut timestamptz NOT NULL,          -- what was kept: everything from here on
    table_name text NOT NULL,
    partition_name text NOT NULL,
    range_from timestamptz NOT NULL,
    range_to timestamptz NOT NULL CHECK (range_to <= cut),
    rows_dropped bigint NOT NULL CHECK (rows_dropped >= 0)
);

CREATE TABLE retention_ledger (
    drop_id bigint NOT NULL REFERENCES retention_drops (id),
    transaction_id uuid NOT NULL,
    rows_dropped integer NOT NULL CHECK (rows_dropped >= 1),
    PRIMARY KEY (drop_id, transaction_id)
);
CREATE INDEX retention_ledger_transaction ON retention_ledger (transaction_id);

CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON retention_drops
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_of_record();
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON retention_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_of_record();

-- Written by the owner only (retention runs as ald_owner); read by doctor.
REVOKE ALL ON retention_drops, retention_ledger FROM PUBLIC;
GRANT SELECT ON retention_drops, retention_ledger TO ald_reader, ald_writer;
