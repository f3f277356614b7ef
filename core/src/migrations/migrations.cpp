#include "evcs/migrations.hpp"

#include "catalog/entity_type.hpp"
#include "db/engine_state.hpp"
#include "evcs/engine.hpp"
#include "evcs/error.hpp"
#include "evcs/session.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

namespace fs = std::filesystem;

namespace evcs {

using detail::quote_literal;

// ---- SQL text ---------------------------------------------------------------------------------

namespace {

bool is_identifier_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

// The dollar-quote tag starting at `at` ("$$" or "$name$"), or "" when `at` starts none
// ($1 is a parameter; a "$" inside an identifier belongs to it).
std::string dollar_tag_at(const std::string &sql, std::size_t at) {
  if (at > 0 && is_identifier_char(sql[at - 1])) return "";
  std::size_t end = at + 1;
  if (end < sql.size() && std::isdigit(static_cast<unsigned char>(sql[end])) != 0) return "";
  while (end < sql.size() && sql[end] != '$' && is_identifier_char(sql[end])) ++end;
  if (end >= sql.size() || sql[end] != '$') return "";
  return sql.substr(at, end - at + 1);
}

} // namespace

std::vector<SqlStatement> split_sql_statements(const std::string &sql, const std::string &source) {
  std::vector<SqlStatement> statements;
  std::size_t at = 0;
  int line = 1;
  auto unterminated = [&](const char *what, int opened_line) {
    throw MigrationError(source + ":" + std::to_string(opened_line) + ": unterminated " + what +
                         " (it opens here and never closes): close it, or check for a stray "
                         "quote above");
  };
  // Advances past a -- or /* */ comment at `at`, counting lines; false if none starts there.
  auto skip_comment = [&]() {
    if (sql.compare(at, 2, "--") == 0) {
      while (at < sql.size() && sql[at] != '\n') ++at;
      return true;
    }
    if (sql.compare(at, 2, "/*") != 0) return false;
    int opened = line;
    int depth = 0;
    while (at < sql.size()) {
      if (sql.compare(at, 2, "/*") == 0) {
        ++depth;
        at += 2;
      } else if (sql.compare(at, 2, "*/") == 0) {
        at += 2;
        if (--depth == 0) return true;
      } else {
        if (sql[at] == '\n') ++line;
        ++at;
      }
    }
    unterminated("/* comment", opened);
    return true;
  };
  while (true) {
    // Between statements: whitespace, comments and empty statements.
    while (at < sql.size()) {
      if (sql[at] == '\n') ++line;
      if (std::isspace(static_cast<unsigned char>(sql[at])) != 0 || sql[at] == ';') ++at;
      else if (!skip_comment()) break;
    }
    if (at >= sql.size()) break;
    std::size_t start = at;
    int start_line = line;
    while (at < sql.size() && sql[at] != ';') {
      char c = sql[at];
      if (skip_comment()) continue;
      if (c == '\'' || c == '"') {
        // E'...' takes backslash escapes; '' and "" are the quote itself in every form.
        bool backslashes = c == '\'' && at > 0 && (sql[at - 1] == 'E' || sql[at - 1] == 'e') &&
                           (at < 2 || !is_identifier_char(sql[at - 2]));
        int opened = line;
        ++at;
        while (true) {
          if (at >= sql.size()) unterminated(c == '"' ? "quoted identifier" : "string", opened);
          if (sql[at] == '\n') ++line;
          if (backslashes && sql[at] == '\\') {
            at += 2;
            continue;
          }
          if (sql[at] == c) {
            if (at + 1 < sql.size() && sql[at + 1] == c) {
              at += 2;
              continue;
            }
            ++at;
            break;
          }
          ++at;
        }
        continue;
      }
      if (c == '$') {
        std::string tag = dollar_tag_at(sql, at);
        if (!tag.empty()) {
          std::size_t close = sql.find(tag, at + tag.size());
          if (close == std::string::npos) unterminated(("dollar-quoted body " + tag).c_str(), line);
          line += static_cast<int>(std::count(sql.begin() + static_cast<std::ptrdiff_t>(at),
                                              sql.begin() + static_cast<std::ptrdiff_t>(close),
                                              '\n'));
          at = close + tag.size();
          continue;
        }
      }
      if (c == '\n') ++line;
      ++at;
    }
    std::size_t end = at;
    while (end > start && std::isspace(static_cast<unsigned char>(sql[end - 1])) != 0) --end;
    statements.push_back({sql.substr(start, end - start), start_line});
  }
  return statements;
}

int line_of_position(const SqlStatement &statement, int position) {
  int line = statement.line;
  int characters = 0;
  for (char c : statement.text) {
    // The server counts characters, not bytes: count UTF-8 lead bytes only.
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80 && ++characters >= position) break;
    if (c == '\n') ++line;
  }
  return line;
}

