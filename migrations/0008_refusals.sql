-- The refusal journal (domain.refusal.Refusal): every write an interlock refused (an
-- exclusive valve group, a permissive of [process.interlocks]), whoever asked, with the
-- rule and the reason shown, committed through the stream like the samples: in the
-- group's transaction, counted in its ledger row, exactly once (DESIGN.md invariant 8).
-- A refusal made while a run was in progress names it.

ALTER TABLE write_transactions
    ADD COLUMN refusal_rows integer NOT NULL DEFAULT 0 CHECK (refusal_rows >= 0);

CREATE TABLE refusals (
    machine text NOT NULL CHECK (machine <> ''),
    seq bigint NOT NULL,
    at timestamptz NOT NULL,
    rule text NOT NULL CHECK (rule <> ''),
    tag text NOT NULL CHECK (tag <> ''),
    value double precision,
    reason text NOT NULL CHECK (reason <> ''),
    run_id uuid REFERENCES process_executions (id),
    transaction_id uuid NOT NULL REFERENCES write_transactions (transaction_id),
    UNIQUE (machine, seq)
);
CREATE INDEX refusals_machine_at ON refusals (machine, at);
CREATE INDEX refusals_run ON refusals (run_id) WHERE run_id IS NOT NULL;

CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON refusals
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_of_record();

REVOKE ALL ON refusals FROM PUBLIC;
-- The writer records refusals, never changes one; it reads them to count a group's rows
-- against its ledger row and to find a run's latest record when it closes a run left
-- open (0007); the reader reads them (doctor).
GRANT SELECT ON refusals TO ald_reader, ald_writer;
GRANT INSERT ON refusals TO ald_writer;
