// server_http_test.cpp — the HTTP layer end to end over loopback against a scripted engine
// (fake_engine.h): routes, OpenAI response and stream shapes, reasoning placement, n and
// seeds, logprobs, every error status, API keys, client disconnects, slow clients, shutdown.
// Expected values are derived from the fake's script and the request, never from the server.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "server/fake_engine.h"
#include "server/http_server.h"

namespace whale::server {
namespace {

using nlohmann::json;
using test::FakeEngine;

class Running {
 public:
  explicit Running(FakeEngine::Options eo = {}, ServerOptions so = {}) : engine(eo) {
    so.port = 0;
    so.read_timeout_s = so.read_timeout_s > 0 ? so.read_timeout_s : 2;
    server = std::make_unique<HttpServer>(engine, so);
    auto bound = server->bind();
    EXPECT_TRUE(bound.ok()) << bound.error().what();
    thread = std::thread([this] { server->run(); });
    client = std::make_unique<httplib::Client>("127.0.0.1", server->port());
    client->set_read_timeout(10, 0);
  }
  ~Running() {
    server->stop();
    thread.join();
  }
  httplib::Result post(const std::string& path, const std::string& body) {
    return client->Post(path.c_str(), body, "application/json");
  }
  json post_json(const std::string& path, const json& body, int expect_status = 200) {
    auto r = post(path, body.dump());
    EXPECT_TRUE(r) << "no response";
    if (!r) return json();
    EXPECT_EQ(r->status, expect_status) << r->body;
    return json::parse(r->body);
  }

