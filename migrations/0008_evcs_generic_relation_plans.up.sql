-- The generated functions every versioned write runs (<type>_evcs_written, behind the insert
-- trigger of a version table) and a commit runs (<type>_evcs_check, <type>_evcs_violations) keep
-- one plan: plan_cache_mode = force_generic_plan. Left to choose, plpgsql's plan cache planned
-- the written-versions query afresh for every one-row write (its generic plan estimated no
-- cheaper than a custom one): about 0.4 ms of a 1 ms update of a referring entity. A bulk load
-- is still planned for its size: those functions EXECUTE their statement for more than 100 rows.
--
-- evcs_generate_relations (0006) creates them with CREATE OR REPLACE, which resets their
-- settings; it becomes evcs_generate_relation_functions, and evcs_generate_relations runs it and
-- then sets the plan mode, so every regeneration keeps it. Re-runnable.

DO $$
BEGIN
  IF to_regprocedure('evcs_generate_relation_functions(text)') IS NULL THEN
    ALTER FUNCTION evcs_generate_relations(text) RENAME TO evcs_generate_relation_functions;
  END IF;
END $$;

CREATE OR REPLACE FUNCTION evcs_generate_relations(type_name text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  generated text;
BEGIN
  PERFORM evcs_generate_relation_functions(type_name);
  FOREACH generated IN ARRAY ARRAY[format('%I(%I[])', type_name || '_evcs_written', type_name || '_version'),
                                   format('%I()', type_name || '_evcs_check'),
                                   format('%I()', type_name || '_evcs_violations')] LOOP
    IF to_regprocedure(generated) IS NOT NULL THEN
      EXECUTE format('ALTER FUNCTION %s SET plan_cache_mode = force_generic_plan', generated);
    END IF;
  END LOOP;
END $$;

SELECT evcs_generate_relations(name) FROM evcs_entity_type ORDER BY name;
