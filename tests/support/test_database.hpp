// Test support: each test suite gets its own fresh database on the server the test run started
// (DATABASE_URL, set by scripts/test). Uses libpq directly so it depends on nothing under test.
#pragma once

#include <libpq-fe.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace evcs_test {

inline std::string server_url() {
  const char *url = std::getenv("DATABASE_URL");
  if (url == nullptr || *url == '\0')
    throw std::runtime_error("DATABASE_URL is not set: run the tests through scripts/test");
  return url;
}

// Runs one statement on the server's maintenance connection; throws on failure.
inline void admin_exec(const std::string &sql) {
  PGconn *conn = PQconnectdb(server_url().c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    PQfinish(conn);
    throw std::runtime_error("cannot connect to the test server: " + message);
  }
  PGresult *result = PQexec(conn, sql.c_str());
  std::string message = PQresultErrorMessage(result);
  bool ok = PQresultStatus(result) == PGRES_COMMAND_OK || PQresultStatus(result) == PGRES_TUPLES_OK;
  PQclear(result);
  PQfinish(conn);
  if (!ok) throw std::runtime_error(sql + ": " + message);
}

// A libpq URL of `base` with its database replaced by `dbname`.
inline std::string url_with_database(const std::string &base, const std::string &dbname) {
  PQconninfoOption *options = PQconninfoParse(base.c_str(), nullptr);
  if (options == nullptr) throw std::runtime_error("cannot parse DATABASE_URL");
  std::string conninfo;
  for (PQconninfoOption *option = options; option->keyword != nullptr; ++option) {
    if (option->val == nullptr || std::string(option->keyword) == "dbname") continue;
    conninfo += std::string(option->keyword) + "='" + option->val + "' ";
  }
  PQconninfoFree(options);
  return conninfo + "dbname='" + dbname + "'";
}

// Drops and re-creates database `evcs_t_<name>` and returns a URL for it.
inline std::string fresh_database(const std::string &name) {
  std::string dbname = "evcs_t_" + name;
  admin_exec("DROP DATABASE IF EXISTS " + dbname + " WITH (FORCE)");
  admin_exec("CREATE DATABASE " + dbname);
  return url_with_database(server_url(), dbname);
}

} // namespace evcs_test
