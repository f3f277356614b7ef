-- Back to 0006: the functions that change an existing type's relations go. The relations they
-- made stay: the catalog and the generated objects are as evcs_create_entity_type makes them.
DROP FUNCTION IF EXISTS evcs_drop_check(text, text);
DROP FUNCTION IF EXISTS evcs_add_check(text, text, text);
DROP FUNCTION IF EXISTS evcs_drop_unique_key(text, text[]);
DROP FUNCTION IF EXISTS evcs_add_unique_key(text, text[]);
DROP FUNCTION IF EXISTS evcs_alter_reference(text, text, text);
DROP FUNCTION IF EXISTS evcs_drop_reference(text, text);
DROP FUNCTION IF EXISTS evcs_add_reference(text, text, text, text);
DROP FUNCTION IF EXISTS evcs_require_on_delete(text, text, text);
DROP FUNCTION IF EXISTS evcs_set_column_entry(text, text, jsonb);
DROP FUNCTION IF EXISTS evcs_column_entry(evcs_entity_type, text);
DROP FUNCTION IF EXISTS evcs_check_existing(text, text);
DROP FUNCTION IF EXISTS evcs_unique_key_index(text, text[]);
DROP FUNCTION IF EXISTS evcs_require_check(text, text, text);
