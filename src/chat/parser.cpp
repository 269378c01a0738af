// parser.cpp — lexes a template into text and tags (with whitespace control, trim_blocks and
// lstrip_blocks as transformers sets them) and parses tags into the AST.
#include <cctype>
#include <string_view>

#include "chat/ast.h"

namespace whale::jinja {
namespace {

struct Segment {
  enum class Kind { kText, kExpr, kStmt } kind;
  std::string content;
  int line;
};

int line_of(std::string_view src, std::size_t pos) {
  int line = 1;
  for (std::size_t k = 0; k < pos && k < src.size(); ++k) line += src[k] == '\n';
  return line;
}

// Index of the closing delimiter, skipping over quoted strings.
std::size_t find_close(std::string_view src, std::size_t from, std::string_view close) {
  char quote = 0;
  for (std::size_t k = from; k + close.size() <= src.size(); ++k) {
    const char c = src[k];
    if (quote) {
      if (c == '\\') ++k;
      else if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (src.compare(k, close.size(), close) == 0) {
      return k;
    }
  }
  return std::string_view::npos;
}

Result<std::vector<Segment>> split_segments(std::string_view src) {
  std::vector<Segment> out;
  std::size_t pos = 0;
  bool strip_next = false, trim_newline = false;
  while (pos <= src.size()) {
    std::size_t open = std::string_view::npos;
    for (std::size_t k = src.find('{', pos); k != std::string_view::npos; k = src.find('{', k + 1)) {
      if (k + 1 < src.size() && (src[k + 1] == '{' || src[k + 1] == '%' || src[k + 1] == '#')) {
        open = k;
        break;
      }
    }
    std::string text(src.substr(pos, open == std::string_view::npos ? std::string_view::npos : open - pos));
    if (strip_next) {
      text.erase(0, text.find_first_not_of(" \t\r\n"));
      if (text.find_first_not_of(" \t\r\n") == std::string::npos) text.clear();
    } else if (trim_newline && !text.empty() && text[0] == '\n') {
      text.erase(0, 1);
    }
    if (open == std::string_view::npos) {
      if (!text.empty()) out.push_back({Segment::Kind::kText, text, 0});
      break;
    }
    const char type = src[open + 1];
    const bool minus_open = open + 2 < src.size() && src[open + 2] == '-';
    if (minus_open) {
      const std::size_t last = text.find_last_not_of(" \t\r\n");
      text.erase(last == std::string::npos ? 0 : last + 1);
    } else if (type != '{') {
      // lstrip_blocks: blanks between the start of a line and a block tag are removed
      // (judged on the raw source, as Jinja's lexer does, before trim_blocks).
      const std::size_t nl = src.rfind('\n', open == 0 ? 0 : open - 1);
      const std::size_t line_start = (nl == std::string_view::npos || open == 0) ? 0 : nl + 1;
      const std::size_t blanks = open - line_start;
      if (line_start >= pos && blanks <= text.size() &&
          src.substr(line_start, blanks).find_first_not_of(" \t") == std::string_view::npos)
        text.erase(text.size() - blanks);
    }
    if (!text.empty()) out.push_back({Segment::Kind::kText, text, 0});
    const std::string_view close = type == '{' ? "}}" : type == '%' ? "%}" : "#}";
    const std::size_t body = open + 2 + (minus_open ? 1 : 0);
    const std::size_t end = type == '#' ? src.find(close, body) : find_close(src, body, close);
    if (end == std::string_view::npos)
      return Error("unclosed '{{{}' tag at line {}", type, line_of(src, open));
    const bool minus_close = end > body && src[end - 1] == '-';
    std::string inner(src.substr(body, end - body - (minus_close ? 1 : 0)));
    if (type != '#')
      out.push_back({type == '{' ? Segment::Kind::kExpr : Segment::Kind::kStmt, inner, line_of(src, open)});
    strip_next = minus_close;
    trim_newline = type != '{';  // trim_blocks
    pos = end + 2;
  }
  return out;
}

// ---- expression tokens ----
struct Tok {
  enum class Kind { kName, kString, kInt, kFloat, kOp, kEnd } kind;
  std::string text;
};

Result<std::vector<Tok>> lex(std::string_view s, int line) {
  std::vector<Tok> out;
  std::size_t k = 0;
  while (k < s.size()) {
    const char c = s[k];
    if (std::isspace(static_cast<unsigned char>(c))) { ++k; continue; }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t e = k;
      while (e < s.size() && (std::isalnum(static_cast<unsigned char>(s[e])) || s[e] == '_')) ++e;
      out.push_back({Tok::Kind::kName, std::string(s.substr(k, e - k))});
      k = e;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      std::size_t e = k;
      bool is_float = false;
      while (e < s.size() && (std::isdigit(static_cast<unsigned char>(s[e])) ||
                              (s[e] == '.' && !is_float && e + 1 < s.size() &&
                               std::isdigit(static_cast<unsigned char>(s[e + 1]))))) {
        is_float |= s[e] == '.';
        ++e;
      }
      out.push_back({is_float ? Tok::Kind::kFloat : Tok::Kind::kInt, std::string(s.substr(k, e - k))});
      k = e;
    } else if (c == '\'' || c == '"') {
      std::string str;
      std::size_t e = k + 1;
      for (; e < s.size() && s[e] != c; ++e) {
        if (s[e] != '\\' || e + 1 >= s.size()) { str += s[e]; continue; }
        const char n = s[++e];
        switch (n) {
          case 'n': str += '\n'; break;
          case 't': str += '\t'; break;
          case 'r': str += '\r'; break;
          default: str += n;  // \\ \' \" and anything else literally
        }
      }
      if (e >= s.size()) return Error("unterminated string at line {}", line);
      out.push_back({Tok::Kind::kString, std::move(str)});
      k = e + 1;
    } else {
      static constexpr std::string_view kOps[] = {"==", "!=", "<=", ">=", "//", "**", "<", ">", "+",
                                                  "-", "*", "/", "%", "~", "(", ")", "[", "]",
                                                  "{", "}", ",", ".", ":", "|", "="};
      bool found = false;
      for (std::string_view op : kOps)
        if (s.compare(k, op.size(), op) == 0) {
          out.push_back({Tok::Kind::kOp, std::string(op)});
          k += op.size();
          found = true;
          break;
        }
      if (!found) return Error("unexpected character '{}' at line {}", c, line);
    }
  }
  out.push_back({Tok::Kind::kEnd, ""});
  return out;
}

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
