// parser.cpp — parses the lexer's tags into the AST (expressions by precedence, then blocks).
#include <cctype>
#include <string_view>

#include "chat/ast.h"
#include "chat/lexer.h"

namespace whale::jinja {
namespace {

class ExprParser {
 public:
  ExprParser(std::vector<Tok> toks, int line) : toks_(std::move(toks)), line_(line) {}

  Result<ExprPtr> expression(bool with_condition = true) {
    WHALE_TRY(ExprPtr e, parse_or());
    if (with_condition && is_name("if")) {
      ++p_;
      auto t = make(Expr::Kind::kTernary);
      WHALE_TRY(t->b, parse_or());  // condition
      t->a = std::move(e);
      if (is_name("else")) {
        ++p_;
        WHALE_TRY(t->c, expression());
      }
      return t;
    }
    return e;
  }
  bool at_end() const { return toks_[p_].kind == Tok::Kind::kEnd; }
  bool is_name(std::string_view n) const {
    return toks_[p_].kind == Tok::Kind::kName && toks_[p_].text == n;
  }
  bool is_op(std::string_view o) const {
    return toks_[p_].kind == Tok::Kind::kOp && toks_[p_].text == o;
  }
  Result<std::string> name() {
    if (toks_[p_].kind != Tok::Kind::kName) return error("a name");
    return toks_[p_++].text;
  }
  Result<void> expect_op(std::string_view o) {
    if (!is_op(o)) return error(std::string("'") + std::string(o) + "'");
    ++p_;
    return {};
  }
  Error error(const std::string& wanted) const {
    return Error("expected {} but found '{}' at line {}", wanted, toks_[p_].text, line_);
  }
  void skip() { ++p_; }

 private:
  static ExprPtr make(Expr::Kind k) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    return e;
  }
  static ExprPtr binary(std::string op, ExprPtr a, ExprPtr b) {
    auto e = make(Expr::Kind::kBinary);
    e->name = std::move(op);
    e->a = std::move(a);
    e->b = std::move(b);
    return e;
  }

