#!/usr/bin/env bash
# Runs the built `evcs` binary: migrate, backup and restore commands, their exit codes and output.
#
# Usage: tests/cli/test_cli.sh PATH/TO/evcs
# Needs DATABASE_URL (a server where it may create databases) and psql.
set -uo pipefail

EVCS="$1"
: "${DATABASE_URL:?DATABASE_URL is not set: run through scripts/test or ctest with it exported}"
WORK="$(mktemp -d /tmp/evcs-cli-test.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
FAILURES=0
CHECKS=0

# db NAME: drops and creates database evcs_t_NAME; prints its URL.
db() {
  psql -qAt "$DATABASE_URL" -c "DROP DATABASE IF EXISTS evcs_t_$1 WITH (FORCE)" \
    -c "CREATE DATABASE evcs_t_$1" >/dev/null 2>&1 || { echo "cannot create database $1" >&2; exit 1; }
  printf '%s\n' "$DATABASE_URL" | sed -E "s|^(postgres(ql)?://[^/?]*/)[^?]*|\1evcs_t_$1|"
}

# expect STATUS PATTERN COMMAND...: runs COMMAND, checks its exit status and that PATTERN (an
# extended regex) matches its stdout+stderr.
expect() {
  local status="$1" pattern="$2"
  shift 2
  local output rc=0
  output="$("$@" 2>&1)" || rc=$?
  CHECKS=$((CHECKS + 1))
  if [ "$rc" -ne "$status" ] || ! grep -Eq -- "$pattern" <<<"$output"; then
    FAILURES=$((FAILURES + 1))
    printf 'FAIL: %s\n  expected exit %s and /%s/, got exit %s:\n%s\n' "$*" "$status" "$pattern" "$rc" "$output"
  fi
}

MIG="$WORK/migrations"
DB="$(db cli_migrate)"
BROKEN_DB="$(db cli_broken)"
TARGET="$(db cli_restore)"

# usage and help
expect 0 '^usage: evcs migrate COMMAND' "$EVCS" migrate --help
expect 2 "unknown command 'sideways'" "$EVCS" migrate sideways
expect 2 'unknown option --frobnicate' "$EVCS" migrate upgrade --frobnicate
expect 2 'wrong number of arguments for downgrade' "$EVCS" migrate downgrade
expect 2 '--sql applies to upgrade and downgrade only' "$EVCS" migrate current --sql
expect 0 '^usage: evcs backup FILE' "$EVCS" backup --help
expect 2 'the archive FILE, is required' "$EVCS" backup
expect 0 '^usage: evcs restore FILE' "$EVCS" restore --help
expect 2 'the archive FILE is required' "$EVCS" restore --into "$TARGET"

# new, then fill in the step
expect 0 "created $MIG/0001_create_widget.up.sql" "$EVCS" migrate new "Create widget" --dir "$MIG"
expect 0 "created $MIG/0002_add_widget_versions.down.sql" "$EVCS" migrate new "add widget versions" --dir "$MIG"
cat >"$MIG/0001_create_widget.up.sql" <<'SQL'
CREATE TABLE widget (id int PRIMARY KEY, name text NOT NULL);
SQL
echo 'DROP TABLE widget;' >"$MIG/0001_create_widget.down.sql"
cat >"$MIG/0002_add_widget_versions.up.sql" <<'SQL'
CREATE TABLE widget_version (id int REFERENCES widget, version int, name text,
                             PRIMARY KEY (id, version));
INSERT INTO widget SELECT i, 'w' || i FROM generate_series(1, 50) i;
INSERT INTO widget_version SELECT id, 1, name FROM widget;
SQL
echo 'DROP TABLE widget_version; DELETE FROM widget;' >"$MIG/0002_add_widget_versions.down.sql"

export DATABASE_URL="$DB"
expect 0 '^base$' "$EVCS" migrate current --dir "$MIG"
expect 0 '0001_create_widget' "$EVCS" migrate pending --dir "$MIG"
expect 0 'INSERT INTO evcs_migration \(version, slug, checksum, duration_ms, applied_by\) VALUES \(2, ' \
  "$EVCS" migrate upgrade --sql --dir "$MIG"
