-- The golden run of each recipe (ald_gui.store.golden_runs): the run an engineer chose
-- as the good one to compare others with (the runs browser's overlay). Markings are
-- appended, never changed: who marked which run, when; the latest marking of a
-- machine's recipe wins, and taking the mark away is a marking too (run_id NULL), so
-- the history of what was golden when stays readable.

CREATE TABLE golden_runs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    machine text NOT NULL CHECK (machine <> ''),
    recipe_name text NOT NULL CHECK (recipe_name <> ''),
    run_id uuid REFERENCES process_executions (id),
    marked_by text NOT NULL CHECK (marked_by <> ''),
    marked_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    note text NOT NULL DEFAULT ''
);
-- "The golden run of this recipe now": its latest marking.
CREATE INDEX golden_runs_recipe ON golden_runs (machine, recipe_name, id);

-- A golden run is a completed run of that very recipe on that machine, whoever inserts.
CREATE FUNCTION refuse_wrong_golden_run() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    run record;
BEGIN
    IF NEW.run_id IS NULL THEN
        RETURN NEW;
    END IF;
    SELECT machine, recipe_name, status INTO run FROM process_executions WHERE id = NEW.run_id;
    IF run.machine IS DISTINCT FROM NEW.machine OR run.recipe_name IS DISTINCT FROM NEW.recipe_name THEN
        RAISE EXCEPTION 'run % is not a run of recipe % on %', NEW.run_id, NEW.recipe_name,
            NEW.machine USING ERRCODE = 'check_violation';
    END IF;
    IF run.status <> 'completed' THEN
        RAISE EXCEPTION 'run % ended %, not completed: only a completed run can be golden',
            NEW.run_id, run.status USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER golden_run_of_its_recipe BEFORE INSERT ON golden_runs
    FOR EACH ROW EXECUTE FUNCTION refuse_wrong_golden_run();
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON golden_runs
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_of_record();

REVOKE ALL ON golden_runs FROM PUBLIC;
-- A console (and ald-gui runs golden, under the writer) adds markings; the reader reads
-- them (the runs browser, exports).
GRANT SELECT ON golden_runs TO ald_reader, ald_writer;
GRANT INSERT ON golden_runs TO ald_writer;
