// Typed access to versioned entities (docs/cpp.md): a compile-time mapping from a struct's
// members to an entity type's fields, so C++ code reads and writes entities as structs.
//
//   struct Project {
//     std::string name;
//     std::optional<evcs::Numeric> budget;
//     std::vector<std::string> tags;
//   };
//   EVCS_ENTITY(Project, "project", name, budget, tags)   // in Project's namespace
//
//   evcs::TypedRepository<Project> projects(session);
//   auto created = projects.create({"bridge", evcs::Numeric{"100.50"}, {"road"}});
//   created.value.name;           // the struct
//   created.version.version;      // the version metadata (head_id, valid_from, author, ...)
//
// Each member's type fixes how its field converts; a member of any other type fails to compile
// at the EVCS_ENTITY line. SQL NULL needs a std::optional member.
#pragma once

#include "evcs/error.hpp"
#include "evcs/params.hpp"
#include "evcs/session.hpp"
#include "evcs/versioning.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace evcs {

// A numeric value, exact: the decimal text the server prints ("1000.50"). Writing a double to a
// numeric field works too, but rounds.
struct Numeric {
  std::string text;
  double to_double() const { return std::stod(text); }
  friend bool operator==(const Numeric &a, const Numeric &b) { return a.text == b.text; }
  friend bool operator!=(const Numeric &a, const Numeric &b) { return !(a == b); }
};

// A uuid in its canonical text form.
struct Uuid {
  std::string text;
  friend bool operator==(const Uuid &a, const Uuid &b) { return a.text == b.text; }
  friend bool operator!=(const Uuid &a, const Uuid &b) { return !(a == b); }
};

inline bool operator==(Timestamp a, Timestamp b) { return a.micros == b.micros; }
inline bool operator!=(Timestamp a, Timestamp b) { return a.micros != b.micros; }

// How a member type converts to and from its field's JSON value (as Version::fields holds
// it). `supported` is false for every type without a specialisation.
template <typename T, typename Enable = void> struct FieldCodec {
  static constexpr bool supported = false;
};

// Whether T can be the type of a mapped member.
template <typename T> inline constexpr bool is_field_type_v = FieldCodec<T>::supported;

namespace detail {

[[noreturn]] inline void wrong_field_value(const std::string &field, const nlohmann::json &value,
                                           const char *expected) {
  if (value.is_null())
    throw InvalidArgument("field '" + field + "' is null: declare its member as std::optional<" +
                          expected + "> to read SQL NULL");
  throw InvalidArgument("field '" + field + "' holds " + value.dump() + ", which is not " +
                        expected);
}

} // namespace detail

template <> struct FieldCodec<std::string> {
  static constexpr bool supported = true;
  static nlohmann::json encode(const std::string &value) { return value; }
  static std::string decode(const nlohmann::json &value, const std::string &field) {
    if (!value.is_string()) detail::wrong_field_value(field, value, "text (std::string)");
    return value.get<std::string>();
  }
};

template <> struct FieldCodec<bool> {
  static constexpr bool supported = true;
  static nlohmann::json encode(bool value) { return value; }
  static bool decode(const nlohmann::json &value, const std::string &field) {
    if (!value.is_boolean()) detail::wrong_field_value(field, value, "a boolean (bool)");
    return value.get<bool>();
  }
};

// integer (std::int32_t) and bigint (std::int64_t): a value out of the member's range is an
// error, never truncated.
template <typename T>
struct FieldCodec<T, std::enable_if_t<std::is_same_v<T, std::int32_t> ||
                                      std::is_same_v<T, std::int64_t>>> {
  static constexpr bool supported = true;
  static nlohmann::json encode(T value) { return value; }
  static T decode(const nlohmann::json &value, const std::string &field) {
    const char *expected = sizeof(T) == 4 ? "an integer (std::int32_t)" : "a bigint (std::int64_t)";
    if (!value.is_number_integer()) detail::wrong_field_value(field, value, expected);
    if (value.is_number_unsigned()) {
      if (value.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<T>::max()))
        detail::wrong_field_value(field, value, expected);
      return static_cast<T>(value.get<std::uint64_t>());
    }
    std::int64_t number = value.get<std::int64_t>();
    if (number < std::numeric_limits<T>::min() || number > std::numeric_limits<T>::max())
      detail::wrong_field_value(field, value, expected);
    return static_cast<T>(number);
  }
};

