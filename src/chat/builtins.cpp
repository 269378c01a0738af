// builtins.cpp — the filters, tests and methods the R1-family chat templates use.
#include "chat/builtins.h"

#include <algorithm>

namespace whale::jinja {
namespace {

constexpr std::string_view kSpace = " \t\n\r\v\f";

std::string strip(std::string_view s, std::string_view chars, bool left, bool right) {
  std::size_t b = 0, e = s.size();
  if (left) while (b < e && chars.find(s[b]) != std::string_view::npos) ++b;
  if (right) while (e > b && chars.find(s[e - 1]) != std::string_view::npos) --e;
  return std::string(s.substr(b, e - b));
}

Result<std::string> string_arg(const CallArgs& args, std::size_t pos, std::string_view name,
                               std::string_view fallback) {
  const Value* v = args.get(pos, name);
  if (v == nullptr || v->is_none() || v->is_undefined()) return std::string(fallback);
  if (!v->is_string()) return Error("argument '{}' must be a string, not {}", name, kind_name(v->kind));
  return v->s;
}

Value split(const std::string& s, const CallArgs& args) {
  Array parts;
  const Value* sep = args.get(0, "sep");
  if (sep == nullptr || !sep->is_string() || sep->s.empty()) {  // Python: split on whitespace runs
    std::size_t k = 0;
    while (k < s.size()) {
      while (k < s.size() && kSpace.find(s[k]) != std::string_view::npos) ++k;
      std::size_t e = k;
      while (e < s.size() && kSpace.find(s[e]) == std::string_view::npos) ++e;
      if (e > k) parts.push_back(Value::string(s.substr(k, e - k)));
      k = e;
    }
    return Value::array(std::move(parts));
  }
  const Value* maxsplit = args.get(1, "maxsplit");
  std::int64_t left = maxsplit && maxsplit->kind == Value::Kind::kInt ? maxsplit->i : -1;
  std::size_t k = 0;
  for (;;) {
    const std::size_t at = left == 0 ? std::string::npos : s.find(sep->s, k);
    if (at == std::string::npos) break;
    parts.push_back(Value::string(s.substr(k, at - k)));
    k = at + sep->s.size();
    if (left > 0) --left;
  }
  parts.push_back(Value::string(s.substr(k)));
  return Value::array(std::move(parts));
}

Value items_of(const Value& v) {
  Array out;
  for (const auto& [k, item] : *v.obj) out.push_back(Value::array({Value::string(k), item}));
  return Value::array(std::move(out));
}

Result<Array> iterate(const Value& v) {
  if (v.kind == Value::Kind::kArray) return *v.arr;
  if (v.kind == Value::Kind::kObject) {
    Array keys;
    for (const auto& [k, item] : *v.obj) keys.push_back(Value::string(k));
    return keys;
  }
  if (v.is_string()) {
    Array chars;
    for (char c : v.s) chars.push_back(Value::string(std::string(1, c)));
    return chars;
  }
  return Error("{} is not iterable", kind_name(v.kind));
}

// select/reject(test, arg...) and selectattr/rejectattr(attr, test, arg...).
Result<Value> select(const Value& v, CallArgs& args, bool keep, bool by_attr) {
  WHALE_TRY(Array items, iterate(v));
  std::size_t first = 0;
  std::string attr;
  if (by_attr) {
    WHALE_TRY(attr, string_arg(args, 0, "attribute", ""));
    first = 1;
  }
  std::string test = "truthy";
  if (args.positional.size() > first) {
    WHALE_TRY(test, string_arg(args, first, "test", "truthy"));
  }
  CallArgs test_args;
  for (std::size_t k = first + 1; k < args.positional.size(); ++k) test_args.positional.push_back(args.positional[k]);
  Array out;
  for (const Value& item : items) {
    Value subject = item;
    if (by_attr) {
      const Value* field = item.find(attr);
      subject = field ? *field : Value();
    }
    bool pass = truthy(subject);
    if (test != "truthy") {
      WHALE_TRY(pass, apply_test(test, subject, test_args));
    }
    if (pass == keep) out.push_back(item);
  }
  return Value::array(std::move(out));
}

}  // namespace

Result<Value> apply_filter(std::string_view name, const Value& v, CallArgs& args) {
  using K = Value::Kind;
  if (name == "length" || name == "count") {
    if (v.is_string()) return Value::integer(static_cast<std::int64_t>(v.s.size()));
    if (v.kind == K::kArray) return Value::integer(static_cast<std::int64_t>(v.arr->size()));
    if (v.kind == K::kObject) return Value::integer(static_cast<std::int64_t>(v.obj->size()));
    return Error("filter 'length' cannot apply to {}", kind_name(v.kind));
  }
  if (name == "trim") {
    if (!v.is_string()) return Error("filter 'trim' cannot apply to {}", kind_name(v.kind));
    return Value::string(strip(v.s, kSpace, true, true));
  }
  if (name == "tojson") {
    const Value* indent = args.get(0, "indent");
    WHALE_TRY(std::string text, to_json_text(v, indent && indent->kind == K::kInt ? static_cast<int>(indent->i) : -1));
    return Value::string(std::move(text));
  }
  if (name == "items") {
    if (v.kind != K::kObject) return Error("filter 'items' cannot apply to {}", kind_name(v.kind));
    return items_of(v);
  }
  if (name == "join") {
    WHALE_TRY(Array items, iterate(v));
    WHALE_TRY(std::string sep, string_arg(args, 0, "d", ""));
    std::string out;
    for (std::size_t k = 0; k < items.size(); ++k) out += (k ? sep : "") + to_output(items[k]);
    return Value::string(std::move(out));
  }
  if (name == "select" || name == "reject") return select(v, args, name == "select", false);
  if (name == "selectattr" || name == "rejectattr") return select(v, args, name == "selectattr", true);
  if (name == "map") {
    WHALE_TRY(Array items, iterate(v));
    WHALE_TRY(std::string attr, string_arg(args, 0, "attribute", ""));
    Array out;
    for (const Value& item : items) {
      const Value* field = item.find(attr);
      out.push_back(field ? *field : Value());
    }
    return Value::array(std::move(out));
  }
  if (name == "list") {
    WHALE_TRY(Array items, iterate(v));
    return Value::array(std::move(items));
  }
  if (name == "first" || name == "last") {
    WHALE_TRY(Array items, iterate(v));
    if (items.empty()) return Value();
    return name == "first" ? items.front() : items.back();
  }
  if (name == "reverse") {
    if (v.is_string()) return Value::string(std::string(v.s.rbegin(), v.s.rend()));
    WHALE_TRY(Array items, iterate(v));
    std::reverse(items.begin(), items.end());
    return Value::array(std::move(items));
  }
  if (name == "string") return Value::string(to_output(v));
  if (name == "upper" || name == "lower") {
    if (!v.is_string()) return Error("filter '{}' cannot apply to {}", name, kind_name(v.kind));
    std::string s = v.s;
    for (char& c : s) c = static_cast<char>(name == "upper" ? std::toupper(static_cast<unsigned char>(c)) : std::tolower(static_cast<unsigned char>(c)));
    return Value::string(std::move(s));
  }
  if (name == "default" || name == "d") {
    const Value* fallback = args.get(0, "default_value");
    const Value* boolean = args.get(1, "boolean");
    const bool use = v.is_undefined() || (boolean && truthy(*boolean) && !truthy(v));
    return use ? (fallback ? *fallback : Value::string("")) : v;
  }
  if (name == "int") {
    if (v.kind == K::kInt) return v;
    if (v.kind == K::kFloat) return Value::integer(static_cast<std::int64_t>(v.f));
    if (v.kind == K::kBool) return Value::integer(v.b);
    if (v.is_string()) {
      try { return Value::integer(std::stoll(v.s)); } catch (...) { return Value::integer(0); }
    }
    return Value::integer(0);
  }
  if (name == "abs" && v.is_number())
    return v.kind == K::kInt ? Value::integer(v.i < 0 ? -v.i : v.i) : Value::number(v.f < 0 ? -v.f : v.f);
  if (name == "replace" && v.is_string()) {
    WHALE_TRY(std::string from, string_arg(args, 0, "old", ""));
    WHALE_TRY(std::string to, string_arg(args, 1, "new", ""));
    std::string s = v.s, out;
    if (from.empty()) return Value::string(s);
    for (std::size_t k = 0;;) {
      const std::size_t at = s.find(from, k);
      out += s.substr(k, at == std::string::npos ? std::string::npos : at - k);
      if (at == std::string::npos) break;
      out += to;
      k = at + from.size();
    }
    return Value::string(std::move(out));
  }
  return Error("unsupported template construct: filter '{}'", name);
}

Result<bool> apply_test(std::string_view name, const Value& v, CallArgs& args) {
  using K = Value::Kind;
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "string") return v.is_string();
  if (name == "number") return v.is_number();
  if (name == "integer") return v.kind == K::kInt;
  if (name == "float") return v.kind == K::kFloat;
  if (name == "boolean") return v.kind == K::kBool;
  if (name == "true") return v.kind == K::kBool && v.b;
  if (name == "false") return v.kind == K::kBool && !v.b;
  if (name == "mapping") return v.kind == K::kObject;
  if (name == "sequence") return v.kind == K::kArray || v.is_string();
  if (name == "iterable") return v.kind == K::kArray || v.kind == K::kObject || v.is_string();
  if (name == "callable") return v.kind == K::kFunction;
  if (name == "odd" || name == "even") {
    if (v.kind != K::kInt) return Error("test '{}' needs an integer", name);
    return (v.i % 2 != 0) == (name == "odd");
  }
  if (name == "equalto" || name == "eq" || name == "==" || name == "ne" || name == "!=") {
    const Value* other = args.get(0, "other");
    const bool eq = other && equal(v, *other);
    return (name == "ne" || name == "!=") ? !eq : eq;
  }
  if (name == "in") {
    const Value* seq = args.get(0, "seq");
    if (seq == nullptr) return false;
    if (seq->is_string() && v.is_string()) return seq->s.find(v.s) != std::string::npos;
    if (seq->kind == K::kArray)
      return std::any_of(seq->arr->begin(), seq->arr->end(), [&](const Value& x) { return equal(x, v); });
    if (seq->kind == K::kObject) return v.is_string() && seq->find(v.s) != nullptr;
    return false;
  }
  return Error("unsupported template construct: test '{}'", name);
}

