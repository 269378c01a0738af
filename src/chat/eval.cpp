// eval.cpp — the tree-walking evaluator: scopes, loops, set, and expression semantics.
#include "chat/eval.h"

#include <cmath>

#include "chat/builtins.h"

namespace whale::jinja {
namespace {

class Renderer {
 public:
  explicit Renderer(const Value& context) {
    scopes_.push_back(make_globals());
    scopes_.push_back(Value::object(*context.obj));
  }

  Result<void> run(const StmtList& stmts, std::string& out) {
    for (const auto& s : stmts) WHALE_TRY_VOID(exec(*s, out));
    return {};
  }

 private:
  Value lookup(const std::string& name) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it)
      if (const Value* v = it->find(name)) return *v;
    return Value();
  }

  Result<void> exec(const Stmt& s, std::string& out) {
    switch (s.kind) {
      case Stmt::Kind::kText: out += s.text; return {};
      case Stmt::Kind::kOutput: {
        WHALE_TRY(Value v, eval(*s.expr));
        out += to_output(v);
        return {};
      }
      case Stmt::Kind::kIf:
        for (const auto& [cond, body] : s.branches) {
          bool take = true;
          if (cond) {
            WHALE_TRY(Value c, eval(*cond));
            take = truthy(c);
          }
          if (take) return run(body, out);
        }
        return {};
      case Stmt::Kind::kSet: {
        WHALE_TRY(Value v, eval(*s.expr));
        if (!s.set_attr) {
          scopes_.back().set(s.targets[0], std::move(v));
          return {};
        }
        Value ns = lookup(s.targets[0]);
        if (ns.kind != Value::Kind::kObject)
          return Error("cannot set attribute '{}' on {} '{}'", s.targets[1], kind_name(ns.kind), s.targets[0]);
        ns.set(s.targets[1], std::move(v));  // shared object: the namespace itself changes
        return {};
      }
      case Stmt::Kind::kFor: return exec_for(s, out);
    }
    return {};
  }

  Result<void> exec_for(const Stmt& s, std::string& out) {
    WHALE_TRY(Value seq, eval(*s.expr));
    Array items;
    if (seq.kind == Value::Kind::kArray) {
      items = *seq.arr;
    } else if (seq.kind == Value::Kind::kObject) {
      for (const auto& [k, v] : *seq.obj) items.push_back(Value::string(k));
    } else if (seq.is_string()) {
      for (char c : seq.s) items.push_back(Value::string(std::string(1, c)));
    } else if (!seq.is_undefined() && !seq.is_none()) {
      return Error("cannot loop over {}", kind_name(seq.kind));
    } else if (seq.is_none()) {
      return Error("cannot loop over none");
    }
    scopes_.push_back(Value::object());
    if (s.filter) {  // `for x in xs if cond`: loop.* counts only the kept items
      Array kept;
      for (const Value& item : items) {
        WHALE_TRY_VOID(bind_targets(s, item));
        WHALE_TRY(Value c, eval(*s.filter));
        if (truthy(c)) kept.push_back(item);
      }
      items = std::move(kept);
    }
    const auto n = static_cast<std::int64_t>(items.size());
    for (std::int64_t k = 0; k < n; ++k) {
      Value loop = Value::object();
      loop.set("index0", Value::integer(k));
      loop.set("index", Value::integer(k + 1));
      loop.set("revindex0", Value::integer(n - k - 1));
      loop.set("revindex", Value::integer(n - k));
      loop.set("first", Value::boolean(k == 0));
      loop.set("last", Value::boolean(k == n - 1));
      loop.set("length", Value::integer(n));
      loop.set("previtem", k > 0 ? items[static_cast<std::size_t>(k - 1)] : Value());
      loop.set("nextitem", k + 1 < n ? items[static_cast<std::size_t>(k + 1)] : Value());
      scopes_.back() = Value::object();
      scopes_.back().set("loop", loop);
      WHALE_TRY_VOID(bind_targets(s, items[static_cast<std::size_t>(k)]));
      auto r = run(s.body, out);
      if (!r.ok()) {
        scopes_.pop_back();
        return r;
      }
    }
    scopes_.pop_back();
    if (n == 0) return run(s.else_body, out);
    return {};
  }

  Result<void> bind_targets(const Stmt& s, const Value& item) {
    if (s.targets.size() == 1) {
      scopes_.back().set(s.targets[0], item);
      return {};
    }
    if (item.kind != Value::Kind::kArray || item.arr->size() != s.targets.size())
      return Error("cannot unpack {} into {} loop variables", kind_name(item.kind), s.targets.size());
    for (std::size_t k = 0; k < s.targets.size(); ++k) scopes_.back().set(s.targets[k], (*item.arr)[k]);
    return {};
  }

  Result<CallArgs> eval_args(const Expr& e) {
    CallArgs args;
    for (const auto& a : e.items) {
      WHALE_TRY(Value v, eval(*a));
      args.positional.push_back(std::move(v));
    }
    for (const auto& [k, a] : e.named_args) {
      WHALE_TRY(Value v, eval(*a));
      args.named.emplace_back(k, std::move(v));
    }
    return args;
  }