  FakeEngine engine;
  std::unique_ptr<HttpServer> server;
  std::thread thread;
  std::unique_ptr<httplib::Client> client;
};

json chat(json extra = json::object()) {
  json body = {{"model", "fake-model"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  body.update(extra);
  return body;
}

// The fake answers "seed=<seed>" then "+" per further piece (4 pieces by default).
std::string expected_answer(std::uint64_t seed, int pieces = 4) {
  return "seed=" + std::to_string(seed) + std::string(static_cast<std::size_t>(pieces - 1), '+');
}

// SSE body -> the JSON payloads, checking the framing on the way: every event is one
// "data: " line followed by a blank line, and the stream ends with data: [DONE].
std::vector<json> sse_payloads(const std::string& body, bool* saw_done) {
  std::vector<json> out;
  *saw_done = false;
  std::size_t pos = 0;
  while (pos < body.size()) {
    const auto end = body.find("\n\n", pos);
    EXPECT_NE(end, std::string::npos) << "unterminated event at " << pos;
    if (end == std::string::npos) break;
    const std::string event = body.substr(pos, end - pos);
    pos = end + 2;
    if (event.rfind(":", 0) == 0) continue;  // comment (keep-alive)
    EXPECT_EQ(event.rfind("data: ", 0), 0u) << event;
    EXPECT_EQ(event.find('\n'), std::string::npos) << "one line per event: " << event;
    EXPECT_FALSE(*saw_done) << "event after [DONE]";
    const std::string data = event.substr(6);
    if (data == "[DONE]") *saw_done = true;
    else out.push_back(json::parse(data));
  }
  return out;
}

TEST(ServerHttp, HealthModelsMetricsAndPage) {
  Running s;
  auto h = s.client->Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(json::parse(h->body)["status"], "ok");
  auto m = s.client->Get("/v1/models");
  ASSERT_TRUE(m);
  const json models = json::parse(m->body);
  EXPECT_EQ(models["object"], "list");
  ASSERT_EQ(models["data"].size(), 1u);
  EXPECT_EQ(models["data"][0]["id"], "fake-model");
  auto one = s.client->Get("/v1/models/fake-model");
  ASSERT_TRUE(one);
  EXPECT_EQ(json::parse(one->body)["id"], "fake-model");
  one = s.client->Get("/v1/models/other");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->status, 404);
  EXPECT_EQ(json::parse(one->body)["error"]["code"], "model_not_found");
  auto metrics = s.client->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("# TYPE whale_requests_total counter"), std::string::npos);
  EXPECT_NE(metrics->body.find("whale_kv_cache_usage_ratio 0.25\n"), std::string::npos) << metrics->body;
  auto page = s.client->Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->get_header_value("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(page->body.find("<title>whale</title>"), std::string::npos);
  for (const char* asset : {"/app.js", "/markdown.js", "/style.css"}) {
    auto a = s.client->Get(asset);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, 200) << asset;
    EXPECT_GT(a->body.size(), 500u) << asset;
  }
}

TEST(ServerHttp, ChatCompletionSeparatesReasoningAndCountsUsage) {
  Running s;
  const json r = s.post_json("/v1/chat/completions", chat({{"seed", 7}}));
  EXPECT_EQ(r["object"], "chat.completion");
  EXPECT_EQ(r["model"], "fake-model");
  EXPECT_EQ(r["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
  ASSERT_EQ(r["choices"].size(), 1u);
  const json& c = r["choices"][0];
  EXPECT_EQ(c["message"]["role"], "assistant");
  EXPECT_EQ(c["message"]["content"], expected_answer(7));
  EXPECT_EQ(c["message"]["reasoning_content"], "t0 t1 ");
  EXPECT_EQ(c["finish_reason"], "stop");
  EXPECT_TRUE(c["logprobs"].is_null());
  // Prompt: <bos> + "<user>hi<assistant>" (19 bytes) + <think> + "\n" = 22 tokens.
  const auto sent = s.engine.submitted();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].prompt.size(), 22u);
  EXPECT_TRUE(sent[0].starts_in_thinking);
  EXPECT_EQ(sent[0].max_tokens, 256 - 22);  // the rest of the context when not given
  EXPECT_EQ(r["usage"]["prompt_tokens"], 22);
  EXPECT_EQ(r["usage"]["completion_tokens"], 6);
  EXPECT_EQ(r["usage"]["total_tokens"], 28);
  EXPECT_EQ(r["usage"]["completion_tokens_details"]["reasoning_tokens"], 2);
  EXPECT_EQ(r["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
}

TEST(ServerHttp, SamplingFieldsReachTheEngine) {
  Running s;
  s.post_json("/v1/chat/completions",
              chat({{"seed", 3}, {"temperature", 0.5}, {"top_p", 0.9}, {"top_k", 7}, {"min_p", 0.1},
                    {"frequency_penalty", 0.5}, {"presence_penalty", -0.5}, {"repetition_penalty", 1.1},
                    {"max_completion_tokens", 50}, {"stop", {"x", "yz"}}, {"logit_bias", {{"65", -100}, {"66", 5}}},
                    {"response_format", {{"type", "json_object"}}}}));
  const auto sent = s.engine.submitted();
  ASSERT_EQ(sent.size(), 1u);
  const EngineRequest& e = sent[0];
  EXPECT_EQ(e.sampling.seed, 3u);
  EXPECT_FLOAT_EQ(e.sampling.temperature, 0.5f);
  EXPECT_FLOAT_EQ(e.sampling.top_p, 0.9f);
  EXPECT_EQ(e.sampling.top_k, 7);
  EXPECT_FLOAT_EQ(e.sampling.min_p, 0.1f);
  EXPECT_FLOAT_EQ(e.sampling.frequency_penalty, 0.5f);
  EXPECT_FLOAT_EQ(e.sampling.presence_penalty, -0.5f);
  EXPECT_FLOAT_EQ(e.sampling.repetition_penalty, 1.1f);
  EXPECT_EQ(e.max_tokens, 50);
  EXPECT_EQ(e.stop, (std::vector<std::string>{"x", "yz"}));
  ASSERT_EQ(e.sampling.logit_bias.size(), 2u);
  EXPECT_TRUE(std::isinf(e.sampling.logit_bias.at(65)) && e.sampling.logit_bias.at(65) < 0);
  EXPECT_FLOAT_EQ(e.sampling.logit_bias.at(66), 5.0f);
  EXPECT_TRUE(e.json_object);
  EXPECT_EQ(e.top_logprobs, -1);
}

TEST(ServerHttp, EarlierReasoningIsNotFedBack) {
  Running s;
  s.post_json("/v1/chat/completions",
              chat({{"messages",
                     {{{"role", "user"}, {"content", "q1"}},
                      {{"role", "assistant"}, {"content", "<think>secret plan</think>\n\nvisible"},
                       {"reasoning_content", "more secret"}},
                      {{"role", "user"}, {"content", {{{"type", "text"}, {"text", "q"}}, {{"type", "text"}, {"text", "2"}}}}}}}}));
  const auto sent = s.engine.submitted();
  ASSERT_EQ(sent.size(), 1u);
  auto text = s.engine.tokenizer().decode(sent[0].prompt);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "<bos><user>q1<assistant>visible<user>q2<assistant><think>\n");
}

TEST(ServerHttp, ChoicesUseConsecutiveSeeds) {
  Running s;
  const json r = s.post_json("/v1/chat/completions", chat({{"seed", 10}, {"n", 3}}));
  ASSERT_EQ(r["choices"].size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(r["choices"][i]["index"], i);
    EXPECT_EQ(r["choices"][i]["message"]["content"], expected_answer(10 + static_cast<std::uint64_t>(i)));
  }
  EXPECT_EQ(r["usage"]["prompt_tokens"], 22);  // shared prompt counted once
  EXPECT_EQ(r["usage"]["completion_tokens"], 18);
}

TEST(ServerHttp, ReasoningInlineOrDropped) {
  Running s;
  json r = s.post_json("/v1/chat/completions", chat({{"seed", 1}, {"reasoning_format", "inline"}}));
  EXPECT_EQ(r["choices"][0]["message"]["content"], "<think>t0 t1 </think>" + expected_answer(1));
  EXPECT_FALSE(r["choices"][0]["message"].contains("reasoning_content"));
  r = s.post_json("/v1/chat/completions", chat({{"seed", 1}, {"reasoning_format", "none"}}));
  EXPECT_EQ(r["choices"][0]["message"]["content"], expected_answer(1));
  EXPECT_FALSE(r["choices"][0]["message"].contains("reasoning_content"));
  EXPECT_EQ(r["usage"]["completion_tokens_details"]["reasoning_tokens"], 2);
}

TEST(ServerHttp, MaxTokensEndsWithLength) {
  Running s;
  const json r = s.post_json("/v1/chat/completions", chat({{"seed", 1}, {"max_tokens", 3}}));
  EXPECT_EQ(r["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(r["choices"][0]["message"]["content"], "seed=1");
}

TEST(ServerHttp, StreamFramingDeltasAndUsage) {
  Running s;
  auto res = s.post("/v1/chat/completions",
                    chat({{"seed", 5}, {"stream", true}, {"stream_options", {{"include_usage", true}}}}).dump());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->get_header_value("Content-Type").find("text/event-stream"), std::string::npos);
  bool done = false;
  const auto events = sse_payloads(res->body, &done);
  EXPECT_TRUE(done);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events[0]["choices"][0]["delta"]["role"], "assistant");
  std::string reasoning, content, finish;
  std::string id = events[0]["id"];
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    const json& e = events[i];
    EXPECT_EQ(e["object"], "chat.completion.chunk");
    EXPECT_EQ(e["id"], id);
    EXPECT_TRUE(e.contains("usage") && e["usage"].is_null());
    const json& d = e["choices"][0]["delta"];
    if (d.contains("reasoning_content")) reasoning += d["reasoning_content"].get<std::string>();
    if (d.contains("content")) content += d["content"].get<std::string>();
    if (!e["choices"][0]["finish_reason"].is_null()) finish = e["choices"][0]["finish_reason"];
  }
  EXPECT_EQ(reasoning, "t0 t1 ");
  EXPECT_EQ(content, expected_answer(5));
  EXPECT_EQ(finish, "stop");
  const json& last = events.back();
  EXPECT_TRUE(last["choices"].empty());
  EXPECT_EQ(last["usage"]["completion_tokens"], 6);
  EXPECT_EQ(last["usage"]["completion_tokens_details"]["reasoning_tokens"], 2);
}

TEST(ServerHttp, StreamInlineReasoningAndTextCompletions) {
  Running s;
  auto res = s.post("/v1/chat/completions", chat({{"seed", 2}, {"stream", true}, {"reasoning_format", "inline"}}).dump());
  ASSERT_TRUE(res);
  bool done = false;
  std::string content;
  for (const json& e : sse_payloads(res->body, &done))
    if (e["choices"][0]["delta"].contains("content")) content += e["choices"][0]["delta"]["content"].get<std::string>();
  EXPECT_TRUE(done);
  EXPECT_EQ(content, "<think>t0 t1 </think>" + expected_answer(2));

  // Text completions: raw continuation; a prompt that opened <think> gets no second opener.
  json r = s.post_json("/v1/completions", {{"model", "fake-model"}, {"prompt", "abc"}, {"seed", 3}});
  EXPECT_EQ(r["object"], "text_completion");
  EXPECT_EQ(r["choices"][0]["text"], expected_answer(3));
  EXPECT_EQ(r["usage"]["prompt_tokens"], 3);
  r = s.post_json("/v1/completions", {{"model", "fake-model"}, {"prompt", "q<think>\n"}, {"seed", 4}});
  EXPECT_EQ(r["choices"][0]["text"], "t0 t1 </think>" + expected_answer(4));
  res = s.post("/v1/completions", json({{"model", "fake-model"}, {"prompt", "abc"}, {"seed", 6}, {"stream", true}}).dump());
  ASSERT_TRUE(res);
  std::string text;
  for (const json& e : sse_payloads(res->body, &done)) {
    EXPECT_EQ(e["object"], "text_completion");
    text += e["choices"][0]["text"].get<std::string>();
  }
  EXPECT_TRUE(done);
  EXPECT_EQ(text, expected_answer(6));
}

TEST(ServerHttp, Logprobs) {
  Running s;
  json r = s.post_json("/v1/chat/completions", chat({{"seed", 1}, {"logprobs", true}, {"top_logprobs", 2}}));
  const json& content = r["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(content.size(), 6u);  // one per generated token, thinking included
  EXPECT_EQ(content[0]["token"], "t0 ");
  EXPECT_EQ(content[0]["bytes"], json({116, 48, 32}));
  EXPECT_FLOAT_EQ(content[0]["logprob"].get<float>(), -0.25f);
  ASSERT_EQ(content[0]["top_logprobs"].size(), 2u);
  EXPECT_EQ(content[0]["top_logprobs"][1]["token"], "b");  // token 98 is the byte 'b'
  r = s.post_json("/v1/completions", {{"model", "fake-model"}, {"prompt", "abc"}, {"seed", 1}, {"logprobs", 1}});
  const json& lp = r["choices"][0]["logprobs"];
  EXPECT_EQ(lp["tokens"], json({"seed=1", "+", "+", "+"}));
  EXPECT_EQ(lp["text_offset"], json({0, 6, 7, 8}));
  EXPECT_EQ(lp["top_logprobs"][0], json({{"a", -0.25}}));
}

struct BadCase {
  const char* name;
  std::string body;
  int status;
  const char* param;  // nullptr: no param expected
};

TEST(ServerHttp, MalformedAndOutOfRangeRequestsGetOpenAiErrors) {
  Running s;
  const std::string chat_ok = chat().dump();
  auto with = [](json extra) { return chat(std::move(extra)).dump(); };
  const std::vector<BadCase> cases = {
      {"not json", "{\"model\": ", 400, nullptr},
      {"array body", "[1,2]", 400, nullptr},
      {"invalid utf-8", "{\"model\":\"fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"\xff\xfe\"}]}", 400, nullptr},
      {"deep nesting", std::string(5000, '[') + std::string(5000, ']'), 400, nullptr},
      {"unknown model", json({{"model", "gpt-4"}, {"messages", json::array()}}).dump(), 404, "model"},
      {"model type", json({{"model", 5}}).dump(), 400, "model"},
      {"no messages", json({{"model", "fake-model"}}).dump(), 400, "messages"},
      {"empty messages", with({{"messages", json::array()}}), 400, "messages"},
      {"bad role", with({{"messages", {{{"role", "tool"}, {"content", "x"}}}}}), 400, "messages[0].role"},
      {"content type", with({{"messages", {{{"role", "user"}, {"content", 5}}}}}), 400, "messages[0].content"},
      {"image part", with({{"messages", {{{"role", "user"}, {"content", {{{"type", "image_url"}}}}}}}}), 400,
       "messages[0].content[0]"},
      {"temperature type", with({{"temperature", "hot"}}), 400, "temperature"},
      {"temperature range", with({{"temperature", 2.5}}), 400, "temperature"},
      {"huge number", "{\"model\":\"fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":1e400}", 400, nullptr},
      {"top_p zero", with({{"top_p", 0}}), 400, "top_p"},
      {"top_k negative", with({{"top_k", -1}}), 400, "top_k"},
      {"max_tokens float", with({{"max_tokens", 1e30}}), 400, "max_tokens"},
      {"max_tokens zero", with({{"max_tokens", 0}}), 400, "max_tokens"},
      {"huge unsigned", "{\"model\":\"fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":18446744073709551615}", 400, "max_tokens"},
      {"n too many", with({{"n", 1000}}), 400, "n"},
      {"stream type", with({{"stream", "yes"}}), 400, "stream"},
      {"stop type", with({{"stop", 3}}), 400, "stop"},
      {"too many stops", with({{"stop", {"a", "b", "c", "d", "e"}}}), 400, "stop"},
      {"logit_bias key", with({{"logit_bias", {{"abc", 1}}}}), 400, "logit_bias"},
      {"logit_bias id", with({{"logit_bias", {{"99999", 1}}}}), 400, "logit_bias"},
      {"logit_bias value", with({{"logit_bias", {{"5", 500}}}}), 400, "logit_bias"},
      {"top_logprobs alone", with({{"top_logprobs", 3}}), 400, "top_logprobs"},
      {"top_logprobs range", with({{"logprobs", true}, {"top_logprobs", 50}}), 400, "top_logprobs"},
      {"response_format", with({{"response_format", {{"type", "json_schema"}}}}), 400, "response_format.type"},
      {"include_usage type", with({{"stream_options", {{"include_usage", 1}}}}), 400, "stream_options.include_usage"},
      {"reasoning_format", with({{"reasoning_format", "loud"}}), 400, "reasoning_format"},
      {"prompt too long", with({{"messages", {{{"role", "user"}, {"content", std::string(300, 'x')}}}}}), 400, "messages"},
  };
  for (const BadCase& c : cases) {
    auto r = s.post("/v1/chat/completions", c.body);
    ASSERT_TRUE(r) << c.name;
    EXPECT_EQ(r->status, c.status) << c.name << ": " << r->body;
    const json e = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(e.is_object() && e.contains("error")) << c.name << ": " << r->body;
    EXPECT_FALSE(e["error"]["message"].get<std::string>().empty()) << c.name;
    EXPECT_TRUE(e["error"]["type"].is_string()) << c.name;
    if (c.param != nullptr) {
      EXPECT_EQ(e["error"]["param"], c.param) << c.name << ": " << r->body;
    }
  }
  // The context error names both counts: 1 + 6 + 300 + 11 + 1 + 1 = 320 prompt tokens, 256 context.
  auto r = s.post("/v1/chat/completions", with({{"messages", {{{"role", "user"}, {"content", std::string(300, 'x')}}}}}));
  ASSERT_TRUE(r);
  const std::string msg = json::parse(r->body)["error"]["message"];
  EXPECT_NE(msg.find("320"), std::string::npos) << msg;
  EXPECT_NE(msg.find("256"), std::string::npos) << msg;
  EXPECT_EQ(json::parse(r->body)["error"]["code"], "context_length_exceeded");
  // Completions validate their own fields.
  r = s.post("/v1/completions", json({{"model", "fake-model"}, {"prompt", 5}}).dump());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(json::parse(r->body)["error"]["param"], "prompt");
  r = s.post("/v1/completions", json({{"model", "fake-model"}, {"prompt", "x"}, {"logprobs", 9}}).dump());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(json::parse(r->body)["error"]["param"], "logprobs");
  EXPECT_TRUE(s.engine.submitted().empty()) << "a rejected request reached the engine";
  // The server still serves after all that.
  s.post_json("/v1/chat/completions", chat({{"seed", 1}}));
}

TEST(ServerHttp, UnknownRouteAndOversizedBody) {
  ServerOptions so;
  so.max_body_bytes = 1000;
  Running s({}, so);
  auto r = s.client->Get("/v1/nothing");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(json::parse(r->body)["error"]["message"].get<std::string>().find("/v1/nothing"), std::string::npos);
  r = s.post("/v1/chat/completions", chat({{"messages", {{{"role", "user"}, {"content", std::string(2000, 'x')}}}}}).dump());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(json::parse(r->body)["error"]["code"], "body_too_large");
}

TEST(ServerHttp, ApiKey) {
  ServerOptions so;
  so.api_key = "sekrit";
  Running s({}, so);
  auto r = s.post("/v1/chat/completions", chat().dump());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(json::parse(r->body)["error"]["code"], "invalid_api_key");
  r = s.client->Get("/v1/models", {{"Authorization", "Bearer sekriT"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  r = s.client->Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  r = s.client->Get("/v1/models", {{"Authorization", "Bearer sekrit"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  r = s.client->Get("/health");  // liveness probes need no key
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(s.engine.submitted().empty());
}

int connect_to(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  return fd;
}

bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

TEST(ServerHttp, ClientDisconnectCancelsTheRequest) {
  FakeEngine::Options eo;
  eo.n_answer_pieces = 1'000'000;  // would run for a long time
  eo.step_ms = 1;
  Running s(eo);
  const int fd = connect_to(s.server->port());
  const std::string body = chat({{"stream", true}, {"seed", 1}}).dump();
  const std::string req = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  ASSERT_EQ(send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  char buf[4096];
  std::string got;
  while (got.find("seed=1") == std::string::npos) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    ASSERT_GT(n, 0);
    got.append(buf, static_cast<std::size_t>(n));
  }
  EXPECT_EQ(s.engine.active(), 1);
  close(fd);
  EXPECT_TRUE(wait_for([&] { return s.engine.active() == 0; }, std::chrono::seconds(5)))
      << "the engine still runs the abandoned request";
  EXPECT_GE(s.engine.cancelled_count(), 1);
}

TEST(ServerHttp, SlowClientIsDroppedAndOthersAreServed) {
  ServerOptions so;
  so.read_timeout_s = 1;
  Running s({}, so);
  const int fd = connect_to(s.server->port());
  const std::string partial = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"mo";
  ASSERT_GT(send(fd, partial.data(), partial.size(), 0), 0);
  // Meanwhile another client is served normally.
  s.post_json("/v1/chat/completions", chat({{"seed", 1}}));
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[512];
  const auto start = std::chrono::steady_clock::now();
  ssize_t n = 0;
  std::string got;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) got.append(buf, static_cast<std::size_t>(n));
  EXPECT_EQ(n, 0) << "the server should close the stalled connection";
  // Dropped, or answered with a 4xx before closing: never a 2xx, never a crash.
  if (!got.empty()) {
    EXPECT_EQ(got.rfind("HTTP/1.1 4", 0), 0u) << got;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
  close(fd);
  EXPECT_TRUE(s.engine.submitted().size() == 1u);
}

TEST(ServerHttp, ShutdownEndsStreamsWithAFinalEvent) {
  FakeEngine::Options eo;
  eo.n_answer_pieces = 1'000'000;
  Running s(eo);
  std::string body;
  std::thread client([&] {
    httplib::Client c("127.0.0.1", s.server->port());
    c.set_read_timeout(10, 0);
    auto r = c.Post("/v1/chat/completions", chat({{"stream", true}, {"seed", 1}}).dump(), "application/json");
    if (r) body = r->body;
  });
  ASSERT_TRUE(wait_for([&] { return s.engine.active() == 1; }, std::chrono::seconds(5)));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  s.server->stop();
  client.join();
  bool done = false;
  const auto events = sse_payloads(body, &done);
  EXPECT_TRUE(done);
  ASSERT_FALSE(events.empty());
  ASSERT_TRUE(events.back().contains("error")) << body.substr(body.size() > 300 ? body.size() - 300 : 0);
  EXPECT_EQ(events.back()["error"]["code"], "cancelled");
}

}  // namespace
}  // namespace whale::server
