-- The commit graph (docs/versioning.md, "Commits and the commit graph"): every commit has a
-- stable id and its parent commits, so merges take the best common ancestor of the two
-- branches' heads as their base, as git does. Also: tags, merges staged with their conflicts
-- resolved one by one, an index finding the versions of a commit, no log entry for a
-- transaction that wrote nothing, and a delete that keeps the last committed content.

-- ---- commits: ids and parents -------------------------------------------------------------------
ALTER TABLE evcs_commit ADD COLUMN IF NOT EXISTS commit_id text;
ALTER TABLE evcs_commit ADD COLUMN IF NOT EXISTS parents text[] NOT NULL DEFAULT '{}';
CREATE INDEX IF NOT EXISTS evcs_commit_branch_stamp ON evcs_commit (branch, stamp);

-- A commit's id: 40 hex digits of the SHA-256 of what identifies it (stamp, branch, parents,
-- author, message), like a git commit id, so that two databases restored from one backup agree.
CREATE OR REPLACE FUNCTION evcs_commit_hash(stamp timestamptz, branch_name text, parent_ids text[],
                                            author_name text, commit_message text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT left(encode(sha256(convert_to(concat_ws(E'\x1f',
    (extract(epoch FROM stamp) * 1000000)::bigint::text, branch_name,
    array_to_string(parent_ids, ','), coalesce(author_name, ''), coalesce(commit_message, '')),
    'UTF8')), 'hex'), 40)
$$;

-- The last commit of a branch at or before `at`; for a branch with none yet, the commit it was
-- forked from (its parent's head at the fork point), and so on up; NULL before any commit.
CREATE OR REPLACE FUNCTION evcs_branch_head(branch_name text, at timestamptz DEFAULT 'infinity')
RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
  head text;
  parent_name text;
  fork timestamptz;
BEGIN
  LOOP
    SELECT commit_id INTO head FROM evcs_commit
      WHERE branch = branch_name AND stamp <= at ORDER BY stamp DESC LIMIT 1;
    IF FOUND THEN
      RETURN head;
    END IF;
    SELECT b.parent, least(at, (SELECT bb.base_stamp FROM evcs_branch_base bb
                                WHERE bb.branch = b.name ORDER BY bb.valid_from LIMIT 1))
      INTO parent_name, fork FROM evcs_branch b WHERE b.name = branch_name;
    IF parent_name IS NULL THEN
      RETURN NULL;
    END IF;
    branch_name := parent_name;
    at := fork;
  END LOOP;
END $$;

-- Backfill: the commits logged before this step get their first parent (the previous commit of
-- their branch, or the fork point) and, for merges, the source's head at the merge.
DO $$
DECLARE
  logged record;
  first_parent text;
  merge_parent text;
  parent_ids text[];
BEGIN
  FOR logged IN SELECT * FROM evcs_commit WHERE commit_id IS NULL ORDER BY stamp LOOP
    first_parent := evcs_branch_head(logged.branch, logged.stamp - interval '1 microsecond');
    merge_parent := CASE WHEN logged.merged_from IS NULL THEN NULL
                         ELSE evcs_branch_head(logged.merged_from,
                                               logged.stamp - interval '1 microsecond') END;
    parent_ids := array_remove(ARRAY[first_parent, merge_parent], NULL);
    UPDATE evcs_commit SET parents = parent_ids,
                           commit_id = evcs_commit_hash(logged.stamp, logged.branch, parent_ids,
                                                        logged.author, logged.message)
      WHERE id = logged.id;
  END LOOP;
END $$;
ALTER TABLE evcs_commit ALTER COLUMN commit_id SET NOT NULL;
DO $$
BEGIN
  IF to_regclass('evcs_commit_commit_id_key') IS NULL THEN
    ALTER TABLE evcs_commit ADD CONSTRAINT evcs_commit_commit_id_key UNIQUE (commit_id);
  END IF;
END $$;

-- Every commit row gets its id and first parent here, whoever inserts it (a transaction's
-- commit, a single write, a bulk create, a merge, plain SQL): the inserter gives only the
-- further parents (a merge's source head). Runs under the clock lock, so the branch's previous
-- commit is the last one logged.
CREATE OR REPLACE FUNCTION evcs_identify_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.parents := array_remove(
    evcs_branch_head(NEW.branch, NEW.stamp - interval '1 microsecond') || coalesce(NEW.parents, '{}'),
    NULL);
  NEW.commit_id := evcs_commit_hash(NEW.stamp, NEW.branch, NEW.parents, NEW.author, NEW.message);
  RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS evcs_identify_commit ON evcs_commit;
CREATE TRIGGER evcs_identify_commit BEFORE INSERT ON evcs_commit
  FOR EACH ROW EXECUTE FUNCTION evcs_identify_commit();

-- Every ancestor of a commit, itself included.
CREATE OR REPLACE FUNCTION evcs_ancestors(start_commit text)
RETURNS TABLE (commit_id text) LANGUAGE sql STABLE AS $$
  WITH RECURSIVE ancestor (id) AS (
    SELECT start_commit WHERE start_commit IS NOT NULL
    UNION
    SELECT parent FROM ancestor a JOIN evcs_commit c ON c.commit_id = a.id
      CROSS JOIN LATERAL unnest(c.parents) AS parent
  )
  SELECT id FROM ancestor
$$;

-- The merge base of two commits: of their common ancestors, the one with the latest stamp.
-- Stamps grow from parent to child, so no other common ancestor descends from it: it is one of
-- git's "best" common ancestors, and for criss-cross histories the deterministic choice among
-- them. NULL when either is NULL or they share no commit.
CREATE OR REPLACE FUNCTION evcs_merge_base(first_commit text, second_commit text)
RETURNS text LANGUAGE sql STABLE AS $$
  SELECT c.commit_id FROM evcs_ancestors(first_commit) a
    JOIN evcs_ancestors(second_commit) b USING (commit_id)
    JOIN evcs_commit c USING (commit_id)
  ORDER BY c.stamp DESC LIMIT 1
$$;

-- Every best common ancestor of two commits (git merge-base --all): the common ancestors no
-- other common ancestor descends from, latest first. They are found among the common ancestors
-- that are a parent of a commit only one side has, which keeps the ancestry checks few.
CREATE OR REPLACE FUNCTION evcs_merge_bases(first_commit text, second_commit text)
RETURNS SETOF text LANGUAGE sql STABLE AS $$
  WITH first_side AS (SELECT commit_id FROM evcs_ancestors(first_commit)),
  second_side AS (SELECT commit_id FROM evcs_ancestors(second_commit)),
  common AS (SELECT commit_id FROM first_side INTERSECT SELECT commit_id FROM second_side),
  one_side AS ((SELECT commit_id FROM first_side UNION SELECT commit_id FROM second_side)
               EXCEPT SELECT commit_id FROM common),
  frontier AS (SELECT DISTINCT parent AS commit_id FROM one_side o
                 JOIN evcs_commit c USING (commit_id) CROSS JOIN LATERAL unnest(c.parents) AS parent
               WHERE parent IN (SELECT commit_id FROM common)
               UNION SELECT commit_id FROM common WHERE commit_id IN (first_commit, second_commit))
  SELECT f.commit_id FROM frontier f JOIN evcs_commit c USING (commit_id)
  WHERE NOT EXISTS (SELECT 1 FROM frontier g WHERE g.commit_id <> f.commit_id
                      AND f.commit_id IN (SELECT commit_id FROM evcs_ancestors(g.commit_id)))
  ORDER BY c.stamp DESC
$$;

-- The commits reachable from `to_commit` but not from `from_commit` (git's from..to).
CREATE OR REPLACE FUNCTION evcs_commits_between(from_commit text, to_commit text)
RETURNS SETOF evcs_commit LANGUAGE sql STABLE AS $$
  SELECT c.* FROM evcs_ancestors(to_commit) t JOIN evcs_commit c USING (commit_id)
  WHERE NOT EXISTS (SELECT 1 FROM evcs_ancestors(from_commit) f WHERE f.commit_id = t.commit_id)
  ORDER BY c.stamp
$$;

-- ---- tags -----------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS evcs_tag (
  name text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$'),
  commit_id text NOT NULL REFERENCES evcs_commit (commit_id),
  message text,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  created_by text
);

-- A commit named by a tag, a branch (its head), its full id or a unique prefix of at least four
-- hex digits of it. NotFound (EVN01) otherwise, or NULL with `missing_ok` (so that a client can
-- report it without aborting its transaction); an ambiguous prefix is EVI01.
CREATE OR REPLACE FUNCTION evcs_resolve_commit(ref text, missing_ok boolean DEFAULT false)
RETURNS evcs_commit LANGUAGE plpgsql STABLE AS $$
DECLARE
  found_commit evcs_commit;
  matches int;
BEGIN
  SELECT c.* INTO found_commit FROM evcs_tag t JOIN evcs_commit c USING (commit_id)
    WHERE t.name = ref;
  IF FOUND THEN
    RETURN found_commit;
  END IF;
  IF EXISTS (SELECT 1 FROM evcs_branch WHERE name = ref) THEN
    SELECT * INTO found_commit FROM evcs_commit WHERE commit_id = evcs_branch_head(ref);
    IF FOUND THEN
      RETURN found_commit;
    END IF;
    IF missing_ok THEN
      RETURN NULL;
    END IF;
    RAISE EXCEPTION 'branch "%" has no commit yet', ref USING ERRCODE = 'EVN01';
  END IF;
  IF ref ~ '^[0-9a-f]{4,40}$' THEN
    SELECT count(*) INTO matches FROM (SELECT 1 FROM evcs_commit
      WHERE commit_id >= ref AND commit_id < ref || 'g' LIMIT 2) candidates;
    IF matches > 1 THEN
      RAISE EXCEPTION 'commit id prefix "%" is ambiguous', ref USING ERRCODE = 'EVI01',
        HINT = 'give more digits of the id';
    END IF;
    SELECT * INTO found_commit FROM evcs_commit WHERE commit_id >= ref AND commit_id < ref || 'g';
    IF FOUND THEN
      RETURN found_commit;
    END IF;
  END IF;
  IF missing_ok THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION 'no commit, tag or branch "%"', ref USING ERRCODE = 'EVN01',
    HINT = 'give a commit id (or at least four of its leading hex digits), a tag or a branch';
END $$;

-- ---- staged merges --------------------------------------------------------------------------------
-- A merge started but not yet committed: at most one per target branch. It pins the source
-- commit it merges and keeps the conflicts it found then and the resolutions given so far;
-- continuing plans it again against the target as it is then.
CREATE TABLE IF NOT EXISTS evcs_merge_in_progress (
  target text PRIMARY KEY REFERENCES evcs_branch (name),
  source text NOT NULL REFERENCES evcs_branch (name),
  source_commit text REFERENCES evcs_commit (commit_id),
  strategy text NOT NULL CHECK (strategy IN ('fail', 'ours', 'theirs')),
  message text,
  resolutions jsonb NOT NULL DEFAULT '[]',
  -- The conflicts found when it started, which resolutions are checked against.
  conflicts jsonb NOT NULL DEFAULT '[]',
  base_commit text REFERENCES evcs_commit (commit_id),
  started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  started_by text
);

-- ---- commits that write nothing are not logged ----------------------------------------------------
-- As in 0001, but a transaction whose writes changed nothing (a same-value update, a create
-- deleted again, an update and its undo, a delete and a restore) and that created no branch
-- leaves no entry in the log and takes no stamp.
CREATE OR REPLACE FUNCTION evcs_finalize(entity_types text[], branch_name text, author_name text,
                                         commit_message text, source_branch text DEFAULT NULL)
RETURNS timestamptz LANGUAGE plpgsql AS $$
DECLARE
  stamp timestamptz;
  entity_type text;
  changed bigint;
  changes bigint := 0;
  pending_branches bigint;
  -- The columns that differ between a version and its successor whatever the content.
  metadata text[] := array_remove(evcs_system_columns(), 'deleted');
BEGIN
  PERFORM 1 FROM evcs_clock WHERE id = 1 FOR UPDATE;
  SELECT greatest(clock_timestamp(), last_stamp + interval '1 microsecond') INTO stamp
    FROM evcs_clock WHERE id = 1;
  FOREACH entity_type IN ARRAY entity_types LOOP
    -- A pending version equal to the one it supersedes (the metadata aside) changes nothing:
    -- it goes, and the version it would have closed stays current. Then only the rest remains
    -- to be stamped.
    EXECUTE format('WITH unchanged AS (DELETE FROM %1$I p USING %1$I c '
                   'WHERE p.valid_from = ''infinity'' AND c.valid_to = ''infinity'' '
                   'AND c.head_id = p.head_id AND c.branch = p.branch '
                   'AND to_jsonb(p) - $1 = to_jsonb(c) - $1 RETURNING p.head_id, p.branch) '
                   'UPDATE %1$I c SET valid_to = NULL FROM unchanged u '
                   'WHERE c.valid_to = ''infinity'' AND c.head_id = u.head_id '
                   'AND c.branch = u.branch', entity_type || '_version')
      USING metadata;
    -- Likewise a branch's first version of an entity (snapshot branches) equal to the
    -- parent's version it read through to: without it the branch reads that one again.
    EXECUTE format('DELETE FROM %1$I p USING %1$I read_through, evcs_branch b '
                   'WHERE p.valid_from = ''infinity'' AND p.parent_branch IS NOT NULL '
                   'AND b.name = p.branch AND b.mode = ''snapshot'' '
                   'AND read_through.head_id = p.head_id '
                   'AND read_through.branch = p.parent_branch '
                   'AND read_through.version = p.parent_version '
                   'AND to_jsonb(p) - $1 = to_jsonb(read_through) - $1 '
                   'AND NOT EXISTS (SELECT 1 FROM %1$I own WHERE own.head_id = p.head_id '
                   'AND own.branch = p.branch AND own.valid_from <> ''infinity'')',
                   entity_type || '_version')
      USING metadata;
    EXECUTE format('UPDATE %I SET valid_to = $1 WHERE valid_to = ''infinity''',
                   entity_type || '_version') USING stamp;
    EXECUTE format('UPDATE %I SET valid_from = $1 WHERE valid_from = ''infinity''',
                   entity_type || '_version') USING stamp;
    GET DIAGNOSTICS changed = ROW_COUNT;
    changes := changes + changed;
  END LOOP;
  UPDATE evcs_branch SET fork_stamp = stamp WHERE fork_stamp = 'infinity';
  UPDATE evcs_branch_base SET base_stamp = stamp WHERE base_stamp = 'infinity';
  GET DIAGNOSTICS pending_branches = ROW_COUNT;
  UPDATE evcs_branch_base SET valid_from = stamp WHERE valid_from = 'infinity';
  IF changes = 0 AND pending_branches = 0 AND source_branch IS NULL THEN
    RETURN NULL;
  END IF;
  UPDATE evcs_clock SET last_stamp = stamp WHERE id = 1;
  IF changes > 0 OR source_branch IS NOT NULL THEN
    INSERT INTO evcs_commit (stamp, branch, author, message, changes, merged_from)
      VALUES (stamp, branch_name, author_name, commit_message, changes, source_branch);
  END IF;
  RETURN stamp;
END $$;

-- ---- entity types ---------------------------------------------------------------------------------
-- (Re)creates the <type>_current view and the <type>_evcs_write function from the catalog row,
-- after the tables have been created or changed.
CREATE OR REPLACE FUNCTION evcs_generate_entity_type(type_name text) RETURNS void
LANGUAGE plpgsql AS $generator$
DECLARE
  entity evcs_entity_type := evcs_lock_entity_type(type_name);
  head text := format('%I', type_name);
  versions text := format('%I', type_name || '_version');
  names text[];
  column_list text;
  next_columns text;
  current_columns text;
  assign_user_columns text;
  set_in_place text;
  defaults jsonb;
  first_version text;
  body text;
BEGIN
  SELECT coalesce(array_agg(c.item ->> 'name' ORDER BY c.position), '{}'),
         coalesce(string_agg(format('%I', c.item ->> 'name'), ', ' ORDER BY c.position), ''),
         coalesce(string_agg(format(', next_version.%I', c.item ->> 'name'), '' ORDER BY c.position), ''),
         coalesce(string_agg(format(', current_version.%I', c.item ->> 'name'), '' ORDER BY c.position), ''),
         coalesce(string_agg(format(E'    next_version.%1$I := populated.%1$I;\n', c.item ->> 'name'),
                             '' ORDER BY c.position), ''),
         coalesce(string_agg(format(', %1$I = next_version.%1$I', c.item ->> 'name'), '' ORDER BY c.position), ''),
         coalesce(jsonb_object_agg(c.item ->> 'name', c.item -> 'default')
                    FILTER (WHERE c.item ? 'default'), '{}')
    INTO names, column_list, next_columns, current_columns, assign_user_columns, set_in_place, defaults
    FROM jsonb_array_elements(entity.columns) WITH ORDINALITY AS c(item, position);

  -- The versions a commit wrote are found by (branch, valid_from): merges, reverts, cherry-picks
  -- and range queries of history look them up commit by commit.
  IF to_regclass(format('%I', type_name || '_version_commit')) IS NULL THEN
    EXECUTE format('CREATE INDEX %I ON %s (branch, valid_from)', type_name || '_version_commit',
                   versions);
  END IF;
  -- Checked first rather than IF EXISTS, which would print a notice on every creation.
  IF to_regclass(format('%I', type_name || '_current')) IS NOT NULL THEN
    EXECUTE format('DROP VIEW %I', type_name || '_current');
  END IF;
  EXECUTE format('CREATE VIEW %I AS SELECT head_id, version, valid_from, author%s FROM %s '
                 'WHERE branch = ''main'' AND valid_to IS NULL AND NOT deleted',
                 type_name || '_current', CASE WHEN column_list = '' THEN '' ELSE ', ' || column_list END,
                 versions);

  -- Version 1 of an entity on a branch: created there, or brought in by a merge. Columns
  -- declared with a default take it when the values leave them out.
  first_version := $template$
    next_version := jsonb_populate_record(NULL::@versions@, @changes@);
    next_version.head_id := target;
    next_version.branch := branch_name;
    next_version.version := 1;
    IF commit_now THEN
      write_stamp := evcs_stamp_single_write(branch_name, author_name);
    END IF;
    next_version.valid_from := write_stamp;
    next_version.valid_to := NULL;
    next_version.deleted := false;
    next_version.parent_branch := NULL;
    next_version.parent_version := NULL;
    next_version.merged_from := source_branch;
    next_version.author := author_name;
    INSERT INTO @versions@ SELECT next_version.* RETURNING * INTO next_version;
    RETURN NEXT next_version;
    RETURN;
$template$;
  first_version := replace(first_version, '@changes@',
                           CASE WHEN defaults = '{}' THEN 'changes'
                                ELSE quote_literal(defaults::text) || '::jsonb || changes' END);

  -- One function writes every kind of version, so each write is one round trip, and its
  -- statements see rows committed while it waited for the entity's lock (READ COMMITTED takes
  -- a snapshot per statement inside a function). It refuses fields the type does not have, so a
  -- client holding an outdated definition fails instead of losing a value.
  body := $template$
CREATE OR REPLACE FUNCTION @write@(operation text, target uuid, branch_name text, changes jsonb,
  expected int, author_name text, source_branch text DEFAULT NULL, commit_now boolean DEFAULT false)
RETURNS SETOF @versions@ LANGUAGE plpgsql AS $evcs$
DECLARE
  current_version @versions@;
  next_version @versions@;
  populated @versions@;
  inherited boolean := false;
  -- The pending sentinel until the transaction's commit stamps it, unless this write is the
  -- whole transaction (commit_now): then it is stamped here.
  write_stamp timestamptz := 'infinity';
BEGIN
  PERFORM evcs_require_writable(branch_name);
  IF changes - @names@::text[] <> '{}' THEN
    RAISE EXCEPTION 'unknown fields % of entity type @type@', (SELECT string_agg(k, ', ') FROM jsonb_object_keys(changes - @names@::text[]) k)
      USING ERRCODE = 'EVI01', HINT = 'the type''s columns are listed in evcs_entity_type';
  END IF;
  IF operation = 'create' THEN
    INSERT INTO @head@ (head_id, created_by) VALUES (coalesce(target, gen_random_uuid()), author_name)
      RETURNING head_id INTO target;
@first_version@
  END IF;
  PERFORM 1 FROM @head@ WHERE head_id = target FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION '@type@ % does not exist', target USING ERRCODE = 'EVN01';
  END IF;
  SELECT * INTO current_version FROM @versions@ WHERE head_id = target AND branch = branch_name AND valid_to IS NULL;
  IF NOT FOUND THEN
    SELECT v.* INTO current_version FROM evcs_lineage(branch_name, 'infinity') l
      CROSS JOIN LATERAL (SELECT * FROM @versions@ x WHERE x.head_id = target AND x.branch = l.branch AND x.valid_from <= l.at ORDER BY x.valid_from DESC LIMIT 1) v
      WHERE l.depth > 0 ORDER BY l.depth LIMIT 1;
    IF NOT FOUND AND operation = 'merge' THEN
@first_version@
    END IF;
    IF NOT FOUND THEN
      RAISE EXCEPTION '@type@ % has no version on branch % or the branches it reads through', target, branch_name
        USING ERRCODE = 'EVN01';
    END IF;
    inherited := true;
  END IF;
  IF expected IS NOT NULL AND current_version.version <> expected THEN
    RAISE EXCEPTION '@type@ % is at version %, not the expected %', target, current_version.version, expected
      USING ERRCODE = 'EVC01', HINT = 'reload it and apply the change again';
  END IF;
  next_version := current_version;
  IF operation IN ('update', 'revert', 'merge') THEN
    IF current_version.deleted AND operation = 'update' THEN
      RAISE EXCEPTION '@type@ % is deleted', target USING ERRCODE = 'EVN01', HINT = 'restore it first';
    END IF;
    populated := jsonb_populate_record(current_version, changes);
@assign_user_columns@
    next_version.deleted := false;
  ELSIF operation = 'merge_delete' THEN
    next_version.deleted := true;
  ELSIF operation = 'delete' THEN
    IF current_version.deleted THEN
      RAISE EXCEPTION '@type@ % is already deleted', target USING ERRCODE = 'EVN01';
    END IF;
    next_version.deleted := true;
    -- A tombstone carries the last committed content: what this transaction wrote before the
    -- delete was never seen by any reader, and restore must not bring it back.
    IF current_version.valid_from = 'infinity' THEN
      SELECT * INTO populated FROM @versions@
        WHERE head_id = target AND branch = branch_name AND valid_to = 'infinity';
      IF NOT FOUND AND current_version.parent_branch IS NOT NULL THEN
        SELECT * INTO populated FROM @versions@
          WHERE head_id = target AND branch = current_version.parent_branch
            AND version = current_version.parent_version
          ORDER BY valid_from DESC LIMIT 1;
      END IF;
      IF NOT FOUND THEN
        -- Created by this transaction: nothing of it was ever committed, so nothing is kept.
        DELETE FROM @versions@ WHERE head_id = target AND branch = branch_name AND valid_from = 'infinity';
        IF NOT EXISTS (SELECT 1 FROM @versions@ WHERE head_id = target) THEN
          DELETE FROM @head@ WHERE head_id = target;
        END IF;
        RETURN NEXT next_version;
        RETURN;
      END IF;
@assign_user_columns@
    END IF;
  ELSIF operation = 'restore' THEN
    IF NOT current_version.deleted THEN
      RAISE EXCEPTION '@type@ % is not deleted', target USING ERRCODE = 'EVI01';
    END IF;
    next_version.deleted := false;
  ELSE
    RAISE EXCEPTION 'unknown operation %', operation USING ERRCODE = 'EVI01';
  END IF;
  next_version.author := author_name;
  next_version.merged_from := source_branch;
  IF ROW(next_version.deleted@next_columns@) IS NOT DISTINCT FROM ROW(current_version.deleted@current_columns@) THEN
    RETURN NEXT current_version;
    RETURN;
  END IF;
  IF commit_now THEN
    write_stamp := evcs_stamp_single_write(branch_name, author_name);
  END IF;
  IF inherited THEN
    next_version.branch := branch_name;
    next_version.version := 1;
    next_version.parent_branch := current_version.branch;
    next_version.parent_version := current_version.version;
    next_version.valid_from := write_stamp;
    next_version.valid_to := NULL;
    INSERT INTO @versions@ SELECT next_version.* RETURNING * INTO next_version;
  ELSIF current_version.valid_from = 'infinity' THEN
    UPDATE @versions@ SET deleted = next_version.deleted, author = next_version.author, merged_from = next_version.merged_from@set_in_place@
      WHERE head_id = target AND branch = branch_name AND valid_from = 'infinity' RETURNING * INTO next_version;
  ELSE
    UPDATE @versions@ SET valid_to = write_stamp WHERE head_id = target AND branch = branch_name AND valid_from = current_version.valid_from;
    next_version.version := current_version.version + 1;
    next_version.valid_from := write_stamp;
    next_version.valid_to := NULL;
    INSERT INTO @versions@ SELECT next_version.* RETURNING * INTO next_version;
  END IF;
  RETURN NEXT next_version;
END $evcs$
$template$;
  -- Fragments first: they hold placeholders the later replacements fill in.
  body := replace(body, '@first_version@', first_version);
  body := replace(body, '@assign_user_columns@', rtrim(assign_user_columns, E'\n'));
  body := replace(body, '@next_columns@', next_columns);
  body := replace(body, '@current_columns@', current_columns);
  body := replace(body, '@set_in_place@', set_in_place);
  body := replace(body, '@names@', quote_literal(names::text));
  body := replace(body, '@write@', format('%I', type_name || '_evcs_write'));
  body := replace(body, '@versions@', versions);
  body := replace(body, '@head@', head);
  body := replace(body, '@type@', type_name);
  EXECUTE body;
END $generator$;
-- Regenerated: the write functions with the new delete, and the index on every version table.
DO $$
DECLARE
  type_name text;
BEGIN
  FOR type_name IN SELECT name FROM evcs_entity_type ORDER BY name LOOP
    PERFORM evcs_generate_entity_type(type_name);
  END LOOP;
END $$;
