-- The people who use the consoles (issue 13): one row per account, shared by every
-- console of a central server. Passwords are argon2 hashes made by the console
-- (ald_gui.store.accounts); the server never sees a password. Accounts are never
-- deleted, since the audit trail and the runs name them: an account leaves by being
-- disabled.

CREATE TABLE accounts (
    user_name text PRIMARY KEY
        CHECK (user_name ~ '^[a-z0-9][a-z0-9._-]{0,62}$' AND user_name <> 'console'),
    full_name text NOT NULL DEFAULT '',
    role text NOT NULL
        CHECK (role IN ('viewer', 'operator', 'engineer', 'maintenance', 'administrator')),
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2%'),
    disabled boolean NOT NULL DEFAULT false,
    must_change_password boolean NOT NULL DEFAULT false,
    failed_logins integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    changed_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION refuse_removal_of_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% of % refused: accounts are never removed, disable the account instead',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER keep_accounts BEFORE DELETE OR TRUNCATE ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_removal_of_account();

REVOKE ALL ON accounts FROM PUBLIC;
-- The reader (doctor, history, exports) sees who the accounts are, never their hashes:
-- the default privileges of 0002 gave it the whole table.
REVOKE SELECT ON accounts FROM ald_reader;
GRANT SELECT (user_name, full_name, role, disabled, must_change_password, failed_logins,
              locked_until, created_at, changed_at) ON accounts TO ald_reader;
-- A console logs people in (it reads the hash, counts failures, locks and unlocks) and
-- an administrator manages the accounts from a console: add, change, never delete.
GRANT SELECT, INSERT ON accounts TO ald_writer;
GRANT UPDATE (full_name, role, password_hash, disabled, must_change_password,
              failed_logins, locked_until, changed_at) ON accounts TO ald_writer;
