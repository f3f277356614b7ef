-- Back to 0007: evcs_generate_relations is 0006's generator again, and the generated functions
-- of every type are made anew by it (without the plan mode).
DROP FUNCTION IF EXISTS evcs_generate_relations(text);

DO $$
BEGIN
  IF to_regprocedure('evcs_generate_relation_functions(text)') IS NOT NULL THEN
    ALTER FUNCTION evcs_generate_relation_functions(text) RENAME TO evcs_generate_relations;
  END IF;
END $$;

SELECT evcs_generate_relations(name) FROM evcs_entity_type ORDER BY name;