  Result<Value> index(const Value& base, const Value& key) {
    if (base.kind == Value::Kind::kObject) {
      if (!key.is_string()) return Value();
      const Value* v = base.find(key.s);
      return v ? *v : Value();
    }
    if ((base.kind == Value::Kind::kArray || base.is_string()) && key.kind == Value::Kind::kInt) {
      const auto n = static_cast<std::int64_t>(base.is_string() ? base.s.size() : base.arr->size());
      const std::int64_t k = key.i < 0 ? key.i + n : key.i;
      if (k < 0 || k >= n) return Value();
      if (base.is_string()) return Value::string(std::string(1, base.s[static_cast<std::size_t>(k)]));
      return (*base.arr)[static_cast<std::size_t>(k)];
    }
    if (base.is_undefined() || base.is_none())
      return Error("cannot index {} with '{}'", kind_name(base.kind), to_output(key));
    return Value();
  }

  Result<Value> slice(const Expr& e) {
    WHALE_TRY(Value base, eval(*e.a));
    auto bound = [&](const ExprPtr& x) -> Result<std::optional<std::int64_t>> {
      if (!x) return std::optional<std::int64_t>();
      WHALE_TRY(Value v, eval(*x));
      if (v.is_none()) return std::optional<std::int64_t>();
      if (v.kind != Value::Kind::kInt) return Error("slice bounds must be integers");
      return std::optional<std::int64_t>(v.i);
    };
    WHALE_TRY(auto lo, bound(e.b));
    WHALE_TRY(auto hi, bound(e.c));
    WHALE_TRY(auto st, bound(e.items[0]));
    const std::int64_t step = st.value_or(1);
    if (step == 0) return Error("slice step must not be zero");
    if (!base.is_string() && base.kind != Value::Kind::kArray)
      return Error("cannot slice {}", kind_name(base.kind));
    const auto n = static_cast<std::int64_t>(base.is_string() ? base.s.size() : base.arr->size());
    auto norm = [&](std::optional<std::int64_t> x, std::int64_t dflt) {
      if (!x) return dflt;
      std::int64_t v = *x < 0 ? *x + n : *x;
      return step > 0 ? std::clamp<std::int64_t>(v, 0, n) : std::clamp<std::int64_t>(v, -1, n - 1);
    };
    const std::int64_t b = norm(lo, step > 0 ? 0 : n - 1), en = norm(hi, step > 0 ? n : -1);
    Array items;
    std::string chars;
    for (std::int64_t k = b; step > 0 ? k < en : k > en; k += step) {
      if (base.is_string()) chars += base.s[static_cast<std::size_t>(k)];
      else items.push_back((*base.arr)[static_cast<std::size_t>(k)]);
    }
    return base.is_string() ? Value::string(std::move(chars)) : Value::array(std::move(items));
  }

  Result<Value> binary(const Expr& e) {
    const std::string& op = e.name;
    WHALE_TRY(Value a, eval(*e.a));
    if (op == "and") {
      if (!truthy(a)) return a;
      return eval(*e.b);
    }
    if (op == "or") {
      if (truthy(a)) return a;
      return eval(*e.b);
    }
    WHALE_TRY(Value b, eval(*e.b));
    if (op == "==") return Value::boolean(equal(a, b));
    if (op == "!=") return Value::boolean(!equal(a, b));
    if (op == "in" || op == "not in") {
      bool found = false;
      if (b.is_string() && a.is_string()) found = b.s.find(a.s) != std::string::npos;
      else if (b.kind == Value::Kind::kArray)
        found = std::any_of(b.arr->begin(), b.arr->end(), [&](const Value& x) { return equal(x, a); });
      else if (b.kind == Value::Kind::kObject) found = a.is_string() && b.find(a.s) != nullptr;
      else return Error("'{}' needs a string, list or dict on the right, not {}", op, kind_name(b.kind));
      return Value::boolean(op == "in" ? found : !found);
    }
    if (op == "~") return Value::string(to_output(a) + to_output(b));
    if (op == "+") {
      if (a.is_string() && b.is_string()) return Value::string(a.s + b.s);
      if (a.kind == Value::Kind::kArray && b.kind == Value::Kind::kArray) {
        Array out = *a.arr;
        out.insert(out.end(), b.arr->begin(), b.arr->end());
        return Value::array(std::move(out));
      }
    }
    if (a.is_number() && b.is_number()) {
      const bool ints = a.kind == Value::Kind::kInt && b.kind == Value::Kind::kInt;
      if (op == "<") return Value::boolean(a.as_double() < b.as_double());
      if (op == ">") return Value::boolean(a.as_double() > b.as_double());
      if (op == "<=") return Value::boolean(a.as_double() <= b.as_double());
      if (op == ">=") return Value::boolean(a.as_double() >= b.as_double());
      if (op == "+") return ints ? Value::integer(a.i + b.i) : Value::number(a.as_double() + b.as_double());
      if (op == "-") return ints ? Value::integer(a.i - b.i) : Value::number(a.as_double() - b.as_double());
      if (op == "*") return ints ? Value::integer(a.i * b.i) : Value::number(a.as_double() * b.as_double());
      if (b.as_double() == 0 && (op == "/" || op == "//" || op == "%")) return Error("division by zero");
      if (op == "/") return Value::number(a.as_double() / b.as_double());
      if (op == "//") return ints ? Value::integer(static_cast<std::int64_t>(std::floor(a.as_double() / b.as_double())))
                                  : Value::number(std::floor(a.as_double() / b.as_double()));
      if (op == "%") return ints ? Value::integer(((a.i % b.i) + b.i) % b.i) : Value::number(std::fmod(a.as_double(), b.as_double()));
    }
    if (a.is_string() && b.is_string()) {
      if (op == "<") return Value::boolean(a.s < b.s);
      if (op == ">") return Value::boolean(a.s > b.s);
      if (op == "<=") return Value::boolean(a.s <= b.s);
      if (op == ">=") return Value::boolean(a.s >= b.s);
    }
    if (op == "*" && a.is_string() && b.kind == Value::Kind::kInt) {
      std::string out;
      for (std::int64_t k = 0; k < b.i; ++k) out += a.s;
      return Value::string(std::move(out));
    }
    return Error("operator '{}' cannot apply to {} and {}", op, kind_name(a.kind), kind_name(b.kind));
  }

