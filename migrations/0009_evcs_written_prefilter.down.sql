-- Back to 0008: evcs_generate_relations is 0008's again, and the generated functions of every
-- type are made anew by it (the insert trigger calls <type>_evcs_written for every statement).
DROP FUNCTION IF EXISTS evcs_generate_relations(text);

DO $$
BEGIN
  IF to_regprocedure('evcs_generate_relation_plans(text)') IS NOT NULL THEN
    ALTER FUNCTION evcs_generate_relation_plans(text) RENAME TO evcs_generate_relations;
  END IF;
END $$;

SELECT evcs_generate_relations(name) FROM evcs_entity_type ORDER BY name;
