-- Rollups (README, "Partitions, retention and rollups"): per tag, each second and each
-- minute of the history summed up (count, min, max, sum for the mean, and the first and
-- last sample with their times), so that a plot of hours or days reads thousands of
-- rows instead of millions. The writer keeps them in the transaction of the samples it
-- commits (store.rollups), so they are exactly as whole as the history. A rollup is
-- derived, not a record: it is updated as samples arrive, and may be rebuilt.
--
-- The seconds are partitioned like the history (0012) and dropped with it by retention;
-- the minutes are kept: long after the samples have gone, their outline remains.

CREATE TABLE history_rollup_1s (
    parameter_id integer NOT NULL,
    bucket timestamptz NOT NULL,  -- the start of the second, UTC
    count integer NOT NULL CHECK (count >= 1),
    min double precision NOT NULL,
    max double precision NOT NULL,
    sum double precision NOT NULL,
    first_at timestamptz NOT NULL,
    first_value double precision NOT NULL,
    last_at timestamptz NOT NULL,
    last_value double precision NOT NULL,
    PRIMARY KEY (parameter_id, bucket)
) PARTITION BY RANGE (bucket);
CREATE TABLE history_rollup_1s_default PARTITION OF history_rollup_1s DEFAULT;

CREATE TABLE history_rollup_1m (LIKE history_rollup_1s INCLUDING ALL);
-- (LIKE does not copy the partitioning: the minutes are one plain table.)

-- Back-fill from the history already recorded: a partition for each day of it, then
-- each second from the samples and each minute from the seconds.
SELECT add_history_partition('history_rollup_1s', d, d + interval '1 day')
FROM (SELECT range_from AS d FROM history_partitions
      WHERE table_name = 'parameter_value_history' AND NOT is_default
        AND range_to - range_from = interval '1 day') days ORDER BY d;
INSERT INTO history_rollup_1s
SELECT parameter_id, date_trunc('second', sampled_at, 'UTC'), count(*), min(value),
       max(value), sum(value), min(sampled_at), (array_agg(value ORDER BY sampled_at))[1],
       max(sampled_at), (array_agg(value ORDER BY sampled_at DESC))[1]
FROM parameter_value_history GROUP BY 1, 2;
INSERT INTO history_rollup_1m
SELECT parameter_id, date_trunc('minute', bucket, 'UTC'), sum(count), min(min), max(max),
       sum(sum), min(first_at), (array_agg(first_value ORDER BY first_at))[1],
       max(last_at), (array_agg(last_value ORDER BY last_at DESC))[1]
FROM history_rollup_1s GROUP BY 1, 2;
-- The partitions of today and the next days that the history has.
SELECT add_partitions_ahead('day', 3);

REVOKE ALL ON history_rollup_1s, history_rollup_1m FROM PUBLIC;
-- The writer adds to a bucket as its samples arrive (INSERT ... ON CONFLICT DO UPDATE,
-- which needs SELECT too); the reader reads.
GRANT SELECT, INSERT, UPDATE ON history_rollup_1s, history_rollup_1m TO ald_writer;
GRANT SELECT ON history_rollup_1s, history_rollup_1m TO ald_reader;
