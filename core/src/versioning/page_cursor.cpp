#include "versioning/page_cursor.hpp"

#include "evcs/error.hpp"

#include <array>
#include <cstdio>
#include <optional>

namespace evcs::detail {

namespace {

constexpr int cursor_format_version = 1;

// RFC 4648 §5 (base64url) without padding: a cursor travels in URLs and command lines as is.
// No library of the build offers it (Boost's base64 is an internal detail of Beast).
constexpr char base64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url_encode(const std::string &bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char byte : bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += base64url_alphabet[(buffer >> bits) & 0x3f];
    }
  }
  if (bits > 0) out += base64url_alphabet[(buffer << (6 - bits)) & 0x3f];
  return out;
}

// Nothing for text that is not base64url as base64url_encode writes it.
std::optional<std::string> base64url_decode(const std::string &text) {
  static const std::array<int, 256> values = [] {
    std::array<int, 256> table{};
    table.fill(-1);
    for (int index = 0; index < 64; ++index)
      table[static_cast<unsigned char>(base64url_alphabet[index])] = index;
    return table;
  }();
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char symbol : text) {
    int value = values[symbol];
    if (value < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  // The bits left over must be the zero padding encode() wrote.
  if ((buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string fnv1a_hex(const std::string &text) {
  std::uint64_t hash = 14695981039346656037ull;
  for (unsigned char byte : text) {
    hash ^= byte;
    hash *= 1099511628211ull;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

} // namespace

void throw_malformed_cursor(const std::string &why) {
  throw InvalidArgument("invalid cursor (" + why + "): pass the cursor a page returned, "
                        "unchanged, or start again without `after`",
                        invalid_cursor_sqlstate);
}

std::string fingerprint(const nlohmann::json &value) { return fnv1a_hex(value.dump()); }

void throw_cursor_of_another_query(const std::string &what) {
  throw InvalidArgument("the cursor belongs to another query (" + what + "): a later page "
                        "takes the first page's where, order_by, branch and as_of unchanged; "
                        "start again without `after` for a new query",
                        invalid_cursor_sqlstate);
}

// The JSON object, then its checksum ("sum") added: a cursor cut short or edited by hand is
// refused as such instead of silently walking from somewhere else.
std::string PageCursor::encode() const {
  nlohmann::json object = {{"v", cursor_format_version}, {"read", read},   {"branch", branch},
                           {"at", at},                   {"order", order}, {"selection", selection},
                           {"last", last}};
  object["sum"] = fingerprint(object);
  return base64url_encode(object.dump());
}

PageCursor PageCursor::decode(const std::string &text, const std::string &read) {
  std::optional<std::string> bytes = base64url_decode(text);
  if (!bytes) throw_malformed_cursor("not URL-safe base64");
  nlohmann::json object = nlohmann::json::parse(*bytes, nullptr, false);
  if (object.is_discarded() || !object.is_object()) throw_malformed_cursor("not a cursor's JSON");
  auto sum = object.find("sum");
  if (sum == object.end() || !sum->is_string()) throw_malformed_cursor("no checksum");
  std::string given_sum = sum->get<std::string>();
  object.erase("sum");
  if (fingerprint(object) != given_sum)
    throw_malformed_cursor("its checksum does not match: cut or changed");
  auto version = object.find("v");
  if (version == object.end() || !version->is_number_integer() ||
      version->get<int>() != cursor_format_version)
    throw_malformed_cursor("made by another version of evcs");
  const bool well_formed = object.size() == 7 && object["read"].is_string() &&
                           object["branch"].is_string() && object["at"].is_number_integer() &&
                           object["order"].is_array() && object["selection"].is_string() &&
                           object["last"].is_array();
  if (!well_formed) throw_malformed_cursor("missing or mistyped fields");
  PageCursor cursor;
  cursor.read = object["read"].get<std::string>();
  if (cursor.read != read)
    throw_cursor_of_another_query("it continues a " + cursor.read + " read, not a " + read);
  cursor.branch = object["branch"].get<std::string>();
  cursor.at = object["at"].get<std::int64_t>();
  for (const auto &field : object["order"]) {
    if (!field.is_string()) throw_malformed_cursor("mistyped order");
    cursor.order.push_back(field.get<std::string>());
  }
  cursor.selection = object["selection"].get<std::string>();
  cursor.last = object["last"];
  return cursor;
}

} // namespace evcs::detail
