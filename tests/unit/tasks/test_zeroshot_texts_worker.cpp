// Background rebuilds of the zero-shot texts: whole-set swaps, coalescing,
// errors keep the old set. On the tiny random CLIP.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "models/clip.h"
#include "tasks/zeroshot_texts_worker.h"
#include "test_support.h"
#include "text/bpe_tokenizer.h"

namespace dinoclip::testing {
namespace {

struct Shared {
  std::shared_ptr<const ClipModel> model;
  std::shared_ptr<const BpeTokenizer> tokenizer;
};

Shared load(const std::string& model, const std::string& vocab) {
  return {std::make_shared<const ClipModel>(ClipModel::load(model)), std::make_shared<const BpeTokenizer>(vocab)};
}

#define REQUIRE_SHARED(shared)                                                    \
  DINOCLIP_REQUIRE_FIXTURE(model_path, "clip_tiny/clip_tiny_state.pth");          \
  DINOCLIP_REQUIRE_FIXTURE(vocab_path, "tokenizer/bpe_simple_vocab_16e6.txt.gz"); \
  Shared shared = load(model_path, vocab_path)

ZeroShotTextSpec labels_spec(std::vector<std::string> labels) { return {std::move(labels), {"a photo of {}."}, ""}; }

TEST(ZeroShotTextsWorker, InitialSetIsBuiltAtOnce) {
  REQUIRE_SHARED(shared);
  ZeroShotTextsWorker worker(shared.model, shared.tokenizer, labels_spec({"a cat", "a dog"}));
  ASSERT_NE(worker.current(), nullptr);
  EXPECT_EQ(worker.current()->labels, (std::vector<std::string>{"a cat", "a dog"}));
  EXPECT_EQ(worker.encodings(), 1u);
}

TEST(ZeroShotTextsWorker, RequestSwapsInTheNewSetOnce) {
  REQUIRE_SHARED(shared);
  std::atomic<int> built{0};
  ZeroShotTextsWorker worker(shared.model, shared.tokenizer, labels_spec({"a cat"}),
                             [&](const auto& texts, const std::string&) { built += texts ? 1 : 0; });
  const std::shared_ptr<const ZeroShotTexts> old = worker.current();
  worker.request(labels_spec({"a person", "a car", "a tree"}));
  worker.wait_idle();
  EXPECT_EQ(worker.current()->labels, (std::vector<std::string>{"a person", "a car", "a tree"}));
  EXPECT_EQ(worker.current()->classifier->num_labels(), 3);
  EXPECT_EQ(worker.encodings(), 2u);
  EXPECT_EQ(built.load(), 1);
  EXPECT_EQ(old->labels, std::vector<std::string>{"a cat"});  // a reader's old set is intact
}

TEST(ZeroShotTextsWorker, RejectedSpecKeepsTheCurrentSetAndReportsTheError) {
  REQUIRE_SHARED(shared);
  std::mutex lock;
  std::string reported;
  ZeroShotTextsWorker worker(shared.model, shared.tokenizer, labels_spec({"a cat"}),
                             [&](const auto& texts, const std::string& error) {
                               std::lock_guard<std::mutex> guard(lock);
                               if (!texts) reported = error;
                             });
  worker.request({{"a dog"}, {"no placeholder"}, ""});
  worker.wait_idle();
  EXPECT_EQ(worker.current()->labels, std::vector<std::string>{"a cat"});
  EXPECT_EQ(worker.encodings(), 1u);
  std::lock_guard<std::mutex> guard(lock);
  EXPECT_NE(reported.find("no placeholder"), std::string::npos) << reported;
}

// Readers racing with rebuilds always see a consistent set (labels match the
// classifier), and a burst of requests ends with the newest one.
TEST(ZeroShotTextsWorker, ReadersNeverSeeHalfASetAndBurstsCoalesce) {
  REQUIRE_SHARED(shared);
  ZeroShotTextsWorker worker(shared.model, shared.tokenizer, labels_spec({"l0"}));
  std::atomic<bool> done{false};
  std::atomic<int> torn{0}, reads{0};
  std::thread reader([&] {
    while (!done) {
      const auto texts = worker.current();
      if (int64_t(texts->labels.size()) != texts->classifier->num_labels()) ++torn;
      ++reads;
    }
  });
  constexpr int kRequests = 20;
  for (int n = 1; n <= kRequests; ++n) {
    std::vector<std::string> labels;
    for (int i = 0; i < n; ++i) labels.push_back("label " + std::to_string(i));
    worker.request(labels_spec(labels));
  }
  worker.wait_idle();
  done = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(worker.current()->labels.size(), size_t(kRequests));
  EXPECT_GE(worker.encodings(), 2u);
  EXPECT_LE(worker.encodings(), uint64_t(kRequests) + 1);
}

TEST(ZeroShotTextsWorker, RejectsAnEmptyInitialSpec) {
  REQUIRE_SHARED(shared);
  EXPECT_THROW(ZeroShotTextsWorker(shared.model, shared.tokenizer, ZeroShotTextSpec{}), Error);
}

}  // namespace
}  // namespace dinoclip::testing
