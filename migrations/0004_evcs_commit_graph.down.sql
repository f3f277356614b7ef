-- Back to 0003: no commit graph, tags or staged merges; the write functions and evcs_finalize of
-- before. The index on (branch, valid_from) goes with the graph it served.
DROP TABLE IF EXISTS evcs_merge_in_progress;
DROP TABLE IF EXISTS evcs_tag;
DROP FUNCTION IF EXISTS evcs_resolve_commit(text, boolean);
DROP FUNCTION IF EXISTS evcs_commits_between(text, text);
DROP FUNCTION IF EXISTS evcs_merge_bases(text, text);
DROP FUNCTION IF EXISTS evcs_merge_base(text, text);
DROP FUNCTION IF EXISTS evcs_ancestors(text);
DROP TRIGGER IF EXISTS evcs_identify_commit ON evcs_commit;
DROP FUNCTION IF EXISTS evcs_identify_commit();
DROP FUNCTION IF EXISTS evcs_branch_head(text, timestamptz);
DROP FUNCTION IF EXISTS evcs_commit_hash(timestamptz, text, text[], text, text);
DROP INDEX IF EXISTS evcs_commit_branch_stamp;
ALTER TABLE evcs_commit DROP CONSTRAINT IF EXISTS evcs_commit_commit_id_key;
ALTER TABLE evcs_commit DROP COLUMN IF EXISTS parents;
ALTER TABLE evcs_commit DROP COLUMN IF EXISTS commit_id;

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
DO $$
DECLARE
  type_name text;
BEGIN
  FOR type_name IN SELECT name FROM evcs_entity_type ORDER BY name LOOP
    EXECUTE format('DROP INDEX IF EXISTS %I', type_name || '_version_commit');
    PERFORM evcs_generate_entity_type(type_name);
  END LOOP;
END $$;
