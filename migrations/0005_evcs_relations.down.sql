-- Back to 0004: no references, unique keys or checks. Their triggers, functions, foreign keys,
-- indexes and CHECK constraints go; the DDL functions of 0002 get their names back; the commit
-- stamps pending versions as 0004 did.
DO $$
DECLARE
  entity record;
  reference record;
  key jsonb;
  check_name text;
BEGIN
  FOR entity IN SELECT name, constraints FROM evcs_entity_type ORDER BY name LOOP
    PERFORM evcs_drop_relations(entity.name);
    FOR reference IN SELECT * FROM evcs_references() WHERE referrer = entity.name LOOP
      EXECUTE format('ALTER TABLE %I DROP CONSTRAINT IF EXISTS %I', entity.name || '_version',
                     entity.name || '_' || reference.column_name || '_fkey');
      EXECUTE format('DROP INDEX IF EXISTS %I', entity.name || '_version_' || reference.column_name);
    END LOOP;
    FOR key IN SELECT k FROM jsonb_array_elements(coalesce(entity.constraints -> 'unique', '[]')) k LOOP
      EXECUTE format('DROP INDEX IF EXISTS %I',
                     left(entity.name || '_version_key_' ||
                          (SELECT string_agg(c, '_') FROM jsonb_array_elements_text(key) c), 63));
    END LOOP;
    FOR check_name IN SELECT jsonb_object_keys(coalesce(entity.constraints -> 'checks', '{}')) LOOP
      EXECUTE format('ALTER TABLE %I DROP CONSTRAINT IF EXISTS %I', entity.name || '_version',
                     entity.name || '_check_' || check_name);
    END LOOP;
  END LOOP;
  UPDATE evcs_entity_type SET columns = (SELECT jsonb_agg(c.item - 'references' - 'on_delete' ORDER BY c.position)
                                           FROM jsonb_array_elements(columns) WITH ORDINALITY AS c(item, position))
    WHERE columns <> '[]';
END $$;

DROP FUNCTION IF EXISTS evcs_create_entity_type(text, jsonb, jsonb);
DROP FUNCTION IF EXISTS evcs_generate_entity_type(text);
DROP FUNCTION IF EXISTS evcs_rename_column(text, text, text);
DROP FUNCTION IF EXISTS evcs_drop_column(text, text);
DROP FUNCTION IF EXISTS evcs_drop_entity_type(text);
ALTER FUNCTION evcs_create_entity_tables(text, jsonb) RENAME TO evcs_create_entity_type;
ALTER FUNCTION evcs_generate_entity_writes(text) RENAME TO evcs_generate_entity_type;
ALTER FUNCTION evcs_rename_entity_column(text, text, text) RENAME TO evcs_rename_column;
ALTER FUNCTION evcs_drop_entity_column(text, text) RENAME TO evcs_drop_column;
ALTER FUNCTION evcs_drop_entity_tables(text) RENAME TO evcs_drop_entity_type;

DROP FUNCTION IF EXISTS evcs_generate_relations(text);
DROP FUNCTION IF EXISTS evcs_drop_relations(text);
DROP FUNCTION IF EXISTS evcs_raise_violation(record);
DROP TRIGGER IF EXISTS evcs_check_relations ON evcs_relation_check;
DROP FUNCTION IF EXISTS evcs_check_relations();
DROP TABLE IF EXISTS evcs_relation_check;
DROP TABLE IF EXISTS evcs_relation_queue;
DROP FUNCTION IF EXISTS evcs_types_to_stamp(text[]);
DROP FUNCTION IF EXISTS evcs_note_cascaded(text);
DROP FUNCTION IF EXISTS evcs_references();
DROP FUNCTION IF EXISTS evcs_live_referrers_sql(text, text, text, text);
DROP FUNCTION IF EXISTS evcs_visible_sql(text, text, text);
DROP FUNCTION IF EXISTS evcs_viewers(text);
ALTER TABLE evcs_entity_type DROP COLUMN IF EXISTS constraints;

-- As 0004 wrote it.
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
DROP FUNCTION IF EXISTS evcs_stamp_pending(text, timestamptz);
