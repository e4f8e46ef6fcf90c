-- The recipe library in the database (ald_gui.store.recipe_store): every version a
-- console saved or imported, immutable, as the same versions its library folder holds
-- (store.recipe_library). A version is its canonical JSON form (domain.recipe), exactly
-- the text its SHA-256 covers, so the database itself checks that the hash is the
-- body's: a version can be looked up by the hash a run recorded (process_executions).
-- Recipes belong to a machine, like its runs: one console records a machine (its
-- lease), so the machine's version numbers are the ones its library folder counts.

CREATE TABLE recipes (
    machine text NOT NULL CHECK (machine <> ''),
    name text NOT NULL CHECK (name <> ''),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (machine, name)
);

CREATE TABLE recipe_versions (
    machine text NOT NULL,
    name text NOT NULL,
    version integer NOT NULL CHECK (version >= 1),
    sha256 text NOT NULL,
    canonical text NOT NULL,
    body jsonb GENERATED ALWAYS AS (canonical::jsonb) STORED,
    author text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (machine, name, version),
    UNIQUE (machine, name, version, sha256),
    FOREIGN KEY (machine, name) REFERENCES recipes (machine, name),
    CHECK (sha256 = encode(sha256(convert_to(canonical, 'UTF8')), 'hex')),
    CHECK (body ->> 'name' = name AND body ->> 'version' = version::text)
);
CREATE INDEX recipe_versions_sha256 ON recipe_versions (sha256);

-- Released versions (what operators run), one row each, added once: a release is never
-- taken back, and it names the very content released (its hash).
CREATE TABLE recipe_releases (
    machine text NOT NULL,
    name text NOT NULL,
    version integer NOT NULL,
    sha256 text NOT NULL,
    released_at timestamptz NOT NULL DEFAULT now(),
    released_by text NOT NULL DEFAULT '',
    PRIMARY KEY (machine, name, version),
    FOREIGN KEY (machine, name, version, sha256)
        REFERENCES recipe_versions (machine, name, version, sha256)
);

CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON recipes
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_of_record();
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON recipe_versions
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_of_record();
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON recipe_releases
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_of_record();

REVOKE ALL ON recipes, recipe_versions, recipe_releases FROM PUBLIC;
GRANT SELECT ON recipes, recipe_versions, recipe_releases TO ald_reader, ald_writer;
-- Versions and releases are added, never changed or removed.
GRANT INSERT ON recipes, recipe_versions, recipe_releases TO ald_writer;
