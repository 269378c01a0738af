// engine.cpp — the Engine: a request queue filled from any thread and one model thread that
// admits requests, builds each step's batch (prompt chunks and decode tokens), runs it through
// Model::forward_batch and hands each sequence its logits.
#include "runtime/engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "runtime/prefix_cache.h"
#include "runtime/sequence.h"
#include "util/system_memory.h"

namespace whale {
namespace {

constexpr std::string_view kQueueFullMessage = "the request queue is full";
constexpr double kRateWindowSeconds = 5.0;
using Clock = std::chrono::steady_clock;

struct Pending {
  RequestId id = 0;
  EngineRequest request;
  EventSink sink;
};

class EngineImpl final : public Engine {
 public:
  EngineImpl(const EngineOptions& options, std::unique_ptr<Model> model, Tokenizer tokenizer,
             std::int64_t context)
      : options_(options), model_(std::move(model)), tokenizer_(std::move(tokenizer)),
        context_(context) {
    name_ = options.model_path.filename().string();
    if (name_.empty()) name_ = options.model_path.parent_path().filename().string();
    if (name_.ends_with(".gguf")) name_.resize(name_.size() - 5);
    const ModelConfig& c = model_->config();
    const Tokenizer* tk = &tokenizer_;
    vocab_.text.bytes = [tk](std::int32_t id) { return tk->token_bytes(id); };
    vocab_.text.is_special = [tk](std::int32_t id) { return tk->is_special(id); };
    EncodeOptions eo;
    eo.add_bos = false;
    if (auto close = tk->encode("\n</think>\n\n", eo); close.ok()) vocab_.text.close_thinking = *close;
    if (auto e = tk->eos_id()) vocab_.eos_ids.push_back(*e);
    for (auto e : c.eos_token_ids) vocab_.eos_ids.push_back(static_cast<std::int32_t>(e));
    vocab_.vocab_size = c.vocab_size;
    const std::uint64_t per_token = model_->new_cache(1).capacity_bytes();
    stats_.kv_cache_capacity_bytes = per_token * static_cast<std::uint64_t>(context_) *
                                     static_cast<std::uint64_t>(options_.parallel);
    if (options_.prefix_cache_tokens >= 0) {
      const std::int64_t tokens = options_.prefix_cache_tokens > 0 ? options_.prefix_cache_tokens : context_;
      prefix_ = std::make_unique<PrefixCache>(per_token * static_cast<std::uint64_t>(tokens));
      stats_.kv_cache_capacity_bytes += per_token * static_cast<std::uint64_t>(tokens);
    }
    thread_ = std::thread([this] { run(); });
  }
  ~EngineImpl() override { shutdown(); }

  const Tokenizer& tokenizer() const override { return tokenizer_; }
  const std::string& model_name() const override { return name_; }
  std::int64_t context_tokens() const override { return context_; }

  Result<RequestId> submit(EngineRequest request, EventSink sink) override {
    WHALE_TRY_VOID(check(request));
    if (!sink) return Error("no event sink");
    std::lock_guard lock(mu_);
    if (stopping_) return Error("the engine is shutting down");
    const auto waiting = static_cast<std::int64_t>(queue_.size()) + stats_.requests_active;
    if (waiting >= static_cast<std::int64_t>(options_.parallel) + options_.max_queued)
      return Error("{} ({} running, {} waiting)", kQueueFullMessage, stats_.requests_active,
                   queue_.size());
    const RequestId id = next_id_++;
    queue_.push_back({id, std::move(request), std::move(sink)});
    ++stats_.requests_total;
    cv_.notify_one();
    return id;
  }

  void cancel(RequestId id) override {
    std::lock_guard lock(mu_);
    cancels_.push_back(id);
    cv_.notify_one();
  }

  EngineStats stats() const override {
    std::lock_guard lock(mu_);
    EngineStats s = stats_;
    s.requests_queued = static_cast<std::int64_t>(queue_.size());
    return s;
  }

  void shutdown() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      cv_.notify_one();
    }
    // From a sink (the model thread itself) only ask: the loop ends after this step.
    if (std::this_thread::get_id() == thread_.get_id()) return;
    if (thread_.joinable()) thread_.join();
  }

 private:
  Result<void> check(const EngineRequest& r) const {
    const std::int64_t vocab = model_->config().vocab_size;
    if (r.prompt.empty()) return Error("the prompt is empty");
    for (std::size_t i = 0; i < r.prompt.size(); ++i)
      if (r.prompt[i] < 0 || r.prompt[i] >= vocab)
        return Error("prompt token {} at index {} is outside the vocabulary [0, {})", r.prompt[i], i, vocab);
    const auto n = static_cast<std::int64_t>(r.prompt.size());
    if (n >= context_)
      return Error("the prompt has {} tokens but the context holds {} (prompt and answer)", n, context_);
    if (r.max_tokens < 1) return Error("max_tokens {} must be at least 1", r.max_tokens);
    if (r.top_logprobs > 20) return Error("top_logprobs {} is outside [0, 20]", r.top_logprobs);
    for (const std::string& s : r.stop)
      if (s.empty()) return Error("a stop string is empty");
    return validate(r.sampling, vocab);
  }

