// bpe.cpp — the BPE merge loop: O(n log n) per word via a lazy-deletion heap.
#include "tokenizer/bpe.h"

#include <queue>

#include "tokenizer/byte_level.h"

namespace whale {

Result<BpeModel> BpeModel::build(std::vector<std::string> tokens,
                                 const std::vector<std::pair<std::string, std::string>>& merges,
                                 bool ignore_merges) {
  BpeModel m;
  m.tokens_ = std::move(tokens);
  m.ignore_merges_ = ignore_merges;
  m.ids_.reserve(m.tokens_.size());
  for (std::size_t i = 0; i < m.tokens_.size(); ++i) {
    if (m.tokens_[i].empty()) continue;
    m.ids_.emplace(m.tokens_[i], static_cast<std::int32_t>(i));  // first id wins on duplicates
  }
  const ByteLevelAlphabet& alphabet = byte_level_alphabet();
  for (unsigned b = 0; b < 256; ++b)
    m.byte_ids_[b] = m.find(alphabet.encode_byte(static_cast<unsigned char>(b)));
  m.merges_.reserve(merges.size());
  for (std::size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [a, b] = merges[rank];
    const std::int32_t ia = m.find(a), ib = m.find(b), ir = m.find(a + b);
    if (ia < 0 || ib < 0 || ir < 0)
      return Error("merge {} '{} {}' refers to a token missing from the vocabulary", rank, a, b);
    m.merges_.emplace(pair_key(ia, ib), Merge{static_cast<std::int32_t>(rank), ir});
  }
  return m;
}

BpeModel::BpeModel(BpeModel&& other) noexcept
    : tokens_(std::move(other.tokens_)),
      ids_(std::move(other.ids_)),
      merges_(std::move(other.merges_)),
      byte_ids_(other.byte_ids_),
      ignore_merges_(other.ignore_merges_) {}

std::int32_t BpeModel::find(std::string_view token) const {
  auto it = ids_.find(std::string(token));
  return it == ids_.end() ? -1 : it->second;
}

void BpeModel::encode_word(std::string_view word_bytes, std::vector<std::int32_t>& out) const {
  if (word_bytes.empty()) return;
  const bool cacheable = word_bytes.size() <= kCacheMaxWordBytes;
  if (cacheable) {
    std::lock_guard lock(cache_mutex_);
    auto it = cache_.find(std::string(word_bytes));
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<std::int32_t> ids;
  merge_word(word_bytes, ids);
  out.insert(out.end(), ids.begin(), ids.end());
  if (cacheable) {
    std::lock_guard lock(cache_mutex_);
    if (cache_.size() >= kCacheMaxEntries) cache_.clear();
    cache_.emplace(std::string(word_bytes), std::move(ids));
  }
}

void BpeModel::merge_word(std::string_view word_bytes, std::vector<std::int32_t>& out) const {
  if (ignore_merges_) {
    const std::int32_t whole = find(byte_level_alphabet().encode(word_bytes));
    if (whole >= 0) {
      out.push_back(whole);
      return;
    }
  }
  // Symbols form a doubly linked list over the word; a merged-away symbol has id -1.
  struct Symbol {
    std::int32_t id;
    std::int32_t prev;
    std::int32_t next;
  };
  std::vector<Symbol> sym;
  sym.reserve(word_bytes.size());
  for (char c : word_bytes) {
    const std::int32_t id = byte_ids_[static_cast<unsigned char>(c)];
    if (id < 0) continue;  // a byte without a token (no unk in byte-level BPE): dropped, as HF does
    const auto i = static_cast<std::int32_t>(sym.size());
    sym.push_back({id, i - 1, i + 1});
  }
  if (sym.empty()) return;
  sym.back().next = -1;

  // Candidate merges ordered by rank, then by position (leftmost first), as in HF.
  struct Candidate {
    std::int32_t rank;
    std::int32_t pos;
    std::int32_t left_id;
    std::int32_t right_id;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  auto push = [&](std::int32_t pos) {
    if (pos < 0) return;
    const std::int32_t next = sym[static_cast<std::size_t>(pos)].next;
    if (next < 0) return;
    const std::int32_t a = sym[static_cast<std::size_t>(pos)].id;
    const std::int32_t b = sym[static_cast<std::size_t>(next)].id;
    auto it = merges_.find(pair_key(a, b));
    if (it != merges_.end()) heap.push({it->second.rank, pos, a, b});
  };
  for (std::int32_t i = 0; i + 1 < static_cast<std::int32_t>(sym.size()); ++i) push(i);

  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    Symbol& left = sym[static_cast<std::size_t>(c.pos)];
    if (left.id != c.left_id || left.next < 0) continue;  // stale
    Symbol& right = sym[static_cast<std::size_t>(left.next)];
    if (right.id != c.right_id) continue;  // stale
    left.id = merges_.find(pair_key(c.left_id, c.right_id))->second.result;
    right.id = -1;
    left.next = right.next;
    if (right.next >= 0) sym[static_cast<std::size_t>(right.next)].prev = c.pos;
    if (left.prev >= 0) push(left.prev);
    push(c.pos);
  }
  for (std::int32_t i = 0; i >= 0; i = sym[static_cast<std::size_t>(i)].next)
    out.push_back(sym[static_cast<std::size_t>(i)].id);
}

}  // namespace whale
