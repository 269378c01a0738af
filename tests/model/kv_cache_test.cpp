// kv_cache_test.cpp — the paged KV cache: rows of different positions and layers never alias,
// blocks appear only as positions are reserved, and capacity is enforced.
#include <gtest/gtest.h>

#include <set>

#include "model/model.h"

namespace whale {
namespace {

TEST(KvCache, RowsAcrossBlocksAreDistinctAndStable) {
  KvCache c(3, 200, 5, 2);
  EXPECT_EQ(c.bytes(), 0u);
  ASSERT_TRUE(c.reserve(150));
  EXPECT_EQ(c.bytes(), 3u * 3 * kKvBlockTokens * (5 + 2) * sizeof(float));  // 3 blocks per layer
  std::set<const float*> seen;
  for (std::int64_t l = 0; l < 3; ++l)
    for (std::int64_t p = 0; p < 150; ++p) {
      float* k = c.k_row(l, p);
      float* v = c.v_row(l, p);
      EXPECT_TRUE(seen.insert(k).second);
      EXPECT_TRUE(seen.insert(v).second);
      for (int i = 0; i < 5; ++i) k[i] = static_cast<float>(l * 1000 + p * 10 + i);
      v[0] = static_cast<float>(-p);
    }
  ASSERT_TRUE(c.reserve(200));  // growing keeps earlier rows in place
  for (std::int64_t l = 0; l < 3; ++l)
    for (std::int64_t p = 0; p < 150; ++p) {
      EXPECT_EQ(c.k_row(l, p)[4], static_cast<float>(l * 1000 + p * 10 + 4));
      EXPECT_EQ(c.v_row(l, p)[0], static_cast<float>(-p));
    }
  EXPECT_FALSE(c.reserve(201));
  EXPECT_EQ(c.capacity_bytes(), 3u * 200 * 7 * sizeof(float));
}

}  // namespace
}  // namespace whale
