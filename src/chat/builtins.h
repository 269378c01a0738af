// builtins.h — Jinja filters, tests, string/dict methods and global functions.
#pragma once

#include <string_view>

#include "chat/value.h"

namespace whale::jinja {

Result<Value> apply_filter(std::string_view name, const Value& v, CallArgs& args);
Result<bool> apply_test(std::string_view name, const Value& v, CallArgs& args);
// `v.name` when v is a string or dict and name a method: a bound function; else Undefined.
Value method(const Value& v, const std::string& name);
Value make_globals();  // namespace, range, raise_exception, dict

}  // namespace whale::jinja
