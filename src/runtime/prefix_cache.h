// prefix_cache.h — KV blocks kept after their requests end, so a later request whose prompt
// starts with the same tokens (a repeated system prompt, the next turn of a chat) takes their
// rows instead of recomputing them. Block-granular: a full block is shared by reference (its
// rows never change), a partially matching block is copied. Entries form a tree of blocks
// (each entry's parent is the block before it); only leaves no running sequence holds are
// evicted, least recently used first, to stay within a byte budget. Model thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "model/model.h"

namespace whale {

class PrefixCache {
 public:
  explicit PrefixCache(std::uint64_t budget_bytes) : budget_bytes_(budget_bytes) {}

  // Fills the empty `cache` with the rows of the longest cached prefix of `prompt`, at most
  // `max_tokens` of them, and returns how many it took (cache.n_tokens is set to that).
  std::int64_t attach(std::span<const std::int32_t> prompt, std::int64_t max_tokens, KvCache& cache);
  // Offers the full blocks of `cache`, whose first rows hold `tokens` (at least
  // cache.n_tokens of them), for reuse. Evicts to stay within the budget.
  void insert(std::span<const std::int32_t> tokens, const KvCache& cache);

  std::int64_t entries() const { return static_cast<std::int64_t>(entries_.size()); }
  std::uint64_t bytes() const { return bytes_; }
  // Bytes of blocks that only the prefix cache holds (the rest are counted by their sequences).
  std::uint64_t idle_bytes() const;

 private:
  using Key = std::uint64_t;
  static constexpr Key kRoot = 0;
  struct Entry {
    Key parent = kRoot;
    std::vector<std::int32_t> tokens;  // kKvBlockTokens
    std::shared_ptr<KvBlock> block;
    std::uint64_t bytes = 0;
    std::uint64_t last_used = 0;
    std::int32_t n_children = 0;
  };
  // The child of `parent` sharing the longest common prefix with `tokens`, and that length.
  std::pair<Key, std::int64_t> best_child(Key parent, std::span<const std::int32_t> tokens) const;
  void evict();

  std::uint64_t budget_bytes_;
  std::uint64_t bytes_ = 0;
  std::uint64_t clock_ = 0;
  Key next_key_ = 1;
  std::unordered_map<Key, Entry> entries_;
  std::unordered_map<Key, std::vector<Key>> children_;
};

}  // namespace whale