// double precision, or a numeric read approximately. NaN and the infinities cross JSON as the
// strings "NaN", "Infinity" and "-Infinity" (PostgreSQL's text for them).
template <> struct FieldCodec<double> {
  static constexpr bool supported = true;
  static nlohmann::json encode(double value) {
    if (auto text = non_finite_text(value)) return *text;
    return value;
  }
  static double decode(const nlohmann::json &value, const std::string &field) {
    if (value.is_number()) return value.get<double>();
    if (value.is_string()) {
      const std::string &text = value.get_ref<const std::string &>();
      std::size_t used = 0;
      try {
        double number = std::stod(text, &used);
        if (used == text.size()) return number;
      } catch (const std::logic_error &) {
        // not a number: reported below like any other wrong value
      }
    }
    detail::wrong_field_value(field, value, "a number (double)");
  }
};

template <> struct FieldCodec<Numeric> {
  static constexpr bool supported = true;
  static nlohmann::json encode(const Numeric &value) { return value.text; }
  static Numeric decode(const nlohmann::json &value, const std::string &field) {
    if (value.is_string()) return {value.get<std::string>()};
    if (value.is_number()) return {value.dump()};
    detail::wrong_field_value(field, value, "a numeric (evcs::Numeric)");
  }
};

template <> struct FieldCodec<Uuid> {
  static constexpr bool supported = true;
  static nlohmann::json encode(const Uuid &value) { return value.text; }
  static Uuid decode(const nlohmann::json &value, const std::string &field) {
    if (!value.is_string()) detail::wrong_field_value(field, value, "a uuid (evcs::Uuid)");
    return {value.get<std::string>()};
  }
};

// timestamptz: UTC microseconds, sent as ISO text so the server parses it exactly.
template <> struct FieldCodec<Timestamp> {
  static constexpr bool supported = true;
  static nlohmann::json encode(Timestamp value) { return format_timestamp(value.micros); }
  static Timestamp decode(const nlohmann::json &value, const std::string &field) {
    if (value.is_number_integer()) return {value.get<std::int64_t>()};
    if (!value.is_string())
      detail::wrong_field_value(field, value, "a timestamptz (evcs::Timestamp)");
    return {parse_timestamp(value.get<std::string>())};
  }
};

// json / jsonb: the value itself.
template <> struct FieldCodec<nlohmann::json> {
  static constexpr bool supported = true;
  static nlohmann::json encode(const nlohmann::json &value) { return value; }
  static nlohmann::json decode(const nlohmann::json &value, const std::string &) { return value; }
};

// text[]: elements may not be NULL (use std::vector<std::optional<std::string>> for that).
template <typename Element>
struct FieldCodec<std::vector<Element>,
                  std::enable_if_t<std::is_same_v<Element, std::string> ||
                                   std::is_same_v<Element, std::optional<std::string>>>> {
  static constexpr bool supported = true;
  static nlohmann::json encode(const std::vector<Element> &values) {
    nlohmann::json array = nlohmann::json::array();
    for (const auto &value : values) array.push_back(FieldCodec<Element>::encode(value));
    return array;
  }
  static std::vector<Element> decode(const nlohmann::json &value, const std::string &field) {
    if (!value.is_array()) detail::wrong_field_value(field, value, "a text[] (std::vector)");
    std::vector<Element> elements;
    for (const auto &element : value)
      elements.push_back(FieldCodec<Element>::decode(element, field + "[]"));
    return elements;
  }
};

// Nullable fields: std::nullopt is SQL NULL.
template <typename T> struct FieldCodec<std::optional<T>, std::enable_if_t<is_field_type_v<T>>> {
  static constexpr bool supported = true;
  static nlohmann::json encode(const std::optional<T> &value) {
    return value ? FieldCodec<T>::encode(*value) : nlohmann::json(nullptr);
  }
  static std::optional<T> decode(const nlohmann::json &value, const std::string &field) {
    if (value.is_null()) return std::nullopt;
    return FieldCodec<T>::decode(value, field);
  }
};

// One mapped member: the field's name and the member pointer.
template <typename Entity, typename Member> struct FieldBinding {
  const char *name;
  Member Entity::*member;
};

