// Test fixture for tests/cli/test_cli.sh: writes versioned data through the core API (the CLI
// has no commands that write entities), one commit per call, on DATABASE_URL.
//
//   evcs_cli_fixture type NAME COLUMN=TYPE...     (TYPE "@other": a reference to entity type other)
//   evcs_cli_fixture write BRANCH AUTHOR MESSAGE TYPE OPERATIONS
//
// OPERATIONS is a JSON array of {"op": "create"|"update"|"delete", "id": HEAD_ID,
// "values": {...}}, applied in order and committed with MESSAGE.
#include "evcs/evcs.hpp"

#include <cstdio>
#include <string>

int main(int argc, char **argv) {
  std::vector<std::string> arguments(argv + 1, argv + argc);
  try {
    evcs::Engine engine;
    if (arguments.size() >= 2 && arguments[0] == "type") {
      std::vector<evcs::ColumnDefinition> columns;
      for (std::size_t i = 2; i < arguments.size(); ++i) {
        auto equals = arguments[i].find('=');
        std::string name = arguments[i].substr(0, equals), type = arguments[i].substr(equals + 1);
        if (!type.empty() && type[0] == '@') columns.push_back({name, "", type.substr(1)});
        else columns.push_back({name, type});
      }
      auto session = engine.session();
      session.create_entity_type(arguments[1], columns);
      session.commit();
      return 0;
    }
    if (arguments.size() == 6 && arguments[0] == "write") {
      auto session = engine.session(arguments[1], arguments[2]);
      auto repository = session.repository(arguments[4]);
      for (const auto &operation : nlohmann::json::parse(arguments[5])) {
        std::string op = operation.at("op"), id = operation.at("id");
        if (op == "create") repository.create(operation.at("values"), id);
        else if (op == "update") repository.update(id, operation.at("values"));
        else if (op == "delete") repository.remove(id);
        else throw std::runtime_error("unknown operation " + op);
      }
      session.commit(arguments[3]);
      return 0;
    }
    std::fprintf(stderr, "usage: evcs_cli_fixture type NAME COLUMN=TYPE... | write BRANCH AUTHOR "
                         "MESSAGE TYPE OPERATIONS\n");
    return 2;
  } catch (const std::exception &error) {
    std::fprintf(stderr, "evcs_cli_fixture: %s\n", error.what());
    return 1;
  }
}
