-- Ten-second rollups (README, "Partitions, retention and rollups"): per tag, each ten
-- seconds of the history summed up as the seconds and minutes of 0013 are. A plot of
-- eight hours at 1600 px has columns of 18 s: from the seconds that is 28,800 rows per
-- curve to go through, from these 2,880. The writer keeps them in the transaction of the
-- samples, from its seconds (store.rollups); buckets start at whole multiples of ten
-- seconds since the epoch (UTC), as date_bin('10 s', t, epoch) gives.
--
-- Partitioned like the seconds, with the same partitions (so retention's cut falls on
-- the same boundaries), and dropped with them by retention; add_partitions_ahead makes
-- its partitions ahead as it does every partitioned table's.

CREATE TABLE history_rollup_10s (
    parameter_id integer NOT NULL,
    bucket timestamptz NOT NULL,  -- the start of the ten seconds, UTC
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
CREATE TABLE history_rollup_10s_default PARTITION OF history_rollup_10s DEFAULT;

-- A partition for each of the seconds' (those made ahead included), same spans.
SELECT add_history_partition('history_rollup_10s', range_from, range_to)
FROM history_partitions
WHERE table_name = 'history_rollup_1s' AND NOT is_default ORDER BY range_from;

-- Back-fill: each ten seconds from the seconds recorded (a second lies in one ten).
INSERT INTO history_rollup_10s
SELECT parameter_id, date_bin('10 seconds', bucket, timestamptz '1970-01-01 00:00:00+00'),
       sum(count), min(min), max(max), sum(sum),
       min(first_at), (array_agg(first_value ORDER BY first_at))[1],
       max(last_at), (array_agg(last_value ORDER BY last_at DESC))[1]
FROM history_rollup_1s GROUP BY 1, 2;

-- The grants of 0013.
REVOKE ALL ON history_rollup_10s FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON history_rollup_10s TO ald_writer;
GRANT SELECT ON history_rollup_10s TO ald_reader;
