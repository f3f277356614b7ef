// Test support: the versions a database holds of one entity, read with libpqxx straight from the
// version table, as an auditor would: nothing of evcs is used to write or read them, so a test
// can check what the engine stored independently of how the engine reads it back.
#pragma once

#include <pqxx/pqxx>

#include <optional>
#include <string>
#include <vector>

namespace evcs_test {

struct StoredVersion {
  std::string branch;
  int version = 0;
  bool deleted = false;
  bool open = false;  // valid_to IS NULL: the branch's current version
  std::optional<std::string> merged_from;
  // The version's fields as the server's text, in the order asked for (nullopt for NULL).
  std::vector<std::optional<std::string>> fields;
};

// Every version of entity `head_id` of type `type` on every branch, by branch then valid_from.
// `fields` names the columns to read (trusted test input, quoted as identifiers).
inline std::vector<StoredVersion> stored_versions(const std::string &conninfo,
                                                  const std::string &type,
                                                  const std::string &head_id,
                                                  const std::vector<std::string> &fields) {
  pqxx::connection connection(conninfo);
  pqxx::read_transaction transaction(connection);
  std::string sql = "SELECT branch, version, deleted, valid_to IS NULL, merged_from";
  for (const auto &field : fields) sql += ", " + transaction.quote_name(field) + "::text";
  sql += " FROM " + transaction.quote_name(type + "_version") +
         " WHERE head_id = $1 ORDER BY branch, valid_from";
  std::vector<StoredVersion> versions;
  for (const auto &row : transaction.exec_params(sql, head_id)) {
    StoredVersion stored;
    stored.branch = row[0].as<std::string>();
    stored.version = row[1].as<int>();
    stored.deleted = row[2].as<bool>();
    stored.open = row[3].as<bool>();
    if (!row[4].is_null()) stored.merged_from = row[4].as<std::string>();
    for (std::size_t field = 0; field < fields.size(); ++field) {
      const auto cell = row[static_cast<pqxx::row::size_type>(5 + field)];
      stored.fields.push_back(cell.is_null() ? std::nullopt
                                             : std::optional<std::string>(cell.as<std::string>()));
    }
    versions.push_back(std::move(stored));
  }
  return versions;
}

} // namespace evcs_test