// ---- the directory ----------------------------------------------------------------------------

std::string MigrationStep::name() const {
  char number[16];
  std::snprintf(number, sizeof number, "%04d", version);
  return std::string(number) + "_" + slug;
}

namespace {

// A step file, parsed: its directives and statements.
struct StepFile {
  std::string path;
  bool transactional = true;
  bool batch = false;
  std::vector<SqlStatement> statements;
  // Each statement runs in the step's transaction (else autocommit, one by one).
  bool runs_in_transaction() const { return transactional && !batch; }
};

std::string read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw MigrationError("cannot read " + path + ": check that it exists and is readable");
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

// SHA-256 (FIPS 180-4) of `data` as lowercase hex. Self-contained so that checksums need no
// crypto library in the engine's (static) link interface.
std::string sha256_hex(const std::string &data) {
  static const std::uint32_t k[64] = {
      0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
      0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
      0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
      0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
      0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
      0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
      0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
      0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
      0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
      0xc67178f2};
  std::uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  auto rotr = [](std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); };
  std::string padded = data;
  padded += static_cast<char>(0x80);
  while (padded.size() % 64 != 56) padded += '\0';
  std::uint64_t bits = static_cast<std::uint64_t>(data.size()) * 8;
  for (int shift = 56; shift >= 0; shift -= 8) padded += static_cast<char>((bits >> shift) & 0xFF);
  for (std::size_t block = 0; block < padded.size(); block += 64) {
    std::uint32_t w[64];
    for (int i = 0; i < 16; ++i) {
      const auto *p = reinterpret_cast<const unsigned char *>(padded.data() + block + 4 * i);
      w[i] = (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) |
             (std::uint32_t(p[2]) << 8) | std::uint32_t(p[3]);
    }
    for (int i = 16; i < 64; ++i) {
      std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6],
                  hh = h[7];
    for (int i = 0; i < 64; ++i) {
      std::uint32_t t1 =
          hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      std::uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      hh = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  char hex[65];
  for (int i = 0; i < 8; ++i) std::snprintf(hex + 8 * i, 9, "%08x", h[i]);
  return std::string(hex, 64);
}

std::string file_name(const std::string &path) { return fs::path(path).filename().string(); }


// The first word of a statement, uppercased.
std::string leading_keyword(const std::string &text) {
  std::string word;
  for (char c : text) {
    if (std::isalpha(static_cast<unsigned char>(c)) == 0) break;
    word += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return word;
}

// `path` names the step in messages: a file, or a compiled-in step's source.
StepFile parse_step(const std::string &path, const std::string &text) {
  StepFile file;
  file.path = path;
  // Directives live in the comment lines before the first statement.
  static const std::regex directive_line(R"(^--\s*evcs:\s*(.*?)\s*$)");
  std::istringstream lines(text);
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string trimmed = line.substr(0, line.size());
    trimmed.erase(0, trimmed.find_first_not_of(" \t"));
    if (trimmed.empty()) continue;
    if (trimmed.compare(0, 2, "--") != 0) break;
    std::smatch match;
    if (!std::regex_match(trimmed, match, directive_line)) continue;
    std::string list = match[1].str();
    std::replace(list.begin(), list.end(), ',', ' ');
    std::istringstream words(list);
    std::string word;
    while (words >> word) {
      if (word == "transactional=false") file.transactional = false;
      else if (word == "transactional=true") file.transactional = true;
      else if (word == "batch") file.batch = true;
      else
        throw MigrationError(path + ":" + std::to_string(number) + ": unknown directive '" +
                             word + "' (known: transactional=false, transactional=true, batch)");
    }
  }
  file.statements = split_sql_statements(text, path);
  if (file.batch && file.statements.size() != 1)
    throw MigrationError(path + ": a batch step must hold exactly one statement (it has " +
                         std::to_string(file.statements.size()) +
                         "); it is repeated until it affects no rows. Move other statements "
                         "into their own step.");
  for (const auto &statement : file.statements) {
    std::string keyword = leading_keyword(statement.text);
    if (keyword == "BEGIN" || keyword == "COMMIT" || keyword == "ROLLBACK" || keyword == "START" ||
        keyword == "END" || keyword == "ABORT")
      throw MigrationError(path + ":" + std::to_string(statement.line) + ": " + keyword +
                           " in a step: the runner manages transactions (one per step, or none "
                           "with '-- evcs: transactional=false'). Remove it.");
  }
  return file;
}

} // namespace

MigrationRunner::MigrationRunner(Engine &engine, std::string directory, MigrationOptions options)
    : engine_(engine.state()), directory_(std::move(directory)), options_(std::move(options)) {
  if (!fs::is_directory(directory_))
    throw MigrationError("migrations directory " + directory_ +
                         " does not exist: create it, or create a first step with "
                         "`evcs migrate new \"message\" --dir " + directory_ + "`");
  static const std::regex step_name(R"(^([0-9]{4,})_([a-z0-9][a-z0-9_]*)\.(up|down)\.sql$)");
  struct Pair {
    std::string slug, up, down;
  };
  std::map<int, Pair> pairs;
  std::vector<fs::path> entries;
  for (const auto &entry : fs::directory_iterator(directory_))
    if (entry.is_regular_file() && entry.path().extension() == ".sql")
      entries.push_back(entry.path());
  std::sort(entries.begin(), entries.end());
  for (const auto &entry : entries) {
    std::string name = entry.filename().string();
    std::smatch match;
    if (!std::regex_match(name, match, step_name))
      throw MigrationError("malformed migration file name " + entry.string() +
                           ": expected NNNN_slug.up.sql or NNNN_slug.down.sql (a number of 4 or "
                           "more digits, a lowercase slug of letters, digits and _). Rename it.");
    int version = std::stoi(match[1].str());
    Pair &pair = pairs[version];
    if (!pair.slug.empty() && pair.slug != match[2].str()) {
      std::string other = (pair.up.empty() ? pair.down : pair.up);
      throw MigrationError("duplicate migration number " + match[1].str() + ": " + other +
                           " and " + entry.string() + ". Renumber one of them.");
    }
    pair.slug = match[2].str();
    (match[3].str() == "up" ? pair.up : pair.down) = entry.string();
  }
  int expected = 1;
  for (const auto &[version, pair] : pairs) {
    std::string present = pair.up.empty() ? pair.down : pair.up;
    if (version != expected)
      throw MigrationError("gap in migration numbering: " + present + " comes after " +
                           (steps_.empty() ? std::string("nothing")
                                           : steps_.back().up_path) +
                           ", but the next number must be " + std::to_string(expected) +
                           ". Renumber the steps consecutively from 0001.");
    if (pair.down.empty())
      throw MigrationError(pair.up + " has no down step: add " +
                           (fs::path(directory_) / (fs::path(pair.up).stem().stem().string() +
                                                    ".down.sql"))
                               .string() +
                           " (it may be empty when the step cannot be undone)");
    if (pair.up.empty())
      throw MigrationError(pair.down + " has no up step: add the matching .up.sql or remove it");
    add_step(version, pair.slug, pair.up, pair.down, {read_file(pair.up), read_file(pair.down)});
    ++expected;
  }
}

void MigrationRunner::add_step(int version, std::string slug, std::string up_path,
                               std::string down_path, StepText text) {
  // Parsed now so that a bad directive or an unterminated quote is reported before any step
  // runs.
  parse_step(up_path, text.up);
  parse_step(down_path, text.down);
  MigrationStep step;
  step.version = version;
  step.slug = std::move(slug);
  step.up_path = std::move(up_path);
  step.down_path = std::move(down_path);
  step.checksum = sha256_hex(text.up);
  steps_.push_back(std::move(step));
  texts_.push_back(std::move(text));
}

const MigrationStep &MigrationRunner::step(int version) const {
  if (version < 1 || version > static_cast<int>(steps_.size()))
    throw NotFound("no migration step " + std::to_string(version) + " in " + directory_ +
                   " (it has " + std::to_string(steps_.size()) + " steps)");
  return steps_[static_cast<std::size_t>(version - 1)];
}

int MigrationRunner::absolute_version(const std::string &target) const {
  static const std::regex number(R"(^[0-9]+(_[a-z0-9_]*)?$)");
  if (target == "head") return static_cast<int>(steps_.size());
  if (target == "base") return 0;
  if (!std::regex_match(target, number))
    throw InvalidArgument("migration target '" + target + "' is not head, base, a version "
                          "(e.g. 3 or 0003), +N or -N");
  int version = std::stoi(target);
  if (version != 0) step(version);
  return version;
}

int MigrationRunner::resolve_version(const std::string &target, int current, bool upward) const {
  int head = static_cast<int>(steps_.size());
  int version = 0;
  static const std::regex relative(R"(^[+-][0-9]+$)");
  if (std::regex_match(target, relative)) {
    if ((target[0] == '+') != upward)
      throw InvalidArgument("relative target " + target + ": use +N with upgrade and -N with "
                            "downgrade");
    version = current + std::stoi(target);
    if (version < 0 || version > head)
      throw InvalidArgument("relative target " + target + " from version " +
                            std::to_string(current) + " is outside 0.." + std::to_string(head));
  } else {
    version = absolute_version(target);
  }
  if (upward && version < current)
    throw InvalidArgument("target " + target + " is below the current version " +
                          std::to_string(current) + ": use downgrade");
  if (!upward && version > current)
    throw InvalidArgument("target " + target + " is above the current version " +
                          std::to_string(current) + ": use upgrade");
  return version;
}

// ---- the record table and the lock ----------------------------------------------------------

namespace {

std::string create_record_table_sql(const std::string &table) {
  return "CREATE TABLE IF NOT EXISTS " + table + " (\n"
         "    version integer PRIMARY KEY CHECK (version > 0),\n"
         "    slug text NOT NULL,\n"
         "    checksum text NOT NULL,\n"
         "    applied_at timestamptz NOT NULL DEFAULT clock_timestamp(),\n"
         "    duration_ms bigint NOT NULL,\n"
         "    applied_by text NOT NULL\n"
         ")";
}

// A session of the runner's own (not tied to a branch or an author).
Session runner_session(const std::shared_ptr<detail::EngineState> &engine) {
  return Session(engine, "main", "");
}

// Where a non-transactional step records its start, so its bookkeeping row can compute the
// duration server-side (the same SQL then serves online and offline).
const char *const mark_step_start_sql =
    "SELECT set_config('evcs.step_started', clock_timestamp()::text, false)";

// Holds the runners' advisory lock for its lifetime: a session-level lock taken outside any
// transaction on a connection the lock's session keeps to itself. Not a transaction-level lock
// in an open transaction: that transaction's snapshot would make CREATE INDEX CONCURRENTLY in a
// step wait for it forever. The connection closing (a crash) releases the lock too.
class RunnerLock {
public:
  RunnerLock(const std::shared_ptr<detail::EngineState> &engine, std::int64_t key)
      : session_(runner_session(engine)), key_(std::to_string(key)) {
    session_.execute_autocommit("SELECT pg_advisory_lock(" + key_ + ")");
  }
  ~RunnerLock() {
    try {
      session_.execute_autocommit("SELECT pg_advisory_unlock(" + key_ + ")");
    } catch (const Error &) {
      // Only a lost connection makes the unlock fail, and the server dropped the lock with it.
    }
    session_.close();
  }
  RunnerLock(const RunnerLock &) = delete;
  RunnerLock &operator=(const RunnerLock &) = delete;

private:
  Session session_;
  std::string key_;
};

} // namespace

std::vector<AppliedMigration> MigrationRunner::read_applied() {
  auto session = runner_session(engine_);
  std::vector<AppliedMigration> applied;
  if (!session.scalar<bool>("SELECT to_regclass($1) IS NOT NULL", Params::of(record_table_))
           .value_or(false))
    return applied;
  Result rows = session.execute("SELECT version, slug, checksum, applied_at, duration_ms, "
                                "applied_by FROM " + std::string(record_table_) +
                                " ORDER BY version");
  session.rollback();
  for (std::int64_t row = 0; row < rows.rows(); ++row)
    applied.push_back({static_cast<int>(rows.get_int64(row, 0)), rows.get_text(row, 1),
                       rows.get_text(row, 2), Timestamp{rows.get_timestamp(row, 3)},
                       rows.get_int64(row, 4), rows.get_text(row, 5)});
  return applied;
}

void MigrationRunner::verify_against(const std::vector<AppliedMigration> &applied) const {
  for (const auto &record : applied) {
    if (record.version > static_cast<int>(steps_.size()))
      throw MigrationError("applied step " + std::to_string(record.version) + "_" + record.slug +
                           " has no file in " + directory_ +
                           ": applied migrations must stay in the directory. Restore the file "
                           "(or downgrade with the directory that still has it).");
    const MigrationStep &file = step(record.version);
    if (file.slug != record.slug)
      throw MigrationError(file.up_path + " is recorded as applied under the name " +
                           record.slug + ": applied migrations are never renamed. Restore the "
                           "original name.");
    if (file.checksum != record.checksum)
      throw MigrationError(file.up_path + " was edited after it was applied (recorded checksum " +
                           record.checksum.substr(0, 12) + "…, file now " +
                           file.checksum.substr(0, 12) +
                           "…). Applied migrations are never edited: restore the file and put "
                           "the change in a new step (`evcs migrate new`).");
  }
}

std::optional<int> MigrationRunner::current() {
  auto applied = read_applied();
  if (applied.empty()) return std::nullopt;
  return applied.back().version;
}

std::vector<AppliedMigration> MigrationRunner::history() { return read_applied(); }

std::vector<MigrationStep> MigrationRunner::pending() {
  auto applied = read_applied();
  std::size_t done = applied.empty() ? 0 : static_cast<std::size_t>(applied.back().version);
  return std::vector<MigrationStep>(steps_.begin() + static_cast<std::ptrdiff_t>(
                                                         std::min(done, steps_.size())),
                                    steps_.end());
}

void MigrationRunner::verify() { verify_against(read_applied()); }

// ---- plans: the SQL a run sends, shared by the online and offline modes ----------------------

namespace {

struct PlannedStep {
  const MigrationStep *step;
  StepFile file;
  // Statements after the step's own, in one transaction: the record row's insert or delete.
  std::vector<std::string> bookkeeping;
  // Found in place (the catalog an earlier evcs created): recorded, not run.
  bool recognised = false;
};

} // namespace

struct MigrationRunner::Plan {
  // The record table's CREATE when it may be missing, else empty.
  std::string create_record_table;
  std::vector<PlannedStep> steps;
};

namespace {

// current_user, and the author (or another note) in parentheses.
std::string applied_by_sql(const std::string &author) {
  return author.empty() ? "current_user" : "current_user || " + quote_literal(" (" + author + ")");
}

// The step's duration as the server measures it when the bookkeeping row is written.
std::string measured_duration_sql(bool transactional) {
  std::string started = transactional ? "transaction_timestamp()"
                                      : "current_setting('evcs.step_started')::timestamptz";
  return "(extract(epoch FROM clock_timestamp() - " + started + ") * 1000)::bigint";
}

std::string record_insert_sql(const std::string &table, const MigrationStep &step,
                              const std::string &duration_ms, const std::string &applied_by) {
  return "INSERT INTO " + table + " (version, slug, checksum, duration_ms, applied_by) VALUES (" +
         std::to_string(step.version) + ", " + quote_literal(step.slug) + ", " +
         quote_literal(step.checksum) + ", " + duration_ms + ", " + applied_by + ")";
}

std::string record_delete_sql(const std::string &table, const MigrationStep &step) {
  return "DELETE FROM " + table + " WHERE version = " + std::to_string(step.version);
}

} // namespace

MigrationRunner::Plan MigrationRunner::plan_upgrade(const std::string &target) {
  auto applied = read_applied();
  verify_against(applied);
  int current = applied.empty() ? 0 : applied.back().version;
  int version = resolve_version(target, current, true);
  Plan plan;
  if (applied.empty()) plan.create_record_table = create_record_table_sql(record_table_);
  if (catalog_ && applied.empty()) {
    auto session = runner_session(engine_);
    int in_place = std::min(catalog_steps_in_place(session), version);
    for (; current < in_place; ++current) {
      const MigrationStep &found = step(current + 1);
      std::string record = record_insert_sql(
          record_table_, found, "0", applied_by_sql("recognised: created by an earlier evcs"));
      StepFile recorded_only;
      recorded_only.path = found.up_path;
      plan.steps.push_back({&found, std::move(recorded_only), {record}, true});
    }
  }
  for (int next = current + 1; next <= version; ++next) {
    const MigrationStep &up = step(next);
    StepFile file = parse_step(up.up_path, texts_[static_cast<std::size_t>(next - 1)].up);
    std::string record =
        record_insert_sql(record_table_, up, measured_duration_sql(file.runs_in_transaction()),
                          applied_by_sql(options_.author));
    plan.steps.push_back({&up, std::move(file), {record}});
  }
  return plan;
}

MigrationRunner::Plan MigrationRunner::plan_downgrade(const std::string &target) {
  auto applied = read_applied();
  verify_against(applied);
  int current = applied.empty() ? 0 : applied.back().version;
  int version = resolve_version(target, current, false);
  Plan plan;
  for (int next = current; next > version; --next) {
    const MigrationStep &down = step(next);
    plan.steps.push_back({&down,
                          parse_step(down.down_path, texts_[static_cast<std::size_t>(next - 1)].down),
                          {record_delete_sql(record_table_, down)}});
  }
  return plan;
}

namespace {

std::string render(const std::vector<PlannedStep> &steps, const std::string &create_record_table) {
  std::string sql;
  if (!create_record_table.empty()) sql += "BEGIN;\n" + create_record_table + ";\nCOMMIT;\n\n";
  for (const auto &planned : steps) {
    const auto &file = planned.file;
    sql += "-- " + file_name(file.path);
    if (planned.recognised)
      sql += " (in place, created by an earlier evcs: recorded, not run)";
    else if (file.batch)
      sql += " (batch: the statement is repeated, committing each run, until it affects no "
             "rows)";
    else if (!file.transactional)
      sql += " (transactional=false)";
    sql += "\n";
    bool transactional = file.runs_in_transaction();
    if (transactional) sql += "BEGIN;\n";
    else sql += std::string(mark_step_start_sql) + ";\n";
    for (const auto &statement : file.statements) sql += statement.text + ";\n";
    if (!transactional) sql += "BEGIN;\n";
    for (const auto &statement : planned.bookkeeping) sql += statement + ";\n";
    sql += "COMMIT;\n\n";
  }
  return sql;
}

[[noreturn]] void fail_step(const StepFile &file, const SqlStatement &statement,
                            const Error &error, bool in_transaction) {
  int line = error.statement_position() > 0
                 ? line_of_position(statement, error.statement_position())
                 : statement.line;
  std::string consequence =
      in_transaction
          ? "The step was rolled back: the database is as it was before it. Fix the file and "
            "run upgrade again."
          : "The step is non-transactional: the statements before this one stayed applied and "
            "the step is not recorded. Fix the cause, make the step safe to re-run (e.g. IF NOT "
            "EXISTS; drop an index left INVALID), and run it again.";
  throw MigrationError(file.path + ":" + std::to_string(line) + ": " + error.what() + ". " +
                           consequence,
                       error.sqlstate());
}

[[noreturn]] void fail_record(const StepFile &file, const std::string &table, const Error &error) {
  throw MigrationError(file.path + ": recording the step in " + table + " failed: " +
                           error.what() + ". Check `evcs migrate history` and the table.",
                       error.sqlstate());
}

} // namespace

std::vector<MigrationStep> MigrationRunner::run(const Plan &plan) {
  std::vector<MigrationStep> done;
  auto session = runner_session(engine_);
  if (!plan.create_record_table.empty()) {
    session.execute(plan.create_record_table);
    session.commit();
  }
  // Statements outside a transaction block (non-transactional steps) are not bounded.
  auto bound_lock_waits = [&] {
    if (!lock_timeout_.empty())
      session.execute("SET LOCAL lock_timeout = " + quote_literal(lock_timeout_));
  };
  for (const auto &planned : plan.steps) {
    const StepFile &file = planned.file;
    bool in_transaction = file.runs_in_transaction();
    if (in_transaction) bound_lock_waits();
    auto execute = [&](const SqlStatement &statement) {
      try {
        return in_transaction ? session.execute(statement.text)
                              : session.execute_autocommit(statement.text);
      } catch (const ConnectionLost &) {
        throw;
      } catch (const Error &error) {
        session.rollback();
        fail_step(file, statement, error, in_transaction);
      }
    };
    if (!in_transaction) session.execute_autocommit(mark_step_start_sql);
    if (file.batch) {
      BatchProgress progress{file.path, 0, 0, 0};
      while (true) {
        std::int64_t rows = execute(file.statements.front()).rows_affected();
        if (rows == 0) break;
        ++progress.batch;
        progress.rows = rows;
        progress.total_rows += rows;
        if (options_.on_batch) options_.on_batch(progress);
      }
    } else {
      for (const auto &statement : file.statements) execute(statement);
    }
    try {
      if (!in_transaction) bound_lock_waits();
      for (const auto &statement : planned.bookkeeping) session.execute(statement);
      session.commit();
    } catch (const ConnectionLost &) {
      throw;
    } catch (const Error &error) {
      session.rollback();
      fail_record(file, record_table_, error);
    }
    done.push_back(*planned.step);
  }
  return done;
}

std::vector<MigrationStep> MigrationRunner::upgrade(const std::string &target) {
  RunnerLock lock(engine_, lock_key_);
  return run(plan_upgrade(target));
}

std::vector<MigrationStep> MigrationRunner::downgrade(const std::string &target) {
  RunnerLock lock(engine_, lock_key_);
  forget_catalog_state();
  return run(plan_downgrade(target));
}

std::string MigrationRunner::upgrade_sql(const std::string &target) {
  Plan plan = plan_upgrade(target);
  return render(plan.steps, plan.create_record_table);
}

std::string MigrationRunner::downgrade_sql(const std::string &target) {
  Plan plan = plan_downgrade(target);
  return render(plan.steps, "");
}

void MigrationRunner::stamp(const std::string &target) {
  int version = absolute_version(target);
  RunnerLock lock(engine_, lock_key_);
  forget_catalog_state();
  auto session = runner_session(engine_);
  session.execute(create_record_table_sql(record_table_));
  session.execute("DELETE FROM " + std::string(record_table_) + " WHERE version > $1",
                  Params::of(version));
  for (int next = 1; next <= version; ++next)
    session.execute(record_insert_sql(record_table_, step(next), "0",
                                      applied_by_sql(options_.author)) +
                    " ON CONFLICT (version) DO NOTHING");
  session.commit();
}

void MigrationRunner::forget_catalog_state() {
  if (catalog_) engine_->catalog_ready = false;
}

namespace {

std::string slug_of(const std::string &message) {
  std::string slug;
  for (char c : message) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0 && static_cast<unsigned char>(c) < 0x80)
      slug += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    else if (!slug.empty() && slug.back() != '_')
      slug += '_';
  }
  while (!slug.empty() && slug.back() == '_') slug.pop_back();
  if (slug.size() > 60) slug.resize(60);
  while (!slug.empty() && slug.back() == '_') slug.pop_back();
  return slug;
}

