-- EVCS-aware DDL (SPEC §3.1, §6): create a versioned entity type and add, drop or rename one of
-- its columns, each one call usable from SQL, so a migration step can run it:
--   SELECT evcs_create_entity_type('project', '[{"name": "title", "type": "text not null"}]');
--   SELECT evcs_add_column('project', 'budget', 'numeric(14,2)');
--   SELECT evcs_rename_column('project', 'budget', 'cost');
--   SELECT evcs_drop_column('project', 'cost');
--   SELECT evcs_drop_entity_type('project');
-- Each changes the head table, the version table, the <type>_current view, the <type>_evcs_write
-- function and the evcs_entity_type row together, inside the caller's transaction. Version rows
-- are never rewritten or removed: history survives every change. This file is the only
-- generator of an entity type's SQL objects; the engine's create_entity_type calls it too.
-- Statements are idempotent so the engine can also apply this file on first use of a database.

-- Names evcs keeps for itself in every version table (SPEC §3.1).
CREATE OR REPLACE FUNCTION evcs_system_columns() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
  SELECT ARRAY['head_id', 'branch', 'version', 'valid_from', 'valid_to', 'deleted',
               'parent_branch', 'parent_version', 'merged_from', 'author']
$$;

-- Raises EVI01 unless `type_name` can name an entity type.
CREATE OR REPLACE FUNCTION evcs_require_entity_type_name(type_name text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF type_name IS NULL OR type_name !~ '^[a-z_][a-z0-9_]{0,39}$' OR left(type_name, 5) = 'evcs_' THEN
    RAISE EXCEPTION 'invalid entity type name ''%''', type_name USING ERRCODE = 'EVI01',
      HINT = 'use 1-40 lowercase letters, digits and underscores, starting with a letter or '
             'underscore (and not with evcs_)';
  END IF;
END $$;

-- Raises EVI01 unless `column_name` can name a column of an entity type.
CREATE OR REPLACE FUNCTION evcs_require_column_name(column_name text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF column_name IS NULL OR column_name !~ '^[a-z_][a-z0-9_]{0,62}$' THEN
    RAISE EXCEPTION 'invalid column name ''%''', column_name USING ERRCODE = 'EVI01',
      HINT = 'use lowercase letters, digits and underscores, starting with a letter or underscore';
  END IF;
  IF column_name = ANY (evcs_system_columns()) THEN
    RAISE EXCEPTION 'column name ''%'' is reserved for evcs''s version metadata', column_name
      USING ERRCODE = 'EVI01', HINT = 'choose another name';
  END IF;
END $$;

-- "Numeric(14, 2)  NOT NULL" -> "numeric(14, 2) not null": lowercase, single spaces. Only the
-- shapes of PostgreSQL type names pass, and the type must exist, so the result is safe in DDL.
CREATE OR REPLACE FUNCTION evcs_column_type(column_name text, declared text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
  normal text := btrim(regexp_replace(lower(coalesce(declared, '')), '\s+', ' ', 'g'));
  base text := normal;
  resolved regtype;
BEGIN
  IF normal LIKE '% not null' THEN
    base := left(normal, -length(' not null'));
  END IF;
  IF base !~ '^[a-z][a-z0-9_]*( [a-z][a-z0-9_]*)*( ?\( ?[0-9]+ ?(, ?[0-9]+ ?)?\))?(\[\])*$' THEN
    RAISE EXCEPTION 'column ''%'' has an invalid type ''%''', column_name, declared
      USING ERRCODE = 'EVI01',
      HINT = 'give a PostgreSQL type such as text, numeric(14,2), jsonb, uuid, timestamptz or '
             'text[], optionally followed by "not null"';
  END IF;
  BEGIN
    resolved := to_regtype(base);
  EXCEPTION WHEN syntax_error THEN
    resolved := NULL;
  END;
  IF resolved IS NULL THEN
    RAISE EXCEPTION 'column ''%'' has an unknown type ''%''', column_name, base
      USING ERRCODE = 'EVI01', HINT = 'check the spelling, or create the type first';
  END IF;
  RETURN normal;
END $$;

-- The type's catalog row, locked until the end of the transaction so two changes of one type
-- apply one after the other; NotFound (EVN01) when there is no such type.
CREATE OR REPLACE FUNCTION evcs_lock_entity_type(type_name text) RETURNS evcs_entity_type
LANGUAGE plpgsql AS $$
DECLARE
  found_type evcs_entity_type;
BEGIN
  PERFORM evcs_require_entity_type_name(type_name);
  SELECT * INTO found_type FROM evcs_entity_type WHERE name = type_name FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown entity type ''%''', type_name USING ERRCODE = 'EVN01',
      HINT = 'create it with create_entity_type (evcs_create_entity_type), or check the name';
  END IF;
  RETURN found_type;
END $$;

-- The position of `column_name` in a catalog column list, or NULL.
CREATE OR REPLACE FUNCTION evcs_column_position(columns jsonb, column_name text) RETURNS int
LANGUAGE sql IMMUTABLE AS $$
  SELECT (c.position - 1)::int FROM jsonb_array_elements(columns) WITH ORDINALITY AS c(item, position)
  WHERE c.item ->> 'name' = column_name
$$;

-- The position of one of the type's own columns in its catalog row, for a change of it: EVI01
-- for evcs's version metadata, EVN01 when the type has no such column.
CREATE OR REPLACE FUNCTION evcs_existing_column(entity evcs_entity_type, column_name text)
RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  column_index int := evcs_column_position(entity.columns, column_name);
BEGIN
  IF column_name = ANY (evcs_system_columns()) THEN
    RAISE EXCEPTION 'column ''%'' is evcs''s version metadata: it cannot be dropped or renamed',
      column_name USING ERRCODE = 'EVI01';
  END IF;
  IF column_index IS NULL THEN
    RAISE EXCEPTION 'entity type ''%'' has no column ''%''', entity.name, column_name
      USING ERRCODE = 'EVN01', HINT = 'its columns are listed in evcs_entity_type';
  END IF;
  RETURN column_index;
END $$;

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
    next_version.valid_from := 'infinity';
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
  expected int, author_name text, source_branch text DEFAULT NULL)
RETURNS SETOF @versions@ LANGUAGE plpgsql AS $evcs$
DECLARE
  current_version @versions@;
  next_version @versions@;
  populated @versions@;
  inherited boolean := false;
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
  IF inherited THEN
    next_version.branch := branch_name;
    next_version.version := 1;
    next_version.parent_branch := current_version.branch;
    next_version.parent_version := current_version.version;
    next_version.valid_from := 'infinity';
    next_version.valid_to := NULL;
    INSERT INTO @versions@ SELECT next_version.* RETURNING * INTO next_version;
  ELSIF current_version.valid_from = 'infinity' THEN
    UPDATE @versions@ SET deleted = next_version.deleted, author = next_version.author, merged_from = next_version.merged_from@set_in_place@
      WHERE head_id = target AND branch = branch_name AND valid_from = 'infinity' RETURNING * INTO next_version;
  ELSE
    UPDATE @versions@ SET valid_to = 'infinity' WHERE head_id = target AND branch = branch_name AND valid_from = current_version.valid_from;
    next_version.version := current_version.version + 1;
    next_version.valid_from := 'infinity';
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

-- A versioned entity type (SPEC §3.1): the head table, the version table with its constraints
-- and indexes, the <type>_current view and the write function. `columns` is an array, in
-- column order, of {"name": ..., "type": ...}; a type may end in "not null".
CREATE OR REPLACE FUNCTION evcs_create_entity_type(type_name text, columns jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  head text := format('%I', type_name);
  versions text := format('%I', type_name || '_version');
  prefix text := type_name || '_version';
  declared jsonb;
  catalog_columns jsonb := '[]';
  column_name text;
  column_definitions text := '';
BEGIN
  PERFORM evcs_require_entity_type_name(type_name);
  IF columns IS NULL OR jsonb_typeof(columns) <> 'array' THEN
    RAISE EXCEPTION 'the columns of entity type ''%'' must be a JSON array', type_name
      USING ERRCODE = 'EVI01', HINT = 'e.g. [{"name": "title", "type": "text not null"}]';
  END IF;
  FOR declared IN SELECT item FROM jsonb_array_elements(columns) AS c(item) LOOP
    IF jsonb_typeof(declared) <> 'object' OR jsonb_typeof(declared -> 'name') <> 'string'
       OR jsonb_typeof(declared -> 'type') <> 'string' THEN
      RAISE EXCEPTION 'invalid column % of entity type ''%''', declared, type_name
        USING ERRCODE = 'EVI01', HINT = 'give each column as {"name": ..., "type": ...}';
    END IF;
    column_name := declared ->> 'name';
    PERFORM evcs_require_column_name(column_name);
    IF evcs_column_position(catalog_columns, column_name) IS NOT NULL THEN
      RAISE EXCEPTION 'column ''%'' is given twice', column_name USING ERRCODE = 'EVI01';
    END IF;
    catalog_columns := catalog_columns || jsonb_build_array(jsonb_build_object(
      'name', column_name, 'type', evcs_column_type(column_name, declared ->> 'type')));
    column_definitions := column_definitions ||
      format(E'  %I %s,\n', column_name, catalog_columns -> -1 ->> 'type');
  END LOOP;
  IF EXISTS (SELECT 1 FROM evcs_entity_type WHERE name = type_name) THEN
    RAISE EXCEPTION 'entity type ''%'' already exists', type_name USING ERRCODE = 'EVI01',
      HINT = 'change its columns with add_column, drop_column and rename_column';
  END IF;
  INSERT INTO evcs_entity_type (name, columns) VALUES (type_name, catalog_columns);

  EXECUTE format('CREATE TABLE %s (head_id uuid PRIMARY KEY DEFAULT gen_random_uuid(), '
                 'created_at timestamptz NOT NULL DEFAULT clock_timestamp(), created_by text)', head);
  EXECUTE format($ddl$CREATE TABLE %1$s (
  head_id uuid NOT NULL REFERENCES %2$s (head_id) ON DELETE CASCADE,
  branch text NOT NULL,
  version int NOT NULL CHECK (version > 0),
  valid_from timestamptz NOT NULL,
  valid_to timestamptz,
  deleted boolean NOT NULL DEFAULT false,
  parent_branch text,
  parent_version int,
  merged_from text,
  author text,
%3$s  PRIMARY KEY (head_id, branch, valid_from),
  CONSTRAINT %4$I CHECK (valid_from < valid_to OR valid_to IS NULL),
  CONSTRAINT %5$I EXCLUDE USING gist (head_id WITH =, branch WITH =, tstzrange(valid_from, valid_to) WITH &&)
)$ddl$, versions, head, column_definitions, prefix || '_range', prefix || '_no_overlap');
  EXECUTE format('CREATE UNIQUE INDEX %I ON %s (head_id, branch) WHERE valid_to IS NULL',
                 prefix || '_open', versions);
  EXECUTE format('CREATE INDEX %I ON %s (head_id, valid_from)', prefix || '_travel', versions);
  EXECUTE format('CREATE INDEX %I ON %s (branch, head_id) WHERE valid_to IS NULL',
                 prefix || '_branch_current', versions);
  -- The versions of the transaction in flight carry 'infinity' until its commit stamps them.
  EXECUTE format('CREATE INDEX %I ON %s (head_id) WHERE valid_from = ''infinity''',
                 prefix || '_pending_from', versions);
  EXECUTE format('CREATE INDEX %I ON %s (head_id) WHERE valid_to = ''infinity''',
                 prefix || '_pending_to', versions);
  PERFORM evcs_generate_entity_type(type_name);
END $$;

-- A new column on every version of the type. Versions written before it read NULL in it; with
-- `default_value` (a literal of the column's type) entities created from now on take that value
-- when they leave the column out. A "not null" column needs a default when the type has versions
-- already: they are given the default, since a NULL would break the constraint.
CREATE OR REPLACE FUNCTION evcs_add_column(type_name text, column_name text, column_type text,
                                           default_value text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  entity evcs_entity_type := evcs_lock_entity_type(type_name);
  versions text := format('%I', type_name || '_version');
  normal text;
  base text;
  not_null boolean;
  default_json jsonb;
  has_versions boolean;
BEGIN
  PERFORM evcs_require_column_name(column_name);
  IF evcs_column_position(entity.columns, column_name) IS NOT NULL THEN
    RAISE EXCEPTION 'entity type ''%'' already has a column ''%''', type_name, column_name
      USING ERRCODE = 'EVI01', HINT = 'choose another name, or drop the column first';
  END IF;
  normal := evcs_column_type(column_name, column_type);
  not_null := normal LIKE '% not null';
  base := CASE WHEN not_null THEN left(normal, -length(' not null')) ELSE normal END;
  IF default_value IS NOT NULL THEN
    -- The cast both checks the literal and gives the value the write function fills in.
    EXECUTE format('SELECT to_jsonb(%L::%s)', default_value, base) INTO default_json;
  END IF;
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', versions) INTO has_versions;
  IF not_null AND default_value IS NULL AND has_versions THEN
    RAISE EXCEPTION 'column ''%'' of entity type ''%'' is not null but has no default', column_name, type_name
      USING ERRCODE = 'EVI01',
      HINT = 'give a default for the versions written before the column existed, or add it as nullable';
  END IF;
  IF not_null AND default_value IS NOT NULL THEN
    EXECUTE format('ALTER TABLE %s ADD COLUMN %I %s NOT NULL DEFAULT %L::%s',
                   versions, column_name, base, default_value, base);
  ELSE
    EXECUTE format('ALTER TABLE %s ADD COLUMN %I %s%s', versions, column_name, base,
                   CASE WHEN not_null THEN ' NOT NULL' ELSE '' END);
    IF default_value IS NOT NULL THEN
      EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT %L::%s',
                     versions, column_name, default_value, base);
    END IF;
  END IF;
  UPDATE evcs_entity_type SET columns = columns || jsonb_build_array(
      jsonb_build_object('name', column_name, 'type', normal) ||
      CASE WHEN default_value IS NULL THEN '{}'::jsonb
           ELSE jsonb_build_object('default', default_json) END)
    WHERE name = type_name;
  PERFORM evcs_generate_entity_type(type_name);
END $$;

-- Removes a column from every version of the type (its values with it); the versions stay.
CREATE OR REPLACE FUNCTION evcs_drop_column(type_name text, column_name text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  entity evcs_entity_type := evcs_lock_entity_type(type_name);
  column_index int;
BEGIN
  column_index := evcs_existing_column(entity, column_name);
  -- The view reads the column: it goes first and is generated again without it.
  EXECUTE format('DROP VIEW IF EXISTS %I', type_name || '_current');
  EXECUTE format('ALTER TABLE %I DROP COLUMN %I', type_name || '_version', column_name);
  UPDATE evcs_entity_type SET columns = columns - column_index WHERE name = type_name;
  PERFORM evcs_generate_entity_type(type_name);
END $$;

-- Renames a column of the type in every version; values and history are kept.
CREATE OR REPLACE FUNCTION evcs_rename_column(type_name text, column_name text, new_name text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  entity evcs_entity_type := evcs_lock_entity_type(type_name);
  column_index int;
BEGIN
  PERFORM evcs_require_column_name(new_name);
  column_index := evcs_existing_column(entity, column_name);
  IF evcs_column_position(entity.columns, new_name) IS NOT NULL THEN
    RAISE EXCEPTION 'entity type ''%'' already has a column ''%''', type_name, new_name
      USING ERRCODE = 'EVI01', HINT = 'drop or rename that column first';
  END IF;
  EXECUTE format('ALTER TABLE %I RENAME COLUMN %I TO %I', type_name || '_version', column_name,
                 new_name);
  UPDATE evcs_entity_type
    SET columns = jsonb_set(columns, ARRAY[column_index::text, 'name'], to_jsonb(new_name))
    WHERE name = type_name;
  PERFORM evcs_generate_entity_type(type_name);
END $$;

-- Removes an entity type with all its versions: the undo of evcs_create_entity_type (for the
-- down step of a migration that created it).
CREATE OR REPLACE FUNCTION evcs_drop_entity_type(type_name text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM evcs_lock_entity_type(type_name);
  EXECUTE format('DROP FUNCTION IF EXISTS %I', type_name || '_evcs_write');
  EXECUTE format('DROP VIEW IF EXISTS %I', type_name || '_current');
  EXECUTE format('DROP TABLE %I', type_name || '_version');
  EXECUTE format('DROP TABLE %I', type_name);
  DELETE FROM evcs_entity_type WHERE name = type_name;
END $$;
