// fake_engine.cpp — the scripted engine behind the HTTP tests.
#include "server/fake_engine.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>

#include <nlohmann/json.hpp>

namespace whale::test {

namespace {

// GPT-2's byte-to-character table: printable bytes stand for themselves, the rest are moved to
// U+0100 and up, in byte order.
std::string byte_char(int b) {
  int cp = b;
  if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255))) {
    int n = 0;
    for (int k = 0; k < b; ++k)
      if (!((k >= 33 && k <= 126) || (k >= 161 && k <= 172) || (k >= 174 && k <= 255))) ++n;
    cp = 256 + n;
  }
  std::string s;
  if (cp < 0x80) s += static_cast<char>(cp);
  else {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

}  // namespace

Tokenizer fake_tokenizer() {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_char(b)] = b;
  nlohmann::json added = nlohmann::json::array();
  const char* specials[] = {"<bos>", "<eos>", "<think>", "</think>"};
  for (int i = 0; i < 4; ++i)
    added.push_back({{"id", 256 + i}, {"content", specials[i]}, {"special", true}, {"normalized", false},
                     {"lstrip", false}, {"rstrip", false}, {"single_word", false}});
  const nlohmann::json tok = {
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::json::array()}}}};
  const nlohmann::json cfg = {
      {"bos_token", "<bos>"},
      {"eos_token", "<eos>"},
      {"add_bos_token", false},
      {"chat_template",
       "{{ bos_token }}{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}{% endfor %}"
       "{% if add_generation_prompt %}<assistant><think>\n{% endif %}"}};
  auto t = Tokenizer::from_hf_json(tok.dump(), cfg.dump());
  if (!t.ok()) {
    fmt::print(stderr, "fake tokenizer: {}\n", t.error().what());
    std::abort();
  }
  return std::move(t).value();
}

std::string fake_answer_piece(std::uint64_t seed, int i) {
  return i == 0 ? fmt::format("seed={}", seed) : std::string("+");
}

FakeEngine::FakeEngine(Options options) : options_(options), tokenizer_(fake_tokenizer()) {
  thread_ = std::thread([this] { loop(); });
}

FakeEngine::~FakeEngine() { shutdown(); }

Result<RequestId> FakeEngine::submit(EngineRequest request, EventSink sink) {
  std::lock_guard lock(mutex_);
  if (stopping_) return Error("the engine is shut down");
  if (jobs_.size() >= options_.max_queued) return Error("the request queue is full ({} waiting)", jobs_.size());  // as the real engine words it
  Job job;
  job.id = next_id_++;
  submitted_.push_back(request);
  job.request = std::move(request);
  job.sink = std::move(sink);
  jobs_.push_back(std::move(job));
  ++total_;
  ++active_;
  wake_.notify_one();
  return jobs_.back().id;
}

void FakeEngine::cancel(RequestId id) {
  std::lock_guard lock(mutex_);
  to_cancel_.insert(id);
}

EngineStats FakeEngine::stats() const {
  std::lock_guard lock(mutex_);
  EngineStats s;
  s.requests_total = total_;
  s.requests_active = active_;
  s.kv_cache_bytes = 1024;
  s.kv_cache_capacity_bytes = 4096;
  return s;
}

std::vector<EngineRequest> FakeEngine::submitted() const {
  std::lock_guard lock(mutex_);
  return submitted_;
}

void FakeEngine::shutdown() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool FakeEngine::step(Job& job) {
  EngineEvent ev;
  const EngineRequest& r = job.request;
  const int thinking = r.starts_in_thinking ? kThinkingPieces : 0;
  const std::int64_t emitted = job.step;  // tokens so far
  if (emitted >= r.max_tokens) {
    ev.finished = true;
    ev.finish = FinishReason::kLength;
  } else {
    std::string piece;
    if (job.step < thinking) {
      piece = fmt::format("t{} ", job.step);
      ev.thinking = piece;
      ++job.thinking_tokens;
    } else {
      piece = fake_answer_piece(r.sampling.seed, job.step - thinking);
      ev.answer = piece;
    }
    if (r.top_logprobs >= 0) {
      TokenLogprob lp;
      lp.token = static_cast<unsigned char>(piece[0]);
      lp.bytes = piece;
      lp.logprob = -0.25f;
      for (int k = 0; k < r.top_logprobs; ++k) lp.top.emplace_back(97 + k, -0.25f - static_cast<float>(k));
      ev.logprobs.push_back(std::move(lp));
    }
    ++job.step;
    if (job.step - thinking >= options_.n_answer_pieces) {
      ev.finished = true;
      ev.finish = FinishReason::kStop;
    }
  }
  if (ev.finished) {
    ev.usage.prompt_tokens = static_cast<std::int64_t>(r.prompt.size());
    ev.usage.completion_tokens = job.step;
    ev.usage.reasoning_tokens = job.thinking_tokens;
  }
  if (!job.sink(ev)) {
    ++cancelled_count_;
    return true;
  }
  return ev.finished;
}

void FakeEngine::loop() {
  for (;;) {
    std::vector<Job> jobs;
    std::set<RequestId> cancels;
    bool stopping = false;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, std::chrono::milliseconds(options_.step_ms),
                     [&] { return stopping_ || !jobs_.empty(); });
      jobs.swap(jobs_);
      cancels.swap(to_cancel_);
      stopping = stopping_;
    }
    std::vector<Job> keep;
    for (Job& job : jobs) {
      if (stopping || cancels.count(job.id) != 0) {
        EngineEvent ev;
        ev.finished = true;
        ev.finish = FinishReason::kCancelled;
        job.sink(ev);
        ++cancelled_count_;
        --active_;
        continue;
      }
      if (step(job)) --active_;
      else keep.push_back(std::move(job));
    }
    {
      std::lock_guard lock(mutex_);
      // Jobs submitted meanwhile were appended to jobs_; the survivors go first.
      keep.insert(keep.end(), std::make_move_iterator(jobs_.begin()), std::make_move_iterator(jobs_.end()));
      jobs_.swap(keep);
      if (stopping_ && stopping) {
        for (Job& job : jobs_) {
          EngineEvent ev;
          ev.finished = true;
          ev.finish = FinishReason::kCancelled;
          job.sink(ev);
          --active_;
        }
        jobs_.clear();
        return;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(options_.step_ms));
  }
}

}  // namespace whale::test
