-- The audit trail (domain.audit.AuditEntry): who did what, when, to what, from which
-- value to which, why, with the signatures given; committed through the stream like the
-- samples: in the group's transaction, counted in its ledger row, exactly once (DESIGN.md
-- invariant 8).
--
-- Entries are chained per machine: an entry's hash is the SHA-256 of the previous
-- entry's hash and its own canonical form (which covers the server's commit time). The
-- writer makes the link inside the transaction that stores the entry: it locks the
-- machine's chain head (audit_chain_head), computes the hash, inserts; the trigger below
-- refuses any entry that does not continue its chain and moves the head on. Nobody may
-- change, remove or empty the trail, a superuser included, short of disabling the
-- triggers: what `ald-gui audit verify` and doctor then find by recomputing the chain
-- and counting the ledger.

ALTER TABLE write_transactions
    ADD COLUMN audit_rows integer NOT NULL DEFAULT 0 CHECK (audit_rows >= 0);

CREATE TABLE audit_entries (
    machine text NOT NULL CHECK (machine <> ''),
    position bigint NOT NULL CHECK (position >= 1),  -- 1, 2, 3, ... along the chain
    seq bigint NOT NULL,
    at timestamptz NOT NULL,  -- the console's stream clock
    committed_at timestamptz NOT NULL DEFAULT now(),  -- the server's, checked below
    account text NOT NULL CHECK (account <> ''),
    role text NOT NULL,
    action text NOT NULL CHECK (action <> ''),
    object text NOT NULL DEFAULT '',
    before text NOT NULL DEFAULT '',
    after text NOT NULL DEFAULT '',
    reason text NOT NULL DEFAULT '',
    -- [{"account": ..., "full_name": ..., "meaning": "authored|reviewed|approved"}, ...]
    signatures jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(signatures) = 'array'),
    run_id uuid REFERENCES process_executions (id),
    prev_hash text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
    hash text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
    transaction_id uuid NOT NULL REFERENCES write_transactions (transaction_id),
    PRIMARY KEY (machine, position),
    UNIQUE (machine, seq)
);
CREATE INDEX audit_entries_machine_at ON audit_entries (machine, at);
CREATE INDEX audit_entries_run ON audit_entries (run_id) WHERE run_id IS NOT NULL;

-- Each machine's last link: position 0 and the genesis hash before its first entry.
CREATE TABLE audit_chain_heads (
    machine text PRIMARY KEY CHECK (machine <> ''),
    position bigint NOT NULL CHECK (position >= 0),
    hash text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$')
);

-- The head of ``p_machine``'s chain, locked until the caller's transaction ends (so two
-- writers can never both continue it), with the transaction's time, which is the commit
-- time its entries carry. Made at the genesis on first use.
CREATE FUNCTION audit_chain_head(p_machine text)
    RETURNS TABLE (chain_position bigint, chain_hash text, committed_at timestamptz)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    INSERT INTO audit_chain_heads (machine, position, hash)
        VALUES (p_machine, 0, repeat('0', 64)) ON CONFLICT (machine) DO NOTHING;
    RETURN QUERY SELECT h.position, h.hash, transaction_timestamp()
        FROM audit_chain_heads h WHERE h.machine = p_machine FOR UPDATE;
END
$$;

-- An entry continues its machine's chain (the next position, the head's hash as its
-- previous hash) and carries its transaction's time, or it is refused; then it is the
-- head. Not an integrity error (23xxx) on purpose: the entry is sound, the chain it met
-- is not what its writer read, and the writer retries rather than set it aside.
CREATE FUNCTION continue_audit_chain() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    head audit_chain_heads%ROWTYPE;
BEGIN
    SELECT * INTO head FROM audit_chain_heads WHERE machine = NEW.machine FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'audit entry seq % of machine % refused: its chain has no head '
            '(entries are written through audit_chain_head)', NEW.seq, NEW.machine;
    END IF;
    IF NEW.position <> head.position + 1 OR NEW.prev_hash <> head.hash THEN
        RAISE EXCEPTION 'audit entry seq % of machine % refused: it does not continue its '
            'chain (position % after %, previous hash % where the chain ends in %)',
            NEW.seq, NEW.machine, NEW.position, head.position, NEW.prev_hash, head.hash;
    END IF;
    IF NEW.committed_at <> transaction_timestamp() THEN
        RAISE EXCEPTION 'audit entry seq % of machine % refused: its commit time % is not '
            'the server''s (%)', NEW.seq, NEW.machine, NEW.committed_at,
            transaction_timestamp();
    END IF;
    UPDATE audit_chain_heads SET position = NEW.position, hash = NEW.hash
        WHERE machine = NEW.machine;
    RETURN NEW;
END
$$;

CREATE TRIGGER continue_chain BEFORE INSERT ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION continue_audit_chain();
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_of_record();

-- A head starts at the genesis and moves only with the entry that continues it.
CREATE FUNCTION guard_audit_chain_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' AND NEW.position = 0 AND NEW.hash = repeat('0', 64) THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND pg_trigger_depth() > 1 THEN  -- from continue_audit_chain
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% of audit_chain_heads refused: a chain''s head moves only with the '
        'entry that continues it', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER head_moves_with_its_chain BEFORE INSERT OR UPDATE ON audit_chain_heads
    FOR EACH ROW EXECUTE FUNCTION guard_audit_chain_head();
CREATE TRIGGER append_only BEFORE DELETE OR TRUNCATE ON audit_chain_heads
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_of_record();

REVOKE ALL ON audit_entries, audit_chain_heads FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_chain_head(text), continue_audit_chain() FROM PUBLIC;
-- The writer adds entries through the head it locks, never reads, changes or removes
-- one; the reader reads the trail and the heads (doctor, audit verify, export, viewer).
GRANT INSERT ON audit_entries TO ald_writer;
GRANT EXECUTE ON FUNCTION audit_chain_head(text) TO ald_writer;
GRANT SELECT ON audit_entries, audit_chain_heads TO ald_reader;
