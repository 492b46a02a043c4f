// Benchmark (not a test): CLIP vocabulary load time and tokenize speed.
// Usage: bench_tokenizer [vocab.txt.gz]  (default: $DINOCLIP_FIXTURES/tokenizer/..., else find_vocab_file())
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/error.h"
#include "text/bpe_tokenizer.h"

namespace {

double elapsed_ms(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string vocab_path(int argc, char** argv) {
  if (argc > 1) return argv[1];
  if (const char* fixtures = std::getenv("DINOCLIP_FIXTURES")) {
    return std::string(fixtures) + "/tokenizer/bpe_simple_vocab_16e6.txt.gz";
  }
  return dinoclip::find_vocab_file();
}

}  // namespace

int main(int argc, char** argv) try {
  const std::string path = vocab_path(argc, argv);
  std::vector<double> load_ms;
  for (int i = 0; i < 15; ++i) {
    const auto start = std::chrono::steady_clock::now();
    dinoclip::BpeTokenizer tokenizer(path);
    load_ms.push_back(elapsed_ms(start));
  }
  std::printf("vocabulary load: median %.1f ms, min %.1f ms (15 runs, %s)\n", median(load_ms),
              *std::min_element(load_ms.begin(), load_ms.end()), path.c_str());

  const std::vector<std::string> prompts = {
      "a photo of a dog.",     "a close-up photo of a red apple on a wooden table",
      "naïve résumé İstanbul", "supercalifragilisticexpialidocious",
      "日本語のテキスト",      "the quick brown fox jumps over the lazy dog"};
  dinoclip::BpeTokenizer tokenizer(path);
  auto start = std::chrono::steady_clock::now();
  tokenizer.tokenize(prompts);
  const double cold = elapsed_ms(start);
  constexpr int kRounds = 2000;
  start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRounds; ++i) tokenizer.tokenize(prompts);
  const double warm = elapsed_ms(start) / (kRounds * prompts.size());
  std::printf("tokenize: %.3f ms for %zu texts with an empty cache, %.4f ms per text warm\n", cold, prompts.size(),
              warm);
  return 0;
} catch (const dinoclip::Error& e) {
  std::fprintf(stderr, "bench_tokenizer: %s\n", e.what());
  return 1;
}
