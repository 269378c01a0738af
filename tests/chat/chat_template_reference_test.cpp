// chat_template_reference_test.cpp — chat templates (DeepSeek-V3, DeepSeek-R1, Qwen2.5,
// Qwen3, Llama 3, Llama 3.1) rendered byte for byte as @huggingface/jinja renders them.
#include <gtest/gtest.h>

#include "test_env.h"

#include <nlohmann/json.hpp>

#include "chat/chat_template.h"
#include "tokenizer/reference_data.h"
#include "util/text_file.h"

namespace whale {
namespace {

using nlohmann::ordered_json;

TEST(ChatTemplateReference, RendersLikeHuggingFaceJinja) {
  std::string why;
  auto dir = test::reference_dir(&why);
  if (!dir && whale::test::prerequisites_required()) FAIL() << why;
  if (!dir) GTEST_SKIP() << why;
  ASSERT_FALSE(dir->empty()) << why;
  auto text = read_text_file(*dir / "templates.json");
  ASSERT_TRUE(text.ok()) << text.error().what();
  const ordered_json cases = ordered_json::parse(*text);
  ASSERT_GE(cases.size(), 80u);
  for (const ordered_json& c : cases) {
    auto source = read_text_file(*dir / c.at("template_file").get<std::string>());
    ASSERT_TRUE(source.ok()) << source.error().what();
    ChatRenderOptions options;
    options.add_generation_prompt = c.at("add_generation_prompt").get<bool>();
    options.bos_token = c.at("bos_token").get<std::string>();
    options.eos_token = c.at("eos_token").get<std::string>();
    auto got = render_chat(*source, c.at("messages"), options);
    const std::string where = c.at("template").get<std::string>() + " conversation " +
                              std::to_string(c.at("conversation").get<int>()) +
                              (options.add_generation_prompt ? " +generation prompt" : "");
    if (c.at("expected").is_null()) {
      EXPECT_FALSE(got.ok()) << where << ": the reference failed (" << c.at("error")
                             << ") but whale rendered:\n" << (got.ok() ? *got : "");
      continue;
    }
    ASSERT_TRUE(got.ok()) << where << ": " << got.error().what();
    EXPECT_EQ(*got, c.at("expected").get<std::string>()) << where;
  }
}

TEST(ChatTemplate, R1DropsThinkingFromHistoryAndOpensThinkInGenerationPrompt) {
  auto source = read_text_file("tests/tokenizer/data/templates/deepseek_r1.jinja");
  ASSERT_TRUE(source.ok()) << source.error().what();
  const ordered_json messages = ordered_json::parse(R"([
    {"role": "user", "content": "1+1?"},
    {"role": "assistant", "content": "<think>\nadd\n</think>\n\n2"},
    {"role": "user", "content": "2+2?"}])");
  ChatRenderOptions options{true, "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"};
  auto got = render_chat(*source, messages, options);
  ASSERT_TRUE(got.ok()) << got.error().what();
  // Worked from the template text: history keeps what follows </think>.
  EXPECT_EQ(*got,
            "<｜begin▁of▁sentence｜><｜User｜>1+1?<｜Assistant｜>\n\n2<｜end▁of▁sentence｜>"
            "<｜User｜>2+2?<｜Assistant｜><think>\n");
}

TEST(ChatTemplate, UnsupportedConstructIsNamed) {
  const ordered_json messages = ordered_json::array();
  auto macro = render_chat("{% macro f() %}x{% endmacro %}", messages, {});
  ASSERT_FALSE(macro.ok());
  EXPECT_NE(macro.error().what().find("macro"), std::string::npos) << macro.error().what();
  auto filter = render_chat("{{ 'a' | wordwrap }}", messages, {});
  ASSERT_FALSE(filter.ok());
  EXPECT_NE(filter.error().what().find("wordwrap"), std::string::npos) << filter.error().what();
  auto raised = render_chat("{{ raise_exception('no system role') }}", messages, {});
  ASSERT_FALSE(raised.ok());
  EXPECT_NE(raised.error().what().find("no system role"), std::string::npos);
}

TEST(ChatTemplate, WhitespaceControlAndLoops) {
  const ordered_json messages = ordered_json::parse(R"([{"role": "user", "content": "a"},
                                                        {"role": "assistant", "content": "b"}])");
  auto got = render_chat(
      "{%- for m in messages -%}\n  {{ loop.index }}:{{ m.role|upper }}={{ m['content'] }}"
      "{% if not loop.last %}, {% endif %}\n{%- endfor %}|{{ messages|length - 1 }}"
      "|{{ 'x,y'.split(',')[-1] }}|{{ [3, 1, 2][::-1]|join('') }}|{{ 'a' if false else 'b' }}",
      messages, {});
  ASSERT_TRUE(got.ok()) << got.error().what();
  EXPECT_EQ(*got, "1:USER=a, 2:ASSISTANT=b|1|y|213|b");
}

}  // namespace
}  // namespace whale