  Result<Value> eval(const Expr& e) {
    switch (e.kind) {
      case Expr::Kind::kLiteral: return e.literal;
      case Expr::Kind::kName: return lookup(e.name);
      case Expr::Kind::kList: {
        Array items;
        for (const auto& x : e.items) {
          WHALE_TRY(Value v, eval(*x));
          items.push_back(std::move(v));
        }
        return Value::array(std::move(items));
      }
      case Expr::Kind::kDict: {
        Value d = Value::object();
        for (std::size_t k = 0; k + 1 < e.items.size(); k += 2) {
          WHALE_TRY(Value key, eval(*e.items[k]));
          WHALE_TRY(Value v, eval(*e.items[k + 1]));
          if (!key.is_string()) return Error("dict keys must be strings");
          d.set(key.s, std::move(v));
        }
        return d;
      }
      case Expr::Kind::kAttr: {
        WHALE_TRY(Value base, eval(*e.a));
        if (base.kind == Value::Kind::kObject) {
          if (const Value* v = base.find(e.name)) return *v;
        }
        Value m = method(base, e.name);
        if (!m.is_undefined()) return m;
        if (base.is_undefined() || base.is_none())
          return Error("cannot read attribute '{}' of {}", e.name, kind_name(base.kind));
        return Value();
      }
      case Expr::Kind::kIndex: {
        WHALE_TRY(Value base, eval(*e.a));
        WHALE_TRY(Value key, eval(*e.b));
        return index(base, key);
      }
      case Expr::Kind::kSlice: return slice(e);
      case Expr::Kind::kCall: {
        WHALE_TRY(Value fn, eval(*e.a));
        if (fn.kind != Value::Kind::kFunction) {
          const std::string what = e.a->kind == Expr::Kind::kName || e.a->kind == Expr::Kind::kAttr ? e.a->name : "expression";
          return Error("unsupported template construct: call of '{}' ({})", what, kind_name(fn.kind));
        }
        WHALE_TRY(CallArgs args, eval_args(e));
        return (*fn.fn)(args);
      }
      case Expr::Kind::kFilter: {
        WHALE_TRY(Value v, eval(*e.a));
        WHALE_TRY(CallArgs args, eval_args(e));
        return apply_filter(e.name, v, args);
      }
      case Expr::Kind::kTest: {
        WHALE_TRY(Value v, eval(*e.a));
        WHALE_TRY(CallArgs args, eval_args(e));
        WHALE_TRY(bool r, apply_test(e.name, v, args));
        return Value::boolean(r != e.negated);
      }
      case Expr::Kind::kUnary: {
        WHALE_TRY(Value v, eval(*e.a));
        if (e.name == "not") return Value::boolean(!truthy(v));
        if (!v.is_number()) return Error("unary '{}' cannot apply to {}", e.name, kind_name(v.kind));
        if (e.name == "+") return v;
        return v.kind == Value::Kind::kInt ? Value::integer(-v.i) : Value::number(-v.f);
      }
      case Expr::Kind::kBinary: return binary(e);
      case Expr::Kind::kTernary: {
        WHALE_TRY(Value c, eval(*e.b));
        if (truthy(c)) return eval(*e.a);
        if (e.c) return eval(*e.c);
        return Value();
      }
    }
    return Value();
  }

  std::vector<Value> scopes_;  // globals, context, then one per active loop
};

}  // namespace

Result<std::string> render(const StmtList& program, const Value& context) {
  Renderer r(context);
  std::string out;
  WHALE_TRY_VOID(r.run(program, out));
  return out;
}

}  // namespace whale::jinja
