-- The alarm journal (domain.alarms.AlarmEvent): every transition of an alarm, every
-- acknowledgement (who, note), shelve, unshelve and removal from service, committed
-- through the stream like the samples: in the group's transaction, counted in its ledger
-- row, exactly once (DESIGN.md invariant 8). A row made while a run was in progress names
-- it, so a run's record says which alarms it had; the alarms of an idle machine have none.
-- The KPI report (store.alarm_kpis) and a restart's alarm states (store.alarm_journal)
-- read it.

ALTER TABLE write_transactions
    ADD COLUMN alarm_rows integer NOT NULL DEFAULT 0 CHECK (alarm_rows >= 0);

CREATE TABLE alarm_events (
    machine text NOT NULL CHECK (machine <> ''),
    seq bigint NOT NULL,
    at timestamptz NOT NULL,
    alarm text NOT NULL CHECK (alarm <> ''),
    event text NOT NULL CHECK (event IN ('raised', 'cleared', 'acknowledged', 'shelved',
        'unshelved', 'suppressed', 'unsuppressed', 'removed', 'returned')),
    state text NOT NULL CHECK (state IN ('normal', 'unacknowledged', 'acknowledged',
        'returned_unacknowledged', 'shelved', 'suppressed', 'out_of_service')),
    priority smallint NOT NULL CHECK (priority BETWEEN 1 AND 4),
    occurrence uuid,
    run_id uuid REFERENCES process_executions (id),
    value double precision,
    operator text NOT NULL DEFAULT '',
    note text NOT NULL DEFAULT '',
    until_at timestamptz,
    transaction_id uuid NOT NULL REFERENCES write_transactions (transaction_id),
    UNIQUE (machine, seq)
);
CREATE INDEX alarm_events_machine_at ON alarm_events (machine, at);
CREATE INDEX alarm_events_run ON alarm_events (run_id) WHERE run_id IS NOT NULL;

CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON alarm_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_of_record();

REVOKE ALL ON alarm_events FROM PUBLIC;
-- The writer records entries, never reads or changes one; the reader reads (doctor, the
-- KPI report, a restart's alarm states).
GRANT SELECT ON alarm_events TO ald_reader;
GRANT INSERT ON alarm_events TO ald_writer;
