#!/usr/bin/env bash
# Runs the built `evcs` binary: migrate, backup, restore, branch, diff, merge (staged too), log
# (and its graph), tag, revert and cherry-pick commands, their exit codes and output.
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
# with every timestamp replaced by STAMP and the id of a commit just written (", commit ID" at
# the end of a line) by ID, is exactly EXPECTED.
expect_exact() {
  local status="$1" expected="$2"
  shift 2
  local output rc=0
  output="$("$@" 2>/dev/null)" || rc=$?
  output="$(sed -E -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}\+00/STAMP/g' \
    -e 's/, commit [0-9a-f]{12}$/, commit ID/' <<<"$output")"
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
# head [BRANCH]: the short id of the newest commit (on BRANCH), as evcs log prints it.
head_id() { "$EVCS" log --limit 1 ${1:+--branch "$1"} | awk 'NR == 2 { print $1 }'; }
# state: everything a failed command must leave as it was: the log, the tags, the branches.
state() { "$EVCS" log; "$EVCS" tag --list; "$EVCS" branch list; }
# expect_state BEFORE WHAT: checks that state is still BEFORE (WHAT names the command).
expect_state() {
  CHECKS=$((CHECKS + 1))
  local now
  now="$(state 2>&1)"
  if [ "$now" != "$1" ]; then
    FAILURES=$((FAILURES + 1))
    printf 'FAIL: %s wrote something:\n%s\n' "$2" "$(diff <(printf '%s\n' "$1") <(printf '%s\n' "$now"))"
  fi
}
"$FIXTURE" type project 'name=text not null' budget=numeric 'tags=text[]' || exit 1
write main alice "two projects" "[{\"op\": \"create\", \"id\": \"$BRIDGE\", \"values\": {\"name\": \"bridge\", \"budget\": 100}},
  {\"op\": \"create\", \"id\": \"$ROAD\", \"values\": {\"name\": \"road\", \"budget\": 50, \"tags\": [\"a\"]}}]"
FIRST_STAMP="$("$EVCS" log --limit 1 | awk 'NR == 2 { print $2 " " $3 }')"
C1="$(head_id)"

# usage errors: exit 2, nothing written
expect 0 '^usage: evcs branch \[list\]' "$EVCS" branch --help
expect 0 '^usage: evcs diff SOURCE \[TARGET\]' "$EVCS" diff --help
expect 0 '^usage: evcs merge SOURCE' "$EVCS" merge -h
expect 0 '^usage: evcs log \[ENTITY_TYPE \[HEAD_ID\]\]' "$EVCS" log --help
expect 0 '^usage: evcs tag NAME \[COMMIT\]' "$EVCS" tag --help
expect 0 '^usage: evcs revert COMMIT' "$EVCS" revert --help
expect 0 '^usage: evcs cherry-pick COMMIT' "$EVCS" cherry-pick --help
expect 0 '^  log +the commit log or graph, or the history of one entity$' "$EVCS" --help
expect 0 '^  cherry-pick +a new commit applying what one commit changed$' "$EVCS" --help
expect 2 "evcs branch: unknown command 'rename'" "$EVCS" branch rename a b
expect 2 'evcs branch: create needs exactly one branch NAME' "$EVCS" branch create
expect 2 'evcs branch: --from, --mode, --as-of and --author apply to create only' "$EVCS" branch lock main --from main
expect 2 'evcs branch: --json applies to list only' "$EVCS" branch create x --json
expect 2 "evcs branch: cannot read the instant 'yesterday'" "$EVCS" branch create x --as-of yesterday
expect 2 "evcs branch: the instant '2026-13-01' is not a valid date and time" "$EVCS" branch create x --as-of 2026-13-01
expect 2 'evcs branch: --mode is given twice' "$EVCS" branch create x --mode live --mode=snapshot
expect 2 'evcs branch: unknown option --force' "$EVCS" branch create x --force
expect 2 'evcs diff: give the SOURCE branch and optionally the TARGET branch, or --from' "$EVCS" diff
expect 2 'evcs diff: --as-of needs a value' "$EVCS" diff main --as-of
expect 2 'evcs diff: --to needs --from' "$EVCS" diff --to main
expect 2 'evcs diff: --from/--to compare points of the history: give no SOURCE or --as-of' "$EVCS" diff main --from main
expect 2 'evcs diff: --branch applies to --from/--to only' "$EVCS" diff main --branch main
expect 2 "evcs diff: the instant '2026-02-03 25:00' is not a valid date and time" "$EVCS" diff --from "2026-02-03 25:00"
expect 2 'evcs merge: give exactly one SOURCE branch \(or --status, --resolve, --continue or --abort for a staged merge\)' "$EVCS" merge
expect 2 "evcs merge: --strategy is fail, theirs or ours, not 'mine'" "$EVCS" merge x --strategy mine
expect 2 'evcs merge: --author and --message apply to a merge, not to --preview' "$EVCS" merge x --preview --message m
expect 2 'evcs merge: --preview and --stage exclude each other' "$EVCS" merge x --preview --stage
expect 2 'evcs merge: --status works on the staged merge into --into \(default main\): give no SOURCE' "$EVCS" merge x --status
expect 2 'evcs merge: --strategy is given when the merge is staged \(--stage\), not to --continue' "$EVCS" merge --continue --strategy ours
expect 2 'evcs merge: --resolve without SOURCE adds resolutions to the staged merge' "$EVCS" merge --continue --resolve "project:$BRIDGE:budget=ours"
expect 2 'evcs merge: --message applies to a merge, --stage and --continue' "$EVCS" merge --abort --message m
expect 2 'evcs merge: --json does not apply to --abort' "$EVCS" merge --abort --json
expect 2 "evcs merge: --resolve 'project:$BRIDGE=ours' does not name one conflict as TYPE:HEAD_ID:FIELD" \
  "$EVCS" merge x --resolve "project:$BRIDGE=ours"
expect 2 "evcs merge: --resolve 'project:$BRIDGE:budget' says nothing to take" "$EVCS" merge x --resolve "project:$BRIDGE:budget"
expect 2 "evcs merge: --resolve 'project:$BRIDGE:budget=mine' takes 'mine': use TYPE:HEAD_ID:FIELD=ours, =theirs or =value:JSON" \
  "$EVCS" merge x --resolve "project:$BRIDGE:budget=mine"
expect 2 "evcs merge: --resolve 'project:$BRIDGE:name=value:Bridge': the value after \"value:\" must be JSON" \
  "$EVCS" merge x --resolve "project:$BRIDGE:name=value:Bridge"
expect 2 "evcs merge: --resolve 'project:$BRIDGE:deleted=value:true': a delete-versus-modify conflict \(field deleted\) takes ours or theirs" \
  "$EVCS" merge x --resolve "project:$BRIDGE:deleted=value:true"
expect 2 'evcs revert: give exactly one COMMIT' "$EVCS" revert
expect 2 "evcs cherry-pick: --strategy is fail, theirs or ours, not 'all'" "$EVCS" cherry-pick x --strategy all
expect 2 'evcs tag: --list and --delete exclude each other' "$EVCS" tag --list --delete v1
expect 2 'evcs tag: give the tag NAME and optionally the COMMIT' "$EVCS" tag a b c
expect 2 'evcs tag: --json applies to --list only' "$EVCS" tag v9 --json
expect 2 'evcs tag: --message and --author apply to creating a tag' "$EVCS" tag --delete v1 --message m
expect 2 "evcs log: --limit needs a non-negative integer, not '-3'" "$EVCS" log --limit=-3
expect 2 'evcs log: --id needs --type' "$EVCS" log --id "$BRIDGE"
expect 2 'evcs log: give the entity either as ENTITY_TYPE \[HEAD_ID\] or with --type/--id' "$EVCS" log project --id "$BRIDGE"
expect 2 'evcs log: --graph draws the whole commit graph: give no entity' "$EVCS" log project --graph
expect 2 'evcs log: --graph and --json exclude each other' "$EVCS" log --graph --json
expect_exact 0 "NAME  PARENT  MODE      STATUS  FORK POINT  HEAD          BASE  CREATED BY
main  -       snapshot  active  -           $C1  -     -" "$EVCS" branch list

# branches
expect_exact 0 'created branch feature from main (snapshot, fork point STAMP)' "$EVCS" branch create feature --author bob
expect_exact 0 "created branch audit from main (snapshot, fork point STAMP)" \
  "$EVCS" branch create audit --as-of "$FIRST_STAMP"
expect 3 "branch 'feature' already exists \[invalid_argument\]" "$EVCS" branch create feature
expect 3 'branch mode must be "snapshot" or "live", not "sideways" \[invalid_argument\]' "$EVCS" branch create x --mode sideways
expect 3 'a live branch reads its parent as of the same instant .*\[invalid_argument\]' "$EVCS" branch create x --mode live --as-of 2026-01-01
expect 3 'the fork point 2999-01-01 00:00:00.000000\+00 is in the future.*\[invalid_argument\]' "$EVCS" branch create x --as-of 2999-01-01T00:00Z
expect 3 "branch 'ghost' does not exist .*\[not_found EVN01\]" "$EVCS" branch create x --from ghost
# A new branch's head is the commit it was forked from; so is its base (the merge base with main).
expect_exact 0 "NAME     PARENT  MODE      STATUS  FORK POINT                     HEAD          BASE          CREATED BY
main     -       snapshot  active  -                              $C1  -             -
feature  main    snapshot  active  STAMP  $C1  $C1  bob
audit    main    snapshot  active  STAMP  $C1  $C1  -" "$EVCS" branch list
expect 0 "^audit +main +snapshot +active +${FIRST_STAMP//+/\\+} +$C1 +$C1 +-$" "$EVCS" branch list
expect 0 '"name": "feature",' "$EVCS" branch list --json
expect 0 '"parent": "main",' "$EVCS" branch list --json
expect 0 "\"head\": \"$C1[0-9a-f]{28}\"," "$EVCS" branch list --json

write feature bob "raise the bridge" "[{\"op\": \"update\", \"id\": \"$BRIDGE\", \"values\": {\"budget\": 150}},
  {\"op\": \"delete\", \"id\": \"$ROAD\"}, {\"op\": \"create\", \"id\": \"$TUNNEL\", \"values\": {\"name\": \"tunnel\"}}]"
C2="$(head_id feature)"
write main carol "main budget" "[{\"op\": \"update\", \"id\": \"$BRIDGE\", \"values\": {\"budget\": 120}}]"
C3="$(head_id main)"

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
expect_exact 0 "KIND      TYPE     HEAD_ID                               FIELD   OLD (audit)  NEW (main)
modified  project  $BRIDGE  budget  100          120
1 entity (1 modified) differ between main and audit" "$EVCS" diff main audit
expect_exact 0 'no differences between audit and main' "$EVCS" diff audit --as-of "$FIRST_STAMP"
expect 0 "\"old\": \"120\"" "$EVCS" diff feature main --json
expect 0 '"as_of": null' "$EVCS" diff feature main --json
expect 3 "branch 'ghost' does not exist .*\[not_found EVN01\]" "$EVCS" diff ghost

# merge: conflicts stop it (exit 4, nothing written), a strategy or --resolve settles them
CONFLICT_HEADER="TYPE     HEAD_ID                               FIELD   BASE  OURS (main)  THEIRS (feature)  RESOLUTION"
expect_exact 4 "$CONFLICT_HEADER
project  $BRIDGE  budget  100   120          150               -" "$EVCS" merge feature
expect 4 '^evcs merge: 1 unresolved conflict\(s\) merging feature into main; nothing was written\. Settle each with --resolve TYPE:HEAD_ID:FIELD=ours\|theirs\|value:JSON, or use --strategy theirs or --strategy ours$' \
  "$EVCS" merge feature
PREVIEW_ROWS="deleted  project  $ROAD  budget  50          null
deleted  project  $ROAD  name    road        null
deleted  project  $ROAD  tags    [\"a\"]       null
added    project  $TUNNEL  name    null        tunnel"
expect_exact 4 "KIND     TYPE     HEAD_ID                               FIELD   OLD (main)  NEW (merged)
$PREVIEW_ROWS

1 conflict(s), 1 unresolved:
$CONFLICT_HEADER
project  $BRIDGE  budget  100   120          150               -
preview of merging feature into main (strategy fail): would write 2 entities (1 added, 1 deleted); nothing written" \
  "$EVCS" merge feature --preview
# A resolution settles its conflict: the value is JSON (a numeric field takes a number or a string).
expect_exact 0 "KIND      TYPE     HEAD_ID                               FIELD   OLD (main)  NEW (merged)
modified  project  $BRIDGE  budget  120         135.5
deleted   project  $ROAD  budget  50          null
deleted   project  $ROAD  name    road        null
deleted   project  $ROAD  tags    [\"a\"]       null
added     project  $TUNNEL  name    null        tunnel

1 conflict(s), all resolved:
$CONFLICT_HEADER
project  $BRIDGE  budget  100   120          150               value: \"135.5\"
preview of merging feature into main (strategy fail): would write 3 entities (1 added, 1 deleted, 1 modified); nothing written" \
  "$EVCS" merge feature --preview --resolve "project:$BRIDGE:budget=value:135.5"
expect 4 '"field": "budget",' "$EVCS" merge feature --preview --json
expect 4 '"unresolved": 1' "$EVCS" merge feature --preview --json
BEFORE="$(state)"
expect 3 'evcs merge: a resolution for something that is not in conflict: \{"entity_type":"project","field":"name",.*\(see the conflicts: evcs merge SOURCE --preview, or evcs merge --status for a staged merge\) \[invalid_argument\]' \
  "$EVCS" merge feature --resolve "project:$BRIDGE:name=theirs" --resolve "project:$BRIDGE:budget=ours"
expect_state "$BEFORE" "merge with a resolution for a field not in conflict"
expect 3 "cannot merge branch 'feature' into itself \[invalid_argument\]" "$EVCS" merge feature --into feature
expect 3 "branch 'ghost' does not exist .*\[not_found EVN01\]" "$EVCS" merge ghost
expect_exact 0 'locked branch main' "$EVCS" branch lock main
BEFORE="$(state)"
expect 3 'branch "main" is locked: it accepts reads only.*evcs branch unlock it first.*\[branch_locked EVL01\]' "$EVCS" merge feature --strategy theirs
expect_state "$BEFORE" "merge into a locked branch"
expect_exact 0 'unlocked branch main' "$EVCS" branch unlock main
expect_exact 0 "$C3  STAMP  main    carol   1        -            main budget" sh -c "'$EVCS' log --limit 1 | tail -n 1"
expect_exact 0 "KIND      TYPE     HEAD_ID                               FIELD   OLD (main)  NEW (merged)
$FEATURE_ROWS

1 conflict(s), all resolved:
$CONFLICT_HEADER
project  $BRIDGE  budget  100   120          150               theirs
merged feature into main: wrote 3 entities (1 added, 1 deleted, 1 modified) at STAMP, commit ID" \
  "$EVCS" merge feature --strategy theirs --author dave --message "take the feature"
M1="$(head_id main)"
expect_exact 0 'no differences between feature and main' "$EVCS" diff feature
expect_exact 0 'preview of merging feature into main (strategy fail): would write nothing; nothing written' \
  "$EVCS" merge feature --preview
expect_exact 0 "merged feature into main: nothing to merge, main already has feature's head $C2" "$EVCS" merge feature

# log: the commit log, filtered, and one entity's history
expect_exact 0 "ID            STAMP                          BRANCH   AUTHOR  CHANGES  MERGED FROM  MESSAGE
$M1  STAMP  main     dave    3        feature      take the feature
$C3  STAMP  main     carol   1        -            main budget
$C2  STAMP  feature  bob     3        -            raise the bridge
$C1  STAMP  main     alice   2        -            two projects" "$EVCS" log
expect_exact 0 "ID            STAMP                          BRANCH   AUTHOR  CHANGES  MERGED FROM  MESSAGE
$C2  STAMP  feature  bob     3        -            raise the bridge" "$EVCS" log --branch feature
expect_exact 0 "ID            STAMP                          BRANCH  AUTHOR  CHANGES  MERGED FROM  MESSAGE
$M1  STAMP  main    dave    3        feature      take the feature
$C3  STAMP  main    carol   1        -            main budget" "$EVCS" log project --branch main --limit 2
expect_exact 0 "project $BRIDGE on main: 3 version(s)
version 3  STAMP  dave  [merged from feature]  take the feature
    budget: 120 -> 150
version 2  STAMP  carol  main budget
    budget: 100 -> 120
version 1  STAMP  alice  two projects
    name: bridge
    budget: 100
    tags: null" "$EVCS" log project "$BRIDGE"
# A branch's history of an entity includes the versions it reads through to on its parent.
expect_exact 0 "project $ROAD on feature: 2 version(s)
version 1  STAMP  bob  [deleted]  raise the bridge
version 1  STAMP  alice  [on main]  two projects
    name: road
    budget: 50
    tags: [\"a\"]" "$EVCS" log --type project --id "$ROAD" --branch feature
expect_exact 0 "project $BRIDGE on main: 3 version(s)
version 3  STAMP  dave  [merged from feature]  take the feature
    budget: 120 -> 150" "$EVCS" log project "$BRIDGE" --limit 1
expect 0 '"message": "take the feature",' "$EVCS" log project "$BRIDGE" --json --limit 1
expect 0 '"merged_from": "feature",' "$EVCS" log --json --limit 1
expect 0 "\"parents\": \[" "$EVCS" log --json --limit 1
expect 3 "project $TUNNEL has no versions on branch audit or the branches it reads through to \[not_found EVN01\]" "$EVCS" log project "$TUNNEL" --branch audit
expect 3 "unknown entity type 'nothing_here'.*\[not_found EVN01\]" "$EVCS" log nothing_here
expect 3 'invalid input syntax for type uuid.*\[invalid_argument 22P02\]' "$EVCS" log project not-a-uuid

# merge the other way: main into its branch (the base is the last merge, not the fork point)
write feature bob "feature again" "[{\"op\": \"update\", \"id\": \"$TUNNEL\", \"values\": {\"budget\": 7}}]"
F2="$(head_id feature)"
expect_exact 0 "merged main into feature: wrote nothing, commit ID" "$EVCS" merge main --into feature --author bob
M2="$(head_id feature)"
# The graph: a branch, a merge into main, a merge of main into the branch.
expect_exact 0 "* $M2 [feature] merge main (merge: $F2 $M1)
|\\
* | $F2 [feature] feature again
| * $M1 [main] take the feature (merge: $C3 $C2)
|/|
| * $C3 [main] main budget
* | $C2 [feature] raise the bridge
|/
* $C1 [main] two projects" "$EVCS" log --graph
expect_exact 0 "* $M2 [feature] merge main (merge: $F2 $M1)
|\\
* | $F2 [feature] feature again" "$EVCS" log --graph --limit 2
write main carol "main tags" "[{\"op\": \"update\", \"id\": \"$BRIDGE\", \"values\": {\"tags\": [\"m\"]}}]"
C4="$(head_id main)"
# --branch: the commits main's head descends from; feature's own commits since the merge are not.
expect_exact 0 "* $C4 [main] main tags
* $M1 [main] take the feature (merge: $C3 $C2)" "$EVCS" log --graph --branch main --limit 2
expect_exact 0 "NAME     PARENT  MODE      STATUS  FORK POINT                     HEAD          BASE          CREATED BY
main     -       snapshot  active  -                              $C4  -             -
feature  main    snapshot  active  STAMP  $M2  $M1  bob
audit    main    snapshot  active  STAMP  $C1  $C1  -" "$EVCS" branch list

# a staged merge: start, abort, start again, resolve one conflict at a time, continue
write feature bob "feature numbers" "[{\"op\": \"update\", \"id\": \"$BRIDGE\", \"values\": {\"budget\": 200}},
  {\"op\": \"update\", \"id\": \"$TUNNEL\", \"values\": {\"name\": \"tube\"}}]"
F3="$(head_id feature)"
write main carol "main numbers" "[{\"op\": \"update\", \"id\": \"$BRIDGE\", \"values\": {\"budget\": 300}},
  {\"op\": \"update\", \"id\": \"$TUNNEL\", \"values\": {\"name\": \"Tunnel\"}}]"
C5="$(head_id main)"
STAGED_HEADER="TYPE     HEAD_ID                               FIELD   BASE    OURS (main)  THEIRS (feature)  RESOLUTION"
STAGED_CHANGES="KIND      TYPE     HEAD_ID                               FIELD   OLD (main)  NEW (merged)
modified  project  $TUNNEL  budget  null        7"
expect_exact 0 "$STAGED_CHANGES

2 conflict(s), 2 unresolved:
$STAGED_HEADER
project  $BRIDGE  budget  150     300          200               -
project  $TUNNEL  name    tunnel  Tunnel       tube              -

started a staged merge: merging feature ($F3) into main would write 1 entity (1 modified); 2 conflict(s), 2 unresolved
next: resolve them with evcs merge --resolve TYPE:HEAD_ID:FIELD=ours|theirs|value:JSON, then evcs merge --continue (or evcs merge --abort)" \
  "$EVCS" merge feature --stage
BEFORE="$(state)"
expect 3 "a merge of 'feature' into 'main' is in progress: continue or abort it first \[invalid_argument\]" "$EVCS" merge feature --start
expect 4 '2 conflict\(s\), 2 unresolved$' "$EVCS" merge --status
expect 4 '"unresolved": 2' "$EVCS" merge --status --json
expect_exact 4 "$STAGED_HEADER
project  $BRIDGE  budget  150     300          200               -
project  $TUNNEL  name    tunnel  Tunnel       tube              -" "$EVCS" merge --continue
expect 4 'evcs merge: 2 unresolved conflict\(s\) merging feature into main; nothing was written and the merge stays staged' "$EVCS" merge --continue
expect_state "$BEFORE" "merge --continue with unresolved conflicts"
expect_exact 0 'aborted the merge into main' "$EVCS" merge --abort
expect 3 "evcs merge: no merge into 'main' is in progress \[not_found EVN01\]" "$EVCS" merge --abort
expect 3 "evcs merge: no merge into 'main' is in progress \(start one with evcs merge SOURCE --stage\) \[not_found EVN01\]" "$EVCS" merge --status
expect 0 '^started a staged merge: merging feature' "$EVCS" merge feature --stage --author erin --message "settle the numbers"
expect_exact 0 "KIND      TYPE     HEAD_ID                               FIELD   OLD (main)  NEW (merged)
modified  project  $BRIDGE  budget  300         250
modified  project  $TUNNEL  budget  null        7

2 conflict(s), 1 unresolved:
$STAGED_HEADER
project  $BRIDGE  budget  150     300          200               value: \"250\"
project  $TUNNEL  name    tunnel  Tunnel       tube              -

recorded 1 resolution(s) of the staged merge: merging feature ($F3) into main would write 2 entities (2 modified); 2 conflict(s), 1 unresolved
next: resolve them with evcs merge --resolve TYPE:HEAD_ID:FIELD=ours|theirs|value:JSON, then evcs merge --continue (or evcs merge --abort)" \
  "$EVCS" merge --resolve "project:$BRIDGE:budget=value:\"250\""
BEFORE="$(state)"
expect 3 'evcs merge: a resolution for something that is not in conflict: \{"entity_type":"project","field":"tags",.*\[invalid_argument\]' \
  "$EVCS" merge --resolve "project:$BRIDGE:tags=theirs"
expect_state "$BEFORE" "merge --resolve for a field not in conflict"
expect 4 '2 conflict\(s\), 1 unresolved$' "$EVCS" merge --status
expect 0 '^next: evcs merge --continue$' "$EVCS" merge --resolve "project:${TUNNEL^^}:name=ours"
expect 0 '^project  33333333-3333-3333-3333-333333333333  name    tunnel  Tunnel       tube              ours$' "$EVCS" merge --status
expect_exact 0 "KIND      TYPE     HEAD_ID                               FIELD   OLD (main)  NEW (merged)
modified  project  $BRIDGE  budget  300         250
modified  project  $TUNNEL  budget  null        7

2 conflict(s), all resolved:
$STAGED_HEADER
project  $BRIDGE  budget  150     300          200               value: \"250\"
project  $TUNNEL  name    tunnel  Tunnel       tube              ours
merged feature into main: wrote 2 entities (2 modified) at STAMP, commit ID" "$EVCS" merge --continue --author erin
M3="$(head_id main)"
expect_exact 0 "$M3  STAMP  main    erin    2        feature      settle the numbers" sh -c "'$EVCS' log --limit 1 | tail -n 1"
expect 3 "no merge into 'main' is in progress" "$EVCS" merge --continue

# tags
expect_exact 0 "tagged $M3 (main: settle the numbers) as v1" "$EVCS" tag v1
expect_exact 0 "tagged $C1 (main: two projects) as first" "$EVCS" tag first "$C1" --message "the start" --author alice
BEFORE="$(state)"
expect 3 "evcs tag: tag 'v1' already exists: delete it first to move it \[invalid_argument\]" "$EVCS" tag v1 "$C1"
expect_state "$BEFORE" "tag that exists"
expect 3 'evcs tag: no commit, tag or branch .0000ffff..*\[not_found EVN01\]' "$EVCS" tag v2 0000ffff
expect 3 "evcs tag: invalid tag name '.x'.*\[invalid_argument\]" "$EVCS" tag .x
expect_state "$BEFORE" "tag of an unknown commit"
expect_exact 0 "NAME   COMMIT        BRANCH  CREATED                        CREATED BY  MESSAGE
first  $C1  main    STAMP  alice       the start
v1     $M3  main    STAMP  -           -" "$EVCS" tag --list
expect 0 '"name": "first"$' "$EVCS" tag --list --json
expect_exact 0 'deleted tag first' "$EVCS" tag --delete first
expect 3 "evcs tag: tag 'first' does not exist .*\[not_found EVN01\]" "$EVCS" tag --delete first
expect 0 "^v1 +$M3 " "$EVCS" tag
# A unique id prefix (at least 4 hex digits), a tag and a branch (its head) all name a commit.
expect_exact 0 "tagged $M3 (main: settle the numbers) as v1b" "$EVCS" tag v1b "${M3:0:6}"
expect_exact 0 "tagged $M3 (main: settle the numbers) as v1c" "$EVCS" tag v1c v1
expect_exact 0 "tagged $F3 (feature: feature numbers) as tip" "$EVCS" tag tip feature
expect 3 'no commit, tag or branch .f00..*\[not_found EVN01\]' "$EVCS" tag v1d f00
expect_exact 0 'deleted tag v1b' "$EVCS" tag --delete v1b
expect_exact 0 'deleted tag v1c' "$EVCS" tag --delete v1c

# diff between two points of the history: commits (ids, tags, branch heads) and instants
expect_exact 0 "KIND      TYPE     HEAD_ID                               FIELD   OLD (${C1:0:8})  NEW (v1)
modified  project  $BRIDGE  budget  100             250
modified  project  $BRIDGE  tags    null            [\"m\"]
deleted   project  $ROAD  budget  50              null
deleted   project  $ROAD  name    road            null
deleted   project  $ROAD  tags    [\"a\"]           null
added     project  $TUNNEL  budget  null            7
added     project  $TUNNEL  name    null            Tunnel
3 entities (1 added, 1 deleted, 1 modified) differ between ${C1:0:8} and v1" "$EVCS" diff --from "${C1:0:8}" --to v1
expect_exact 0 "KIND      TYPE     HEAD_ID                               FIELD   OLD ($C4)  NEW (main)
modified  project  $BRIDGE  budget  150                 250
modified  project  $TUNNEL  budget  null                7
modified  project  $TUNNEL  name    tunnel              Tunnel
2 entities (2 modified) differ between $C4 and main" "$EVCS" diff --from "$C4"
expect_exact 0 "KIND      TYPE     HEAD_ID                               FIELD   OLD (STAMP)  NEW (feature)
modified  project  $BRIDGE  budget  100                                  200
deleted   project  $ROAD  budget  50                                   null
deleted   project  $ROAD  name    road                                 null
deleted   project  $ROAD  tags    [\"a\"]                                null
added     project  $TUNNEL  budget  null                                 7
added     project  $TUNNEL  name    null                                 tube
3 entities (1 added, 1 deleted, 1 modified) differ between STAMP and feature" \
  "$EVCS" diff --from "$FIRST_STAMP" --branch feature
expect_exact 0 "no differences between STAMP and $C1" "$EVCS" diff --from "$FIRST_STAMP" --to "$C1"
expect 0 '"from": "v1",' "$EVCS" diff --from v1 --to main --json
expect 3 'no commit, tag or branch .nope..*\[not_found EVN01\]' "$EVCS" diff --from nope
expect 2 'evcs diff: --branch names the branch whose history a TIME reads: --from and --to are both commits' \
  "$EVCS" diff --from v1 --to main --branch feature

# revert: a new commit undoing one; a field changed since is a conflict
expect_exact 0 "KIND      TYPE     HEAD_ID                               FIELD  OLD (main)  NEW (reverted)
modified  project  $BRIDGE  tags   [\"m\"]       null
reverted $C4 onto main: wrote 1 entity (1 modified) at STAMP, commit ID" "$EVCS" revert "$C4" --author frank
R1="$(head_id main)"
expect_exact 0 "$R1  STAMP  main    frank   1        -            revert $C4: main tags" sh -c "'$EVCS' log --limit 1 | tail -n 1"
BEFORE="$(state)"
expect_exact 4 "TYPE     HEAD_ID                               FIELD   BASE  OURS (main)  THEIRS ($C3)  RESOLUTION
project  $BRIDGE  budget  120   250          100                    -" "$EVCS" revert "$C3"
expect 4 "evcs revert: 1 unresolved conflict\(s\) reverting $C3 onto main; nothing was written" "$EVCS" revert "$C3"
expect 3 'evcs revert: no commit, tag or branch .abcdef0123..*\[not_found EVN01\]' "$EVCS" revert abcdef0123
expect_state "$BEFORE" "revert with conflicts or of an unknown commit"
expect_exact 0 "KIND      TYPE     HEAD_ID                               FIELD   OLD (main)  NEW (reverted)
modified  project  $BRIDGE  budget  250         100

1 conflict(s), all resolved:
TYPE     HEAD_ID                               FIELD   BASE  OURS (main)  THEIRS ($C3)  RESOLUTION
project  $BRIDGE  budget  120   250          100                    theirs
reverted $C3 onto main: wrote 1 entity (1 modified) at STAMP, commit ID" "$EVCS" revert "$C3" --strategy theirs --message "back to 100"
expect 0 'back to 100$' "$EVCS" log --limit 1

# cherry-pick: a commit of another branch onto main; not onto a locked branch
expect_exact 0 'created branch hotfix from main (snapshot, fork point STAMP)' "$EVCS" branch create hotfix
write hotfix gina "hotfix" "[{\"op\": \"update\", \"id\": \"$TUNNEL\", \"values\": {\"budget\": 8}}]"
H1="$(head_id hotfix)"
expect_exact 0 'locked branch main' "$EVCS" branch lock main
BEFORE="$(state)"
expect 3 'evcs cherry-pick: branch "main" is locked: it accepts reads only.*\[branch_locked EVL01\]' "$EVCS" cherry-pick hotfix
expect_state "$BEFORE" "cherry-pick onto a locked branch"
expect_exact 0 'unlocked branch main' "$EVCS" branch unlock main
expect_exact 0 "KIND      TYPE     HEAD_ID                               FIELD   OLD (main)  NEW (picked)
modified  project  $TUNNEL  budget  7           8
cherry-picked $H1 onto main: wrote 1 entity (1 modified) at STAMP, commit ID" "$EVCS" cherry-pick hotfix --author gina
expect 0 "cherry-pick $H1: hotfix$" "$EVCS" log --limit 1
BEFORE="$(state)"
expect_exact 4 "TYPE     HEAD_ID                               FIELD   BASE    OURS (feature)  THEIRS ($C5)  RESOLUTION
project  $BRIDGE  budget  150     200             300                    -
project  $TUNNEL  name    tunnel  tube            Tunnel                 -" "$EVCS" cherry-pick "$C5" --into feature
expect 3 'evcs cherry-pick: a resolution for something that is not in conflict: .*\(see the conflicts: run it without --resolve\) \[invalid_argument\]' \
  "$EVCS" cherry-pick "$C5" --into feature --resolve "project:$BRIDGE:tags=ours"
expect_state "$BEFORE" "cherry-pick with conflicts"

# find, a page at a time: the last line names the cursor of the next page
expect 0 '^usage: evcs find ENTITY_TYPE' "$EVCS" find --help
expect 0 '^  find +the entities of one type, filtered and ordered, a page at a time$' "$EVCS" --help
ALL="$("$EVCS" find project --order-by -name,budget | awk 'NR > 1 { print $1 }')"
FIRST_PAGE="$("$EVCS" find project --order-by -name,budget --limit 1)"
CURSOR="$(awk '/^next page: --after / { print $4 }' <<<"$FIRST_PAGE")"
expect 0 '^HEAD_ID +VERSION +VALID_FROM +AUTHOR +name +budget +tags$' \
  "$EVCS" find project --order-by -name,budget --limit 1
expect 0 '^next page: --after [A-Za-z0-9_-]{40,}$' "$EVCS" find project --order-by -name,budget --limit 1
expect_exact 0 "$(awk 'NR > 1 { print $1 }' <<<"$ALL")" sh -c \
  "'$EVCS' find project --order-by -name,budget --limit 10 --after '$CURSOR' | awk 'NR > 1 { print \$1 }'"
expect_exact 0 "$(head -n 1 <<<"$ALL")" sh -c "printf '%s\n' \"\$1\" | awk 'NR > 1 && !/^next page/ { print \$1 }'" sh "$FIRST_PAGE"
expect 0 '"cursor": null' "$EVCS" find project --order-by -name,budget --after "$CURSOR" --json
expect 3 'the cursor belongs to another query.*\[invalid_argument EVK01\]' \
  "$EVCS" find project --order-by name --after "$CURSOR"
expect 3 'invalid cursor.*\[invalid_argument EVK01\]' "$EVCS" find project --after "x${CURSOR}"
expect 3 'give offset or after' "$EVCS" find project --order-by -name,budget --after "$CURSOR" --offset 1
expect 2 'evcs find: give one ENTITY_TYPE' "$EVCS" find
# --include: each relation's versions as a table after the entities', led by their entity's id
"$FIXTURE" type task 'title=text' 'project_id=@project' || exit 1
TASK=5eb1a7c3-9d2e-4f60-8a41-c0ffee000001
"$FIXTURE" write main ivy "a task of the tunnel" task \
  "[{\"op\": \"create\", \"id\": \"$TASK\", \"values\": {\"title\": \"dig\", \"project_id\": \"$TUNNEL\"}}]" || exit 1
expect 0 '^tasks \(task\):$' "$EVCS" find project --where "{\"head_id\": \"$TUNNEL\"}" --include tasks
expect 0 '^OF +HEAD_ID +VERSION +VALID_FROM +AUTHOR +title +project_id$' \
  "$EVCS" find project --where "{\"head_id\": \"$TUNNEL\"}" --include tasks
expect 0 "^$TUNNEL +$TASK +1 +[0-9-]+ [0-9:.+]+ +ivy +dig +$TUNNEL\$" \
  "$EVCS" find project --where "{\"head_id\": \"$TUNNEL\"}" --include tasks
expect 0 "^$TASK +1 " "$EVCS" find task --where "{\"project.head_id\": \"$TUNNEL\"}"
expect 0 '"included": \{' "$EVCS" find task --include project --json
expect 3 "entity type 'project' has no relation 'owner' \\(relations: task.project_id\\) \\[invalid_argument\\]" \
  "$EVCS" find project --include owner
expect 2 "evcs find: --where needs a JSON object, not 'nope'" "$EVCS" find project --where nope

# archive: read-only for good
expect_exact 0 'archived branch feature' "$EVCS" branch archive feature
expect 3 "branch 'feature' is archived: archived branches stay read-only \[invalid_argument\]" "$EVCS" branch unlock feature
expect 3 'main cannot be archived \[invalid_argument\]' "$EVCS" branch archive main
expect 0 '^feature +main +snapshot +archived ' "$EVCS" branch list

# a merge whose result breaks a unique key: the violation is a conflict, printed in words
export DATABASE_URL="$(db cli_violations)"
"$FIXTURE" type plain n=int || exit 1
psql -qAt "$DATABASE_URL" -c "SELECT evcs_create_entity_type('person', '[{\"name\": \"email\", \"type\": \"text\"}]', '{\"unique\": [[\"email\"]]}')" >/dev/null || exit 1
OURS=44444444-4444-4444-4444-444444444444
THEIRS=55555555-5555-5555-5555-555555555555
"$EVCS" branch create b >/dev/null || exit 1
"$FIXTURE" write b bob "new@x on b" person "[{\"op\": \"create\", \"id\": \"$THEIRS\", \"values\": {\"email\": \"new@x\"}}]" || exit 1
"$FIXTURE" write main alice "new@x on main" person "[{\"op\": \"create\", \"id\": \"$OURS\", \"values\": {\"email\": \"new@x\"}}]" || exit 1
expect_exact 4 "TYPE    HEAD_ID                               FIELD  BASE  OURS (main)  THEIRS (b)  RESOLUTION
person  $THEIRS  email  null  null         new@x       -
violations (settle with FIELD, any field of the entity, or deleted):
  person $THEIRS: unique (email): person $OURS holds the same key" "$EVCS" merge b --strategy theirs
expect 4 '"kind": "unique"' "$EVCS" merge b --json
expect 0 "^  person $THEIRS: unique \(email\): person $OURS holds the same key$" "$EVCS" merge b --stage
expect 4 "^  person $THEIRS: unique \(email\): person $OURS holds the same key$" "$EVCS" merge --status
expect 0 "1 conflict\(s\), 0 unresolved" "$EVCS" merge --resolve "person:$THEIRS:email=value:\"other@x\""
expect 0 "^merged b into main: wrote 1 entity \(1 added\)" "$EVCS" merge --continue

echo "$((CHECKS - FAILURES)) of $CHECKS checks passed"
[ "$FAILURES" -eq 0 ]
