// Benchmark (not a test): EmbeddingIndex search over 100,000 x 512 random unit embeddings.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "tasks/retriever.h"

namespace {

double elapsed_ms(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main() {
  constexpr int64_t kRows = 100000, kDim = 512, kChunk = 10000, kQueries = 30, kTopK = 10;
  at::manual_seed(0);
  dinoclip::EmbeddingIndex index;
  auto start = std::chrono::steady_clock::now();
  for (int64_t added = 0; added < kRows; added += kChunk) index.add(at::randn({kChunk, kDim}));
  const double add_ms = elapsed_ms(start);
  const at::Tensor queries = at::randn({kQueries, kDim});
  index.search(queries[0], kTopK);  // warm-up
  std::vector<double> times;
  for (int64_t q = 0; q < kQueries; ++q) {
    start = std::chrono::steady_clock::now();
    index.search(queries[q], kTopK);
    times.push_back(elapsed_ms(start));
  }
  std::sort(times.begin(), times.end());
  std::printf(
      "EmbeddingIndex %lld x %lld: add %.0f ms (incl. randn); search top-%lld median %.2f ms, min %.2f ms, "
      "max %.2f ms over %lld queries (%d threads)\n",
      static_cast<long long>(kRows), static_cast<long long>(kDim), add_ms, static_cast<long long>(kTopK),
      times[times.size() / 2], times.front(), times.back(), static_cast<long long>(kQueries), at::get_num_threads());
  return 0;
}