template <typename Entity, typename Member>
constexpr FieldBinding<Entity, Member> field(const char *name, Member Entity::*member) {
  static_assert(is_field_type_v<Member>,
                "evcs: unsupported member type for an entity field. Use std::string (text), "
                "std::int32_t (integer), std::int64_t (bigint), double, evcs::Numeric (numeric), "
                "bool (boolean), nlohmann::json (json/jsonb), evcs::Uuid (uuid), evcs::Timestamp "
                "(timestamptz), std::vector<std::string> (text[]), or std::optional of one of "
                "them for a nullable field");
  return {name, member};
}

// The mapping of struct Entity to entity type `entity_type`.
template <typename Entity, typename... Fields> struct EntityDescription {
  const char *entity_type;
  std::tuple<Fields...> fields;
};

template <typename Entity, typename... Members>
constexpr EntityDescription<Entity, FieldBinding<Entity, Members>...>
describe_entity(const char *entity_type, FieldBinding<Entity, Members>... fields) {
  return {entity_type, std::make_tuple(fields...)};
}

namespace detail {

// Found when no EVCS_ENTITY describes T (the macro's overload is an exact match and wins).
struct NotAnEntity {};
template <typename T> NotAnEntity evcs_entity_description(const T *) { return {}; }

template <typename Entity> auto description_of() {
  using detail::evcs_entity_description;
  auto description = evcs_entity_description(static_cast<const Entity *>(nullptr));
  static_assert(!std::is_same_v<decltype(description), NotAnEntity>,
                "evcs: describe the struct with EVCS_ENTITY(Type, \"entity_type\", members...) "
                "in its namespace before using it as an entity");
  return description;
}

} // namespace detail

// Struct <-> fields of one described entity type.
template <typename Entity> struct EntityMapping {
  static const char *entity_type() { return detail::description_of<Entity>().entity_type; }

  // Every mapped member as a field (a write sets all of them).
  static nlohmann::json to_fields(const Entity &entity) {
    nlohmann::json fields = nlohmann::json::object();
    std::apply(
        [&](const auto &...binding) {
          ((fields[binding.name] = encode(entity.*(binding.member))), ...);
        },
        detail::description_of<Entity>().fields);
    return fields;
  }

  // InvalidArgument naming the field when a value does not fit its member, or is missing.
  static Entity from_fields(const nlohmann::json &fields) {
    Entity entity{};
    const std::string type = entity_type();
    std::apply(
        [&](const auto &...binding) {
          ((entity.*(binding.member) = decode_member(fields, binding, type)), ...);
        },
        detail::description_of<Entity>().fields);
    return entity;
  }

private:
  template <typename Member> static nlohmann::json encode(const Member &value) {
    return FieldCodec<Member>::encode(value);
  }
  template <typename Member>
  static Member decode_member(const nlohmann::json &fields, const FieldBinding<Entity, Member> &binding,
                              const std::string &type) {
    auto found = fields.find(binding.name);
    if (found == fields.end())
      throw InvalidArgument("entity type '" + type + "' has no field '" + binding.name +
                            "', which EVCS_ENTITY maps a member to");
    return FieldCodec<Member>::decode(*found, type + "." + binding.name);
  }
};

// One version of an entity as a struct, with its version metadata (Version::fields keeps the
// raw field values).
template <typename Entity> struct TypedVersion {
  Entity value;
  Version version;

  const Entity *operator->() const { return &value; }
};