  Result<ExprPtr> parse_or() {
    WHALE_TRY(ExprPtr e, parse_and());
    while (is_name("or")) {
      ++p_;
      WHALE_TRY(ExprPtr r, parse_and());
      e = binary("or", std::move(e), std::move(r));
    }
    return e;
  }
  Result<ExprPtr> parse_and() {
    WHALE_TRY(ExprPtr e, parse_not());
    while (is_name("and")) {
      ++p_;
      WHALE_TRY(ExprPtr r, parse_not());
      e = binary("and", std::move(e), std::move(r));
    }
    return e;
  }
  Result<ExprPtr> parse_not() {
    if (is_name("not")) {
      ++p_;
      auto e = make(Expr::Kind::kUnary);
      e->name = "not";
      WHALE_TRY(e->a, parse_not());
      return e;
    }
    return parse_compare();
  }
  Result<ExprPtr> parse_compare() {
    WHALE_TRY(ExprPtr e, parse_math1());
    for (;;) {
      std::string op;
      if (is_op("==") || is_op("!=") || is_op("<") || is_op(">") || is_op("<=") || is_op(">=")) {
        op = toks_[p_++].text;
      } else if (is_name("in")) {
        ++p_;
        op = "in";
      } else if (is_name("not") && toks_[p_ + 1].kind == Tok::Kind::kName && toks_[p_ + 1].text == "in") {
        p_ += 2;
        op = "not in";
      } else {
        return e;
      }
      WHALE_TRY(ExprPtr r, parse_math1());
      e = binary(op, std::move(e), std::move(r));
    }
  }
  Result<ExprPtr> parse_math1() {
    WHALE_TRY(ExprPtr e, parse_concat());
    while (is_op("+") || is_op("-")) {
      std::string op = toks_[p_++].text;
      WHALE_TRY(ExprPtr r, parse_concat());
      e = binary(op, std::move(e), std::move(r));
    }
    return e;
  }
  Result<ExprPtr> parse_concat() {
    WHALE_TRY(ExprPtr e, parse_math2());
    while (is_op("~")) {
      ++p_;
      WHALE_TRY(ExprPtr r, parse_math2());
      e = binary("~", std::move(e), std::move(r));
    }
    return e;
  }
  Result<ExprPtr> parse_math2() {
    WHALE_TRY(ExprPtr e, parse_unary());
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      std::string op = toks_[p_++].text;
      WHALE_TRY(ExprPtr r, parse_unary());
      e = binary(op, std::move(e), std::move(r));
    }
    return e;
  }
  Result<ExprPtr> parse_unary() {
    if (is_op("-") || is_op("+")) {
      auto e = make(Expr::Kind::kUnary);
      e->name = toks_[p_++].text;
      WHALE_TRY(e->a, parse_unary());
      return e;
    }
    WHALE_TRY(ExprPtr e, parse_primary());
    WHALE_TRY(e, parse_postfix(std::move(e)));
    return parse_filters(std::move(e));
  }
  Result<void> parse_args(Expr& e) {  // after '('
    while (!is_op(")")) {
      if (toks_[p_].kind == Tok::Kind::kName && toks_[p_ + 1].kind == Tok::Kind::kOp &&
          toks_[p_ + 1].text == "=") {
        std::string key = toks_[p_].text;
        p_ += 2;
        WHALE_TRY(ExprPtr v, expression());
        e.named_args.emplace_back(std::move(key), std::move(v));
      } else {
        WHALE_TRY(ExprPtr v, expression());
        e.items.push_back(std::move(v));
      }
      if (!is_op(",")) break;
      ++p_;
    }
    return expect_op(")");
  }
  Result<ExprPtr> parse_postfix(ExprPtr e) {
    for (;;) {
      if (is_op(".")) {
        ++p_;
        auto a = make(Expr::Kind::kAttr);
        WHALE_TRY(a->name, name());
        a->a = std::move(e);
        e = std::move(a);
      } else if (is_op("[")) {
        ++p_;
        ExprPtr lo, hi, step;
        if (!is_op(":")) {
          WHALE_TRY(lo, expression());
        }
        if (is_op(":")) {
          ++p_;
          auto s = make(Expr::Kind::kSlice);
          if (!is_op(":") && !is_op("]")) {
            WHALE_TRY(hi, expression());
          }
          if (is_op(":")) {
            ++p_;
            if (!is_op("]")) {
              WHALE_TRY(step, expression());
            }
          }
          s->a = std::move(e);
          s->b = std::move(lo);
          s->c = std::move(hi);
          s->items.push_back(std::move(step));
          e = std::move(s);
        } else {
          auto ix = make(Expr::Kind::kIndex);
          ix->a = std::move(e);
          ix->b = std::move(lo);
          e = std::move(ix);
        }
        WHALE_TRY_VOID(expect_op("]"));
      } else if (is_op("(")) {
        ++p_;
        auto call = make(Expr::Kind::kCall);
        call->a = std::move(e);
        WHALE_TRY_VOID(parse_args(*call));
        e = std::move(call);
      } else {
        return e;
      }
    }
  }
  Result<ExprPtr> parse_filters(ExprPtr e) {
    for (;;) {
      if (is_op("|")) {
        ++p_;
        auto f = make(Expr::Kind::kFilter);
        WHALE_TRY(f->name, name());
        f->a = std::move(e);
        if (is_op("(")) {
          ++p_;
          WHALE_TRY_VOID(parse_args(*f));
        }
        e = std::move(f);
      } else if (is_name("is")) {
        ++p_;
        auto t = make(Expr::Kind::kTest);
        if (is_name("not")) {
          ++p_;
          t->negated = true;
        }
        if (is_name("none") || is_name("true") || is_name("false")) {
          t->name = toks_[p_++].text;
        } else {
          WHALE_TRY(t->name, name());
        }
        t->a = std::move(e);
        if (is_op("(")) {
          ++p_;
          WHALE_TRY_VOID(parse_args(*t));
        } else if (toks_[p_].kind == Tok::Kind::kString || toks_[p_].kind == Tok::Kind::kInt) {
          WHALE_TRY(ExprPtr arg, parse_primary());  // `is equalto 'x'`, `is divisibleby 3`
          t->items.push_back(std::move(arg));
        }
        e = std::move(t);
      } else {
        return e;
      }
    }
  }
  Result<ExprPtr> parse_primary() {
    const Tok& t = toks_[p_];
    auto lit = make(Expr::Kind::kLiteral);
    switch (t.kind) {
      case Tok::Kind::kString: {
        std::string s;
        while (toks_[p_].kind == Tok::Kind::kString) s += toks_[p_++].text;  // 'a' 'b' concatenates
        lit->literal = Value::string(std::move(s));
        return lit;
      }
      case Tok::Kind::kInt: lit->literal = Value::integer(std::stoll(t.text)); ++p_; return lit;
      case Tok::Kind::kFloat: lit->literal = Value::number(std::stod(t.text)); ++p_; return lit;
      case Tok::Kind::kName: {
        ++p_;
        if (t.text == "true" || t.text == "True") lit->literal = Value::boolean(true);
        else if (t.text == "false" || t.text == "False") lit->literal = Value::boolean(false);
        else if (t.text == "none" || t.text == "None") lit->literal = Value::none();
        else {
          auto n = make(Expr::Kind::kName);
          n->name = t.text;
          return n;
        }
        return lit;
      }
      case Tok::Kind::kOp:
        if (t.text == "(") {
          ++p_;
          WHALE_TRY(ExprPtr e, expression());
          if (is_op(",")) return Error("tuples are not supported (line {})", line_);
          WHALE_TRY_VOID(expect_op(")"));
          return e;
        }
        if (t.text == "[") {
          ++p_;
          auto l = make(Expr::Kind::kList);
          while (!is_op("]")) {
            WHALE_TRY(ExprPtr v, expression());
            l->items.push_back(std::move(v));
            if (!is_op(",")) break;
            ++p_;
          }
          WHALE_TRY_VOID(expect_op("]"));
          return l;
        }
        if (t.text == "{") {
          ++p_;
          auto d = make(Expr::Kind::kDict);
          while (!is_op("}")) {
            WHALE_TRY(ExprPtr k, expression());
            WHALE_TRY_VOID(expect_op(":"));
            WHALE_TRY(ExprPtr v, expression());
            d->items.push_back(std::move(k));
            d->items.push_back(std::move(v));
            if (!is_op(",")) break;
            ++p_;
          }
          WHALE_TRY_VOID(expect_op("}"));
          return d;
        }
        break;
      default: break;
    }
    return error("an expression");
  }

