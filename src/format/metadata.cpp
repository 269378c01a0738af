// metadata.cpp — typed key/value store.
#include "format/metadata.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

namespace whale {

std::string_view meta_type_name(MetaType t) {
  switch (t) {
    case MetaType::kU8: return "u8";
    case MetaType::kI8: return "i8";
    case MetaType::kU16: return "u16";
    case MetaType::kI16: return "i16";
    case MetaType::kU32: return "u32";
    case MetaType::kI32: return "i32";
    case MetaType::kF32: return "f32";
    case MetaType::kBool: return "bool";
    case MetaType::kString: return "string";
    case MetaType::kArray: return "array";
    case MetaType::kU64: return "u64";
    case MetaType::kI64: return "i64";
    case MetaType::kF64: return "f64";
  }
  return "unknown";
}

bool MetaValue::is_integer() const {
  switch (type()) {
    case MetaType::kU8: case MetaType::kI8: case MetaType::kU16: case MetaType::kI16:
    case MetaType::kU32: case MetaType::kI32: case MetaType::kU64: case MetaType::kI64:
      return true;
    default:
      return false;
  }
}

Result<std::int64_t> MetaValue::as_int() const {
  return std::visit(
      [this](const auto& x) -> Result<std::int64_t> {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::uint64_t>) {
          if (x > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
            return Error("value {} does not fit a signed 64-bit integer", x);
          return static_cast<std::int64_t>(x);
        } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
          return static_cast<std::int64_t>(x);
        } else {
          return Error("expected an integer, found {}", meta_type_name(type()));
        }
      },
      v);
}

Result<double> MetaValue::as_double() const {
  if (const float* f = std::get_if<float>(&v)) return static_cast<double>(*f);
  if (const double* d = std::get_if<double>(&v)) return *d;
  if (is_integer()) {
    WHALE_TRY(auto i, as_int());
    return static_cast<double>(i);
  }
  return Error("expected a number, found {}", meta_type_name(type()));
}

Result<std::string> MetaValue::as_string() const {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  return Error("expected a string, found {}", meta_type_name(type()));
}

Result<bool> MetaValue::as_bool() const {
  if (const bool* b = std::get_if<bool>(&v)) return *b;
  return Error("expected a bool, found {}", meta_type_name(type()));
}

Result<const MetaArray*> MetaValue::as_array() const {
  if (const auto* a = std::get_if<MetaArray>(&v)) return a;
  return Error("expected an array, found {}", meta_type_name(type()));
}

std::string MetaValue::to_display(std::size_t max_items) const {
  return std::visit(
      [max_items](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) {
          std::string s = x.size() > 60 ? x.substr(0, 57) + "..." : x;
          for (char& c : s)
            if (c == '\n' || c == '\r' || c == '\t') c = ' ';
          return fmt::format("\"{}\"", s);
        } else if constexpr (std::is_same_v<T, MetaArray>) {
          std::string out = "[";
          for (std::size_t i = 0; i < x.items.size() && i < max_items; ++i) {
            if (i) out += ", ";
            out += x.items[i].to_display(max_items);
          }
          if (x.items.size() > max_items)
            out += fmt::format(", ... ({} {} items)", x.items.size(), meta_type_name(x.elem_type));
          return out + "]";
        } else if constexpr (std::is_same_v<T, bool>) {
          return x ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::uint8_t> || std::is_same_v<T, std::int8_t>) {
          return fmt::format("{}", static_cast<int>(x));
        } else {
          return fmt::format("{}", x);
        }
      },
      v);
}

bool MetaValue::operator==(const MetaValue& other) const {
  if (v.index() != other.v.index()) return false;
  // Compare floats by bits so NaN round-trips count as equal and -0 differs from 0.
  if (const float* a = std::get_if<float>(&v))
    return std::bit_cast<std::uint32_t>(*a) == std::bit_cast<std::uint32_t>(std::get<float>(other.v));
  if (const double* a = std::get_if<double>(&v))
    return std::bit_cast<std::uint64_t>(*a) == std::bit_cast<std::uint64_t>(std::get<double>(other.v));
  return v == other.v;
}

