-- Changing the relations of an existing entity type: a reference on a column (added, dropped,
-- its on_delete changed), a unique key (added, dropped), a check (added, dropped). Each change
-- updates the catalog row, the storage objects (foreign key and index, key index, CHECK
-- constraint) and the generated triggers and functions of the types concerned
-- (evcs_generate_relations, 0005) in the caller's transaction.
--
-- A rule added to a type that has data must already hold, or the change is refused and writes
-- nothing:
--   * a reference or unique key is checked at once for every entity on every branch, by the
--     same generated check a commit runs (so the error names the entity that breaks it, as a
--     refused commit does); history is not constrained, as for any write;
--   * a check is a CHECK constraint of every version, so every version, history included, must
--     satisfy it: a version is immutable, and a check that only new versions kept (NOT VALID)
--     would make "every version satisfies it" false and would refuse a revert or merge that
--     brings an old state back.

-- A check's name and expression as evcs_create_entity_type takes them: EVI01 otherwise.
CREATE OR REPLACE FUNCTION evcs_require_check(type_name text, check_name text, expression text)
RETURNS void LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF check_name IS NULL OR check_name !~ '^[a-z_][a-z0-9_]{0,39}$' OR expression IS NULL
     OR btrim(expression) = '' OR position(';' IN expression) > 0 THEN
    RAISE EXCEPTION 'invalid check % of entity type ''%'': %', check_name, type_name, expression
      USING ERRCODE = 'EVI01',
      HINT = 'name a check with lowercase letters, digits and underscores; give one SQL '
             'boolean expression over the type''s columns, e.g. "qty > 0"';
  END IF;
END $$;

-- The index that finds the entities sharing a unique key's values (named as
-- evcs_create_entity_type names it).
CREATE OR REPLACE FUNCTION evcs_unique_key_index(type_name text, key_columns text[]) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT left(type_name || '_version_key_' || array_to_string(key_columns, '_'), 63)
$$;

