-- Merges report the violations of references, unique keys and checks like conflicts
-- (docs/relations.md, "Merges: violations are conflicts"). The rules stay where 0005 put them;
-- what changes is that their violations can be listed instead of only raised:
--   * each type's generated <type>_evcs_violations() returns every violation among the entities
--     the transaction queued (kind, entity_type, head_id, branch, other_type, other, fields),
--     and <type>_evcs_check(), run at commit, raises the first of them;
--   * evcs_relation_violations() lists them for every type the transaction queued (a merge
--     writes its result, asks, and rolls back to a savepoint when there are any);
--   * evcs_check_violations(type, rows) evaluates the CHECK constraints of a type's version
--     table, as the table holds them, against rows not written yet (a CHECK refuses the first
--     bad row at insert; a merge reports every one).
-- Idempotent: the generated functions of every existing type are made again.

-- Drops the triggers and functions of an entity type's rules (its version table must exist).
CREATE OR REPLACE FUNCTION evcs_drop_relations(type_name text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  versions text := format('%I', type_name || '_version');
  trigger_name text;
  function_name text;
BEGIN
  -- Looked up first rather than IF EXISTS, which would print a notice for each one missing.
  FOR trigger_name IN SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass(versions)
                        AND tgname IN (type_name || '_evcs_inserted', type_name || '_evcs_updated') LOOP
    EXECUTE format('DROP TRIGGER %I ON %s', trigger_name, versions);
  END LOOP;
  FOREACH function_name IN ARRAY ARRAY[format('%I()', type_name || '_evcs_inserted'),
                                       format('%I()', type_name || '_evcs_updated'),
                                       format('%I(%s[])', type_name || '_evcs_written', versions),
                                       format('%I()', type_name || '_evcs_check'),
                                       format('%I()', type_name || '_evcs_violations')] LOOP
    IF to_regprocedure(function_name) IS NOT NULL THEN
      EXECUTE 'DROP FUNCTION ' || function_name;
    END IF;
  END LOOP;
END $$;

-- (Re)creates, from the catalog, what enforces the rules an entity type takes part in: as a
-- referrer, as a type referred to, and through its unique keys. A type in none has none.
CREATE OR REPLACE FUNCTION evcs_generate_relations(type_name text) RETURNS void
LANGUAGE plpgsql AS $generator$
DECLARE
  entity evcs_entity_type;
  versions text := format('%I', type_name || '_version');
  written text := format('%I', type_name || '_evcs_written');
  updated text := format('%I', type_name || '_evcs_updated');
  checker text := format('%I', type_name || '_evcs_check');
  lister text := format('%I', type_name || '_evcs_violations');
  reference record;
  key jsonb;
  key_columns text[];
  key_match text;
  key_present text;
  violations_sql text;
  queue_sql text;
  violations text[] := '{}';
  watched text[] := ARRAY['deleted'];
  cascades text := '';
  prefix text;
  body text;
BEGIN
  PERFORM evcs_drop_relations(type_name);
  SELECT * INTO entity FROM evcs_entity_type WHERE name = type_name;
  IF NOT FOUND THEN
    RETURN;
  END IF;

  -- Its own references: each live entity's referred-to entity is live where it is.
  FOR reference IN SELECT * FROM evcs_references() WHERE referrer = type_name ORDER BY column_name LOOP
    watched := watched || reference.column_name;
    violations := violations || format(
      'SELECT ''reference''::text AS kind, %1$L::text AS entity_type, s.head_id, s.viewer AS branch, '
      '%2$L::text AS other_type, (s.state).%3$I AS other, %3$L::text AS fields FROM states s '
      'WHERE (s.state).deleted IS FALSE AND (s.state).%3$I IS NOT NULL AND (%4$s).deleted IS NOT FALSE',
      type_name, reference.referenced, reference.column_name,
      evcs_visible_sql(reference.referenced, format('(s.state).%I', reference.column_name), 's.viewer'));
  END LOOP;

  -- References to it: an entity that is not live has no live referrer; a delete cascades first.
  FOR reference IN SELECT * FROM evcs_references() WHERE referenced = type_name
                   ORDER BY referrer, column_name LOOP
    violations := violations || format(
      'SELECT ''referenced''::text, %1$L::text, s.head_id, s.viewer, %2$L::text, r.head_id, %3$L::text '
      'FROM states s CROSS JOIN LATERAL %4$s r WHERE (s.state).deleted IS NOT FALSE',
      type_name, reference.referrer, reference.column_name,
      evcs_live_referrers_sql(reference.referrer, reference.column_name, 's.head_id', 's.viewer'));
    IF reference.on_delete <> 'restrict' THEN
      cascades := cascades || format($cascade$
  FOR doomed IN
    WITH tombstones AS (SELECT DISTINCT a.head_id, a.branch AS viewer, a.author, a.valid_from
                          FROM unnest(added) a WHERE a.deleted AND a.valid_to IS NULL),
    evcs_viewer_lineage AS MATERIALIZED (SELECT w.viewer, l.depth, l.branch, l.at
                              FROM (SELECT DISTINCT viewer FROM tombstones) w
                              CROSS JOIN LATERAL evcs_lineage(w.viewer, 'infinity') l)
    SELECT t.viewer, t.author, t.valid_from, r.head_id FROM tombstones t CROSS JOIN LATERAL %1$s r
  LOOP
    PERFORM %2$I(%3$L, doomed.head_id, doomed.viewer, %4$L::jsonb, NULL, doomed.author);
    IF doomed.valid_from <> 'infinity' THEN
      stamped := stamped || ARRAY[[%5$L, doomed.valid_from::text]];
    ELSE
      PERFORM evcs_note_cascaded(%5$L);
    END IF;
  END LOOP;
$cascade$,
        evcs_live_referrers_sql(reference.referrer, reference.column_name, 't.head_id', 't.viewer'),
        reference.referrer || '_evcs_write',
        CASE reference.on_delete WHEN 'cascade' THEN 'delete' ELSE 'update' END,
        CASE reference.on_delete WHEN 'cascade' THEN '{}'
             ELSE jsonb_build_object(reference.column_name, NULL)::text END,
        reference.referrer);
    END IF;
  END LOOP;

  -- Unique keys: no other entity live on the branch has the same values (NULLs never clash).
  FOR key IN SELECT k FROM jsonb_array_elements(entity.constraints -> 'unique') k LOOP
    SELECT array_agg(c ORDER BY o) INTO key_columns FROM jsonb_array_elements_text(key) WITH ORDINALITY AS k(c, o);
    watched := watched || key_columns;
    SELECT string_agg(format('y.%1$I = (s.state).%1$I', c), ' AND '),
           string_agg(format('(s.state).%I IS NOT NULL', c), ' AND ')
      INTO key_match, key_present FROM unnest(key_columns) c;
    violations := violations || format(
      'SELECT ''unique''::text, %1$L::text, s.head_id, s.viewer, %1$L::text, o.head_id, %2$L::text '
      'FROM states s CROSS JOIN LATERAL (SELECT candidate.head_id FROM (SELECT DISTINCT y.head_id '
      'FROM %3$s y JOIN evcs_viewer_lineage l ON l.viewer = s.viewer AND y.branch = l.branch '
      'WHERE %4$s AND y.head_id <> s.head_id) candidate CROSS JOIN LATERAL (SELECT %5$s AS v) shown '
      'WHERE (shown.v).deleted IS FALSE AND %6$s LIMIT 1) o '
      'WHERE (s.state).deleted IS FALSE AND %7$s',
      type_name, array_to_string(key_columns, ', '), versions, key_match,
      evcs_visible_sql(type_name, 'candidate.head_id', 's.viewer'),
      replace(key_match, 'y.', '(shown.v).'), key_present);
  END LOOP;

  IF cardinality(violations) = 0 THEN
    RETURN;
  END IF;

  -- The rules' violations among the queued entities as their branches and live readers show
  -- them: all of them (a merge reports each), and the check at commit raises the first. Its
  -- functions run without JIT and sequential scans: their work is index lookups, which
  -- estimates made before a bulk load's statistics exist would turn into scans per entity, and
  -- compiling costs more than the statements do.
  prefix := format(
    'WITH queued AS (SELECT DISTINCT head_id, branch FROM evcs_relation_queue '
    'WHERE tx = txid_current() AND entity_type = %1$L), '
    'viewing AS (SELECT b.branch, v.viewer FROM (SELECT DISTINCT branch FROM queued) b '
    'CROSS JOIN LATERAL evcs_viewers(b.branch) v(viewer)), '
    'evcs_viewer_lineage AS MATERIALIZED (SELECT w.viewer, l.depth, l.branch, l.at FROM (SELECT DISTINCT viewer FROM viewing) w '
    'CROSS JOIN LATERAL evcs_lineage(w.viewer, ''infinity'') l), '
    'states AS MATERIALIZED (SELECT s.head_id, s.viewer, %2$s AS state FROM '
    '(SELECT DISTINCT q.head_id, w.viewer FROM queued q JOIN viewing w USING (branch)) s) ',
    type_name, evcs_visible_sql(type_name, 's.head_id', 's.viewer'));
  violations_sql := prefix || format('SELECT DISTINCT * FROM (%s) AS broken (kind, entity_type, '
                                     'head_id, branch, other_type, other, fields) ORDER BY 3, 1, 7, 6, 4',
                                     array_to_string(violations, ' UNION ALL '));
  -- A large queue (a bulk load) is planned for its size; the cached plan serves the rest.
  body := format($check$
CREATE FUNCTION %1$s() RETURNS TABLE (kind text, entity_type text, head_id uuid, branch text,
                                      other_type text, other uuid, fields text)
LANGUAGE plpgsql SET jit = off SET enable_seqscan = off AS $evcs$
#variable_conflict use_column
BEGIN
  IF (SELECT count(*) FROM evcs_relation_queue q WHERE q.tx = txid_current() AND q.entity_type = %3$L) > 100 THEN
    RETURN QUERY EXECUTE %4$L;
  ELSE
    RETURN QUERY %2$s;
  END IF;
END $evcs$
$check$, lister, violations_sql, type_name, violations_sql);
  EXECUTE body;
  EXECUTE format($check$
CREATE FUNCTION %1$s() RETURNS void LANGUAGE plpgsql AS $evcs$
DECLARE
  violation record;
BEGIN
  FOR violation IN SELECT * FROM %2$s() LIMIT 1 LOOP
    PERFORM evcs_raise_violation(violation);
  END LOOP;
END $evcs$
$check$, checker, lister);

  -- Queues what a statement wrote, and follows its deletes (cascade, set null) right away. A
  -- version that keeps its predecessor's liveness, references and keys (the previous version
  -- on its branch, or the version a branch's first one continues) cannot break a rule: it is
  -- not queued, and a transaction of such writes has nothing to check at commit. Each lookup
  -- is a LIMIT subquery, an index probe per version whatever plan a cached call left (an
  -- anti-join planned for one version would scan the table for each of a bulk load's).
  SELECT string_agg(format(' AND p.%1$I IS NOT DISTINCT FROM a.%1$I', c), '')
    INTO key_match FROM (SELECT DISTINCT c FROM unnest(watched) c ORDER BY c) w;
  queue_sql := format(
    'INSERT INTO evcs_relation_queue (entity_type, head_id, branch) '
    'SELECT %2$L, a.head_id, a.branch FROM unnest(added) a '
    'WHERE NOT EXISTS (SELECT 1 FROM (SELECT p.* FROM %1$s p WHERE p.head_id = a.head_id '
    'AND p.branch = a.branch AND p.valid_from < a.valid_from ORDER BY p.valid_from DESC LIMIT 1) p '
    'WHERE p.version = a.version - 1%3$s) '
    'AND NOT EXISTS (SELECT 1 FROM (SELECT p.* FROM %1$s p WHERE a.version = 1 '
    'AND p.head_id = a.head_id AND p.branch = a.parent_branch AND p.version = a.parent_version '
    'LIMIT 1) p WHERE true%3$s)', versions, type_name, coalesce(key_match, ''));
  body := format($written$
CREATE FUNCTION %1$s(added %2$s[]) RETURNS void LANGUAGE plpgsql SET jit = off SET enable_seqscan = off AS $evcs$
DECLARE
  doomed record;
  -- (type, stamp) of the versions cascaded from versions stamped already (a transaction of one
  -- write, or a merge): they join the same commit.
  stamped text[] := '{}';
  cascaded text[];
  changed bigint;
  queued bigint;
BEGIN
  -- A bulk load's versions are planned for their number; the cached plan serves the rest.
  IF cardinality(added) > 100 THEN
    EXECUTE %6$L USING added;
  ELSE
%7$s  END IF;
  GET DIAGNOSTICS queued = ROW_COUNT;
  IF queued > 0 THEN
    INSERT INTO evcs_relation_check VALUES (txid_current()) ON CONFLICT DO NOTHING;
  END IF;
%4$s
  IF cardinality(stamped) > 0 THEN
    FOREACH cascaded SLICE 1 IN ARRAY stamped LOOP
      changed := evcs_stamp_pending(cascaded[1], cascaded[2]::timestamptz);
      UPDATE evcs_commit SET changes = changes + changed WHERE stamp = cascaded[2]::timestamptz;
    END LOOP;
  END IF;
END $evcs$
$written$, written, versions, type_name, cascades, key_match,
    replace(queue_sql, 'unnest(added)', 'unnest($1)'), '    ' || queue_sql || E';\n');
  EXECUTE body;

  EXECUTE format($trigger$
CREATE FUNCTION %1$I() RETURNS trigger LANGUAGE plpgsql AS $evcs$
BEGIN
  PERFORM %2$s(ARRAY(SELECT a::%3$s FROM added a));
  RETURN NULL;
END $evcs$$trigger$, type_name || '_evcs_inserted', written, versions);
  EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS added '
                 'FOR EACH STATEMENT EXECUTE FUNCTION %I()',
                 type_name || '_evcs_inserted', versions, type_name || '_evcs_inserted');
  -- A pending version changed in place (a second write of the entity in one transaction).
  EXECUTE format($trigger$
CREATE FUNCTION %1$s() RETURNS trigger LANGUAGE plpgsql AS $evcs$
BEGIN
  PERFORM %2$s(ARRAY[NEW]);
  RETURN NULL;
END $evcs$$trigger$, updated, written);
  SELECT array_agg(DISTINCT c) INTO watched FROM unnest(watched) c;
  EXECUTE format('CREATE TRIGGER %I AFTER UPDATE OF %s ON %s FOR EACH ROW WHEN (%s) '
                 'EXECUTE FUNCTION %s()',
                 type_name || '_evcs_updated',
                 (SELECT string_agg(format('%I', c), ', ') FROM unnest(watched) c), versions,
                 (SELECT string_agg(format('OLD.%1$I IS DISTINCT FROM NEW.%1$I', c), ' OR ')
                    FROM unnest(watched) c),
                 updated);
END $generator$;

-- Every violation of the rules among the entities this transaction queued, type by type.
CREATE OR REPLACE FUNCTION evcs_relation_violations()
RETURNS TABLE (kind text, entity_type text, head_id uuid, branch text, other_type text, other uuid,
               fields text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  queued_type text;
BEGIN
  FOR queued_type IN SELECT DISTINCT q.entity_type FROM evcs_relation_queue q
                      WHERE q.tx = txid_current() ORDER BY 1 LOOP
    IF to_regprocedure(format('%I()', queued_type || '_evcs_violations')) IS NOT NULL THEN
      RETURN QUERY EXECUTE format('SELECT * FROM %I()', queued_type || '_evcs_violations');
    END IF;
  END LOOP;
END $$;

-- The checks of entity type `type_name` that rows would break: `candidates` is a JSON array of
-- objects of the version table's columns (head_id and the entity's fields). Each check is the
-- version table's own CHECK constraint <type>_check_<name>, evaluated as PostgreSQL does (a
-- NULL result passes).
CREATE OR REPLACE FUNCTION evcs_check_violations(type_name text, candidates jsonb)
RETURNS TABLE (check_name text, head_id uuid)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  checked record;
BEGIN
  FOR checked IN SELECT substr(c.conname, length(type_name || '_check_') + 1) AS name,
                        pg_get_expr(c.conbin, c.conrelid) AS expression
                   FROM pg_constraint c
                  WHERE c.conrelid = to_regclass(format('%I', type_name || '_version'))
                    AND c.contype = 'c' AND starts_with(c.conname, type_name || '_check_')
                  ORDER BY c.conname LOOP
    RETURN QUERY EXECUTE format('SELECT %L::text, candidate.head_id FROM '
                                'jsonb_populate_recordset(NULL::%I, $1) candidate '
                                'WHERE (%s) IS FALSE ORDER BY candidate.head_id',
                                checked.name, type_name || '_version', checked.expression)
      USING candidates;
  END LOOP;
END $$;

-- The types made before this step get their violation lists.
SELECT evcs_generate_relations(name) FROM evcs_entity_type ORDER BY name;
