// metadata.h — a typed, ordered key/value store: GGUF metadata as read, or as to be written.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "util/status.h"

namespace whale {

// GGUF value type codes; the MetaValue variant index equals the code.
enum class MetaType : std::uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};
std::string_view meta_type_name(MetaType t);

struct MetaValue;

struct MetaArray {
  MetaType elem_type = MetaType::kU8;
  std::vector<MetaValue> items;
};

struct MetaValue {
  std::variant<std::uint8_t, std::int8_t, std::uint16_t, std::int16_t, std::uint32_t,
               std::int32_t, float, bool, std::string, MetaArray, std::uint64_t, std::int64_t,
               double>
      v;

  MetaType type() const { return static_cast<MetaType>(v.index()); }
  bool is_integer() const;
  bool is_float() const { return type() == MetaType::kF32 || type() == MetaType::kF64; }
  // Converting accessors; fail (with the key's name added by the caller) on a type mismatch
  // or a value that does not fit.
  Result<std::int64_t> as_int() const;
  Result<double> as_double() const;  // any integer or float
  Result<std::string> as_string() const;
  Result<bool> as_bool() const;
  Result<const MetaArray*> as_array() const;
  std::string to_display(std::size_t max_items = 8) const;  // "[1, 2, 3, ... (100 items)]"

  bool operator==(const MetaValue& other) const;
};

inline bool operator==(const MetaArray& a, const MetaArray& b) {
  return a.elem_type == b.elem_type && a.items == b.items;
}

// Keys keep their insertion order (GGUF writers and `whale info` show them as stored).
class Metadata {
 public:
  // Fails on a duplicate key.
  Result<void> add(std::string key, MetaValue value);
  // Inserts or replaces.
  void set(std::string key, MetaValue value);
  bool erase(std::string_view key);

  const MetaValue* find(std::string_view key) const;
  bool contains(std::string_view key) const { return find(key) != nullptr; }

  Result<std::int64_t> get_int(std::string_view key) const;
  Result<double> get_double(std::string_view key) const;
  Result<std::string> get_string(std::string_view key) const;
  Result<bool> get_bool(std::string_view key) const;
  Result<const MetaArray*> get_array(std::string_view key) const;
  std::int64_t get_int_or(std::string_view key, std::int64_t fallback) const;
  double get_double_or(std::string_view key, double fallback) const;
  std::string get_string_or(std::string_view key, std::string fallback) const;
  bool get_bool_or(std::string_view key, bool fallback) const;

  std::size_t size() const { return entries_.size(); }
  const std::vector<std::pair<std::string, MetaValue>>& entries() const { return entries_; }

  bool operator==(const Metadata& other) const { return entries_ == other.entries_; }

 private:
  std::vector<std::pair<std::string, MetaValue>> entries_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

// Convenience constructors for writers and tests.
MetaValue meta_u32(std::uint32_t v);
MetaValue meta_i32(std::int32_t v);
MetaValue meta_u64(std::uint64_t v);
MetaValue meta_f32(float v);
MetaValue meta_bool(bool v);
MetaValue meta_str(std::string v);
MetaValue meta_str_array(const std::vector<std::string>& v);
MetaValue meta_i32_array(const std::vector<std::int32_t>& v);
MetaValue meta_f32_array(const std::vector<float>& v);

}  // namespace whale
