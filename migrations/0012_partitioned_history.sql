-- Partitioned history (README, "Partitions, retention and rollups"): the two sample
-- tables become range-partitioned by sampled_at, one partition per period (a UTC day by
-- default), so that a query over a time range reads only its partitions and retention
-- drops whole partitions instead of deleting rows. A default partition takes any sample
-- no partition covers, so an insert never fails for want of one.
--
-- An existing database is converted here, in the migration's one transaction: each
-- table is renamed, the partitioned table made under the old name with the same columns,
-- indexes, append-only trigger and grants, a partition created for every UTC day that
-- holds samples, every row copied once, and the old table dropped. Neither table has a
-- primary key or a unique constraint (the doctor checks uniqueness, invariant 2), so no
-- key needs the partition column added.

-- Where each partition of a partitioned table of this schema starts and ends (NULL for
-- the default partition), read from the catalog: the one account of the partitions.
CREATE VIEW history_partitions AS
SELECT parent.relname::text AS table_name,
       child.relname::text AS partition_name,
       bound = 'DEFAULT' AS is_default,
       (regexp_match(bound, 'FROM \(''([^'']+)''\)'))[1]::timestamptz AS range_from,
       (regexp_match(bound, 'TO \(''([^'']+)''\)'))[1]::timestamptz AS range_to
FROM pg_inherits i
JOIN pg_class parent ON parent.oid = i.inhparent AND parent.relkind = 'p'
JOIN pg_class child ON child.oid = i.inhrelid AND child.relkind IN ('r', 'p')
JOIN pg_namespace n ON n.oid = parent.relnamespace AND n.nspname = 'public'
CROSS JOIN LATERAL pg_get_expr(child.relpartbound, child.oid) AS bound;

-- One partition of `parent` for [range_from, range_to), made as a table of its own and
-- then attached: attaching locks the parent only against schema changes (SHARE UPDATE
-- EXCLUSIVE), so consoles go on inserting and readers reading meanwhile. Samples the
-- default partition holds in that range are moved into it first (the attach would fail
-- otherwise): the default is swapped for an empty one and its rows inserted again
-- through the parent, each landing once in its partition. The partition keeps the
-- parent's append-only trigger (statement triggers are not inherited). Owner only.
CREATE FUNCTION add_history_partition(parent text, range_from timestamptz,
                                      range_to timestamptz) RETURNS text
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    part text := parent || '_p' || to_char(range_from AT TIME ZONE 'UTC', 'YYYYMMDD');
    def text := parent || '_default';
    key text;
    crowded boolean;
BEGIN
    SELECT a.attname INTO key FROM pg_partitioned_table p
        JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
        WHERE p.partrelid = parent::regclass;
    EXECUTE format('SELECT EXISTS (SELECT FROM %I WHERE %I >= $1 AND %I < $2)', def, key, key)
        INTO crowded USING range_from, range_to;
    IF crowded THEN
        EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', parent, def);
        EXECUTE format('ALTER TABLE %I RENAME TO %I', def, def || '_moving');
        EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', def, parent);
        PERFORM keep_append_only(parent, def);
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                   part, parent);
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   parent, part, range_from, range_to);
    PERFORM keep_append_only(parent, part);
    IF crowded THEN
        EXECUTE format('INSERT INTO %I SELECT * FROM %I', parent, def || '_moving');
        EXECUTE format('DROP TABLE %I', def || '_moving');
    END IF;
    RETURN part;
END
$$;