// The repository of a described entity type, reading and writing structs. Everything the
// untyped Repository offers beyond this is reachable through untyped().
template <typename Entity> class TypedRepository {
public:
  explicit TypedRepository(Session &session)
      : repository_(session.repository(EntityMapping<Entity>::entity_type())) {}

  // Version 1 of a new entity; `head_id` empty = a new random uuid.
  TypedVersion<Entity> create(const Entity &entity, const std::string &head_id = "") {
    return typed(repository_.create(EntityMapping<Entity>::to_fields(entity), head_id));
  }
  // A new version with every mapped field set from `entity`.
  TypedVersion<Entity> update(const std::string &head_id, const Entity &entity,
                              std::optional<std::int64_t> expected_version = std::nullopt) {
    return typed(repository_.update(head_id, EntityMapping<Entity>::to_fields(entity),
                                    expected_version));
  }
  TypedVersion<Entity> remove(const std::string &head_id) {
    return typed(repository_.remove(head_id));
  }
  std::optional<TypedVersion<Entity>>
  get(const std::string &head_id, std::optional<std::int64_t> as_of = std::nullopt,
      const std::optional<std::string> &branch = std::nullopt) {
    auto version = repository_.get(head_id, as_of, branch);
    if (!version) return std::nullopt;
    return typed(std::move(*version));
  }
  // Oldest first; each version's `changed` names the fields it changed.
  std::vector<TypedVersion<Entity>> history(const std::string &head_id,
                                            const std::optional<std::string> &branch = std::nullopt) {
    return typed(repository_.history(head_id, branch));
  }
  std::vector<TypedVersion<Entity>> find(const FindOptions &options = {}) {
    return typed(repository_.find(options));
  }

  Repository &untyped() { return repository_; }

private:
  static TypedVersion<Entity> typed(Version version) {
    Entity value = EntityMapping<Entity>::from_fields(version.fields);
    return {std::move(value), std::move(version)};
  }
  static std::vector<TypedVersion<Entity>> typed(std::vector<Version> versions) {
    std::vector<TypedVersion<Entity>> result;
    result.reserve(versions.size());
    for (auto &version : versions) result.push_back(typed(std::move(version)));
    return result;
  }

  Repository repository_;
};

} // namespace evcs

// EVCS_ENTITY(Type, "entity_type", member, ...): maps each member of struct Type to the field of
// the same name of the entity type (up to 24 members). Use it at namespace scope, in Type's
// namespace. For field names that differ from member names, write the function it defines by
// hand: inline auto evcs_entity_description(const Type *) {
//   return evcs::describe_entity<Type>("entity_type", evcs::field("field", &Type::member), ...); }
#define EVCS_ENTITY(Type, entity_type, ...)                                                      \
  inline auto evcs_entity_description(const Type *) {                                           \
    return ::evcs::describe_entity<Type>(                                                        \
        entity_type, EVCS_DETAIL_CAT(EVCS_DETAIL_FIELDS_,                                        \
                                     EVCS_DETAIL_COUNT(__VA_ARGS__))(Type, __VA_ARGS__));       \
  }

#define EVCS_DETAIL_EXPAND(x) x
#define EVCS_DETAIL_CAT(a, b) EVCS_DETAIL_CAT_(a, b)
#define EVCS_DETAIL_CAT_(a, b) a##b
#define EVCS_DETAIL_FIELD(Type, member) ::evcs::field(#member, &Type::member)
#define EVCS_DETAIL_FIELDS_1(Type, member) EVCS_DETAIL_FIELD(Type, member)
#define EVCS_DETAIL_FIELDS_2(Type, member, ...) \
  EVCS_DETAIL_FIELD(Type, member), EVCS_DETAIL_EXPAND(EVCS_DETAIL_FIELDS_1(Type, __VA_ARGS__))
#define EVCS_DETAIL_FIELDS_3(Type, member, ...) \
  EVCS_DETAIL_FIELD(Type, member), EVCS_DETAIL_EXPAND(EVCS_DETAIL_FIELDS_2(Type, __VA_ARGS__))
#define EVCS_DETAIL_FIELDS_4(Type, member, ...) \
  EVCS_DETAIL_FIELD(Type, member), EVCS_DETAIL_EXPAND(EVCS_DETAIL_FIELDS_3(Type, __VA_ARGS__))
#define EVCS_DETAIL_FIELDS_5(Type, member, ...) \
  EVCS_DETAIL_FIELD(Type, member), EVCS_DETAIL_EXPAND(EVCS_DETAIL_FIELDS_4(Type, __VA_ARGS__))
#define EVCS_DETAIL_FIELDS_6(Type, member, ...) \
  EVCS_DETAIL_FIELD(Type, member), EVCS_DETAIL_EXPAND(EVCS_DETAIL_FIELDS_5(Type, __VA_ARGS__))
#define EVCS_DETAIL_FIELDS_7(Type, member, ...) \
  EVCS_DETAIL_FIELD(Type, member), EVCS_DETAIL_EXPAND(EVCS_DETAIL_FIELDS_6(Type, __VA_ARGS__))
#define EVCS_DETAIL_FIELDS_8(Type, member, ...) \
  EVCS_DETAIL_FIELD(Type, member), EVCS_DETAIL_EXPAND(EVCS_DETAIL_FIELDS_7(Type, __VA_ARGS__))
