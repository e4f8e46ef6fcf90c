-- Recipe runs: what a run ran (the recipe's version, its SHA-256 and the snapshot, the
-- column of 0001), and one row per recipe step as it happened (domain.stream.StepRecord),
-- committed through the stream like the samples: in the group's transaction, counted in
-- its ledger row, exactly once (DESIGN.md invariant 8).

-- The recipe of a run. A run without one keeps NULL and ''.
ALTER TABLE process_executions
    ADD COLUMN recipe_version integer CHECK (recipe_version >= 1),
    ADD COLUMN recipe_sha256 text NOT NULL DEFAULT ''
        CHECK (recipe_sha256 = '' OR recipe_sha256 ~ '^[0-9a-f]{64}$');

-- What a run ran is written once, with its start: the writer may update only the end
-- (0002's column grant), and this holds for anyone else who may update a run. (A trigger
-- of its own rather than a new refuse_rewrite_of_run: a database made before roles may
-- have that function owned by another account than the one migrating.)
CREATE FUNCTION refuse_rewrite_of_recipe() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.recipe_version, NEW.recipe_sha256) IS DISTINCT FROM
       (OLD.recipe_version, OLD.recipe_sha256) THEN
        RAISE EXCEPTION 'run %: its recipe is recorded at its start and cannot change', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER keep_recipe BEFORE UPDATE ON process_executions
    FOR EACH ROW EXECUTE FUNCTION refuse_rewrite_of_recipe();

-- The ledger counts a group's steps too (invariant 3 and 8). Groups written before
-- steps existed had none.
ALTER TABLE write_transactions
    ADD COLUMN step_rows integer NOT NULL DEFAULT 0 CHECK (step_rows >= 0);

-- One row per recipe step of a run, recorded when the step ends. `seq` is the item's
-- place in the machine's stream, unique across restarts (domain.machine): the key that
-- makes a step recorded once, whatever replays. `cycles` holds the 1-based cycle of every
-- enclosing loop, outermost first; the lengths are milliseconds (requested: asked of a
-- pulse; measured: by the PLC's pulse timer or between the acknowledged open and close).
CREATE TABLE run_steps (
    machine text NOT NULL CHECK (machine <> ''),
    run_id uuid NOT NULL REFERENCES process_executions (id),
    seq bigint NOT NULL,
    path text NOT NULL CHECK (path <> ''),
    kind text NOT NULL CHECK (kind <> ''),
    cycles integer[] NOT NULL CHECK (0 < ALL (cycles)),
    started_at timestamptz NOT NULL,
    ended_at timestamptz NOT NULL,
    outcome text NOT NULL,
    requested_ms double precision CHECK (requested_ms >= 0),
    measured_ms double precision CHECK (measured_ms >= 0),
    detail text NOT NULL DEFAULT '',
    transaction_id uuid NOT NULL REFERENCES write_transactions (transaction_id),
    UNIQUE (machine, seq),
    CHECK (started_at <= ended_at)
);
-- A run's steps in order (run history, golden-run alignment, the doctor's checks).
CREATE INDEX run_steps_run_started ON run_steps (run_id, started_at);

CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON run_steps
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_of_record();

REVOKE ALL ON run_steps FROM PUBLIC;
-- The writer reads a crashed run's last step (store.runs) and records steps, never
-- changes one; the reader reads.
GRANT SELECT ON run_steps TO ald_reader, ald_writer;
GRANT INSERT ON run_steps TO ald_writer;
