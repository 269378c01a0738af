// value.h — the dynamic value of the Jinja-subset interpreter (Python-like semantics).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "util/status.h"

namespace whale::jinja {

struct Value;
using Array = std::vector<Value>;
using Object = std::vector<std::pair<std::string, Value>>;  // insertion-ordered, like Python dicts
struct CallArgs;
using Function = std::function<Result<Value>(CallArgs&)>;

struct Value {
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kArray, kObject, kFunction };
  Kind kind = Kind::kUndefined;
  bool b = false;
  std::int64_t i = 0;
  double f = 0;
  std::string s;
  std::shared_ptr<Array> arr;    // shared: Jinja lists and dicts are references
  std::shared_ptr<Object> obj;
  std::shared_ptr<Function> fn;

  static Value none() { Value v; v.kind = Kind::kNone; return v; }
  static Value boolean(bool x) { Value v; v.kind = Kind::kBool; v.b = x; return v; }
  static Value integer(std::int64_t x) { Value v; v.kind = Kind::kInt; v.i = x; return v; }
  static Value number(double x) { Value v; v.kind = Kind::kFloat; v.f = x; return v; }
  static Value string(std::string x) { Value v; v.kind = Kind::kString; v.s = std::move(x); return v; }
  static Value array(Array a = {}) { Value v; v.kind = Kind::kArray; v.arr = std::make_shared<Array>(std::move(a)); return v; }
  static Value object(Object o = {}) { Value v; v.kind = Kind::kObject; v.obj = std::make_shared<Object>(std::move(o)); return v; }
  static Value function(Function fn) { Value v; v.kind = Kind::kFunction; v.fn = std::make_shared<Function>(std::move(fn)); return v; }

  bool is_undefined() const { return kind == Kind::kUndefined; }
  bool is_none() const { return kind == Kind::kNone; }
  bool is_string() const { return kind == Kind::kString; }
  bool is_number() const { return kind == Kind::kInt || kind == Kind::kFloat; }
  double as_double() const { return kind == Kind::kInt ? static_cast<double>(i) : f; }

  // Object member or Undefined.
  const Value* find(std::string_view key) const;
  void set(const std::string& key, Value v);  // objects only
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> named;
  const Value* get(std::size_t pos, std::string_view name) const;
};

const char* kind_name(Value::Kind k);
bool truthy(const Value& v);
bool equal(const Value& a, const Value& b);
// What {{ v }} prints (Python str()).
std::string to_output(const Value& v);
// Python repr(), used inside printed lists and dicts.
std::string to_repr(const Value& v);
// json.dumps(v, ensure_ascii=False, indent=indent) as transformers' tojson filter does.
Result<std::string> to_json_text(const Value& v, int indent);
Value from_json(const nlohmann::ordered_json& j);

}  // namespace whale::jinja
