-- The evcs catalog: entity types, branches, the commit clock and the commit log (SPEC §3).
-- Statements are idempotent so the engine can also apply this file on first use of a database
-- that was never migrated.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE IF NOT EXISTS evcs_entity_type (
  name text PRIMARY KEY CHECK (name ~ '^[a-z_][a-z0-9_]{0,39}$'),
  columns jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE IF NOT EXISTS evcs_branch (
  name text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$'),
  parent text REFERENCES evcs_branch (name),
  mode text NOT NULL DEFAULT 'snapshot' CHECK (mode IN ('snapshot', 'live')),
  fork_stamp timestamptz,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'locked', 'archived')),
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  created_by text
);
INSERT INTO evcs_branch (name) VALUES ('main') ON CONFLICT DO NOTHING;

-- The point of the parent a branch reads through to, over time: created with the branch, moved
-- by every merge of the branch, so time travel on a branch sees the base in effect back then.
CREATE TABLE IF NOT EXISTS evcs_branch_base (
  branch text NOT NULL REFERENCES evcs_branch (name),
  valid_from timestamptz NOT NULL,
  base_stamp timestamptz NOT NULL,
  PRIMARY KEY (branch, valid_from)
);

-- The branches a read of `start_branch` at `start_at` looks through, nearest first, each with
-- the instant it is read at: a snapshot branch reads its parent as of its base, a live branch
-- as of the same instant.
CREATE OR REPLACE FUNCTION evcs_lineage(start_branch text, start_at timestamptz)
RETURNS TABLE (depth int, branch text, at timestamptz) LANGUAGE sql STABLE AS $$
  WITH RECURSIVE lineage (depth, branch, at) AS (
    SELECT 0, start_branch, start_at
    UNION ALL
    SELECT l.depth + 1, b.parent,
           CASE WHEN b.mode = 'snapshot' THEN
             least(l.at, (SELECT bb.base_stamp FROM evcs_branch_base bb
                          WHERE bb.branch = b.name AND bb.valid_from <= l.at
                          ORDER BY bb.valid_from DESC LIMIT 1))
           ELSE l.at END
    FROM lineage l JOIN evcs_branch b ON b.name = l.branch
    WHERE b.parent IS NOT NULL
  )
  SELECT depth, branch, at FROM lineage
$$;

-- One row: the last commit stamp. Committers that wrote versions lock it for the few statements
-- of their commit, so stamps are strictly increasing in commit order.
CREATE TABLE IF NOT EXISTS evcs_clock (
  id int PRIMARY KEY CHECK (id = 1),
  last_stamp timestamptz NOT NULL
);
INSERT INTO evcs_clock VALUES (1, '-infinity') ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS evcs_commit (
  id bigserial PRIMARY KEY,
  stamp timestamptz NOT NULL UNIQUE,
  branch text NOT NULL,
  author text,
  message text,
  changes int NOT NULL,
  merged_from text
);

-- Raises evcs's own SQLSTATEs (class EV, docs/errors.md) unless `branch` accepts writes.
CREATE OR REPLACE FUNCTION evcs_require_writable(branch_name text) RETURNS void
LANGUAGE plpgsql STABLE AS $$
DECLARE
  branch_status text;
BEGIN
  SELECT status INTO branch_status FROM evcs_branch WHERE name = branch_name;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'branch "%" does not exist', branch_name USING ERRCODE = 'EVN01',
      HINT = 'create it with create_branch, or check the name';
  ELSIF branch_status <> 'active' THEN
    RAISE EXCEPTION 'branch "%" is %: it accepts reads only', branch_name, branch_status
      USING ERRCODE = 'EVL01', HINT = 'unlock_branch it first (an archived branch stays read-only)';
  END IF;
END $$;

-- Gives every version this transaction wrote its commit stamp: versions written during the
-- transaction carry the sentinel 'infinity' in valid_from (new) or valid_to (superseded) until
-- here. Called right before COMMIT, in the same round trip; the clock row stays locked until
-- the COMMIT, so stamps follow commit order and a past instant never gains a version later.
CREATE OR REPLACE FUNCTION evcs_finalize(entity_types text[], branch_name text, author_name text,
                                         commit_message text, source_branch text DEFAULT NULL)
RETURNS timestamptz LANGUAGE plpgsql AS $$
DECLARE
  stamp timestamptz;
  entity_type text;
  changed bigint;
  changes bigint := 0;
BEGIN
  PERFORM 1 FROM evcs_clock WHERE id = 1 FOR UPDATE;
  SELECT greatest(clock_timestamp(), last_stamp + interval '1 microsecond') INTO stamp
    FROM evcs_clock WHERE id = 1;
  FOREACH entity_type IN ARRAY entity_types LOOP
    EXECUTE format('UPDATE %I SET valid_to = $1 WHERE valid_to = ''infinity''',
                   entity_type || '_version') USING stamp;
    EXECUTE format('UPDATE %I SET valid_from = $1 WHERE valid_from = ''infinity''',
                   entity_type || '_version') USING stamp;
    GET DIAGNOSTICS changed = ROW_COUNT;
    changes := changes + changed;
  END LOOP;
  UPDATE evcs_branch SET fork_stamp = stamp WHERE fork_stamp = 'infinity';
  UPDATE evcs_branch_base SET base_stamp = stamp WHERE base_stamp = 'infinity';
  UPDATE evcs_branch_base SET valid_from = stamp WHERE valid_from = 'infinity';
  UPDATE evcs_clock SET last_stamp = stamp WHERE id = 1;
  INSERT INTO evcs_commit (stamp, branch, author, message, changes, merged_from)
    VALUES (stamp, branch_name, author_name, commit_message, changes, source_branch);
  RETURN stamp;
END $$;
