-- One console per machine name (ald_gui.store.lease): the console recording a machine
-- holds its row here and renews it; every transaction writing the machine's data checks
-- the row first (SELECT ... FOR SHARE). Times are the database's clock.
CREATE TABLE machine_leases (
    machine text PRIMARY KEY CHECK (machine <> ''),
    console uuid NOT NULL,          -- the holder's console id (kept in its data directory)
    epoch bigint NOT NULL CHECK (epoch >= 1),  -- raised at each change of holder
    host text NOT NULL,             -- who holds it, for the message a second console shows
    pid integer NOT NULL,
    data_dir text NOT NULL,
    since timestamptz NOT NULL,     -- when this holder took it
    renewed_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL -- another console may take it after this
);

REVOKE ALL ON machine_leases FROM PUBLIC;
GRANT SELECT ON machine_leases TO ald_reader;
-- Take, renew, release (expire) a lease; FOR SHARE needs UPDATE too. No DELETE: a
-- lease's row and its epoch outlive its holders.
GRANT SELECT, INSERT ON machine_leases TO ald_writer;
GRANT UPDATE (console, epoch, host, pid, data_dir, since, renewed_at, expires_at)
    ON machine_leases TO ald_writer;