expect 0 '^base$' "$EVCS" migrate current --dir "$MIG"
expect 0 '^applied 0001_create_widget$' "$EVCS" migrate upgrade 1 --dir "$MIG" --author cli
expect 0 '^applied 0002_add_widget_versions$' "$EVCS" migrate upgrade --dir "$MIG"
expect 0 'nothing to upgrade: at 0002_add_widget_versions \(head\)' "$EVCS" migrate upgrade --dir "$MIG"
expect 0 '^0001_create_widget  [0-9-]+ [0-9:.]+.*  [0-9]+ ms  postgres \(cli\)$' "$EVCS" migrate history --dir "$MIG"
expect 0 'ok: 2 applied steps match their files' "$EVCS" migrate verify --dir "$MIG"
expect 0 '^reverted 0002_add_widget_versions$' "$EVCS" migrate downgrade -1 --dir "$MIG"
expect 0 'stamped 0002_add_widget_versions \(head\)' "$EVCS" migrate stamp head --dir "$MIG"
expect 0 'stamped 0001_create_widget' "$EVCS" migrate stamp 1 --dir "$MIG"
expect 0 '^applied 0002_add_widget_versions$' "$EVCS" migrate upgrade --dir "$MIG"

# a failing step: exit 3, the file and line in the message
mkdir "$WORK/broken"
printf 'CREATE TABLE t (id int);\nSELECT *\n  FROM missing;\n' >"$WORK/broken/0001_broken.up.sql"
: >"$WORK/broken/0001_broken.down.sql"
expect 3 "$WORK/broken/0001_broken.up.sql:3: relation \"missing\" does not exist.*\[migration_error 42P01\]" \
  env DATABASE_URL="$BROKEN_DB" "$EVCS" migrate upgrade --dir "$WORK/broken"
expect 3 'malformed migration file name' sh -c "touch '$WORK/broken/1_bad.sql' && '$EVCS' migrate current --dir '$WORK/broken'"

# backup, restore, tamper, re-verify
expect 0 'public.widget_version +50 rows' "$EVCS" backup "$WORK/db.dump"
expect 0 'restored .*verified 2 tables' "$EVCS" restore "$WORK/db.dump" --into "$TARGET"
expect 3 'is not empty' "$EVCS" restore "$WORK/db.dump" --into "$TARGET"
psql -qAt "$TARGET" -c "DELETE FROM widget_version WHERE id = 7" >/dev/null
expect 3 'restore verification failed for table public.widget_version: .* has 50 rows .* has 49 rows' \
  "$EVCS" restore "$WORK/db.dump" --into "$TARGET" --verify-only

# migrate autogenerate: schema file -> step pair -> upgrade -> nothing left; bad input writes nothing
AUTO_DB="$(db cli_autogenerate)"
AUTO_MIG="$WORK/autogen"
cat >"$WORK/schema.json" <<'JSON'
{"tables": {"gadget": {"columns": [{"name": "id", "type": "int"},
                                   {"name": "label", "type": "text", "nullable": false}],
                       "primary_key": ["id"]}}}
JSON
expect 0 'autogenerate MESSAGE --schema FILE' "$EVCS" migrate --help
expect 2 'autogenerate needs --schema FILE' "$EVCS" migrate autogenerate "x" --dir "$AUTO_MIG"
expect 2 '--schema applies to autogenerate only' "$EVCS" migrate current --schema "$WORK/schema.json"
expect 0 "^created $AUTO_MIG/0001_create_gadget.down.sql$" \
  env DATABASE_URL="$AUTO_DB" "$EVCS" migrate autogenerate "create gadget" --schema "$WORK/schema.json" --dir "$AUTO_MIG"
expect 0 '^-- add table gadget$' cat "$AUTO_MIG/0001_create_gadget.up.sql"
expect 0 '^CREATE TABLE "gadget" \($' cat "$AUTO_MIG/0001_create_gadget.up.sql"
expect 0 '^DROP TABLE "gadget";$' cat "$AUTO_MIG/0001_create_gadget.down.sql"
expect 3 'not up to date with .*1 step\(s\) not applied, from 0001_create_gadget' \
  env DATABASE_URL="$AUTO_DB" "$EVCS" migrate autogenerate "again" --schema "$WORK/schema.json" --dir "$AUTO_MIG"
expect 0 '^applied 0001_create_gadget$' env DATABASE_URL="$AUTO_DB" "$EVCS" migrate upgrade --dir "$AUTO_MIG"
expect 0 "^no changes: the database matches $WORK/schema.json; nothing written$" \
  env DATABASE_URL="$AUTO_DB" "$EVCS" migrate autogenerate "again" --schema "$WORK/schema.json" --dir "$AUTO_MIG"
printf '{"tables": {"gadget": {"columns": [{"name": "id", "type": "int"}]}}' >"$WORK/broken.json"
expect 3 "$WORK/broken.json:1:68: not valid JSON: .*\[invalid_argument\]" \
  env DATABASE_URL="$AUTO_DB" "$EVCS" migrate autogenerate "broken" --schema "$WORK/broken.json" --dir "$AUTO_MIG"
expect 0 '^2$' sh -c "ls '$AUTO_MIG' | wc -l"

echo "$((CHECKS - FAILURES)) of $CHECKS checks passed"
[ "$FAILURES" -eq 0 ]
