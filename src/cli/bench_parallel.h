// bench_parallel.h — `whale bench --parallel 1,2,4,8`: aggregate decode tokens/s with N
// sequences stepped together through Model::forward_batch (continuous batching's decode step).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/model.h"
#include "util/status.h"

namespace whale::cli {

struct ParallelResult {
  int n_seq = 0;
  double tokens_per_s = 0;          // all sequences together (median over repeats)
  double min = 0, max = 0;
};

// "1,2,4,8" as numbers, or an error naming the flag.
Result<std::vector<int>> parse_parallel_list(const std::string& s);

// Every sequence starts from the same prefilled prompt (copied, not recomputed) and then decodes
// `gen` random tokens, all sequences in one forward_batch per step.
Result<std::vector<ParallelResult>> bench_parallel(Model& model, std::span<const std::int32_t> prompt,
                                                   std::span<const std::int32_t> gen,
                                                   const std::vector<int>& counts, int repeats);

}  // namespace whale::cli