Result<void> Metadata::add(std::string key, MetaValue value) {
  if (index_.count(key) != 0) return Error("duplicate metadata key '{}'", key);
  index_.emplace(key, entries_.size());
  entries_.emplace_back(std::move(key), std::move(value));
  return {};
}

void Metadata::set(std::string key, MetaValue value) {
  if (auto it = index_.find(key); it != index_.end()) {
    entries_[it->second].second = std::move(value);
    return;
  }
  index_.emplace(key, entries_.size());
  entries_.emplace_back(std::move(key), std::move(value));
}

bool Metadata::erase(std::string_view key) {
  auto it = index_.find(key);
  if (it == index_.end()) return false;
  entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(it->second));
  index_.clear();
  for (std::size_t i = 0; i < entries_.size(); ++i) index_.emplace(entries_[i].first, i);
  return true;
}

const MetaValue* Metadata::find(std::string_view key) const {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &entries_[it->second].second;
}

namespace {
template <typename T, typename F>
Result<T> get_typed(const Metadata& m, std::string_view key, F&& convert) {
  const MetaValue* v = m.find(key);
  if (v == nullptr) return Error("metadata key '{}' is missing", key);
  auto r = convert(*v);
  if (!r.ok()) return std::move(r).error().context("metadata key '{}'", key);
  return std::move(r).value();
}
}  // namespace

Result<std::int64_t> Metadata::get_int(std::string_view key) const {
  return get_typed<std::int64_t>(*this, key, [](const MetaValue& v) { return v.as_int(); });
}
Result<double> Metadata::get_double(std::string_view key) const {
  return get_typed<double>(*this, key, [](const MetaValue& v) { return v.as_double(); });
}
Result<std::string> Metadata::get_string(std::string_view key) const {
  return get_typed<std::string>(*this, key, [](const MetaValue& v) { return v.as_string(); });
}
Result<bool> Metadata::get_bool(std::string_view key) const {
  return get_typed<bool>(*this, key, [](const MetaValue& v) { return v.as_bool(); });
}
Result<const MetaArray*> Metadata::get_array(std::string_view key) const {
  return get_typed<const MetaArray*>(*this, key, [](const MetaValue& v) { return v.as_array(); });
}

std::int64_t Metadata::get_int_or(std::string_view key, std::int64_t fallback) const {
  auto r = get_int(key);
  return r.ok() ? *r : fallback;
}
double Metadata::get_double_or(std::string_view key, double fallback) const {
  auto r = get_double(key);
  return r.ok() ? *r : fallback;
}
std::string Metadata::get_string_or(std::string_view key, std::string fallback) const {
  auto r = get_string(key);
  return r.ok() ? *r : fallback;
}
bool Metadata::get_bool_or(std::string_view key, bool fallback) const {
  auto r = get_bool(key);
  return r.ok() ? *r : fallback;
}

MetaValue meta_u32(std::uint32_t v) { return MetaValue{v}; }
MetaValue meta_i32(std::int32_t v) { return MetaValue{v}; }
MetaValue meta_u64(std::uint64_t v) { return MetaValue{v}; }
MetaValue meta_f32(float v) { return MetaValue{v}; }
MetaValue meta_bool(bool v) { return MetaValue{v}; }
MetaValue meta_str(std::string v) { return MetaValue{std::move(v)}; }
MetaValue meta_str_array(const std::vector<std::string>& v) {
  MetaArray a{MetaType::kString, {}};
  a.items.reserve(v.size());
  for (const auto& s : v) a.items.push_back(MetaValue{s});
  return MetaValue{std::move(a)};
}
MetaValue meta_i32_array(const std::vector<std::int32_t>& v) {
  MetaArray a{MetaType::kI32, {}};
  a.items.reserve(v.size());
  for (auto x : v) a.items.push_back(MetaValue{x});
  return MetaValue{std::move(a)};
}
MetaValue meta_f32_array(const std::vector<float>& v) {
  MetaArray a{MetaType::kF32, {}};
  a.items.reserve(v.size());
  for (auto x : v) a.items.push_back(MetaValue{x});
  return MetaValue{std::move(a)};
}

}  // namespace whale
