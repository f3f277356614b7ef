// `evcs find`: the state of the entities of one type, filtered and ordered, a page at a time
// (keyset pagination: the last line names the cursor of the next page).
#include "arguments.hpp"
#include "commands.hpp"
#include "table.hpp"

#include "evcs/evcs.hpp"

#include <cstdio>

namespace evcs::cli {

namespace {

const char *const find_usage =
    "usage: evcs find ENTITY_TYPE [--where JSON] [--order-by FIELDS] [--limit N]\n"
    "                 [--after CURSOR | --offset N] [--as-of INSTANT|REF] [--branch NAME]\n"
    "                 [--include RELATIONS] [--json]\n"
    "\n"
    "The entities of ENTITY_TYPE as of now (or --as-of), one row each: head id, version, stamp,\n"
    "author and fields. With --limit, one page: when more rows follow, the last line is\n"
    "  next page: --after CURSOR\n"
    "and the same command with --after CURSOR prints the next page. The first page pins an\n"
    "instant (its --as-of, else the latest commit when it was read): every later page reads as\n"
    "of it on the same branch, so a walk while others commit lists every entity once, as it was\n"
    "then. A cursor only continues the query it came from (same --where, --order-by, --branch).\n"
    "\n"
    "options:\n"
    "  --where JSON        a filter, e.g. '{\"status\": \"active\"}' or\n"
    "                      '{\"budget\": {\"gt\": 100}}'\n"
    "  --order-by FIELDS   comma-separated field names, \"-field\" descending (then head_id)\n"
    "  --limit N           at most N rows: one page\n"
    "  --after CURSOR      the page after the one that printed CURSOR\n"
    "  --offset N          skip N rows first (not with --after)\n"
    "  --as-of INSTANT|REF the state at an instant (YYYY-MM-DD[ HH:MM[:SS[.ffffff]]][Z|+HH:MM])\n"
    "                      or at a commit (an id, a unique prefix, a tag or a branch)\n"
    "  --branch NAME       the branch to read (default main)\n"
    "  --include RELATIONS comma-separated relations to load as of the same instant, each\n"
    "                      printed as a table after the entities' (its rows led by the id of\n"
    "                      the entity they belong to): a referencing field (\"project_id\" or\n"
    "                      \"project\") or a referring type (\"task\", \"tasks\", \"task.project_id\")\n"
    "  --json              {\"versions\": [...], \"cursor\": CURSOR or null}, each version's\n"
    "                      \"included\" holding its relations' versions\n"
    "\n"
    "The database is DATABASE_URL, or the embedded default server when it is unset.\n"
    "exit codes: 0 ok, 2 usage error, 3 database error (e.g. [invalid_argument EVK01] for a\n"
    "cursor of another query)\n";

std::vector<std::string> comma_separated(const std::string &text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  for (;;) {
    std::size_t comma = text.find(',', start);
    items.push_back(text.substr(start, comma - start));
    if (comma == std::string::npos) return items;
    start = comma + 1;
  }
}

FindOptions find_options(const ParsedArguments &parsed) {
  FindOptions options;
  if (auto where = parsed.value("--where")) {
    options.where = nlohmann::json::parse(*where, nullptr, false);
    if (options.where.is_discarded())
      throw UsageError("--where needs a JSON object, not '" + *where + "'", find_usage);
  }
  if (auto order = parsed.value("--order-by")) options.order_by = comma_separated(*order);
  if (auto include = parsed.value("--include")) options.include = comma_separated(*include);
  if (auto limit = parsed.value("--limit"))
    options.limit = parse_count("--limit", *limit, find_usage);
  if (auto offset = parsed.value("--offset"))
    options.offset = parse_count("--offset", *offset, find_usage);
  options.after = parsed.value("--after");
  options.branch = parsed.value("--branch");
  if (auto as_of = parsed.value("--as-of")) {
    if (looks_like_instant(*as_of)) options.as_of = parse_instant(*as_of, find_usage);
    else options.as_of_commit = *as_of;
  }
  return options;
}

// The versions as a table: head id, version, stamp, author and `fields`, after the columns
// `leading` gives each version.
template <typename Leading>
void print_versions(const std::vector<std::string> &leading_header,
                    const std::vector<std::string> &fields,
                    const std::vector<std::pair<const Version *, const Version *>> &rows,
                    Leading leading) {
  std::vector<std::string> header = leading_header;
  for (const char *column : {"HEAD_ID", "VERSION", "VALID_FROM", "AUTHOR"}) header.push_back(column);
  header.insert(header.end(), fields.begin(), fields.end());
  Table table(header);
  for (const auto &[owner, version] : rows) {
    std::vector<std::string> row = leading(owner);
    for (std::string cell : {version->head_id, std::to_string(version->version),
                             instant_text(version->valid_from), or_dash(version->author)})
      row.push_back(std::move(cell));
    for (const auto &field : fields) row.push_back(value_text(version->fields.at(field)));
    table.add(std::move(row));
  }
  table.print(stdout);
}

std::vector<std::string> field_names(const Repository &repository) {
  std::vector<std::string> names;
  for (const auto &field : repository.fields()) names.push_back(field.name);
  return names;
}

void print_page(Session &session, const Repository &repository, const FindOptions &options,
                const VersionPage &page) {
  std::vector<std::pair<const Version *, const Version *>> rows;
  for (const auto &version : page.versions) rows.emplace_back(nullptr, &version);
  print_versions({}, field_names(repository), rows,
                 [](const Version *) { return std::vector<std::string>{}; });
  for (const auto &name : options.include) {
    std::vector<std::pair<const Version *, const Version *>> related_rows;
    std::string entity_type;
    for (const auto &version : page.versions) {
      const IncludedRelation *relation = version.relation(name);
      entity_type = relation->entity_type;
      for (const auto &related : relation->versions) related_rows.emplace_back(&version, &related);
    }
    if (page.versions.empty()) continue;
    std::printf("\n%s (%s):\n", name.c_str(), entity_type.c_str());
    print_versions({"OF"}, field_names(session.repository(entity_type)), related_rows,
                   [](const Version *owner) { return std::vector<std::string>{owner->head_id}; });
  }
  if (page.cursor) std::printf("next page: --after %s\n", page.cursor->c_str());
}

} // namespace

int run_find(const std::vector<std::string> &arguments) {
  if (wants_help(arguments)) {
    std::fputs(find_usage, stdout);
    return exit_ok;
  }
  auto parsed = parse_arguments(
      arguments,
      {"--where", "--order-by", "--limit", "--after", "--offset", "--as-of", "--branch", "--include"},
      {"--json"}, find_usage);
  if (parsed.positional.size() != 1) throw UsageError("give one ENTITY_TYPE", find_usage);
  FindOptions options = find_options(parsed);
  Engine engine;
  auto session = engine.session();
  auto repository = session.repository(parsed.positional[0]);
  VersionPage page = repository.find_page(options);
  if (parsed.has("--json")) {
    std::printf("%s\n", nlohmann::json::parse(page.to_json_text()).dump(2).c_str());
    return exit_ok;
  }
  print_page(session, repository, options, page);
  return exit_ok;
}

} // namespace evcs::cli
