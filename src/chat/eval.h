// eval.h — renders a parsed template against a context object.
#pragma once

#include <string>

#include "chat/ast.h"

namespace whale::jinja {

// `context` is an object of top-level variables. Errors name the construct that failed.
Result<std::string> render(const StmtList& program, const Value& context);

}  // namespace whale::jinja
