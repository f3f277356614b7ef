DROP FUNCTION IF EXISTS evcs_finalize(text[], text, text, text, text);
DROP FUNCTION IF EXISTS evcs_require_writable(text);
DROP FUNCTION IF EXISTS evcs_lineage(text, timestamptz);
DROP TABLE IF EXISTS evcs_commit;
DROP TABLE IF EXISTS evcs_clock;
DROP TABLE IF EXISTS evcs_branch_base;
DROP TABLE IF EXISTS evcs_branch;
DROP TABLE IF EXISTS evcs_entity_type;