  void run();
  void step();
  void retire();
  void publish(std::int64_t sampled, Clock::time_point step_start);

  const EngineOptions options_;
  std::unique_ptr<Model> model_;
  Tokenizer tokenizer_;
  const std::int64_t context_;
  std::string name_;
  SequenceVocab vocab_;

  mutable std::mutex mu_;  // guards everything below up to the model-thread section
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  std::vector<RequestId> cancels_;
  bool stopping_ = false;
  RequestId next_id_ = 1;
  EngineStats stats_;

  // Model thread only.
  std::vector<std::unique_ptr<Sequence>> active_;
  std::unique_ptr<PrefixCache> prefix_;  // null when off
  std::vector<SeqStep> steps_;
  std::vector<Sequence*> owners_;
  std::vector<bool> was_prefill_;  // the step ends the sequence's prompt
  std::vector<float> logits_;
  std::deque<std::pair<Clock::time_point, std::int64_t>> recent_;  // (step start, tokens sampled)
  std::int64_t prompt_total_ = 0, cached_total_ = 0, generated_total_ = 0;

  std::thread thread_;  // last: started after everything above exists
};

void send_cancelled(Pending& p) {
  EngineEvent ev;
  ev.finished = true;
  ev.finish = FinishReason::kCancelled;
  ev.usage.prompt_tokens = static_cast<std::int64_t>(p.request.prompt.size());
  p.sink(ev);
}