Value method(const Value& v, const std::string& name) {
  if (v.is_string()) {
    const std::string s = v.s;
    auto bind = [&](auto fn) { return Value::function([s, fn](CallArgs& a) -> Result<Value> { return fn(s, a); }); };
    if (name == "strip" || name == "lstrip" || name == "rstrip") {
      const bool l = name != "rstrip", r = name != "lstrip";
      return bind([l, r](const std::string& str, CallArgs& a) -> Result<Value> {
        WHALE_TRY(std::string chars, string_arg(a, 0, "chars", kSpace));
        return Value::string(strip(str, chars, l, r));
      });
    }
    if (name == "split") return bind([](const std::string& str, CallArgs& a) -> Result<Value> { return split(str, a); });
    if (name == "startswith" || name == "endswith") {
      const bool start = name == "startswith";
      return bind([start](const std::string& str, CallArgs& a) -> Result<Value> {
        WHALE_TRY(std::string x, string_arg(a, 0, "prefix", ""));
        if (x.size() > str.size()) return Value::boolean(false);
        return Value::boolean(start ? str.compare(0, x.size(), x) == 0
                                    : str.compare(str.size() - x.size(), x.size(), x) == 0);
      });
    }
    if (name == "upper" || name == "lower" || name == "replace") {
      return bind([name](const std::string& str, CallArgs& a) -> Result<Value> {
        return apply_filter(name, Value::string(str), a);
      });
    }
    if (name == "find") {
      return bind([](const std::string& str, CallArgs& a) -> Result<Value> {
        WHALE_TRY(std::string x, string_arg(a, 0, "sub", ""));
        const std::size_t at = str.find(x);
        return Value::integer(at == std::string::npos ? -1 : static_cast<std::int64_t>(at));
      });
    }
    return Value();
  }
  if (v.kind == Value::Kind::kObject) {
    const Value self = v;
    if (name == "items") return Value::function([self](CallArgs&) -> Result<Value> { return items_of(self); });
    if (name == "keys" || name == "values") {
      const bool keys = name == "keys";
      return Value::function([self, keys](CallArgs&) -> Result<Value> {
        Array out;
        for (const auto& [k, item] : *self.obj) out.push_back(keys ? Value::string(k) : item);
        return Value::array(std::move(out));
      });
    }
    if (name == "get") {
      return Value::function([self](CallArgs& a) -> Result<Value> {
        WHALE_TRY(std::string key, string_arg(a, 0, "key", ""));
        const Value* found = self.find(key);
        if (found) return *found;
        const Value* fallback = a.get(1, "default");
        return fallback ? *fallback : Value::none();
      });
    }
  }
  return Value();
}

