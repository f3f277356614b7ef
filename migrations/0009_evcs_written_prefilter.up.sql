-- A versioned write that cannot break a rule no longer calls the rules' function at all. The
-- insert trigger of a version table (<type>_evcs_inserted, 0006) handed every statement's new
-- versions to <type>_evcs_written as an array, which then found none to queue when a version
-- keeps its predecessor's liveness, references and keys (an update of other fields: the common
-- case). The trigger now asks that question of its transition table itself, and calls the
-- function only for a statement with a version to queue or a tombstone to follow (cascade, set
-- null): an update of a referring entity's other fields runs one index probe and no function.
--
-- The columns a version must keep are the ones the generated update trigger watches
-- (<type>_evcs_updated, AFTER UPDATE OF …), read from pg_trigger, so the rule has one home: the
-- generator of 0006. evcs_generate_relations (0008) becomes evcs_generate_relation_plans, and
-- evcs_generate_relations runs it and then makes the trigger function. Re-runnable.

DO $$
BEGIN
  IF to_regprocedure('evcs_generate_relation_plans(text)') IS NULL THEN
    ALTER FUNCTION evcs_generate_relations(text) RENAME TO evcs_generate_relation_plans;
  END IF;
END $$;

CREATE OR REPLACE FUNCTION evcs_generate_relations(type_name text) RETURNS void
LANGUAGE plpgsql AS $generator$
DECLARE
  versions text := format('%I', type_name || '_version');
  keeps text;
BEGIN
  PERFORM evcs_generate_relation_plans(type_name);
  IF to_regprocedure(format('%I()', type_name || '_evcs_inserted')) IS NULL THEN
    RETURN;
  END IF;
  SELECT string_agg(format(' AND p.%1$I IS NOT DISTINCT FROM a.%1$I', a.attname), '' ORDER BY a.attname)
    INTO keeps
    FROM pg_trigger t JOIN pg_attribute a ON a.attrelid = t.tgrelid AND a.attnum = ANY (t.tgattr)
   WHERE t.tgrelid = to_regclass(versions) AND t.tgname = type_name || '_evcs_updated';
  -- The previous version on the version's branch, or the version a branch's first one
  -- continues: each a LIMIT subquery, one probe of the primary key.
  EXECUTE format($trigger$
CREATE OR REPLACE FUNCTION %1$I() RETURNS trigger LANGUAGE plpgsql AS $evcs$
BEGIN
  IF EXISTS (SELECT 1 FROM added a WHERE a.deleted OR (
       NOT EXISTS (SELECT 1 FROM (SELECT p.* FROM %2$s p WHERE p.head_id = a.head_id
                     AND p.branch = a.branch AND p.valid_from < a.valid_from
                     ORDER BY p.valid_from DESC LIMIT 1) p WHERE p.version = a.version - 1%4$s)
       AND NOT EXISTS (SELECT 1 FROM (SELECT p.* FROM %2$s p WHERE a.version = 1
                     AND p.head_id = a.head_id AND p.branch = a.parent_branch
                     AND p.version = a.parent_version LIMIT 1) p WHERE true%4$s))) THEN
    PERFORM %3$I(ARRAY(SELECT a::%2$s FROM added a));
  END IF;
  RETURN NULL;
END $evcs$$trigger$,
    type_name || '_evcs_inserted', versions, type_name || '_evcs_written', coalesce(keeps, ''));
END $generator$;

SELECT evcs_generate_relations(name) FROM evcs_entity_type ORDER BY name;
