// value.cpp — truthiness, equality, printing and JSON conversion of Jinja values.
#include "chat/value.h"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

namespace whale::jinja {

const Value* Value::find(std::string_view key) const {
  if (kind != Kind::kObject) return nullptr;
  for (const auto& [k, v] : *obj)
    if (k == key) return &v;
  return nullptr;
}

void Value::set(const std::string& key, Value v) {
  for (auto& [k, existing] : *obj)
    if (k == key) {
      existing = std::move(v);
      return;
    }
  obj->emplace_back(key, std::move(v));
}

const Value* CallArgs::get(std::size_t pos, std::string_view name) const {
  for (const auto& [k, v] : named)
    if (k == name) return &v;
  return pos < positional.size() ? &positional[pos] : nullptr;
}

const char* kind_name(Value::Kind k) {
  switch (k) {
    case Value::Kind::kUndefined: return "undefined";
    case Value::Kind::kNone: return "none";
    case Value::Kind::kBool: return "boolean";
    case Value::Kind::kInt: return "integer";
    case Value::Kind::kFloat: return "float";
    case Value::Kind::kString: return "string";
    case Value::Kind::kArray: return "list";
    case Value::Kind::kObject: return "dict";
    case Value::Kind::kFunction: return "function";
  }
  return "?";
}

bool truthy(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone: return false;
    case Value::Kind::kBool: return v.b;
    case Value::Kind::kInt: return v.i != 0;
    case Value::Kind::kFloat: return v.f != 0;
    case Value::Kind::kString: return !v.s.empty();
    case Value::Kind::kArray: return !v.arr->empty();
    case Value::Kind::kObject: return !v.obj->empty();
    case Value::Kind::kFunction: return true;
  }
  return false;
}

bool equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return a.as_double() == b.as_double();
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone: return true;
    case Value::Kind::kBool: return a.b == b.b;
    case Value::Kind::kString: return a.s == b.s;
    case Value::Kind::kArray:
      if (a.arr->size() != b.arr->size()) return false;
      for (std::size_t k = 0; k < a.arr->size(); ++k)
        if (!equal((*a.arr)[k], (*b.arr)[k])) return false;
      return true;
    case Value::Kind::kObject:
      if (a.obj->size() != b.obj->size()) return false;
      for (const auto& [k, v] : *a.obj) {
        const Value* o = b.find(k);
        if (o == nullptr || !equal(v, *o)) return false;
      }
      return true;
    default: return a.fn == b.fn;
  }
}

namespace {
std::string float_text(double f) {
  if (std::isfinite(f) && f == std::floor(f) && std::fabs(f) < 1e16) return fmt::format("{:.1f}", f);
  return fmt::format("{}", f);
}

std::string quote_python(const std::string& s) {
  const char q = s.find('\'') != std::string::npos && s.find('"') == std::string::npos ? '"' : '\'';
  std::string out(1, q);
  for (char c : s) {
    if (c == q || c == '\\') out += '\\';
    if (c == '\n') { out += "\\n"; continue; }
    out += c;
  }
  out += q;
  return out;
}

void json_text(const Value& v, int indent, int depth, std::string& out) {
  auto newline = [&](int d) {
    if (indent < 0) return;
    out += '\n';
    out.append(static_cast<std::size_t>(indent * d), ' ');
  };
  switch (v.kind) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone: out += "null"; return;
    case Value::Kind::kBool: out += v.b ? "true" : "false"; return;
    case Value::Kind::kInt: out += std::to_string(v.i); return;
    case Value::Kind::kFloat: out += float_text(v.f); return;
    case Value::Kind::kString: out += nlohmann::json(v.s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); return;
    case Value::Kind::kArray: {
      if (v.arr->empty()) { out += "[]"; return; }
      out += '[';
      for (std::size_t k = 0; k < v.arr->size(); ++k) {
        if (k) out += indent < 0 ? ", " : ",";
        newline(depth + 1);
        json_text((*v.arr)[k], indent, depth + 1, out);
      }
      newline(depth);
      out += ']';
      return;
    }
    case Value::Kind::kObject: {
      if (v.obj->empty()) { out += "{}"; return; }
      out += '{';
      bool first = true;
      for (const auto& [k, item] : *v.obj) {
        if (!first) out += indent < 0 ? ", " : ",";
        first = false;
        newline(depth + 1);
        out += nlohmann::json(k).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        out += ": ";
        json_text(item, indent, depth + 1, out);
      }
      newline(depth);
      out += '}';
      return;
    }
    case Value::Kind::kFunction: out += "null"; return;
  }
}
}  // namespace

std::string to_repr(const Value& v) {
  if (v.kind == Value::Kind::kString) return quote_python(v.s);
  return to_output(v);
}

std::string to_output(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kUndefined: return "";
    case Value::Kind::kNone: return "None";
    case Value::Kind::kBool: return v.b ? "True" : "False";
    case Value::Kind::kInt: return std::to_string(v.i);
    case Value::Kind::kFloat: return float_text(v.f);
    case Value::Kind::kString: return v.s;
    case Value::Kind::kArray: {
      std::string out = "[";
      for (std::size_t k = 0; k < v.arr->size(); ++k) out += (k ? ", " : "") + to_repr((*v.arr)[k]);
      return out + "]";
    }
    case Value::Kind::kObject: {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, item] : *v.obj) {
        out += (first ? "" : ", ") + quote_python(k) + ": " + to_repr(item);
        first = false;
      }
      return out + "}";
    }
    case Value::Kind::kFunction: return "<function>";
  }
  return "";
}

Result<std::string> to_json_text(const Value& v, int indent) {
  std::string out;
  json_text(v, indent, 0, out);
  return out;
}

Value from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return Value::none();
    case nlohmann::json::value_t::boolean: return Value::boolean(j.get<bool>());
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: return Value::integer(j.get<std::int64_t>());
    case nlohmann::json::value_t::number_float: return Value::number(j.get<double>());
    case nlohmann::json::value_t::string: return Value::string(j.get<std::string>());
    case nlohmann::json::value_t::array: {
      Array a;
      for (const auto& item : j) a.push_back(from_json(item));
      return Value::array(std::move(a));
    }
    case nlohmann::json::value_t::object: {
      Object o;
      for (const auto& [k, item] : j.items()) o.emplace_back(k, from_json(item));
      return Value::object(std::move(o));
    }
    default: return Value();
  }
}

}  // namespace whale::jinja
