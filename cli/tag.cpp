// `evcs tag`: names for commits (Session::tag, tags, delete_tag).
#include "arguments.hpp"
#include "commands.hpp"
#include "merging.hpp"
#include "table.hpp"

#include "evcs/evcs.hpp"

#include <cstdio>

namespace evcs::cli {

namespace {

const char *const tag_usage =
    "usage: evcs tag NAME [COMMIT] [--message TEXT] [--author NAME]\n"
    "       evcs tag [--list] [--json]\n"
    "       evcs tag --delete NAME\n"
    "\n"
    "Tags name commits: anything that takes a commit takes a tag (evcs diff --from, revert,\n"
    "cherry-pick, tag). A tag does not move: delete it and tag again to point it elsewhere.\n"
    "\n"
    "commands:\n"
    "  NAME [COMMIT]       tag COMMIT (an id or a unique prefix of at least 4 hex digits, a tag,\n"
    "                      or a branch: its head; default: the head of main) as NAME: up to 63\n"
    "                      letters, digits, '_', '.' and '-', not starting with '.' or '-'\n"
    "  --list              (the default) the tags: name, commit, its branch, created, creator,\n"
    "                      message\n"
    "  --delete NAME       delete the tag NAME (the commit stays)\n"
    "\n"
    "options:\n"
    "  --message TEXT      the tag's message\n"
    "  --author NAME       recorded as the tag's creator\n"
    "  --json              list: print the tags as a JSON array of {name, commit, message,\n"
    "                      created_at, created_by}\n"
    "\n"
    "The database is DATABASE_URL, or the embedded default server when it is unset.\n"
    "exit codes: 0 ok, 2 usage error, 3 database error (e.g. [invalid_argument] for a tag that\n"
    "exists, [not_found] for an unknown commit or tag)\n";

} // namespace

int run_tag(const std::vector<std::string> &arguments) {
  if (wants_help(arguments)) {
    std::fputs(tag_usage, stdout);
    return exit_ok;
  }
  auto parsed = parse_arguments(arguments, {"--message", "--author", "--delete"},
                                {"--list", "--json"}, tag_usage);
  bool list = parsed.has("--list") || (parsed.positional.empty() && !parsed.value("--delete"));
  bool remove = parsed.value("--delete").has_value();
  if (list && remove) throw UsageError("--list and --delete exclude each other", tag_usage);
  if ((list || remove) && !parsed.positional.empty())
    throw UsageError(std::string(list ? "--list" : "--delete NAME") + " takes no other arguments",
                     tag_usage);
  if ((list || remove) && (parsed.value("--message") || parsed.value("--author")))
    throw UsageError("--message and --author apply to creating a tag", tag_usage);
  if (!list && parsed.has("--json")) throw UsageError("--json applies to --list only", tag_usage);
  if (!list && !remove && parsed.positional.size() > 2)
    throw UsageError("give the tag NAME and optionally the COMMIT", tag_usage);

  Engine engine;
  auto session = engine.session("main", parsed.value("--author").value_or(""));
  if (list) {
    auto tags = session.tags();
    if (parsed.has("--json")) {
      nlohmann::json output = nlohmann::json::array();
      for (const auto &tag : tags) output.push_back(tag.to_json());
      std::printf("%s\n", output.dump(2).c_str());
      return exit_ok;
    }
    Table table({"NAME", "COMMIT", "BRANCH", "CREATED", "CREATED BY", "MESSAGE"});
    for (const auto &tag : tags)
      table.add({tag.name, short_id(tag.commit), session.commit_info(tag.commit).branch,
                 instant_text(tag.created_at), or_dash(tag.created_by), or_dash(tag.message)});
    table.print(stdout);
    return exit_ok;
  }
  if (remove) {
    std::string name = *parsed.value("--delete");
    session.delete_tag(name);
    session.commit();
    std::printf("deleted tag %s\n", name.c_str());
    return exit_ok;
  }
  const std::string &name = parsed.positional[0];
  std::string commit = parsed.positional.size() == 2 ? parsed.positional[1] : "";
  TagInfo tag = session.tag(name, commit, parsed.value("--message").value_or(""));
  session.commit();
  CommitInfo tagged = session.commit_info(tag.commit);
  std::printf("tagged %s (%s: %s) as %s\n", short_id(tag.commit).c_str(), tagged.branch.c_str(),
              or_dash(tagged.message).c_str(), tag.name.c_str());
  return exit_ok;
}

} // namespace evcs::cli