Value make_globals() {
  Object g;
  g.emplace_back("namespace", Value::function([](CallArgs& a) -> Result<Value> {
    Value ns = Value::object();
    for (auto& [k, v] : a.named) ns.set(k, v);
    return ns;
  }));
  g.emplace_back("dict", Value::function([](CallArgs& a) -> Result<Value> {
    Value d = Value::object();
    for (auto& [k, v] : a.named) d.set(k, v);
    return d;
  }));
  g.emplace_back("raise_exception", Value::function([](CallArgs& a) -> Result<Value> {
    return Error("template raised an exception: {}", a.positional.empty() ? "" : to_output(a.positional[0]));
  }));
  g.emplace_back("range", Value::function([](CallArgs& a) -> Result<Value> {
    std::int64_t lo = 0, hi = 0, step = 1;
    for (const Value& v : a.positional)
      if (v.kind != Value::Kind::kInt) return Error("range() needs integers");
    if (a.positional.size() == 1) hi = a.positional[0].i;
    else if (a.positional.size() >= 2) { lo = a.positional[0].i; hi = a.positional[1].i; }
    if (a.positional.size() == 3) step = a.positional[2].i;
    if (step == 0) return Error("range() step must not be zero");
    Array out;
    for (std::int64_t k = lo; step > 0 ? k < hi : k > hi; k += step) out.push_back(Value::integer(k));
    return Value::array(std::move(out));
  }));
  return Value::object(std::move(g));
}

}  // namespace whale::jinja