#define EVCS_DETAIL_FIELDS_9(Type, member, ...) \
  EVCS_DETAIL_FIELD(Type, member), EVCS_DETAIL_EXPAND(EVCS_DETAIL_FIELDS_8(Type, __VA_ARGS__))
#define EVCS_DETAIL_FIELDS_10(Type, member, ...) \
  EVCS_DETAIL_FIELD(Type, member), EVCS_DETAIL_EXPAND(EVCS_DETAIL_FIELDS_9(Type, __VA_ARGS__))
#define EVCS_DETAIL_FIELDS_11(Type, member, ...) \
  EVCS_DETAIL_FIELD(Type, member), EVCS_DETAIL_EXPAND(EVCS_DETAIL_FIELDS_10(Type, __VA_ARGS__))
#define EVCS_DETAIL_FIELDS_12(Type, member, ...) \
  EVCS_DETAIL_FIELD(Type, member), EVCS_DETAIL_EXPAND(EVCS_DETAIL_FIELDS_11(Type, __VA_ARGS__))
#define EVCS_DETAIL_FIELDS_13(Type, member, ...) \
  EVCS_DETAIL_FIELD(Type, member), EVCS_DETAIL_EXPAND(EVCS_DETAIL_FIELDS_12(Type, __VA_ARGS__))
#define EVCS_DETAIL_FIELDS_14(Type, member, ...) \
  EVCS_DETAIL_FIELD(Type, member), EVCS_DETAIL_EXPAND(EVCS_DETAIL_FIELDS_13(Type, __VA_ARGS__))
#define EVCS_DETAIL_FIELDS_15(Type, member, ...) \
  EVCS_DETAIL_FIELD(Type, member), EVCS_DETAIL_EXPAND(EVCS_DETAIL_FIELDS_14(Type, __VA_ARGS__))
#define EVCS_DETAIL_FIELDS_16(Type, member, ...) \
  EVCS_DETAIL_FIELD(Type, member), EVCS_DETAIL_EXPAND(EVCS_DETAIL_FIELDS_15(Type, __VA_ARGS__))
#define EVCS_DETAIL_FIELDS_17(Type, member, ...) \
  EVCS_DETAIL_FIELD(Type, member), EVCS_DETAIL_EXPAND(EVCS_DETAIL_FIELDS_16(Type, __VA_ARGS__))
#define EVCS_DETAIL_FIELDS_18(Type, member, ...) \
  EVCS_DETAIL_FIELD(Type, member), EVCS_DETAIL_EXPAND(EVCS_DETAIL_FIELDS_17(Type, __VA_ARGS__))
#define EVCS_DETAIL_FIELDS_19(Type, member, ...) \
  EVCS_DETAIL_FIELD(Type, member), EVCS_DETAIL_EXPAND(EVCS_DETAIL_FIELDS_18(Type, __VA_ARGS__))
#define EVCS_DETAIL_FIELDS_20(Type, member, ...) \
  EVCS_DETAIL_FIELD(Type, member), EVCS_DETAIL_EXPAND(EVCS_DETAIL_FIELDS_19(Type, __VA_ARGS__))
#define EVCS_DETAIL_FIELDS_21(Type, member, ...) \
  EVCS_DETAIL_FIELD(Type, member), EVCS_DETAIL_EXPAND(EVCS_DETAIL_FIELDS_20(Type, __VA_ARGS__))
#define EVCS_DETAIL_FIELDS_22(Type, member, ...) \
  EVCS_DETAIL_FIELD(Type, member), EVCS_DETAIL_EXPAND(EVCS_DETAIL_FIELDS_21(Type, __VA_ARGS__))
#define EVCS_DETAIL_FIELDS_23(Type, member, ...) \
  EVCS_DETAIL_FIELD(Type, member), EVCS_DETAIL_EXPAND(EVCS_DETAIL_FIELDS_22(Type, __VA_ARGS__))
#define EVCS_DETAIL_FIELDS_24(Type, member, ...) \
  EVCS_DETAIL_FIELD(Type, member), EVCS_DETAIL_EXPAND(EVCS_DETAIL_FIELDS_23(Type, __VA_ARGS__))
#define EVCS_DETAIL_COUNT_N(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, _17, _18, _19, _20, _21, _22, _23, _24, count, ...) count
#define EVCS_DETAIL_COUNT(...) \
  EVCS_DETAIL_EXPAND(EVCS_DETAIL_COUNT_N(__VA_ARGS__, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1))
