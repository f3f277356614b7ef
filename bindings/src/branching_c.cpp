// Branches, diff and merge through the C ABI. Results cross as JSON text.
#include "capi_internal.hpp"

using namespace evcs::capi;
using json = nlohmann::json;

namespace {

json optional_json(const std::optional<std::string> &value) {
  return value ? json(*value) : json(nullptr);
}

json optional_json(const std::optional<std::int64_t> &value) {
  return value ? json(*value) : json(nullptr);
}

json branch_json(const evcs::BranchInfo &branch) {
  return {{"name", branch.name},
          {"parent", optional_json(branch.parent)},
          {"mode", branch.mode},
          {"fork_stamp", optional_json(branch.fork_stamp)},
          {"status", branch.status},
          {"created_at", branch.created_at},
          {"created_by", branch.created_by},
          {"head", optional_json(branch.head)},
          {"base", optional_json(branch.base)},
          {"base_stamp", optional_json(branch.base_stamp)}};
}

std::optional<std::string> optional_name(const char *name, const char *what) {
  if (name == nullptr) return std::nullopt;
  return text_argument(name, what);
}

evcs::Session &prepare(char **out, evcs_session *session) {
  deref(out, "out");
  *out = nullptr;
  return deref(session, "session").session;
}

// NULL, "null" or an object with the keys of evcs::CommitLogOptions.
evcs::CommitLogOptions commit_log_options_argument(const char *text) {
  evcs::CommitLogOptions options;
  if (text == nullptr) return options;
  json given = json_argument(text, "the commit log options JSON");
  if (given.is_null()) return options;
  const char *known = "branch, entity_type, head_id, limit";
  if (!given.is_object())
    throw evcs::InvalidArgument(std::string("the commit log options JSON must be an object with "
                                            "any of ") + known);
  for (const auto &[key, value] : given.items()) {
    if (value.is_null()) continue;
    if (key == "limit") {
      if (!value.is_number_integer())
        throw evcs::InvalidArgument("the commit log option \"limit\" must be an integer, not " +
                                    value.dump());
      options.limit = value.get<std::int64_t>();
      continue;
    }
    std::optional<std::string> *target = key == "branch"        ? &options.branch
                                         : key == "entity_type" ? &options.entity_type
                                         : key == "head_id"     ? &options.head_id
                                                                : nullptr;
    if (target == nullptr)
      throw evcs::InvalidArgument("unknown commit log option \"" + key + "\" (known: " + known +
                                  ")");
    if (!value.is_string())
      throw evcs::InvalidArgument("the commit log option \"" + key + "\" must be a string, not " +
                                  value.dump());
    *target = value.get<std::string>();
  }
  return options;
}

// NULL, "null" or an object with the keys of evcs::MergeOptions (the core parses it).
evcs::MergeOptions merge_options_argument(const char *text) {
  if (text == nullptr) return {};
  return evcs::MergeOptions::from_json(json_argument(text, "the merge options JSON"));
}

// An array of resolutions, parsed by the core's rule for the "resolutions" merge option.
std::vector<evcs::ConflictResolution> resolutions_argument(const char *text) {
  json given = json_argument(text, "the resolutions JSON");
  if (!given.is_array())
    throw evcs::InvalidArgument("the resolutions JSON must be an array of {\"entity_type\", "
                                "\"head_id\", \"field\", \"take\", \"value\"} objects, not " +
                                given.dump());
  return evcs::MergeOptions::from_json({{"resolutions", std::move(given)}}).resolutions;
}

// A point in history: JSON text of a string (a commit ref) or an integer (an instant).
evcs::HistoryPoint history_point_argument(const char *text, const char *what) {
  return evcs::HistoryPoint::from_json(json_argument(text, what));
}

char *merge_result_out(const evcs::MergeResult &result) {
  return copy_out(result.to_json().dump());
}

} // namespace

