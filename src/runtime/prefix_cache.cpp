// prefix_cache.cpp — longest-prefix lookup over the block tree, insertion and LRU eviction.
#include "runtime/prefix_cache.h"

#include <algorithm>

namespace whale {

std::pair<PrefixCache::Key, std::int64_t> PrefixCache::best_child(
    Key parent, std::span<const std::int32_t> tokens) const {
  auto it = children_.find(parent);
  if (it == children_.end()) return {kRoot, 0};
  Key best = kRoot;
  std::int64_t best_len = 0;
  for (Key k : it->second) {
    const Entry& e = entries_.at(k);
    const auto n = std::min(tokens.size(), e.tokens.size());
    const auto len = static_cast<std::int64_t>(
        std::mismatch(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(n), e.tokens.begin()).first -
        tokens.begin());
    if (len > best_len) {
      best = k;
      best_len = len;
    }
  }
  return {best, best_len};
}

std::int64_t PrefixCache::attach(std::span<const std::int32_t> prompt, std::int64_t max_tokens,
                                 KvCache& cache) {
  WHALE_CHECK(cache.n_tokens == 0 && cache.n_blocks() == 0, "attach needs an empty cache");
  max_tokens = std::min({max_tokens, static_cast<std::int64_t>(prompt.size()), cache.capacity});
  Key parent = kRoot;
  std::vector<Key> used;
  for (std::int64_t begin = 0; begin < max_tokens; begin += kKvBlockTokens) {
    const std::int64_t avail = std::min(kKvBlockTokens, static_cast<std::int64_t>(prompt.size()) - begin);
    const auto [key, len] = best_child(parent, prompt.subspan(static_cast<std::size_t>(begin), static_cast<std::size_t>(avail)));
    if (len == 0) break;
    const Entry& e = entries_.at(key);
    const std::int64_t n = std::min(len, max_tokens - begin);
    used.push_back(key);
    if (n == kKvBlockTokens) {
      cache.append_shared(e.block);
      parent = key;
    } else {
      cache.append_copy(*e.block, n);  // the rest of this block differs or must be recomputed
      break;
    }
  }
  // Deeper blocks get older stamps, so eviction takes a branch from its tip.
  for (auto it = used.rbegin(); it != used.rend(); ++it) entries_.at(*it).last_used = ++clock_;
  return cache.n_tokens;
}

void PrefixCache::insert(std::span<const std::int32_t> tokens, const KvCache& cache) {
  const std::int64_t full = std::min<std::int64_t>(cache.n_tokens, static_cast<std::int64_t>(tokens.size())) / kKvBlockTokens;
  Key parent = kRoot;
  std::vector<Key> path;
  for (std::int64_t i = 0; i < full; ++i) {
    const auto block_tokens = tokens.subspan(static_cast<std::size_t>(i * kKvBlockTokens), static_cast<std::size_t>(kKvBlockTokens));
    const auto [key, len] = best_child(parent, block_tokens);
    if (len == kKvBlockTokens) {
      parent = key;
    } else {
      const Key k = next_key_++;
      Entry e;
      e.parent = parent;
      e.tokens.assign(block_tokens.begin(), block_tokens.end());
      e.block = cache.block(i);
      e.bytes = cache.block_bytes();
      bytes_ += e.bytes;
      entries_.emplace(k, std::move(e));
      children_[parent].push_back(k);
      if (parent != kRoot) ++entries_.at(parent).n_children;
      parent = k;
    }
    path.push_back(parent);
  }
  for (auto it = path.rbegin(); it != path.rend(); ++it) entries_.at(*it).last_used = ++clock_;
  evict();
}

void PrefixCache::evict() {
  while (bytes_ > budget_bytes_) {
    // The least recently used leaf that no running sequence holds.
    Key victim = kRoot;
    std::uint64_t oldest = UINT64_MAX;
    for (const auto& [k, e] : entries_)
      if (e.n_children == 0 && e.block.use_count() == 1 && e.last_used < oldest) {
        victim = k;
        oldest = e.last_used;
      }
    if (victim == kRoot) return;  // everything left is in use
    const Entry& e = entries_.at(victim);
    auto& siblings = children_[e.parent];
    std::erase(siblings, victim);
    if (siblings.empty()) children_.erase(e.parent);
    if (e.parent != kRoot) --entries_.at(e.parent).n_children;
    bytes_ -= e.bytes;
    entries_.erase(victim);
  }
}

std::uint64_t PrefixCache::idle_bytes() const {
  std::uint64_t n = 0;
  for (const auto& [k, e] : entries_)
    if (e.block.use_count() == 1) n += e.bytes;
  return n;
}

}  // namespace whale