void write_new_file(const fs::path &path, const std::string &content) {
  if (fs::exists(path)) throw MigrationError(path.string() + " already exists: not overwritten");
  std::ofstream out(path, std::ios::binary);
  out << content;
  if (!out) throw MigrationError("cannot write " + path.string());
}

} // namespace

std::string MigrationRunner::new_step(const std::string &directory, const std::string &message) {
  std::string slug = slug_of(message);
  if (slug.empty())
    throw InvalidArgument("the message '" + message + "' has no letters or digits to make a "
                          "file name from: describe the change, e.g. \"add project budget\"");
  fs::create_directories(directory);
  int next = 1;
  static const std::regex step_name(R"(^([0-9]{4,})_.*\.(up|down)\.sql$)");
  for (const auto &entry : fs::directory_iterator(directory)) {
    std::smatch match;
    std::string name = entry.path().filename().string();
    if (std::regex_match(name, match, step_name)) next = std::max(next, std::stoi(match[1]) + 1);
  }
  char number[16];
  std::snprintf(number, sizeof number, "%04d", next);
  fs::path base = fs::path(directory) / (std::string(number) + "_" + slug);
  fs::path up = base.string() + ".up.sql";
  fs::path down = base.string() + ".down.sql";
  write_new_file(up, "-- " + message + "\n");
  write_new_file(down, "-- Reverts " + std::string(number) + "_" + slug + ".up.sql\n");
  return up.string();
}

} // namespace evcs