extern "C" {

int evcs_session_create_branch(evcs_session *session, const char *name, const char *from_branch,
                               const char *mode) {
  return evcs_session_create_branch_as_of(session, name, from_branch, mode, nullptr);
}

int evcs_session_create_branch_as_of(evcs_session *session, const char *name,
                                     const char *from_branch, const char *mode,
                                     const int64_t *as_of) {
  return guarded([&] {
    evcs::Session &target = deref(session, "session").session;
    target.create_branch(text_argument(name, "the branch name"),
                         optional_text(from_branch, "the parent branch name", "main"),
                         optional_text(mode, "the branch mode", "snapshot"), optional_int(as_of));
  });
}

int evcs_session_branches(char **out_json, evcs_session *session) {
  return guarded([&] {
    evcs::Session &target = prepare(out_json, session);
    json branches = json::array();
    for (const auto &branch : target.branches()) branches.push_back(branch_json(branch));
    *out_json = copy_out(branches.dump());
  });
}

int evcs_session_lock_branch(evcs_session *session, const char *name) {
  return guarded([&] {
    deref(session, "session").session.lock_branch(text_argument(name, "the branch name"));
  });
}

int evcs_session_unlock_branch(evcs_session *session, const char *name) {
  return guarded([&] {
    deref(session, "session").session.unlock_branch(text_argument(name, "the branch name"));
  });
}

int evcs_session_archive_branch(evcs_session *session, const char *name) {
  return guarded([&] {
    deref(session, "session").session.archive_branch(text_argument(name, "the branch name"));
  });
}

int evcs_session_diff(char **out_json, evcs_session *session, const char *source,
                      const char *target, const int64_t *as_of) {
  return guarded([&] {
    evcs::Session &owner = prepare(out_json, session);
    json entities = json::array();
    for (const auto &entity :
         owner.diff(text_argument(source, "the source branch name"),
                    optional_text(target, "the target branch name", "main"), optional_int(as_of)))
      entities.push_back(entity.to_json());
    *out_json = copy_out(entities.dump());
  });
}

int evcs_session_merge(char **out_json, evcs_session *session, const char *source,
                       const char *into, const char *strategy) {
  return evcs_session_merge_with_message(out_json, session, source, into, strategy, nullptr);
}

int evcs_session_merge_with_message(char **out_json, evcs_session *session, const char *source,
                                    const char *into, const char *strategy,
                                    const char *message) {
  return guarded([&] {
    evcs::Session &owner = prepare(out_json, session);
    evcs::MergeResult result = owner.merge(text_argument(source, "the source branch name"),
                                           optional_name(into, "the target branch name"),
                                           optional_text(strategy, "the merge strategy", "fail"),
                                           optional_text(message, "the commit message", ""));
    *out_json = copy_out(result.to_json().dump());
  });
}

int evcs_session_merge_preview(char **out_json, evcs_session *session, const char *source,
                               const char *into) {
  return evcs_session_merge_preview_with_strategy(out_json, session, source, into, nullptr);
}

int evcs_session_merge_preview_with_strategy(char **out_json, evcs_session *session,
                                             const char *source, const char *into,
                                             const char *strategy) {
  return guarded([&] {
    evcs::Session &owner = prepare(out_json, session);
    evcs::MergeResult result =
        owner.merge_preview(text_argument(source, "the source branch name"),
                            optional_name(into, "the target branch name"),
                            optional_text(strategy, "the merge strategy", "fail"));
    *out_json = copy_out(result.to_json().dump());
  });
}

int evcs_session_merge_with_options(char **out_json, evcs_session *session, const char *source,
                                    const char *options_json) {
  return guarded([&] {
    evcs::Session &owner = prepare(out_json, session);
    std::string source_branch = text_argument(source, "the source branch name");
    *out_json = merge_result_out(owner.merge(source_branch, merge_options_argument(options_json)));
  });
}

int evcs_session_merge_preview_with_options(char **out_json, evcs_session *session,
                                            const char *source, const char *options_json) {
  return guarded([&] {
    evcs::Session &owner = prepare(out_json, session);
    std::string source_branch = text_argument(source, "the source branch name");
    *out_json =
        merge_result_out(owner.merge_preview(source_branch, merge_options_argument(options_json)));
  });
}

int evcs_session_merge_start(char **out_json, evcs_session *session, const char *source,
                             const char *options_json) {
  return guarded([&] {
    evcs::Session &owner = prepare(out_json, session);
    std::string source_branch = text_argument(source, "the source branch name");
    *out_json =
        merge_result_out(owner.merge_start(source_branch, merge_options_argument(options_json)));
  });
}

int evcs_session_merge_status(char **out_json, evcs_session *session, const char *target) {
  return guarded([&] {
    evcs::Session &owner = prepare(out_json, session);
    *out_json = merge_result_out(owner.merge_status(optional_name(target, "the target branch name")));
  });
}

int evcs_session_merge_resolve(char **out_json, evcs_session *session,
                               const char *resolutions_json, const char *target) {
  return guarded([&] {
    evcs::Session &owner = prepare(out_json, session);
    std::vector<evcs::ConflictResolution> resolutions = resolutions_argument(resolutions_json);
    *out_json = merge_result_out(
        owner.merge_resolve(resolutions, optional_name(target, "the target branch name")));
  });
}

int evcs_session_merge_continue(char **out_json, evcs_session *session, const char *target,
                                const char *message) {
  return guarded([&] {
    evcs::Session &owner = prepare(out_json, session);
    std::optional<std::string> into = optional_name(target, "the target branch name");
    *out_json = merge_result_out(
        owner.merge_continue(into, optional_text(message, "the commit message", "")));
  });
}

int evcs_session_merge_abort(evcs_session *session, const char *target) {
  return guarded([&] {
    deref(session, "session").session.merge_abort(optional_name(target, "the target branch name"));
  });
}

int evcs_session_commit_info(char **out_json, evcs_session *session, const char *ref) {
  return guarded([&] {
    evcs::Session &owner = prepare(out_json, session);
    *out_json = copy_out(owner.commit_info(text_argument(ref, "the commit")).to_json().dump());
  });
}

int evcs_session_merge_base(char **out_json, evcs_session *session, const char *first,
                            const char *second) {
  return guarded([&] {
    evcs::Session &owner = prepare(out_json, session);
    std::string one = text_argument(first, "the first commit");
    std::string other = text_argument(second, "the second commit");
    std::optional<evcs::CommitInfo> base = owner.merge_base(one, other);
    *out_json = copy_out(base ? base->to_json().dump() : "null");
  });
}

int evcs_session_tag(char **out_json, evcs_session *session, const char *name, const char *commit,
                     const char *message) {
  return guarded([&] {
    evcs::Session &owner = prepare(out_json, session);
    std::string tag_name = text_argument(name, "the tag name");
    std::string tagged = optional_text(commit, "the commit", "");
    std::string text = optional_text(message, "the tag message", "");
    *out_json = copy_out(owner.tag(tag_name, tagged, text).to_json().dump());
  });
}

int evcs_session_tags(char **out_json, evcs_session *session) {
  return guarded([&] {
    evcs::Session &owner = prepare(out_json, session);
    json tags = json::array();
    for (const auto &tag : owner.tags()) tags.push_back(tag.to_json());
    *out_json = copy_out(tags.dump());
  });
}

int evcs_session_delete_tag(evcs_session *session, const char *name) {
  return guarded([&] {
    deref(session, "session").session.delete_tag(text_argument(name, "the tag name"));
  });
}

int evcs_session_revert_commit(char **out_json, evcs_session *session, const char *ref,
                               const char *options_json) {
  return guarded([&] {
    evcs::Session &owner = prepare(out_json, session);
    std::string commit = text_argument(ref, "the commit");
    *out_json = merge_result_out(owner.revert_commit(commit, merge_options_argument(options_json)));
  });
}

int evcs_session_cherry_pick(char **out_json, evcs_session *session, const char *ref,
                             const char *options_json) {
  return guarded([&] {
    evcs::Session &owner = prepare(out_json, session);
    std::string commit = text_argument(ref, "the commit");
    *out_json = merge_result_out(owner.cherry_pick(commit, merge_options_argument(options_json)));
  });
}

int evcs_session_diff_history(char **out_json, evcs_session *session, const char *from_json,
                              const char *to_json, const char *branch) {
  return guarded([&] {
    evcs::Session &owner = prepare(out_json, session);
    evcs::HistoryPoint from = history_point_argument(from_json, "the \"from\" point JSON");
    evcs::HistoryPoint to = history_point_argument(to_json, "the \"to\" point JSON");
    json entities = json::array();
    for (const auto &entity :
         owner.diff_history(from, to, optional_name(branch, "the branch name")))
      entities.push_back(entity.to_json());
    *out_json = copy_out(entities.dump());
  });
}

int evcs_session_commit_log(char **out_json, evcs_session *session, const char *options_json) {
  return guarded([&] {
    evcs::Session &target = prepare(out_json, session);
    json commits = json::array();
    for (const auto &commit : target.commit_log(commit_log_options_argument(options_json)))
      commits.push_back(commit.to_json());
    *out_json = copy_out(commits.dump());
  });
}

} // extern "C"
