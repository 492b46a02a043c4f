// CLIP text through the BPE tokenizer: cleanup (ftfy subset, HTML unescape),
// the word-splitting scanner, BPE, context-length handling and decode.
// The vocabulary comes from the fixtures (see fuzz_vocab_path()).
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "fuzz_util.h"
#include "text/bpe_tokenizer.h"

namespace {
std::unique_ptr<dinoclip::BpeTokenizer> tokenizer;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tokenizer = std::make_unique<dinoclip::BpeTokenizer>(dinoclip::fuzz::fuzz_vocab_path());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  dinoclip::fuzz::expect_result_or_error([&] {
    const std::vector<int32_t> ids = tokenizer->encode(text);
    for (int32_t id : ids) {
      if (id < 0 || id >= tokenizer->vocab_size()) std::abort();
    }
    (void)tokenizer->decode(ids);
  });
  dinoclip::fuzz::expect_result_or_error([&] {
    const std::vector<int32_t> ids =
        tokenizer->tokenize_one(text, dinoclip::BpeTokenizer::kContextLength, /*truncate=*/true);
    if (ids.size() != size_t(dinoclip::BpeTokenizer::kContextLength)) std::abort();
  });
  dinoclip::fuzz::expect_result_or_error([&] { (void)tokenizer->tokenize_one(text); });
  return 0;
}
