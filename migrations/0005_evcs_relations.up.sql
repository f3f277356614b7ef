-- Relations between entity types, held per branch by the database itself:
--   * a column may reference another entity type ("references", with "on_delete" restrict,
--     cascade or set null): a live entity never points at an entity that is absent or deleted
--     on the branch it is live on;
--   * unique keys ("unique": [["email"], ["org_id", "code"]]) hold among the live entities of
--     each branch as that branch reads them (its own versions and what it reads through to);
--   * checks ("checks": {"name": "SQL expression"}) are CHECK constraints of the version table.
-- History and other branches are not constrained: a rule is about what one branch shows.
--
-- How it is enforced. Every version written to a type that takes part in a rule is queued
-- (evcs_relation_queue) by a trigger; at COMMIT a deferred constraint trigger checks the queued
-- entities on their branch and on the live branches that read through to it, under the commit
-- lock every versioned commit takes (evcs_finalize, evcs_stamp_single_write), so two
-- transactions racing to break a rule are checked one after the other: the second sees the
-- first's commit and is refused. Deletes cascade right away (the cascaded tombstones or nulls
-- are versions of the same commit), on the branch written.

ALTER TABLE evcs_entity_type ADD COLUMN IF NOT EXISTS constraints jsonb NOT NULL DEFAULT '{}';

-- The entities the transaction wrote that a rule may concern; emptied by the check at commit
-- (rows are only ever seen by the transaction that wrote them). Read through the index by the
-- transaction's id, so the dead rows of earlier transactions are never scanned.
CREATE TABLE IF NOT EXISTS evcs_relation_queue (
  tx bigint NOT NULL DEFAULT txid_current(),
  entity_type text NOT NULL,
  head_id uuid NOT NULL,
  branch text NOT NULL
);
CREATE INDEX IF NOT EXISTS evcs_relation_queue_tx ON evcs_relation_queue (tx, entity_type);
-- One row per transaction with queued entities: its deferred trigger runs the check once.
CREATE TABLE IF NOT EXISTS evcs_relation_check (
  tx bigint PRIMARY KEY
);

-- The branch written and every branch that reads it live (live children, recursively): what
-- one branch's write can change the view of.
CREATE OR REPLACE FUNCTION evcs_viewers(written text) RETURNS SETOF text LANGUAGE sql STABLE AS $$
  WITH RECURSIVE viewer (name) AS (
    SELECT written
    UNION
    SELECT b.name FROM evcs_branch b JOIN viewer v ON b.parent = v.name WHERE b.mode = 'live'
  )
  SELECT name FROM viewer
$$;