namespace whale {
namespace {

std::string render_ok(std::string_view tmpl, const nlohmann::ordered_json& msgs = nlohmann::ordered_json::array()) {
  auto r = render_chat(tmpl, msgs, {});
  EXPECT_TRUE(r.ok()) << tmpl << ": " << (r.ok() ? "" : r.error().what());
  return r.ok() ? *r : "";
}

TEST(ChatTemplate, ExpressionsWorkedByHand) {
  EXPECT_EQ(render_ok("{{ {'b': 1, 'a': [1, 'x']} | tojson }}"), R"({"b": 1, "a": [1, "x"]})");
  EXPECT_EQ(render_ok("{{ {'k': 1} | tojson(indent=2) }}"), "{\n  \"k\": 1\n}");
  EXPECT_EQ(render_ok("{{ 'k' in {'k': 1} }} {{ 'z' not in 'xyz' }} {{ none is none }}"), "True False True");
  EXPECT_EQ(render_ok("{{ 7 // 2 }} {{ 7 % 3 }} {{ 1 / 2 }} {{ -3 + 1 }} {{ 'a' ~ 1 }}"), "3 1 0.5 -2 a1");
  EXPECT_EQ(render_ok("{{ '  x\\n'.strip() }}|{{ 'a\\tb' }}|{{ \"q'\" }}"), "x|a\tb|q'");
  EXPECT_EQ(render_ok("{% set ns = namespace(n=0) %}{% for i in range(4) if i is even %}"
                      "{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}"),
            "2");
  EXPECT_EQ(render_ok("{% for k, v in {'a': 1, 'b': 2} | items %}{{ k }}{{ v }}{% endfor %}"), "a1b2");
  EXPECT_EQ(render_ok("{{ undefined_thing is defined }}{{ undefined_thing }}|{{ x | default('d') }}"), "False|d");
  // trim_blocks removes the newline after a block tag; lstrip_blocks the indent before one.
  EXPECT_EQ(render_ok("{% if true %}\n  a\n  {% endif %}\nb"), "  a\nb");
}

TEST(ChatTemplate, MalformedTemplatesAreErrors) {
  const auto empty = nlohmann::ordered_json::array();
  EXPECT_FALSE(render_chat("{{ 'x' ", empty, {}).ok());
  EXPECT_FALSE(render_chat("{% if true %}x", empty, {}).ok());
  EXPECT_FALSE(render_chat("{% for %}{% endfor %}", empty, {}).ok());
  EXPECT_FALSE(render_chat("{{ 1 + }}", empty, {}).ok());
  EXPECT_FALSE(render_chat("{{ none.attr }}", empty, {}).ok());
  EXPECT_FALSE(render_chat("{{ 'a' - 1 }}", empty, {}).ok());
}

}  // namespace
}  // namespace whale
