// Background rebuilds of the zero-shot texts: whole-set swaps, coalescing,
// errors keep the old set. On the tiny random CLIP.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
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
// classifier), and a burst of requests ends with the newest one. Handshakes,
// not the scheduler, make the reader and the rebuilds overlap: the requests
// start only once the reader has read, and after each swap the worker waits
// until the reader has read again (a read that began after the swap).
TEST(ZeroShotTextsWorker, ReadersNeverSeeHalfASetAndBurstsCoalesce) {
  REQUIRE_SHARED(shared);
  constexpr auto kHandshakeLimit = std::chrono::seconds(60);  // only a broken reader waits this long
  std::atomic<bool> done{false};
  std::atomic<int> torn{0}, swaps_seen{0}, handshakes_missed{0};
  std::atomic<uint64_t> reads{0};
  // Two more reads than when the swap was seen: the second of them called
  // current() after the swap (at most one read was in flight across it).
  auto wait_for_reads_after = [&](uint64_t before) {
    const auto deadline = std::chrono::steady_clock::now() + kHandshakeLimit;
    while (reads.load() < before + 2) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::yield();
    }
    return true;
  };
  ZeroShotTextsWorker worker(shared.model, shared.tokenizer, labels_spec({"l0"}),
                             [&](const std::shared_ptr<const ZeroShotTexts>& texts, const std::string&) {
                               if (!texts) return;
                               if (wait_for_reads_after(reads.load())) {
                                 ++swaps_seen;
                               } else {
                                 ++handshakes_missed;
                               }
                             });
  std::thread reader([&] {
    while (!done) {
      const auto texts = worker.current();
      if (int64_t(texts->labels.size()) != texts->classifier->num_labels()) ++torn;
      ++reads;
    }
  });
  if (!wait_for_reads_after(0)) {
    done = true;
    reader.join();
    FAIL() << "the reader never ran";
  }
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
  EXPECT_EQ(handshakes_missed.load(), 0);
  EXPECT_EQ(uint64_t(swaps_seen.load()), worker.encodings() - 1) << "the reader read after every swap";
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