  std::vector<Tok> toks_;
  std::size_t p_ = 0;
  int line_;
};

// ---- statements ----
class StmtParser {
 public:
  explicit StmtParser(std::vector<Segment> segs) : segs_(std::move(segs)) {}

  // Parses until one of `ends` (returned in *ended) or the end of input (when ends is empty).
  Result<StmtList> block(std::initializer_list<std::string_view> ends, std::string* ended,
                         std::unique_ptr<ExprParser>* tail) {
    StmtList out;
    while (k_ < segs_.size()) {
      const Segment& seg = segs_[k_++];
      if (seg.kind == Segment::Kind::kText) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::kText;
        s->text = seg.content;
        out.push_back(std::move(s));
        continue;
      }
      WHALE_TRY(auto toks, lex(seg.content, seg.line));
      auto p = std::make_unique<ExprParser>(std::move(toks), seg.line);
      if (seg.kind == Segment::Kind::kExpr) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::kOutput;
        WHALE_TRY(s->expr, p->expression());
        if (!p->at_end()) return p->error("'}}'");
        out.push_back(std::move(s));
        continue;
      }
      WHALE_TRY(std::string kw, p->name());
      for (std::string_view e : ends)
        if (kw == e) {
          *ended = kw;
          *tail = std::move(p);
          return out;
        }
      if (kw == "if") {
        WHALE_TRY(auto s, parse_if(*p, seg.line));
        out.push_back(std::move(s));
      } else if (kw == "for") {
        WHALE_TRY(auto s, parse_for(*p, seg.line));
        out.push_back(std::move(s));
      } else if (kw == "set") {
        WHALE_TRY(auto s, parse_set(*p, seg.line));
        out.push_back(std::move(s));
      } else {
        return Error("unsupported template construct '{{% {} %}}' at line {}", kw, seg.line);
      }
    }
    if (ends.size() != 0) return Error("missing '{{% {} %}}' at end of template", *ends.begin());
    return out;
  }

 private:
  Result<std::unique_ptr<Stmt>> parse_if(ExprParser& p, int line) {
    auto s = std::make_unique<Stmt>();
    s->kind = Stmt::Kind::kIf;
    WHALE_TRY(ExprPtr cond, p.expression());
    if (!p.at_end()) return p.error("'%}'");
    for (;;) {
      std::string ended;
      std::unique_ptr<ExprParser> tail;
      WHALE_TRY(StmtList body, block({"elif", "else", "endif"}, &ended, &tail));
      s->branches.emplace_back(std::move(cond), std::move(body));
      if (ended == "endif") return s;
      if (ended == "else") {
        cond = nullptr;
      } else {
        WHALE_TRY(cond, tail->expression());
      }
      (void)line;
    }
  }
  Result<std::unique_ptr<Stmt>> parse_for(ExprParser& p, int line) {
    auto s = std::make_unique<Stmt>();
    s->kind = Stmt::Kind::kFor;
    for (;;) {
      WHALE_TRY(std::string v, p.name());
      s->targets.push_back(std::move(v));
      if (!p.is_op(",")) break;
      p.skip();
    }
    if (!p.is_name("in")) return p.error("'in'");
    p.skip();
    WHALE_TRY(s->expr, p.expression(false));
    if (p.is_name("if")) {
      p.skip();
      WHALE_TRY(s->filter, p.expression(false));
    }
    if (p.is_name("recursive")) return Error("unsupported template construct 'recursive' loop at line {}", line);
    if (!p.at_end()) return p.error("'%}'");
    std::string ended;
    std::unique_ptr<ExprParser> tail;
    WHALE_TRY(s->body, block({"else", "endfor"}, &ended, &tail));
    if (ended == "else") {
      WHALE_TRY(s->else_body, block({"endfor"}, &ended, &tail));
    }
    return s;
  }
  Result<std::unique_ptr<Stmt>> parse_set(ExprParser& p, int line) {
    auto s = std::make_unique<Stmt>();
    s->kind = Stmt::Kind::kSet;
    WHALE_TRY(std::string target, p.name());
    s->targets.push_back(std::move(target));
    if (p.is_op(".")) {
      p.skip();
      WHALE_TRY(std::string attr, p.name());
      s->targets.push_back(std::move(attr));
      s->set_attr = true;
    }
    if (!p.is_op("="))
      return Error("unsupported template construct: block or tuple '{{% set %}}' at line {}", line);
    p.skip();
    WHALE_TRY(s->expr, p.expression());
    if (!p.at_end()) return p.error("'%}'");
    return s;
  }

  std::vector<Segment> segs_;
  std::size_t k_ = 0;
};

}  // namespace

Result<StmtList> parse_template(std::string_view source) {
  WHALE_TRY(std::vector<Segment> segs, split_segments(source));
  StmtParser parser(std::move(segs));
  std::string ended;
  std::unique_ptr<ExprParser> tail;
  return parser.block({}, &ended, &tail);
}

}  // namespace whale::jinja
