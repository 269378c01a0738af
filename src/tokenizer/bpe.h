// bpe.h — byte-level BPE: merges by rank with a heap over a linked list of symbols, plus a
// cache of recently seen words.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "util/status.h"

namespace whale {

struct PairHash {
  std::size_t operator()(std::uint64_t key) const { return std::hash<std::uint64_t>{}(key); }
};

class BpeModel {
 public:
  // `tokens[id]` is the byte-level string of token id ("" for ids without one); merges are
  // pairs of byte-level strings in rank order. Fails on a merge whose parts or result are not
  // in the vocabulary.
  static Result<BpeModel> build(std::vector<std::string> tokens,
                                const std::vector<std::pair<std::string, std::string>>& merges,
                                bool ignore_merges);
  BpeModel(BpeModel&& other) noexcept;
  BpeModel& operator=(BpeModel&&) = delete;
  BpeModel(const BpeModel&) = delete;

  // Appends the ids of one pre-tokenized word given as raw bytes. Thread-safe.
  void encode_word(std::string_view word_bytes, std::vector<std::int32_t>& out) const;

  std::size_t size() const { return tokens_.size(); }
  const std::string& token(std::int32_t id) const { return tokens_[static_cast<std::size_t>(id)]; }
  // -1 when absent.
  std::int32_t find(std::string_view token) const;

 private:
  BpeModel() = default;
  struct Merge {
    std::int32_t rank;
    std::int32_t result;
  };
  static std::uint64_t pair_key(std::int32_t a, std::int32_t b) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) |
           static_cast<std::uint32_t>(b);
  }
  void merge_word(std::string_view word_bytes, std::vector<std::int32_t>& out) const;

  std::vector<std::string> tokens_;
  std::unordered_map<std::string, std::int32_t> ids_;
  std::unordered_map<std::uint64_t, Merge, PairHash> merges_;
  std::array<std::int32_t, 256> byte_ids_{};  // id of each byte's one-character token, or -1
  bool ignore_merges_ = false;

  // Words repeat (" the", " of"); caching their ids makes long texts cheap. Bounded: cleared
  // when full, which costs only recomputation.
  static constexpr std::size_t kCacheMaxEntries = 1 << 16;
  static constexpr std::size_t kCacheMaxWordBytes = 64;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<std::int32_t>> cache_;
};

}  // namespace whale
