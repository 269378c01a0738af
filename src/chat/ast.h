// ast.h — the parsed form of a chat template: expressions and statements.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/value.h"

namespace whale::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kLiteral, kName, kList, kDict, kAttr, kIndex, kSlice, kCall, kFilter, kTest,
    kUnary, kBinary, kTernary,
  };
  Kind kind;
  Value literal;                 // kLiteral
  std::string name;              // kName, kAttr (attribute), kFilter/kTest (name), op
  std::vector<ExprPtr> items;    // kList; kDict (key, value pairs); kCall/kFilter/kTest args
  std::vector<std::pair<std::string, ExprPtr>> named_args;
  ExprPtr a, b, c;               // operands; kSlice: a[b:c:items[0]]
  bool negated = false;          // kTest: `is not`
};

struct Stmt;
using StmtList = std::vector<std::unique_ptr<Stmt>>;

struct Stmt {
  enum class Kind { kText, kOutput, kIf, kFor, kSet };
  Kind kind;
  std::string text;                   // kText
  ExprPtr expr;                       // kOutput; kFor: iterable; kSet: value
  std::vector<std::pair<ExprPtr, StmtList>> branches;  // kIf: (condition or null, body)
  std::vector<std::string> targets;   // kFor loop variables; kSet: name or {ns, attr}
  bool set_attr = false;              // kSet: `set ns.attr = ...`
  ExprPtr filter;                     // kFor: `for x in xs if cond`
  StmtList body, else_body;           // kFor
};

// Parses a template; errors name the unsupported construct and its line.
Result<StmtList> parse_template(std::string_view source);

}  // namespace whale::jinja