void EngineImpl::run() {
  for (;;) {
    std::vector<Pending> admitted, dropped;
    std::vector<RequestId> cancels;
    bool stopping = false;
    {
      std::unique_lock lock(mu_);
      // While idle, wake once a second so the decode rate decays to 0 in stats().
      cv_.wait_for(lock, std::chrono::seconds(1),
                   [&] { return stopping_ || !queue_.empty() || !cancels_.empty() || !active_.empty(); });
      stopping = stopping_;
      cancels.swap(cancels_);
      for (RequestId id : cancels) {
        auto it = std::find_if(queue_.begin(), queue_.end(), [id](const Pending& p) { return p.id == id; });
        if (it != queue_.end()) {
          dropped.push_back(std::move(*it));
          queue_.erase(it);
        }
      }
      while (stopping && !queue_.empty()) {
        dropped.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      while (static_cast<std::int32_t>(active_.size() + admitted.size()) < options_.parallel && !queue_.empty()) {
        admitted.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      stats_.requests_active = static_cast<std::int64_t>(active_.size() + admitted.size());
    }
    // Sinks run outside the lock: they may call cancel() or stats().
    for (Pending& p : dropped) send_cancelled(p);
    for (RequestId id : cancels)
      for (auto& s : active_)
        if (s->id() == id) s->finish(FinishReason::kCancelled);
    for (Pending& p : admitted) {
      prompt_total_ += static_cast<std::int64_t>(p.request.prompt.size());
      KvCache cache = model_->new_cache(context_);
      // At least the prompt's last token is computed: its logits start the answer.
      const std::int64_t cached =
          prefix_ ? prefix_->attach(p.request.prompt, static_cast<std::int64_t>(p.request.prompt.size()) - 1, cache) : 0;
      active_.push_back(std::make_unique<Sequence>(p.id, std::move(p.request), std::move(p.sink),
                                                   std::move(cache), vocab_));
      active_.back()->set_cached_prompt_tokens(cached);
    }
    if (stopping) {
      for (auto& s : active_) s->finish(FinishReason::kCancelled);
      retire();
      publish(0, Clock::now());
      return;
    }
    retire();
    const auto start = Clock::now();
    const std::int64_t before = generated_total_;
    if (!active_.empty()) step();
    retire();
    publish(generated_total_ - before, start);
  }
}

// One batch: every decoding sequence's next token, plus prompt chunks up to prefill_chunk tokens
// in all, so a long prompt never stalls the decodes for more than one chunk.
void EngineImpl::step() {
  steps_.clear();
  owners_.clear();
  was_prefill_.clear();
  std::int64_t budget = std::max<std::int64_t>(options_.prefill_chunk, 1);
  for (auto& s : active_) {
    if (s->prefilling()) {
      if (budget <= 0) continue;
      const std::int64_t n = std::min(budget, s->prompt_left());
      budget -= n;
      steps_.push_back({s->step_tokens(n), &s->cache(), n == s->prompt_left() ? LogitRows::kLast : LogitRows::kNone});
    } else {
      steps_.push_back({s->step_tokens(1), &s->cache(), LogitRows::kLast});
    }
    owners_.push_back(s.get());
    was_prefill_.push_back(steps_.back().logits == LogitRows::kLast && s->prefilling());
  }
  const std::int64_t vocab = model_->config().vocab_size;
  const std::int64_t rows = logit_rows(steps_);
  logits_.resize(static_cast<std::size_t>(rows * vocab));
  auto r = model_->forward_batch(steps_, Span2D<float>(logits_.data(), rows, vocab));
  if (!r.ok()) {
    // Inputs were checked at submit, so this is a bug; end the step's requests, not the server.
    fmt::print(stderr, "whale: engine step failed: {}\n", r.error().what());
    for (Sequence* s : owners_) s->finish(FinishReason::kCancelled);
    return;
  }
  std::int64_t row = 0;
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    if (steps_[i].logits != LogitRows::kLast) continue;
    Sequence* s = owners_[i];
    // A prompt just finished: offer its blocks at once, so requests running alongside with the
    // same system prompt share them.
    if (prefix_ && was_prefill_[i]) prefix_->insert(s->cached_tokens(), s->cache());
    const std::int64_t before = s->usage().completion_tokens;
    s->on_logits({logits_.data() + row * vocab, static_cast<std::size_t>(vocab)});
    generated_total_ += s->usage().completion_tokens - before;
    ++row;
  }
}

// Drops finished sequences; their cache blocks are freed here.
void EngineImpl::retire() {
  for (auto& s : active_) {
    if (!s->finished()) continue;
    cached_total_ += s->usage().cached_prompt_tokens;
    if (prefix_) prefix_->insert(s->cached_tokens(), s->cache());
  }
  std::erase_if(active_, [](const std::unique_ptr<Sequence>& s) { return s->finished(); });
}

void EngineImpl::publish(std::int64_t sampled, Clock::time_point step_start) {
  const auto now = Clock::now();
  if (sampled > 0) recent_.emplace_back(step_start, sampled);
  while (!recent_.empty() && std::chrono::duration<double>(now - recent_.front().first).count() > kRateWindowSeconds)
    recent_.pop_front();
  std::int64_t tokens = 0;
  for (const auto& [t, n] : recent_) tokens += n;
  const double span = recent_.empty() ? 0.0 : std::chrono::duration<double>(now - recent_.front().first).count();
  std::uint64_t kv = 0;
  // Each block once: shared blocks are always in the prefix cache (blocks in use are never
  // evicted), so sequences add only the blocks they alone hold.
  for (const auto& s : active_) kv += prefix_ ? s->cache().unshared_bytes() : s->cache().bytes();
  if (prefix_) kv += prefix_->bytes();
  std::lock_guard lock(mu_);
  stats_.requests_active = static_cast<std::int64_t>(active_.size());
  stats_.prompt_tokens_total = prompt_total_;
  stats_.cached_prompt_tokens_total = cached_total_;
  stats_.generated_tokens_total = generated_total_;
  stats_.decode_tokens_per_s = span > 0 ? static_cast<double>(tokens) / span : 0.0;
  stats_.kv_cache_bytes = kv;
}

}  // namespace

bool is_queue_full(const Error& error) { return error.message().starts_with(kQueueFullMessage); }

Result<std::unique_ptr<Engine>> Engine::load(const EngineOptions& options) {
  if (options.parallel < 1) return Error("parallel {} must be at least 1", options.parallel);
  if (options.max_queued < 0) return Error("max_queued {} is negative", options.max_queued);
  if (options.prefill_chunk < 1) return Error("prefill_chunk {} must be at least 1", options.prefill_chunk);
  LoadOptions lo;
  lo.n_threads = options.n_threads;
  WHALE_TRY(std::unique_ptr<Model> model, load_model(options.model_path, lo));
  auto tok = load_tokenizer(options.model_path);
  if (!tok.ok()) return std::move(tok).error().context("tokenizer of {}", options.model_path.string());
  const ModelConfig& c = model->config();
  std::int64_t ctx = options.context_tokens > 0
                         ? std::min<std::int64_t>(options.context_tokens, c.max_position_embeddings)
                         : c.max_position_embeddings;
  // Caches grow block by block, but every running sequence must be able to reach its context:
  // parallel full caches may take at most half of the memory available now.
  const std::uint64_t per_token = model->new_cache(1).capacity_bytes();
  const auto avail = available_memory_bytes();
  const auto slots = static_cast<std::uint64_t>(options.parallel);
  if (per_token > 0 && static_cast<std::uint64_t>(ctx) * per_token * slots > avail / 2)
    ctx = std::max<std::int64_t>(static_cast<std::int64_t>(avail / 2 / per_token / slots), 2);
  return std::unique_ptr<Engine>(std::make_unique<EngineImpl>(options, std::move(model), std::move(tok).value(), ctx));
}

}  // namespace whale