-- Runs the generated check of `type_name` now, for every entity of the type on every branch,
-- as a commit runs it for the entities it wrote; a violation is raised as "cannot <change>:
-- <the violation>", with its SQLSTATE and detail.
CREATE OR REPLACE FUNCTION evcs_check_existing(type_name text, change text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  queued tid[];
  message text;
  detail text;
  state text;
BEGIN
  IF to_regprocedure(format('%I()', type_name || '_evcs_check')) IS NULL THEN
    RETURN;
  END IF;
  -- The rows are this call's own: rows the transaction queued before stay for the commit.
  EXECUTE format('WITH added AS (INSERT INTO evcs_relation_queue (entity_type, head_id, branch) '
                 'SELECT %L, h.head_id, b.name FROM %I h CROSS JOIN evcs_branch b '
                 'RETURNING ctid) SELECT array_agg(ctid) FROM added', type_name, type_name)
    INTO queued;
  BEGIN
    EXECUTE format('SELECT %I()', type_name || '_evcs_check');
  EXCEPTION WHEN integrity_constraint_violation THEN
    GET STACKED DIAGNOSTICS message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL,
                            state = RETURNED_SQLSTATE;
    RAISE EXCEPTION 'cannot %: %', change, message USING ERRCODE = state, DETAIL = detail,
      HINT = 'the rule must hold for the live entities of every branch before it is added: '
             'change or delete the entities named first';
  END;
  DELETE FROM evcs_relation_queue WHERE ctid = ANY (queued);
END $$;

-- The catalog entry of a column of the type (EVN01 when it has none).
CREATE OR REPLACE FUNCTION evcs_column_entry(entity evcs_entity_type, column_name text)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT entity.columns -> evcs_existing_column(entity, column_name)
$$;

-- Replaces the catalog entry of a column with `entry`.
CREATE OR REPLACE FUNCTION evcs_set_column_entry(type_name text, column_name text, entry jsonb)
RETURNS void LANGUAGE sql AS $$
  UPDATE evcs_entity_type
    SET columns = jsonb_set(columns, ARRAY[evcs_column_position(columns, column_name)::text], entry)
    WHERE name = type_name
$$;

-- Raises EVI01 unless `on_delete` can follow a reference held in a column of `column_type`.
CREATE OR REPLACE FUNCTION evcs_require_on_delete(column_name text, column_type text,
                                                  on_delete text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF on_delete IS NULL OR on_delete NOT IN ('restrict', 'cascade', 'set null') THEN
    RAISE EXCEPTION 'on_delete of column ''%'' must be restrict, cascade or set null, not %',
      column_name, coalesce(on_delete, 'null') USING ERRCODE = 'EVI01';
  END IF;
  IF on_delete = 'set null' AND column_type = 'uuid not null' THEN
    RAISE EXCEPTION 'column ''%'' is not null: its references cannot be set null on delete',
      column_name USING ERRCODE = 'EVI01';
  END IF;
END $$;

-- Makes an existing uuid column refer to entities of `referenced` (this type or another).
-- Every value any version holds must name an entity of that type (the storage foreign key
-- covers history), and every live entity of every branch must refer to an entity live there.
CREATE OR REPLACE FUNCTION evcs_add_reference(type_name text, column_name text, referenced text,
                                              on_delete text DEFAULT 'restrict') RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  entity evcs_entity_type := evcs_lock_entity_type(type_name);
  entry jsonb := evcs_column_entry(entity, column_name);
  versions text := format('%I', type_name || '_version');
  dangling record;
BEGIN
  IF entry ? 'references' THEN
    RAISE EXCEPTION 'column ''%'' of entity type ''%'' already refers to %', column_name,
      type_name, entry ->> 'references' USING ERRCODE = 'EVI01',
      HINT = 'drop the reference first, or change its on_delete with evcs_alter_reference';
  END IF;
  IF entry ->> 'type' NOT IN ('uuid', 'uuid not null') THEN
    RAISE EXCEPTION 'reference column ''%'' must be of type uuid, not %', column_name,
      entry ->> 'type' USING ERRCODE = 'EVI01';
  END IF;
  PERFORM evcs_require_on_delete(column_name, entry ->> 'type', on_delete);
  PERFORM evcs_require_entity_type_name(referenced);
  IF referenced <> type_name AND NOT EXISTS (SELECT 1 FROM evcs_entity_type WHERE name = referenced) THEN
    RAISE EXCEPTION 'column ''%'' references unknown entity type ''%''', column_name, referenced
      USING ERRCODE = 'EVN01', HINT = 'create the type referred to first';
  END IF;
  EXECUTE format('SELECT v.head_id, v.branch, v.version, v.%1$I AS target FROM %2$s v '
                 'WHERE v.%1$I IS NOT NULL AND NOT EXISTS (SELECT 1 FROM %3$I r '
                 'WHERE r.head_id = v.%1$I) ORDER BY v.head_id, v.branch, v.version LIMIT 1',
                 column_name, versions, referenced) INTO dangling;
  IF dangling.head_id IS NOT NULL THEN
    RAISE EXCEPTION 'cannot make %.% refer to %: version % of % % on branch "%" holds %, which is '
      'no % at all', type_name, column_name, referenced, dangling.version, type_name,
      dangling.head_id, dangling.branch, dangling.target, referenced
      USING ERRCODE = '23503',
      HINT = 'every version, history included, must name an existing entity of the type referred to';
  END IF;
  PERFORM evcs_set_column_entry(type_name, column_name, entry ||
    jsonb_build_object('references', referenced, 'on_delete', on_delete));
  EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I FOREIGN KEY (%I) REFERENCES %I (head_id)',
                 versions, type_name || '_' || column_name || '_fkey', column_name, referenced);
  EXECUTE format('CREATE INDEX %I ON %s (%I)', type_name || '_version_' || column_name, versions,
                 column_name);
  PERFORM evcs_generate_relations(name) FROM (SELECT type_name AS name UNION SELECT referenced) t;
  PERFORM evcs_check_existing(type_name, format('make %s.%s refer to %s', type_name,
                                                column_name, referenced));
END $$;

-- Makes a reference column a plain uuid column again: its values stay, the rule goes.
CREATE OR REPLACE FUNCTION evcs_drop_reference(type_name text, column_name text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  entity evcs_entity_type := evcs_lock_entity_type(type_name);
  entry jsonb := evcs_column_entry(entity, column_name);
  versions text := format('%I', type_name || '_version');
BEGIN
  IF NOT entry ? 'references' THEN
    RAISE EXCEPTION 'column ''%'' of entity type ''%'' refers to no entity type', column_name,
      type_name USING ERRCODE = 'EVI01';
  END IF;
  PERFORM evcs_set_column_entry(type_name, column_name, entry - 'references' - 'on_delete');
  EXECUTE format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', versions,
                 type_name || '_' || column_name || '_fkey');
  EXECUTE format('DROP INDEX IF EXISTS %I', type_name || '_version_' || column_name);
  PERFORM evcs_generate_relations(name)
    FROM (SELECT type_name AS name UNION SELECT entry ->> 'references') t;
END $$;

-- Changes what a delete of the entity referred to does to the entities referring to it. Data
-- already written holds under every on_delete, so nothing is checked.
CREATE OR REPLACE FUNCTION evcs_alter_reference(type_name text, column_name text, on_delete text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  entity evcs_entity_type := evcs_lock_entity_type(type_name);
  entry jsonb := evcs_column_entry(entity, column_name);
BEGIN
  IF NOT entry ? 'references' THEN
    RAISE EXCEPTION 'column ''%'' of entity type ''%'' refers to no entity type', column_name,
      type_name USING ERRCODE = 'EVI01', HINT = 'add a reference with evcs_add_reference';
  END IF;
  PERFORM evcs_require_on_delete(column_name, entry ->> 'type', on_delete);
  PERFORM evcs_set_column_entry(type_name, column_name,
                                entry || jsonb_build_object('on_delete', on_delete));
  -- The delete's cascade is generated for the type referred to.
  PERFORM evcs_generate_relations(name)
    FROM (SELECT type_name AS name UNION SELECT entry ->> 'references') t;
END $$;

-- Adds a unique key: no two live entities of a branch may share its columns' values (NULLs
-- never clash). Refused, naming two such entities, when some branch already has them.
CREATE OR REPLACE FUNCTION evcs_add_unique_key(type_name text, key_columns text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  entity evcs_entity_type := evcs_lock_entity_type(type_name);
  key_column text;
BEGIN
  IF coalesce(cardinality(key_columns), 0) = 0 OR array_ndims(key_columns) <> 1
     OR array_position(key_columns, NULL) IS NOT NULL
     OR (SELECT count(DISTINCT c) <> count(*) FROM unnest(key_columns) c) THEN
    RAISE EXCEPTION 'invalid unique key % of entity type ''%''', key_columns, type_name
      USING ERRCODE = 'EVI01', HINT = 'give a key as a list of distinct columns of the type';
  END IF;
  FOREACH key_column IN ARRAY key_columns LOOP
    PERFORM evcs_existing_column(entity, key_column);
  END LOOP;
  IF EXISTS (SELECT 1 FROM jsonb_array_elements(entity.constraints -> 'unique') k
             WHERE ARRAY(SELECT jsonb_array_elements_text(k) ORDER BY 1)
                   = ARRAY(SELECT unnest(key_columns) ORDER BY 1)) THEN
    RAISE EXCEPTION 'entity type ''%'' already has the unique key (%)', type_name,
      array_to_string(key_columns, ', ') USING ERRCODE = 'EVI01';
  END IF;
  UPDATE evcs_entity_type
    SET constraints = constraints || jsonb_build_object('unique',
          coalesce(constraints -> 'unique', '[]') || jsonb_build_array(to_jsonb(key_columns)))
    WHERE name = type_name;
  EXECUTE format('CREATE INDEX %I ON %I (%s)', evcs_unique_key_index(type_name, key_columns),
                 type_name || '_version',
                 (SELECT string_agg(format('%I', c), ', ') FROM unnest(key_columns) c));
  PERFORM evcs_generate_relations(type_name);
  PERFORM evcs_check_existing(type_name, format('add the unique key (%s) to %s',
                                                array_to_string(key_columns, ', '), type_name));
END $$;

-- Drops the unique key of exactly these columns, in this order.
CREATE OR REPLACE FUNCTION evcs_drop_unique_key(type_name text, key_columns text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  entity evcs_entity_type := evcs_lock_entity_type(type_name);
  remaining jsonb;
BEGIN
  IF NOT coalesce(entity.constraints -> 'unique', '[]') @> jsonb_build_array(to_jsonb(key_columns)) THEN
    RAISE EXCEPTION 'entity type ''%'' has no unique key (%)', type_name,
      array_to_string(key_columns, ', ') USING ERRCODE = 'EVN01',
      HINT = 'its unique keys are listed in evcs_entity_type.constraints';
  END IF;
  SELECT coalesce(jsonb_agg(k ORDER BY o), '[]') INTO remaining
    FROM jsonb_array_elements(entity.constraints -> 'unique') WITH ORDINALITY AS u(k, o)
    WHERE k <> to_jsonb(key_columns);
  UPDATE evcs_entity_type
    SET constraints = CASE WHEN remaining = '[]' THEN constraints - 'unique'
                           ELSE jsonb_set(constraints, '{unique}', remaining) END
    WHERE name = type_name;
  EXECUTE format('DROP INDEX IF EXISTS %I', evcs_unique_key_index(type_name, key_columns));
  PERFORM evcs_generate_relations(type_name);
END $$;

-- Adds a check, a CHECK constraint of every version: refused, naming a version that breaks it,
-- when one does (history included: see the top of this file).
CREATE OR REPLACE FUNCTION evcs_add_check(type_name text, check_name text, expression text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  entity evcs_entity_type := evcs_lock_entity_type(type_name);
  versions text := format('%I', type_name || '_version');
  broken record;
BEGIN
  PERFORM evcs_require_check(type_name, check_name, expression);
  IF coalesce(entity.constraints -> 'checks', '{}') ? check_name THEN
    RAISE EXCEPTION 'entity type ''%'' already has a check %', type_name, check_name
      USING ERRCODE = 'EVI01', HINT = 'drop it first to change its expression';
  END IF;
  EXECUTE format('SELECT head_id, branch, version FROM %s WHERE (%s) IS FALSE '
                 'ORDER BY head_id, branch, version LIMIT 1', versions, expression) INTO broken;
  IF broken.head_id IS NOT NULL THEN
    RAISE EXCEPTION 'cannot add the check % to %: version % of % % on branch "%" breaks it (%)',
      check_name, type_name, broken.version, type_name, broken.head_id, broken.branch, expression
      USING ERRCODE = '23514',
      HINT = 'a check holds for every version, history included: give an expression the '
             'existing versions satisfy';
  END IF;
  EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I CHECK (%s)', versions,
                 type_name || '_check_' || check_name, expression);
  UPDATE evcs_entity_type
    SET constraints = constraints || jsonb_build_object('checks',
          coalesce(constraints -> 'checks', '{}') || jsonb_build_object(check_name, expression))
    WHERE name = type_name;
  -- Checks are the version table's own constraints: the generated triggers do not change.
END $$;

-- Drops a check.
CREATE OR REPLACE FUNCTION evcs_drop_check(type_name text, check_name text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  entity evcs_entity_type := evcs_lock_entity_type(type_name);
BEGIN
  IF NOT coalesce(entity.constraints -> 'checks', '{}') ? check_name THEN
    RAISE EXCEPTION 'entity type ''%'' has no check %', type_name, check_name
      USING ERRCODE = 'EVN01', HINT = 'its checks are listed in evcs_entity_type.constraints';
  END IF;
  -- Dropping a column drops the checks over it with it.
  EXECUTE format('ALTER TABLE %I DROP CONSTRAINT IF EXISTS %I', type_name || '_version',
                 type_name || '_check_' || check_name);
  UPDATE evcs_entity_type
    SET constraints = CASE WHEN (constraints -> 'checks') - check_name = '{}' THEN constraints - 'checks'
                           ELSE constraints #- ARRAY['checks', check_name] END
    WHERE name = type_name;
END $$;