-- SQL text: the version of entity `head_expr` of `type_name` that branch `viewer_expr` shows now
-- (a whole row of the version table, or NULL), through a CTE evcs_viewer_lineage (viewer,
-- depth, branch, at) holding each viewer's evcs_lineage(viewer, 'infinity').
CREATE OR REPLACE FUNCTION evcs_visible_sql(type_name text, head_expr text, viewer_expr text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT format('(SELECT x.version_row FROM evcs_viewer_lineage l CROSS JOIN LATERAL '
                '(SELECT y AS version_row FROM %1$I y WHERE y.head_id = %2$s AND y.branch = l.branch '
                'AND y.valid_from <= l.at ORDER BY y.valid_from DESC LIMIT 1) x '
                'WHERE l.viewer = %3$s ORDER BY l.depth LIMIT 1)',
                type_name || '_version', head_expr, viewer_expr)
$$;

-- SQL text: a LATERAL subquery of the head_ids of the `referrer` entities live on `viewer_expr`
-- whose `column_name` is `target_expr` (candidates found through the column's index, then
-- checked against what the viewer shows).
CREATE OR REPLACE FUNCTION evcs_live_referrers_sql(referrer text, column_name text,
                                                   target_expr text, viewer_expr text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT format('(SELECT candidate.head_id FROM (SELECT DISTINCT y.head_id FROM %1$I y '
                'JOIN evcs_viewer_lineage l ON l.viewer = %4$s AND y.branch = l.branch '
                'WHERE y.%2$I = %3$s) candidate CROSS JOIN LATERAL (SELECT %5$s AS v) shown '
                'WHERE (shown.v).deleted IS FALSE AND (shown.v).%2$I = %3$s)',
                referrer || '_version', column_name, target_expr, viewer_expr,
                evcs_visible_sql(referrer, 'candidate.head_id', viewer_expr))
$$;

-- The reference columns of the catalog: which type's column references which type, and how a
-- delete of the referenced entity is followed.
CREATE OR REPLACE FUNCTION evcs_references()
RETURNS TABLE (referrer text, column_name text, referenced text, on_delete text)
LANGUAGE sql STABLE AS $$
  SELECT t.name, c.item ->> 'name', c.item ->> 'references',
         coalesce(c.item ->> 'on_delete', 'restrict')
  FROM evcs_entity_type t, jsonb_array_elements(t.columns) c(item)
  WHERE c.item ? 'references'
$$;

-- The entity types a cascade (or set null) of this transaction wrote pending versions of: kept
-- in a setting of the transaction, so a commit stamps them too without reading the catalog.
CREATE OR REPLACE FUNCTION evcs_note_cascaded(type_name text) RETURNS void LANGUAGE sql AS $$
  SELECT set_config('evcs.cascaded_types',
                    concat_ws(',', nullif(current_setting('evcs.cascaded_types', true), ''), type_name),
                    true)
  WHERE NOT type_name = ANY (string_to_array(current_setting('evcs.cascaded_types', true), ','))
     IS TRUE
$$;

-- The types a commit stamps: those the transaction wrote and those its cascades wrote.
CREATE OR REPLACE FUNCTION evcs_types_to_stamp(entity_types text[]) RETURNS text[]
LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN coalesce(current_setting('evcs.cascaded_types', true), '') = '' THEN entity_types
         ELSE ARRAY(SELECT DISTINCT t FROM unnest(entity_types ||
                      string_to_array(current_setting('evcs.cascaded_types', true), ',')) t
                    ORDER BY 1) END
$$;

-- ---- stamping ---------------------------------------------------------------------------------
-- Stamps the pending versions of one entity type with `stamp` and returns how many it stamped.
-- A pending version equal to the one it supersedes (the metadata aside) changes nothing: it goes,
-- and the version it would have closed stays current; likewise a branch's first version of an
-- entity (snapshot branches) equal to the parent's version it read through to.
CREATE OR REPLACE FUNCTION evcs_stamp_pending(entity_type text, stamp timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  -- The columns that differ between a version and its successor whatever the content.
  metadata text[] := array_remove(evcs_system_columns(), 'deleted');
  stamped bigint;
BEGIN
  EXECUTE format('WITH unchanged AS (DELETE FROM %1$I p USING %1$I c '
                 'WHERE p.valid_from = ''infinity'' AND c.valid_to = ''infinity'' '
                 'AND c.head_id = p.head_id AND c.branch = p.branch '
                 'AND to_jsonb(p) - $1 = to_jsonb(c) - $1 RETURNING p.head_id, p.branch) '
                 'UPDATE %1$I c SET valid_to = NULL FROM unchanged u '
                 'WHERE c.valid_to = ''infinity'' AND c.head_id = u.head_id '
                 'AND c.branch = u.branch', entity_type || '_version')
    USING metadata;
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
  GET DIAGNOSTICS stamped = ROW_COUNT;
  RETURN stamped;
END $$;

-- As in 0004, stamping also the versions the transaction's deletes cascaded to.
CREATE OR REPLACE FUNCTION evcs_finalize(entity_types text[], branch_name text, author_name text,
                                         commit_message text, source_branch text DEFAULT NULL)
RETURNS timestamptz LANGUAGE plpgsql AS $$
DECLARE
  stamp timestamptz;
  entity_type text;
  changes bigint := 0;
  pending_branches bigint;
BEGIN
  PERFORM 1 FROM evcs_clock WHERE id = 1 FOR UPDATE;
  SELECT greatest(clock_timestamp(), last_stamp + interval '1 microsecond') INTO stamp
    FROM evcs_clock WHERE id = 1;
  FOREACH entity_type IN ARRAY evcs_types_to_stamp(entity_types) LOOP
    changes := changes + evcs_stamp_pending(entity_type, stamp);
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

-- ---- the check at commit ------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION evcs_check_relations() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  queued_type text;
BEGIN
  -- The commit lock (detail::lock_commit_stamp in the engine): held already by a versioned
  -- commit; taken here by any other writer, so that checks run one commit after the other.
  PERFORM pg_advisory_xact_lock(7311140392591977840);
  FOR queued_type IN SELECT DISTINCT entity_type FROM evcs_relation_queue
                      WHERE tx = txid_current() ORDER BY 1 LOOP
    IF to_regprocedure(format('%I()', queued_type || '_evcs_check')) IS NOT NULL THEN
      EXECUTE format('SELECT %I()', queued_type || '_evcs_check');
    END IF;
  END LOOP;
  DELETE FROM evcs_relation_queue WHERE tx = txid_current();
  DELETE FROM evcs_relation_check WHERE tx = txid_current();
  RETURN NULL;
END $$;

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'evcs_check_relations'
                 AND tgrelid = 'evcs_relation_check'::regclass) THEN
    CREATE CONSTRAINT TRIGGER evcs_check_relations AFTER INSERT ON evcs_relation_check
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION evcs_check_relations();
  END IF;
END $$;

-- Raises the violation a check found: (kind, entity_type, head_id, branch, other_type, other,
-- fields).
CREATE OR REPLACE FUNCTION evcs_raise_violation(violation record) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  detail text := json_build_object('kind', violation.kind, 'entity_type', violation.entity_type,
                                   'head_id', violation.head_id, 'branch', violation.branch,
                                   'other_type', violation.other_type, 'other', violation.other,
                                   'fields', violation.fields)::text;
BEGIN
  IF violation.kind = 'reference' THEN
    RAISE EXCEPTION '% % on branch "%" refers to % % (field %), which is deleted or absent there',
      violation.entity_type, violation.head_id, violation.branch, violation.other_type, violation.other, violation.fields
      USING ERRCODE = '23503', DETAIL = detail,
            HINT = 'create or restore the entity referred to first, or change the reference';
  ELSIF violation.kind = 'referenced' THEN
    RAISE EXCEPTION '% % on branch "%" is deleted or absent, but % % still refers to it (field %)',
      violation.entity_type, violation.head_id, violation.branch, violation.other_type, violation.other, violation.fields
      USING ERRCODE = '23503', DETAIL = detail,
            HINT = 'delete or change the referring entity first (its reference is on_delete restrict)';
  ELSE
    RAISE EXCEPTION '% % and % on branch "%" have the same %',
      violation.entity_type, violation.head_id, violation.other, violation.branch, violation.fields
      USING ERRCODE = '23505', DETAIL = detail,
            HINT = 'the key is unique among the live entities of a branch';
  END IF;
END $$;

-- ---- per type: the triggers and functions of its rules ------------------------------------------
-- Drops the triggers and functions of an entity type's rules (its version table must exist).
CREATE OR REPLACE FUNCTION evcs_drop_relations(type_name text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  versions text := format('%I', type_name || '_version');
  trigger_name text;
  function_name text;
BEGIN
  -- Looked up first rather than IF EXISTS, which would print a notice for each one missing.
  FOR trigger_name IN SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass(versions)
                        AND tgname IN (type_name || '_evcs_inserted', type_name || '_evcs_updated') LOOP
    EXECUTE format('DROP TRIGGER %I ON %s', trigger_name, versions);
  END LOOP;
  FOREACH function_name IN ARRAY ARRAY[format('%I()', type_name || '_evcs_inserted'),
                                       format('%I()', type_name || '_evcs_updated'),
                                       format('%I(%s[])', type_name || '_evcs_written', versions),
                                       format('%I()', type_name || '_evcs_check')] LOOP
    IF to_regprocedure(function_name) IS NOT NULL THEN
      EXECUTE 'DROP FUNCTION ' || function_name;
    END IF;
  END LOOP;
END $$;

-- (Re)creates, from the catalog, what enforces the rules an entity type takes part in: as a
-- referrer, as a type referred to, and through its unique keys. A type in none has none.
CREATE OR REPLACE FUNCTION evcs_generate_relations(type_name text) RETURNS void
LANGUAGE plpgsql AS $generator$
DECLARE
  entity evcs_entity_type;
  versions text := format('%I', type_name || '_version');
  written text := format('%I', type_name || '_evcs_written');
  updated text := format('%I', type_name || '_evcs_updated');
  checker text := format('%I', type_name || '_evcs_check');
  reference record;
  key jsonb;
  key_columns text[];
  key_match text;
  key_present text;
  check_sql text;
  queue_sql text;
  violations text[] := '{}';
  watched text[] := ARRAY['deleted'];
  cascades text := '';
  prefix text;
  body text;
BEGIN
  PERFORM evcs_drop_relations(type_name);
  SELECT * INTO entity FROM evcs_entity_type WHERE name = type_name;
  IF NOT FOUND THEN
    RETURN;
  END IF;

  -- Its own references: each live entity's referred-to entity is live where it is.
  FOR reference IN SELECT * FROM evcs_references() WHERE referrer = type_name ORDER BY column_name LOOP
    watched := watched || reference.column_name;
    violations := violations || format(
      'SELECT ''reference''::text AS kind, %1$L::text AS entity_type, s.head_id, s.viewer AS branch, '
      '%2$L::text AS other_type, (s.state).%3$I AS other, %3$L::text AS fields FROM states s '
      'WHERE (s.state).deleted IS FALSE AND (s.state).%3$I IS NOT NULL AND (%4$s).deleted IS NOT FALSE',
      type_name, reference.referenced, reference.column_name,
      evcs_visible_sql(reference.referenced, format('(s.state).%I', reference.column_name), 's.viewer'));
  END LOOP;

  -- References to it: an entity that is not live has no live referrer; a delete cascades first.
  FOR reference IN SELECT * FROM evcs_references() WHERE referenced = type_name
                   ORDER BY referrer, column_name LOOP
    violations := violations || format(
      'SELECT ''referenced''::text, %1$L::text, s.head_id, s.viewer, %2$L::text, r.head_id, %3$L::text '
      'FROM states s CROSS JOIN LATERAL %4$s r WHERE (s.state).deleted IS NOT FALSE',
      type_name, reference.referrer, reference.column_name,
      evcs_live_referrers_sql(reference.referrer, reference.column_name, 's.head_id', 's.viewer'));
    IF reference.on_delete <> 'restrict' THEN
      cascades := cascades || format($cascade$
  FOR doomed IN
    WITH tombstones AS (SELECT DISTINCT a.head_id, a.branch AS viewer, a.author, a.valid_from
                          FROM unnest(added) a WHERE a.deleted AND a.valid_to IS NULL),
    evcs_viewer_lineage AS MATERIALIZED (SELECT w.viewer, l.depth, l.branch, l.at
                              FROM (SELECT DISTINCT viewer FROM tombstones) w
                              CROSS JOIN LATERAL evcs_lineage(w.viewer, 'infinity') l)
    SELECT t.viewer, t.author, t.valid_from, r.head_id FROM tombstones t CROSS JOIN LATERAL %1$s r
  LOOP
    PERFORM %2$I(%3$L, doomed.head_id, doomed.viewer, %4$L::jsonb, NULL, doomed.author);
    IF doomed.valid_from <> 'infinity' THEN
      stamped := stamped || ARRAY[[%5$L, doomed.valid_from::text]];
    ELSE
      PERFORM evcs_note_cascaded(%5$L);
    END IF;
  END LOOP;
$cascade$,
        evcs_live_referrers_sql(reference.referrer, reference.column_name, 't.head_id', 't.viewer'),
        reference.referrer || '_evcs_write',
        CASE reference.on_delete WHEN 'cascade' THEN 'delete' ELSE 'update' END,
        CASE reference.on_delete WHEN 'cascade' THEN '{}'
             ELSE jsonb_build_object(reference.column_name, NULL)::text END,
        reference.referrer);
    END IF;
  END LOOP;

  -- Unique keys: no other entity live on the branch has the same values (NULLs never clash).
  FOR key IN SELECT k FROM jsonb_array_elements(entity.constraints -> 'unique') k LOOP
    SELECT array_agg(c ORDER BY o) INTO key_columns FROM jsonb_array_elements_text(key) WITH ORDINALITY AS k(c, o);
    watched := watched || key_columns;
    SELECT string_agg(format('y.%1$I = (s.state).%1$I', c), ' AND '),
           string_agg(format('(s.state).%I IS NOT NULL', c), ' AND ')
      INTO key_match, key_present FROM unnest(key_columns) c;
    violations := violations || format(
      'SELECT ''unique''::text, %1$L::text, s.head_id, s.viewer, %1$L::text, o.head_id, %2$L::text '
      'FROM states s CROSS JOIN LATERAL (SELECT candidate.head_id FROM (SELECT DISTINCT y.head_id '
      'FROM %3$s y JOIN evcs_viewer_lineage l ON l.viewer = s.viewer AND y.branch = l.branch '
      'WHERE %4$s AND y.head_id <> s.head_id) candidate CROSS JOIN LATERAL (SELECT %5$s AS v) shown '
      'WHERE (shown.v).deleted IS FALSE AND %6$s LIMIT 1) o '
      'WHERE (s.state).deleted IS FALSE AND %7$s',
      type_name, array_to_string(key_columns, ', '), versions, key_match,
      evcs_visible_sql(type_name, 'candidate.head_id', 's.viewer'),
      replace(key_match, 'y.', '(shown.v).'), key_present);
  END LOOP;

  IF cardinality(violations) = 0 THEN
    RETURN;
  END IF;

  -- The check at commit: the queued entities as their branches and live readers show them.
  -- Its functions run without JIT and sequential scans: their work is index lookups, which
  -- estimates made before a bulk load's statistics exist would turn into scans per entity, and
  -- compiling costs more than the statements do.
  prefix := format(
    'WITH queued AS (SELECT DISTINCT head_id, branch FROM evcs_relation_queue '
    'WHERE tx = txid_current() AND entity_type = %1$L), '
    'viewing AS (SELECT b.branch, v.viewer FROM (SELECT DISTINCT branch FROM queued) b '
    'CROSS JOIN LATERAL evcs_viewers(b.branch) v(viewer)), '
    'evcs_viewer_lineage AS MATERIALIZED (SELECT w.viewer, l.depth, l.branch, l.at FROM (SELECT DISTINCT viewer FROM viewing) w '
    'CROSS JOIN LATERAL evcs_lineage(w.viewer, ''infinity'') l), '
    'states AS MATERIALIZED (SELECT s.head_id, s.viewer, %2$s AS state FROM '
    '(SELECT DISTINCT q.head_id, w.viewer FROM queued q JOIN viewing w USING (branch)) s) ',
    type_name, evcs_visible_sql(type_name, 's.head_id', 's.viewer'));
  -- A large queue (a bulk load) is planned for its size; the cached plan serves the rest.
  check_sql := prefix || format('SELECT * FROM (%s) AS broken (kind, entity_type, head_id, '
                                'branch, other_type, other, fields) LIMIT 1',
                                array_to_string(violations, ' UNION ALL '));
  body := format($check$
CREATE FUNCTION %1$s() RETURNS void LANGUAGE plpgsql SET jit = off SET enable_seqscan = off AS $evcs$
DECLARE
  violation record;
  found_rows bigint;
BEGIN
  IF (SELECT count(*) FROM evcs_relation_queue WHERE tx = txid_current() AND entity_type = %3$L) > 100 THEN
    EXECUTE %4$L INTO violation;
  ELSE
    %2$s INTO violation;
  END IF;
  GET DIAGNOSTICS found_rows = ROW_COUNT;
  IF found_rows > 0 THEN
    PERFORM evcs_raise_violation(violation);
  END IF;
END $evcs$
$check$, checker, check_sql, type_name, check_sql);
  EXECUTE body;

  -- Queues what a statement wrote, and follows its deletes (cascade, set null) right away. A
  -- version that keeps its predecessor's liveness, references and keys (the previous version
  -- on its branch, or the version a branch's first one continues) cannot break a rule: it is
  -- not queued, and a transaction of such writes has nothing to check at commit. Each lookup
  -- is a LIMIT subquery, an index probe per version whatever plan a cached call left (an
  -- anti-join planned for one version would scan the table for each of a bulk load's).
  SELECT string_agg(format(' AND p.%1$I IS NOT DISTINCT FROM a.%1$I', c), '')
    INTO key_match FROM (SELECT DISTINCT c FROM unnest(watched) c ORDER BY c) w;
  queue_sql := format(
    'INSERT INTO evcs_relation_queue (entity_type, head_id, branch) '
    'SELECT %2$L, a.head_id, a.branch FROM unnest(added) a '
    'WHERE NOT EXISTS (SELECT 1 FROM (SELECT p.* FROM %1$s p WHERE p.head_id = a.head_id '
    'AND p.branch = a.branch AND p.valid_from < a.valid_from ORDER BY p.valid_from DESC LIMIT 1) p '
    'WHERE p.version = a.version - 1%3$s) '
    'AND NOT EXISTS (SELECT 1 FROM (SELECT p.* FROM %1$s p WHERE a.version = 1 '
    'AND p.head_id = a.head_id AND p.branch = a.parent_branch AND p.version = a.parent_version '
    'LIMIT 1) p WHERE true%3$s)', versions, type_name, coalesce(key_match, ''));
  body := format($written$
CREATE FUNCTION %1$s(added %2$s[]) RETURNS void LANGUAGE plpgsql SET jit = off SET enable_seqscan = off AS $evcs$
DECLARE
  doomed record;
  -- (type, stamp) of the versions cascaded from versions stamped already (a transaction of one
  -- write, or a merge): they join the same commit.
  stamped text[] := '{}';
  cascaded text[];
  changed bigint;
  queued bigint;
BEGIN
  -- A bulk load's versions are planned for their number; the cached plan serves the rest.
  IF cardinality(added) > 100 THEN
    EXECUTE %6$L USING added;
  ELSE
%7$s  END IF;
  GET DIAGNOSTICS queued = ROW_COUNT;
  IF queued > 0 THEN
    INSERT INTO evcs_relation_check VALUES (txid_current()) ON CONFLICT DO NOTHING;
  END IF;
%4$s
  IF cardinality(stamped) > 0 THEN
    FOREACH cascaded SLICE 1 IN ARRAY stamped LOOP
      changed := evcs_stamp_pending(cascaded[1], cascaded[2]::timestamptz);
      UPDATE evcs_commit SET changes = changes + changed WHERE stamp = cascaded[2]::timestamptz;
    END LOOP;
  END IF;
END $evcs$
$written$, written, versions, type_name, cascades, key_match,
    replace(queue_sql, 'unnest(added)', 'unnest($1)'), '    ' || queue_sql || E';\n');
  EXECUTE body;

  EXECUTE format($trigger$
CREATE FUNCTION %1$I() RETURNS trigger LANGUAGE plpgsql AS $evcs$
BEGIN
  PERFORM %2$s(ARRAY(SELECT a::%3$s FROM added a));
  RETURN NULL;
END $evcs$$trigger$, type_name || '_evcs_inserted', written, versions);
  EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS added '
                 'FOR EACH STATEMENT EXECUTE FUNCTION %I()',
                 type_name || '_evcs_inserted', versions, type_name || '_evcs_inserted');
  -- A pending version changed in place (a second write of the entity in one transaction).
  EXECUTE format($trigger$
CREATE FUNCTION %1$s() RETURNS trigger LANGUAGE plpgsql AS $evcs$
BEGIN
  PERFORM %2$s(ARRAY[NEW]);
  RETURN NULL;
END $evcs$$trigger$, updated, written);
  SELECT array_agg(DISTINCT c) INTO watched FROM unnest(watched) c;
  EXECUTE format('CREATE TRIGGER %I AFTER UPDATE OF %s ON %s FOR EACH ROW WHEN (%s) '
                 'EXECUTE FUNCTION %s()',
                 type_name || '_evcs_updated',
                 (SELECT string_agg(format('%I', c), ', ') FROM unnest(watched) c), versions,
                 (SELECT string_agg(format('OLD.%1$I IS DISTINCT FROM NEW.%1$I', c), ' OR ')
                    FROM unnest(watched) c),
                 updated);
END $generator$;

-- ---- the DDL functions, knowing relations -------------------------------------------------------
-- The functions of 0002 keep their work under new names; the names callers use now also handle
-- references, unique keys and checks. Run again after the earlier steps were (the functions
-- under the new names exist then), the old two-argument evcs_create_entity_type they brought
-- back goes, and the wrappers below replace the rest.
DO $$
DECLARE
  renamed record;
BEGIN
  FOR renamed IN SELECT * FROM (VALUES
      ('evcs_create_entity_type(text, jsonb)', 'evcs_create_entity_tables(text, jsonb)'),
      ('evcs_generate_entity_type(text)', 'evcs_generate_entity_writes(text)'),
      ('evcs_rename_column(text, text, text)', 'evcs_rename_entity_column(text, text, text)'),
      ('evcs_drop_column(text, text)', 'evcs_drop_entity_column(text, text)'),
      ('evcs_drop_entity_type(text)', 'evcs_drop_entity_tables(text)')) AS f(old, new) LOOP
    IF to_regprocedure(renamed.new) IS NULL THEN
      EXECUTE format('ALTER FUNCTION %s RENAME TO %s', renamed.old, split_part(renamed.new, '(', 1));
    ELSIF renamed.old = 'evcs_create_entity_type(text, jsonb)'
          AND to_regprocedure(renamed.old) IS NOT NULL THEN
      EXECUTE 'DROP FUNCTION ' || renamed.old;
    END IF;
  END LOOP;
END $$;

-- The view and write function as before, and the rules' triggers.
CREATE OR REPLACE FUNCTION evcs_generate_entity_type(type_name text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM evcs_generate_entity_writes(type_name);
  PERFORM evcs_generate_relations(type_name);
END $$;

-- A versioned entity type. `columns`: an array, in column order, of {"name", "type"} where a
-- type may end in "not null"; a column that refers to another entity type (or to this one)
-- says {"name", "references": type, "on_delete": "restrict" | "cascade" | "set null"} (type
-- uuid, on_delete restrict unless given). `constraints`: {"unique": [[column, ...], ...],
-- "checks": {name: SQL boolean expression over the columns}}.
CREATE OR REPLACE FUNCTION evcs_create_entity_type(type_name text, columns jsonb,
                                                   constraints jsonb DEFAULT '{}')
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  versions text := format('%I', type_name || '_version');
  declared jsonb;
  plain jsonb := '[]';
  refs jsonb := '[]';
  column_type text;
  on_delete text;
  names text[] := '{}';
  key jsonb;
  check_name text;
  check_sql text;
BEGIN
  PERFORM evcs_require_entity_type_name(type_name);
  IF columns IS NULL OR jsonb_typeof(columns) <> 'array' THEN
    RAISE EXCEPTION 'the columns of entity type ''%'' must be a JSON array', type_name
      USING ERRCODE = 'EVI01', HINT = 'e.g. [{"name": "title", "type": "text not null"}]';
  END IF;
  IF constraints IS NULL OR jsonb_typeof(constraints) <> 'object'
     OR constraints - ARRAY['unique', 'checks'] <> '{}' THEN
    RAISE EXCEPTION 'the constraints of entity type ''%'' must be an object with "unique" and '
      '"checks" only, not %', type_name, constraints USING ERRCODE = 'EVI01',
      HINT = 'e.g. {"unique": [["email"]], "checks": {"positive_qty": "qty > 0"}}';
  END IF;
  FOR declared IN SELECT item FROM jsonb_array_elements(columns) AS c(item) LOOP
    IF jsonb_typeof(declared) = 'object' AND declared ? 'references' THEN
      IF jsonb_typeof(declared -> 'references') <> 'string'
         OR declared - ARRAY['name', 'type', 'references', 'on_delete'] <> '{}' THEN
        RAISE EXCEPTION 'invalid reference column % of entity type ''%''', declared, type_name
          USING ERRCODE = 'EVI01',
          HINT = 'give {"name": ..., "references": type, "on_delete": "restrict" | "cascade" | "set null"}';
      END IF;
      column_type := evcs_column_type(declared ->> 'name', coalesce(declared ->> 'type', 'uuid'));
      IF column_type NOT IN ('uuid', 'uuid not null') THEN
        RAISE EXCEPTION 'reference column ''%'' must be of type uuid, not %', declared ->> 'name',
          column_type USING ERRCODE = 'EVI01';
      END IF;
      on_delete := coalesce(declared ->> 'on_delete', 'restrict');
      IF on_delete NOT IN ('restrict', 'cascade', 'set null') THEN
        RAISE EXCEPTION 'on_delete of column ''%'' must be restrict, cascade or set null, not %',
          declared ->> 'name', declared -> 'on_delete' USING ERRCODE = 'EVI01';
      END IF;
      IF on_delete = 'set null' AND column_type = 'uuid not null' THEN
        RAISE EXCEPTION 'column ''%'' is not null: its references cannot be set null on delete',
          declared ->> 'name' USING ERRCODE = 'EVI01';
      END IF;
      PERFORM evcs_require_entity_type_name(declared ->> 'references');
      IF declared ->> 'references' <> type_name
         AND NOT EXISTS (SELECT 1 FROM evcs_entity_type WHERE name = declared ->> 'references') THEN
        RAISE EXCEPTION 'column ''%'' references unknown entity type ''%''', declared ->> 'name',
          declared ->> 'references' USING ERRCODE = 'EVN01',
          HINT = 'create the type referred to first';
      END IF;
      refs := refs || jsonb_build_object('name', declared ->> 'name', 'references',
                                         declared ->> 'references', 'on_delete', on_delete);
      declared := jsonb_build_object('name', declared -> 'name', 'type', column_type);
    END IF;
    plain := plain || jsonb_build_array(declared);
    names := names || (declared ->> 'name');
  END LOOP;
  FOR key IN SELECT k FROM jsonb_array_elements(coalesce(constraints -> 'unique', '[]')) k LOOP
    IF jsonb_typeof(key) <> 'array' OR jsonb_array_length(key) = 0
       OR EXISTS (SELECT 1 FROM jsonb_array_elements(key) c WHERE jsonb_typeof(c) <> 'string'
                  OR NOT (c #>> '{}') = ANY (names))
       OR (SELECT count(DISTINCT c) <> count(*) FROM jsonb_array_elements_text(key) c) THEN
      RAISE EXCEPTION 'invalid unique key % of entity type ''%''', key, type_name
        USING ERRCODE = 'EVI01', HINT = 'give a key as a list of distinct columns of the type';
    END IF;
  END LOOP;
  IF constraints ? 'checks' AND jsonb_typeof(constraints -> 'checks') <> 'object' THEN
    RAISE EXCEPTION 'the checks of entity type ''%'' must be an object of name: expression',
      type_name USING ERRCODE = 'EVI01';
  END IF;

  PERFORM evcs_create_entity_tables(type_name, plain);
  UPDATE evcs_entity_type t SET
    columns = (SELECT jsonb_agg(c.item || coalesce((SELECT r - 'name' FROM jsonb_array_elements(refs) r
                                                    WHERE r ->> 'name' = c.item ->> 'name'), '{}')
                                ORDER BY c.position)
                 FROM jsonb_array_elements(t.columns) WITH ORDINALITY AS c(item, position)),
    constraints = jsonb_strip_nulls(jsonb_build_object(
      'unique', evcs_create_entity_type.constraints -> 'unique',
      'checks', evcs_create_entity_type.constraints -> 'checks'))
    WHERE t.name = type_name;

  -- The head table's foreign key keeps references to entities that exist; the per-branch rule
  -- is the trigger's. The index finds an entity's referrers.
  FOR declared IN SELECT r FROM jsonb_array_elements(refs) r LOOP
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I FOREIGN KEY (%I) REFERENCES %I (head_id)',
                   versions, type_name || '_' || (declared ->> 'name') || '_fkey',
                   declared ->> 'name', declared ->> 'references');
    EXECUTE format('CREATE INDEX %I ON %s (%I)', type_name || '_version_' || (declared ->> 'name'),
                   versions, declared ->> 'name');
  END LOOP;
  FOR key IN SELECT k FROM jsonb_array_elements(coalesce(constraints -> 'unique', '[]')) k LOOP
    EXECUTE format('CREATE INDEX %I ON %s (%s)',
                   left(type_name || '_version_key_' ||
                        (SELECT string_agg(c, '_') FROM jsonb_array_elements_text(key) c), 63),
                   versions,
                   (SELECT string_agg(format('%I', c), ', ') FROM jsonb_array_elements_text(key) c));
  END LOOP;
  FOR check_name, check_sql IN SELECT k, CASE WHEN jsonb_typeof(v) = 'string' THEN v #>> '{}' END FROM jsonb_each(coalesce(constraints -> 'checks', '{}')) kv(k, v) LOOP
    IF check_name !~ '^[a-z_][a-z0-9_]{0,39}$' OR check_sql IS NULL OR btrim(check_sql) = ''
       OR position(';' IN check_sql) > 0 THEN
      RAISE EXCEPTION 'invalid check % of entity type ''%'': %', check_name, type_name, check_sql
        USING ERRCODE = 'EVI01',
        HINT = 'name a check with lowercase letters, digits and underscores; give one SQL '
               'boolean expression over the type''s columns, e.g. "qty > 0"';
    END IF;
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I CHECK (%s)', versions,
                   type_name || '_check_' || check_name, check_sql);
  END LOOP;
  -- This type's rules, and those of the types it refers to (they gain a referrer).
  PERFORM evcs_generate_relations(name) FROM (
    SELECT type_name AS name UNION SELECT r ->> 'references' FROM jsonb_array_elements(refs) r) t;
END $$;

-- Renames a column as before; its unique keys follow the new name.
CREATE OR REPLACE FUNCTION evcs_rename_column(type_name text, column_name text, new_name text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM evcs_rename_entity_column(type_name, column_name, new_name);
  UPDATE evcs_entity_type SET constraints = jsonb_set(constraints, '{unique}',
      (SELECT jsonb_agg((SELECT jsonb_agg(CASE WHEN c = column_name THEN new_name ELSE c END)
                         FROM jsonb_array_elements_text(k) c))
         FROM jsonb_array_elements(constraints -> 'unique') k))
    WHERE name = type_name AND constraints ? 'unique';
  PERFORM evcs_generate_relations(name) FROM (
    SELECT type_name AS name UNION SELECT referenced FROM evcs_references() WHERE referrer = type_name) t;
END $$;

-- Drops a column as before, unless a unique key holds it.
CREATE OR REPLACE FUNCTION evcs_drop_column(type_name text, column_name text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  referenced_type text;
BEGIN
  IF EXISTS (SELECT 1 FROM evcs_entity_type, jsonb_array_elements(constraints -> 'unique') k
             WHERE name = type_name AND k ? column_name) THEN
    RAISE EXCEPTION 'column ''%'' of entity type ''%'' is part of a unique key', column_name,
      type_name USING ERRCODE = 'EVI01', HINT = 'a unique key cannot lose a column';
  END IF;
  SELECT referenced INTO referenced_type FROM evcs_references()
    WHERE referrer = type_name AND evcs_references.column_name = evcs_drop_column.column_name;
  -- Its triggers may watch the column; they are generated again without it.
  PERFORM evcs_drop_relations(type_name);
  PERFORM evcs_drop_entity_column(type_name, column_name);
  IF referenced_type IS NOT NULL THEN
    PERFORM evcs_generate_relations(referenced_type);
  END IF;
END $$;

-- Drops an entity type as before, unless another type refers to it.
CREATE OR REPLACE FUNCTION evcs_drop_entity_type(type_name text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  referenced_types text[];
  referrers text;
BEGIN
  SELECT string_agg(DISTINCT referrer || '.' || column_name, ', ') INTO referrers
    FROM evcs_references() WHERE referenced = type_name AND referrer <> type_name;
  IF referrers IS NOT NULL THEN
    RAISE EXCEPTION 'entity type ''%'' is referred to by %', type_name, referrers
      USING ERRCODE = 'EVI01', HINT = 'drop those columns or types first';
  END IF;
  SELECT array_agg(DISTINCT referenced) INTO referenced_types FROM evcs_references()
    WHERE referrer = type_name AND referenced <> type_name;
  PERFORM evcs_lock_entity_type(type_name);
  PERFORM evcs_drop_relations(type_name);
  DELETE FROM evcs_relation_queue WHERE tx = txid_current() AND entity_type = type_name;
  PERFORM evcs_drop_entity_tables(type_name);
  PERFORM evcs_generate_relations(name) FROM unnest(referenced_types) name;
END $$;
