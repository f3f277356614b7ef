// The definition of an entity type as the engine caches it, and the SQL it is built from.
#pragma once

#include "evcs/versioning.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace evcs::detail {

struct SessionState;

// Columns every version row has besides the entity's own.
extern const char *const system_columns[];

struct EntityType {
  std::string name;
  std::vector<ColumnDefinition> columns;
  // Per column, in the same order: the kind of value its cells hold, from the version table's
  // column types (so it matches what results report for them).
  std::vector<ColumnType> value_types;

  bool has_column(const std::string &column) const;
  std::string version_table() const { return name + "_version"; }
};

// The entity types an engine has seen, loaded from evcs_entity_type on first use.
class EntityTypeRegistry {
public:
  std::shared_ptr<const EntityType> find(SessionState &session, const std::string &name);
  void forget(const std::string &name);

private:
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const EntityType>> types_;
};

// Creates the evcs catalog in the session's database if it is not there yet (once per engine).
void ensure_catalog(SessionState &session);

// Throws InvalidArgument unless `name` is a valid entity type / column name.
void require_entity_type_name(const std::string &name);
void require_column_name(const std::string &name);

// "name" with its double quotes; callers pass only validated names.
std::string quoted(const std::string &identifier);

// The DDL that creates an entity type's tables, constraints, indexes, view and write function.
std::string entity_type_ddl(const EntityType &type);

} // namespace evcs::detail
