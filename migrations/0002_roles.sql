-- Least privilege. Three group roles, made before this runs by `ald-gui db init` (a
-- central server) or by the embedded server itself (ald_gui.store.roles):
--   ald_owner   owns the schema; only migrations run as it.
--   ald_writer  what a console records with: it adds rows, and ends a running run.
--   ald_reader  what doctor, history and exports read with.
-- Login roles (one per console on a central server) are members of a group role. None
-- of them owns a table, so none can ALTER, DROP, TRUNCATE or disable a trigger: the
-- append-only triggers of 0001 hold for them whatever they send.
DO $$
BEGIN
    IF (SELECT count(*) FROM pg_roles
        WHERE rolname IN ('ald_owner', 'ald_writer', 'ald_reader')) <> 3 THEN
        RAISE EXCEPTION 'the roles ald_owner, ald_writer and ald_reader must exist before '
            'migration 0002: run `ald-gui db init` (it creates them, then migrates)'
            USING ERRCODE = 'undefined_object';
    END IF;
END
$$;

-- Nothing for anyone else (tables grant nothing to PUBLIC by default; this says so).
REVOKE ALL ON schema_migrations, parameters, write_transactions, process_executions,
    parameter_value_history, process_data_points, plc_gaps FROM PUBLIC;

-- Reading: both groups (the writer reads the schema version, tag ids, a gap's run and a
-- crashed run's last point).
GRANT SELECT ON schema_migrations, parameters, write_transactions, process_executions,
    parameter_value_history, process_data_points, plc_gaps TO ald_reader, ald_writer;

-- Recording: rows are added, never changed.
GRANT INSERT ON write_transactions, process_executions, parameter_value_history,
    process_data_points, plc_gaps TO ald_writer;

-- Ending a run: only its end. The trigger end_only (0001) also refuses any change to a
-- run that has ended, so a finished run is final even for this grant.
GRANT UPDATE (ended_at, status, reason) ON process_executions TO ald_writer;

-- Tags are synced from the configuration (sync_parameters upserts them): every column
-- but the id and the machine/key they are known by.
GRANT INSERT (machine, key, component, name, unit, data_type, min, max, writable, plotted,
              polled, description) ON parameters TO ald_writer;
GRANT UPDATE (component, name, unit, data_type, min, max, writable, plotted, polled,
              description, updated_at) ON parameters TO ald_writer;

-- Tables added by later migrations are readable by the reader without a grant of their
-- own; what the writer may do with them each migration says explicitly.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO ald_reader;
