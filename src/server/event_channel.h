// event_channel.h — hands engine events from the model thread to the HTTP thread that writes
// the response. The model thread must never block on a slow client, so push() only appends
// under a short lock; the reader waits with a timeout.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <utility>
#include <vector>

#include "runtime/engine.h"

namespace whale::server {

class EventChannel {
 public:
  explicit EventChannel(std::int32_t n_choices) : unfinished_(n_choices) {}

  // Called by the engine's sink. Returns false once the reader has gone (close()), which
  // cancels the request.
  bool push(std::int32_t index, const EngineEvent& event);

  // Waits up to `timeout` for events and takes all that are queued (possibly none).
  std::vector<std::pair<std::int32_t, EngineEvent>> take(std::chrono::milliseconds timeout);

  // The reader is gone: later pushes fail. Thread-safe, idempotent.
  void close();

  // Every choice has delivered its final event and the queue is drained.
  bool done() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::pair<std::int32_t, EngineEvent>> queue_;
  std::int32_t unfinished_;
  bool closed_ = false;
};

}  // namespace whale::server
