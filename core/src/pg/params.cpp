#include "evcs/params.hpp"

#include "evcs/error.hpp"

#include <nlohmann/json.hpp>

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace evcs {

Params &Params::push(Kind kind, std::optional<std::string> value) {
  kinds_.push_back(kind);
  values_.push_back(std::move(value));
  return *this;
}

Params &Params::add_null() { return push(Kind::null, std::nullopt); }

Params &Params::add(std::int64_t value) { return push(Kind::int64, std::to_string(value)); }

std::optional<std::string> non_finite_text(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  return std::nullopt;
}

Params &Params::add(double value) {
  if (auto text = non_finite_text(value)) return push(Kind::float64, *text);
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.17g", value);
  return push(Kind::float64, buffer);
}

Params &Params::add(bool value) { return push(Kind::boolean, value ? "t" : "f"); }

Params &Params::add(const std::string &value) {
  require_utf8(value, "a text parameter");
  return push(Kind::text, value);
}

Params &Params::add(Timestamp value) {
  return push(Kind::timestamp, format_timestamp(value.micros));
}

Params &Params::add_bytes(const std::string &value) { return push(Kind::bytes, value); }

Params &Params::add_json(const std::string &json_text) {
  if (!nlohmann::json::accept(json_text))
    throw InvalidArgument("a JSON parameter is not valid JSON: pass JSON text such as "
                          "'{\"key\": 1}'");
  return push(Kind::json, json_text);
}

void Params::clear() noexcept {
  values_.clear();
  kinds_.clear();
}

std::string Params::signature() const {
  std::string signature;
  signature.reserve(kinds_.size());
  for (Kind kind : kinds_) signature.push_back(static_cast<char>(kind));
  return signature;
}

void require_utf8(const std::string &text, const char *what) {
  const auto *bytes = reinterpret_cast<const unsigned char *>(text.data());
  std::size_t size = text.size();
  for (std::size_t i = 0; i < size;) {
    unsigned char lead = bytes[i];
    std::size_t length;
    std::uint32_t code_point;
    if (lead == 0) {
      throw InvalidArgument(std::string(what) + " contains a NUL byte, which PostgreSQL text "
                                                "cannot hold: pass it as bytes instead");
    } else if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2;
      code_point = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3;
      code_point = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4;
      code_point = lead & 0x07;
    } else {
      length = 0;
      code_point = 0;
    }
    bool valid = length != 0 && i + length <= size;
    for (std::size_t k = 1; valid && k < length; ++k) {
      valid = (bytes[i + k] & 0xC0) == 0x80;
      code_point = (code_point << 6) | (bytes[i + k] & 0x3F);
    }
    static const std::uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
    valid = valid && code_point >= smallest[length] && code_point <= 0x10FFFF &&
            !(code_point >= 0xD800 && code_point <= 0xDFFF);
    if (!valid)
      throw InvalidArgument(std::string(what) + " is not valid UTF-8 (bad byte at offset " +
                            std::to_string(i) + "): decode it or pass it as bytes");
    i += length;
  }
}

namespace {

// Howard Hinnant's days_from_civil / civil_from_days: proleptic Gregorian calendar.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t &y, unsigned &m, unsigned &d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp + (mp < 10 ? 3 : -9);
  y += m <= 2;
}

constexpr std::int64_t micros_per_second = 1000000;
constexpr std::int64_t micros_per_day = 86400 * micros_per_second;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

} // namespace

std::string format_timestamp(std::int64_t micros) {
  if (micros == INT64_MAX) return "infinity";
  if (micros == INT64_MIN) return "-infinity";
  std::int64_t days = floor_div(micros, micros_per_day);
  std::int64_t in_day = micros - days * micros_per_day;
  std::int64_t year;
  unsigned month, day;
  civil_from_days(days, year, month, day);
  std::int64_t seconds = in_day / micros_per_second;
  std::int64_t fraction = in_day % micros_per_second;
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04" PRId64 "-%02u-%02u %02" PRId64 ":%02" PRId64
                ":%02" PRId64 ".%06" PRId64 "+00",
                year, month, day, seconds / 3600, (seconds / 60) % 60, seconds % 60, fraction);
  return buffer;
}

std::int64_t parse_timestamp(std::string_view text) {
  if (text == "infinity") return INT64_MAX;
  if (text == "-infinity") return INT64_MIN;
  // Read by hand: sscanf costs more than the rest of reading a version.
  std::size_t pos = 0;
  auto number = [&](std::int64_t &out) {
    std::size_t start = pos;
    out = 0;
    while (pos < text.size() && pos - start < 18 &&
           std::isdigit(static_cast<unsigned char>(text[pos])))
      out = out * 10 + (text[pos++] - '0');
    return pos > start;
  };
  auto separator = [&](char expected) {
    if (pos >= text.size() || text[pos] != expected) return false;
    ++pos;
    return true;
  };
  std::int64_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!(number(year) && separator('-') && number(month) && separator('-') && number(day) &&
        separator(' ') && number(hour) && separator(':') && number(minute) && separator(':') &&
        number(second)))
    throw InvalidArgument("cannot read timestamp '" + std::string(text) + "'");
  std::int64_t fraction = 0;
  if (pos < text.size() && text[pos] == '.') {
    std::int64_t scale = 100000;
    for (++pos; pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])); ++pos) {
      fraction += (text[pos] - '0') * scale;
      scale /= 10;
    }
  }
  std::int64_t offset_seconds = 0;
  if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    std::int64_t oh = 0, om = 0, os = 0;
    if (number(oh) && separator(':') && number(om) && separator(':')) number(os);
    offset_seconds = sign * (oh * 3600 + om * 60 + os);
  }
  if (text.size() >= 3 && text.substr(text.size() - 3) == " BC") year = 1 - year;
  std::int64_t days =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  std::int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
  return seconds * micros_per_second + fraction;
}

} // namespace evcs