CREATE FUNCTION keep_append_only(parent text, part text) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT FROM pg_trigger WHERE tgrelid = parent::regclass
               AND tgname = 'append_only') THEN
        EXECUTE format('CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON %I'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_of_record()', part);
    END IF;
END
$$;

-- What a console calls (as ald_writer, which owns no table): partitions of every
-- partitioned table covering the current period and the next `ahead` ones, each of one
-- `period` ('day', 'week' or 'month', aligned in UTC) or less where it meets a partition
-- already there. Returns the partitions it made (none when they exist). It runs as the
-- owner (SECURITY DEFINER) and can do nothing else: the period and count are checked,
-- every name and bound is made here. A short lock wait: a reader holding the parent for
-- long makes it fail, and the console tries again later rather than stall inserts.
CREATE FUNCTION add_partitions_ahead(period text, ahead integer) RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
SET lock_timeout = '5s' AS $$
DECLARE
    step interval;
    parent text;
    cursor_at timestamptz;
    until timestamptz;
    covered_to timestamptz;
    horizon timestamptz;
BEGIN
    IF period IS NULL OR period NOT IN ('day', 'week', 'month') THEN
        RAISE EXCEPTION 'partition period %: use day, week or month', period
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF ahead IS NULL OR ahead < 1 OR ahead > 366 THEN
        RAISE EXCEPTION 'partitions ahead %: use 1 to 366', ahead
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    step := ('1 ' || period)::interval;
    horizon := date_trunc(period, now(), 'UTC') + (ahead + 1) * step;
    FOR parent IN SELECT DISTINCT table_name FROM history_partitions ORDER BY 1 LOOP
        cursor_at := date_trunc(period, now(), 'UTC');
        WHILE cursor_at < horizon LOOP
            SELECT h.range_to INTO covered_to FROM history_partitions h
                WHERE h.table_name = parent AND NOT h.is_default
                  AND h.range_from <= cursor_at AND h.range_to > cursor_at;
            IF FOUND THEN
                cursor_at := covered_to;
                CONTINUE;
            END IF;
            SELECT least(date_trunc(period, cursor_at, 'UTC') + step, min(h.range_from))
                INTO until FROM history_partitions h
                WHERE h.table_name = parent AND NOT h.is_default
                  AND h.range_from > cursor_at;
            RETURN NEXT add_history_partition(parent, cursor_at, until);
            cursor_at := until;
        END LOOP;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION add_history_partition(text, timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION keep_append_only(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION add_partitions_ahead(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION add_partitions_ahead(text, integer) TO ald_writer;
GRANT SELECT ON history_partitions TO ald_reader, ald_writer;

-- The history.
ALTER TABLE parameter_value_history RENAME TO parameter_value_history_unpartitioned;
ALTER INDEX parameter_value_history_parameter_time
    RENAME TO parameter_value_history_unpartitioned_parameter_time;
ALTER INDEX parameter_value_history_time RENAME TO parameter_value_history_unpartitioned_time;
CREATE TABLE parameter_value_history (
    parameter_id integer NOT NULL,
    sampled_at timestamptz NOT NULL,
    value double precision NOT NULL,
    transaction_id uuid NOT NULL
) PARTITION BY RANGE (sampled_at);
-- The indexes of 0001, made on every partition.
CREATE INDEX parameter_value_history_parameter_time
    ON parameter_value_history (parameter_id, sampled_at);
CREATE INDEX parameter_value_history_time ON parameter_value_history USING brin (sampled_at);
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON parameter_value_history
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_of_record();
CREATE TABLE parameter_value_history_default PARTITION OF parameter_value_history DEFAULT;
SELECT keep_append_only('parameter_value_history', 'parameter_value_history_default');

-- The run rows.
ALTER TABLE process_data_points RENAME TO process_data_points_unpartitioned;
ALTER INDEX process_data_points_run_parameter_time
    RENAME TO process_data_points_unpartitioned_run_parameter_time;
CREATE TABLE process_data_points (
    run_id uuid NOT NULL REFERENCES process_executions (id),
    parameter_id integer NOT NULL,
    sampled_at timestamptz NOT NULL,
    value double precision NOT NULL,
    transaction_id uuid NOT NULL
) PARTITION BY RANGE (sampled_at);
CREATE INDEX process_data_points_run_parameter_time
    ON process_data_points (run_id, parameter_id, sampled_at);
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON process_data_points
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_of_record();
CREATE TABLE process_data_points_default PARTITION OF process_data_points DEFAULT;
SELECT keep_append_only('process_data_points', 'process_data_points_default');

-- A partition for each day holding samples (not one for every day between the oldest and
-- the newest: a stray sample of 1970 must not make twenty thousand), then every row.
SELECT add_history_partition('parameter_value_history', d, d + interval '1 day')
FROM (SELECT DISTINCT date_trunc('day', sampled_at, 'UTC') AS d
      FROM parameter_value_history_unpartitioned) days ORDER BY d;
SELECT add_history_partition('process_data_points', d, d + interval '1 day')
FROM (SELECT DISTINCT date_trunc('day', sampled_at, 'UTC') AS d
      FROM process_data_points_unpartitioned) days ORDER BY d;
INSERT INTO parameter_value_history (parameter_id, sampled_at, value, transaction_id)
    SELECT parameter_id, sampled_at, value, transaction_id
    FROM parameter_value_history_unpartitioned;
INSERT INTO process_data_points (run_id, parameter_id, sampled_at, value, transaction_id)
    SELECT run_id, parameter_id, sampled_at, value, transaction_id
    FROM process_data_points_unpartitioned;
DROP TABLE parameter_value_history_unpartitioned, process_data_points_unpartitioned;

-- The grants of 0002, again: the tables are new.
REVOKE ALL ON parameter_value_history, process_data_points FROM PUBLIC;
GRANT SELECT ON parameter_value_history, process_data_points TO ald_reader, ald_writer;
GRANT INSERT ON parameter_value_history, process_data_points TO ald_writer;

-- Today and the next three days, so that a console starting now records into partitions
-- (it adds more as the days pass: store.partitions).
SELECT add_partitions_ahead('day', 3);
