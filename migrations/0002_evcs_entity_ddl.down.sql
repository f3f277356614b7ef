-- Entity types created with these functions stay, with their tables, views and write functions.
DROP FUNCTION IF EXISTS evcs_drop_entity_type(text);
DROP FUNCTION IF EXISTS evcs_rename_column(text, text, text);
DROP FUNCTION IF EXISTS evcs_drop_column(text, text);
DROP FUNCTION IF EXISTS evcs_add_column(text, text, text, text);
DROP FUNCTION IF EXISTS evcs_create_entity_type(text, jsonb);
DROP FUNCTION IF EXISTS evcs_generate_entity_type(text);
DROP FUNCTION IF EXISTS evcs_existing_column(evcs_entity_type, text);
DROP FUNCTION IF EXISTS evcs_column_position(jsonb, text);
DROP FUNCTION IF EXISTS evcs_lock_entity_type(text);
DROP FUNCTION IF EXISTS evcs_column_type(text, text);
DROP FUNCTION IF EXISTS evcs_require_column_name(text);
DROP FUNCTION IF EXISTS evcs_require_entity_type_name(text);
DROP FUNCTION IF EXISTS evcs_system_columns();
