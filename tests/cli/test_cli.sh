#!/usr/bin/env bash
# Runs the built `evcs` binary: migrate, backup, restore, branch, diff, merge and log commands,
# their exit codes and output.
#
# Usage: tests/cli/test_cli.sh PATH/TO/evcs PATH/TO/evcs_cli_fixture
# Needs DATABASE_URL (a server where it may create databases) and psql. The fixture
# (tests/cli/fixture.cpp) writes versioned entities through the core API.
set -uo pipefail

EVCS="$1"
FIXTURE="$2"
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

# expect_exact STATUS EXPECTED COMMAND...: runs COMMAND, checks its exit status and that its stdout,
# with every timestamp replaced by STAMP, is exactly EXPECTED.
expect_exact() {
  local status="$1" expected="$2"
  shift 2
  local output rc=0
  output="$("$@" 2>/dev/null)" || rc=$?
  output="$(sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}\+00/STAMP/g' <<<"$output")"
  CHECKS=$((CHECKS + 1))
  if [ "$rc" -ne "$status" ] || [ "$output" != "$expected" ]; then
    FAILURES=$((FAILURES + 1))
    printf 'FAIL: %s\n  expected exit %s, got %s; output diff (- expected, + actual):\n%s\n' "$*" \
      "$status" "$rc" "$(diff <(printf '%s\n' "$expected") <(printf '%s\n' "$output"))"
  fi
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
VERSIONS_DB="$(db cli_versions)"
CATALOG_DB="$(db cli_catalog)"

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

# the evcs catalog: its own steps and records, the same commands
expect 2 '--catalog and --dir exclude each other' "$EVCS" migrate current --catalog --dir "$MIG"
expect 2 '--catalog does not apply to new' "$EVCS" migrate new "x" --catalog
expect 0 '^base$' env DATABASE_URL="$CATALOG_DB" "$EVCS" migrate current --catalog
expect 0 '^0002_evcs_entity_ddl$' env DATABASE_URL="$CATALOG_DB" "$EVCS" migrate pending --catalog
expect 0 '^-- 0001_evcs_catalog.up.sql$' \
  env DATABASE_URL="$CATALOG_DB" "$EVCS" migrate upgrade --sql --catalog
expect 0 '^applied 0001_evcs_catalog$' \
  env DATABASE_URL="$CATALOG_DB" "$EVCS" migrate upgrade --catalog --author ops
expect 0 '^0001_evcs_catalog  [0-9-]+ [0-9:.]+.*  [0-9]+ ms  postgres \(ops\)$' \
  env DATABASE_URL="$CATALOG_DB" "$EVCS" migrate history --catalog
expect 0 '^[0-9]{4}_[a-z0-9_]+ \(head\)$' env DATABASE_URL="$CATALOG_DB" "$EVCS" migrate current --catalog
expect 0 'ok: [0-9]+ applied steps match their files' \
  env DATABASE_URL="$CATALOG_DB" "$EVCS" migrate verify --catalog
expect 0 '^reverted [0-9]{4}_' env DATABASE_URL="$CATALOG_DB" "$EVCS" migrate downgrade -1 --catalog
expect 0 '^$' psql -qAt "$CATALOG_DB" -c "SELECT to_regclass('evcs_migration')"

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

# ---- branch, diff, merge and log over versioned data ----------------------------------------------
export DATABASE_URL="$VERSIONS_DB"
BRIDGE=11111111-1111-1111-1111-111111111111
ROAD=22222222-2222-2222-2222-222222222222
TUNNEL=33333333-3333-3333-3333-333333333333
# write BRANCH AUTHOR MESSAGE OPERATIONS-JSON: one commit of project versions through the core API.
write() { "$FIXTURE" write "$1" "$2" "$3" project "$4" || { echo "fixture write failed" >&2; exit 1; }; }
"$FIXTURE" type project 'name=text not null' budget=numeric 'tags=text[]' || exit 1
write main alice "two projects" "[{\"op\": \"create\", \"id\": \"$BRIDGE\", \"values\": {\"name\": \"bridge\", \"budget\": 100}},
  {\"op\": \"create\", \"id\": \"$ROAD\", \"values\": {\"name\": \"road\", \"budget\": 50, \"tags\": [\"a\"]}}]"
FIRST_STAMP="$("$EVCS" log --limit 1 | awk 'NR == 2 { print $1 " " $2 }')"

# usage errors: exit 2, nothing written
expect 0 '^usage: evcs branch \[list\]' "$EVCS" branch --help
expect 0 '^usage: evcs diff SOURCE \[TARGET\]' "$EVCS" diff --help
expect 0 '^usage: evcs merge SOURCE' "$EVCS" merge -h
expect 0 '^usage: evcs log \[ENTITY_TYPE \[HEAD_ID\]\]' "$EVCS" log --help
expect 0 '^  log +the commit log, or the history of one entity$' "$EVCS" --help
expect 2 "evcs branch: unknown command 'rename'" "$EVCS" branch rename a b
expect 2 'evcs branch: create needs exactly one branch NAME' "$EVCS" branch create
expect 2 'evcs branch: --from, --mode, --as-of and --author apply to create only' "$EVCS" branch lock main --from main
expect 2 'evcs branch: --json applies to list only' "$EVCS" branch create x --json
expect 2 "evcs branch: cannot read the instant 'yesterday'" "$EVCS" branch create x --as-of yesterday
expect 2 "evcs branch: the instant '2026-13-01' is not a valid date and time" "$EVCS" branch create x --as-of 2026-13-01
expect 2 'evcs branch: --mode is given twice' "$EVCS" branch create x --mode live --mode=snapshot
expect 2 'evcs branch: unknown option --force' "$EVCS" branch create x --force
expect 2 'evcs diff: give the SOURCE branch and optionally the TARGET branch' "$EVCS" diff
expect 2 'evcs diff: --as-of needs a value' "$EVCS" diff main --as-of
expect 2 'evcs merge: give exactly one SOURCE branch' "$EVCS" merge
expect 2 "evcs merge: --strategy is fail, theirs or ours, not 'mine'" "$EVCS" merge x --strategy mine
expect 2 'evcs merge: --author and --message apply to a merge, not to --preview' "$EVCS" merge x --preview --message m
expect 2 "evcs log: --limit needs a non-negative integer, not '-3'" "$EVCS" log --limit=-3
expect 2 'evcs log: --id needs --type' "$EVCS" log --id "$BRIDGE"
expect 2 'evcs log: give the entity either as ENTITY_TYPE \[HEAD_ID\] or with --type/--id' "$EVCS" log project --id "$BRIDGE"
expect_exact 0 'NAME  PARENT  MODE      STATUS  FORK POINT  CREATED BY
main  -       snapshot  active  -           -' "$EVCS" branch list

# branches
expect_exact 0 'created branch feature from main (snapshot, fork point STAMP)' "$EVCS" branch create feature --author bob
expect_exact 0 "created branch audit from main (snapshot, fork point STAMP)" \
  "$EVCS" branch create audit --as-of "$FIRST_STAMP"
expect 3 "branch 'feature' already exists \[invalid_argument\]" "$EVCS" branch create feature
expect 3 'branch mode must be "snapshot" or "live", not "sideways" \[invalid_argument\]' "$EVCS" branch create x --mode sideways
expect 3 'a live branch reads its parent as of the same instant .*\[invalid_argument\]' "$EVCS" branch create x --mode live --as-of 2026-01-01
expect 3 'the fork point 2999-01-01 00:00:00.000000\+00 is in the future.*\[invalid_argument\]' "$EVCS" branch create x --as-of 2999-01-01T00:00Z
expect 3 "branch 'ghost' does not exist .*\[not_found EVN01\]" "$EVCS" branch create x --from ghost
expect_exact 0 'NAME     PARENT  MODE      STATUS  FORK POINT                     CREATED BY
main     -       snapshot  active  -                              -
feature  main    snapshot  active  STAMP  bob
audit    main    snapshot  active  STAMP  -' "$EVCS" branch list
expect 0 "^audit +main +snapshot +active +${FIRST_STAMP//+/\\+} +-$" "$EVCS" branch list
expect 0 '"name": "feature",' "$EVCS" branch list --json
expect 0 '"parent": "main",' "$EVCS" branch list --json

write feature bob "raise the bridge" "[{\"op\": \"update\", \"id\": \"$BRIDGE\", \"values\": {\"budget\": 150}},
  {\"op\": \"delete\", \"id\": \"$ROAD\"}, {\"op\": \"create\", \"id\": \"$TUNNEL\", \"values\": {\"name\": \"tunnel\"}}]"
write main carol "main budget" "[{\"op\": \"update\", \"id\": \"$BRIDGE\", \"values\": {\"budget\": 120}}]"

# diff
# What feature changed, as diff and the merge show it.
FEATURE_ROWS="modified  project  $BRIDGE  budget  120         150
deleted   project  $ROAD  budget  50          null
deleted   project  $ROAD  name    road        null
deleted   project  $ROAD  tags    [\"a\"]       null
added     project  $TUNNEL  name    null        tunnel"
expect_exact 0 "KIND      TYPE     HEAD_ID                               FIELD   OLD (main)  NEW (feature)
$FEATURE_ROWS
3 entities (1 added, 1 deleted, 1 modified) differ between feature and main" "$EVCS" diff feature
expect_exact 0 "KIND      TYPE     HEAD_ID                               FIELD   OLD (main)  NEW (audit)
modified  project  $BRIDGE  budget  120         100
1 entity (1 modified) differ between audit and main" "$EVCS" diff audit main
expect_exact 0 'no differences between audit and main' "$EVCS" diff audit --as-of "$FIRST_STAMP"
expect 0 "\"old\": \"120\"" "$EVCS" diff feature main --json
expect 0 '"as_of": null' "$EVCS" diff feature main --json
expect 3 "branch 'ghost' does not exist .*\[not_found EVN01\]" "$EVCS" diff ghost

# merge: conflicts stop it (exit 4, nothing written), a strategy resolves them
CONFLICT="TYPE     HEAD_ID                               FIELD   BASE  OURS (main)  THEIRS (feature)
project  $BRIDGE  budget  100   120          150"
expect_exact 4 "$CONFLICT" "$EVCS" merge feature
expect 4 '^evcs merge: 1 conflict\(s\) merging feature into main; nothing was written\. Resolve them on feature, or merge with --strategy theirs or --strategy ours$' \
  "$EVCS" merge feature
expect_exact 4 "KIND     TYPE     HEAD_ID                               FIELD   OLD (main)  NEW (merged)
deleted  project  $ROAD  budget  50          null
deleted  project  $ROAD  name    road        null
deleted  project  $ROAD  tags    [\"a\"]       null
added    project  $TUNNEL  name    null        tunnel

1 conflict(s):
$CONFLICT
preview of merging feature into main (strategy fail): would write 2 entities (1 added, 1 deleted); nothing written" \
  "$EVCS" merge feature --preview
expect 4 '"field": "budget",' "$EVCS" merge feature --preview --json
expect 3 "branch 'feature' merges into its parent 'main', not into 'audit' \[invalid_argument\]" "$EVCS" merge feature --into audit
expect 3 "branch 'ghost' does not exist .*\[not_found EVN01\]" "$EVCS" merge ghost
expect_exact 0 'locked branch main' "$EVCS" branch lock main
expect 3 'branch "main" is locked: it accepts reads only.*\[branch_locked EVL01\]' "$EVCS" merge feature --strategy theirs
expect_exact 0 'unlocked branch main' "$EVCS" branch unlock main
expect_exact 0 "STAMP  main    carol   1        -            main budget" sh -c "'$EVCS' log --limit 1 | tail -n 1"
expect_exact 0 "KIND      TYPE     HEAD_ID                               FIELD   OLD (main)  NEW (merged)
$FEATURE_ROWS

1 conflict(s) resolved toward theirs:
$CONFLICT
merged feature into main: wrote 3 entities (1 added, 1 deleted, 1 modified) at STAMP" \
  "$EVCS" merge feature --strategy theirs --author dave --message "take the feature"
expect_exact 0 'no differences between feature and main' "$EVCS" diff feature
expect_exact 0 'preview of merging feature into main (strategy fail): would write nothing; nothing written' \
  "$EVCS" merge feature --preview

# log: the commit log, filtered, and one entity's history
expect_exact 0 'STAMP                          BRANCH   AUTHOR  CHANGES  MERGED FROM  MESSAGE
STAMP  main     dave    3        feature      take the feature
STAMP  main     carol   1        -            main budget
STAMP  feature  bob     3        -            raise the bridge
STAMP  main     -       0        -            create branch audit
STAMP  main     bob     0        -            create branch feature
STAMP  main     alice   2        -            two projects' "$EVCS" log
expect_exact 0 'STAMP                          BRANCH   AUTHOR  CHANGES  MERGED FROM  MESSAGE
STAMP  feature  bob     3        -            raise the bridge' "$EVCS" log --branch feature
expect_exact 0 'STAMP                          BRANCH  AUTHOR  CHANGES  MERGED FROM  MESSAGE
STAMP  main    dave    3        feature      take the feature
STAMP  main    carol   1        -            main budget' "$EVCS" log project --branch main --limit 2
expect_exact 0 "project $BRIDGE on main: 3 version(s)
version 3  STAMP  dave  [merged from feature]  take the feature
    budget: 120 -> 150
version 2  STAMP  carol  main budget
    budget: 100 -> 120
version 1  STAMP  alice  two projects
    name: bridge
    budget: 100
    tags: null" "$EVCS" log project "$BRIDGE"
expect_exact 0 "project $ROAD on feature: 1 version(s)
version 1  STAMP  bob  [deleted]  raise the bridge" "$EVCS" log --type project --id "$ROAD" --branch feature
expect_exact 0 "project $BRIDGE on main: 3 version(s)
version 3  STAMP  dave  [merged from feature]  take the feature
    budget: 120 -> 150" "$EVCS" log project "$BRIDGE" --limit 1
expect 0 '"message": "take the feature",' "$EVCS" log project "$BRIDGE" --json --limit 1
expect 0 '"merged_from": "feature",' "$EVCS" log --json --limit 1
expect 3 "project $TUNNEL has no versions on branch audit .*\[not_found EVN01\]" "$EVCS" log project "$TUNNEL" --branch audit
expect 3 "unknown entity type 'nothing_here'.*\[not_found EVN01\]" "$EVCS" log nothing_here
expect 3 'invalid input syntax for type uuid.*\[invalid_argument 22P02\]' "$EVCS" log project not-a-uuid

# archive: read-only for good
expect_exact 0 'archived branch feature' "$EVCS" branch archive feature
expect 3 "branch 'feature' is archived: archived branches stay read-only \[invalid_argument\]" "$EVCS" branch unlock feature
expect 3 'main cannot be archived \[invalid_argument\]' "$EVCS" branch archive main
expect_exact 0 'NAME     PARENT  MODE      STATUS    FORK POINT                     CREATED BY
main     -       snapshot  active    -                              -
feature  main    snapshot  archived  STAMP  bob
audit    main    snapshot  active    STAMP  -' "$EVCS" branch list

echo "$((CHECKS - FAILURES)) of $CHECKS checks passed"
[ "$FAILURES" -eq 0 ]
