// event_channel.cpp — the model-thread → HTTP-thread event queue.
#include "server/event_channel.h"

namespace whale::server {

bool EventChannel::push(std::int32_t index, const EngineEvent& event) {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    queue_.emplace_back(index, event);
    if (event.finished) --unfinished_;
  }
  ready_.notify_one();
  return true;
}

std::vector<std::pair<std::int32_t, EngineEvent>> EventChannel::take(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  ready_.wait_for(lock, timeout, [&] { return !queue_.empty() || closed_; });
  std::vector<std::pair<std::int32_t, EngineEvent>> out(std::make_move_iterator(queue_.begin()),
                                                         std::make_move_iterator(queue_.end()));
  queue_.clear();
  return out;
}

void EventChannel::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  ready_.notify_all();
}

bool EventChannel::done() const {
  std::lock_guard lock(mutex_);
  return unfinished_ <= 0 && queue_.empty();
}

}  // namespace whale::server
