// CLIP's tokenizer against golden clip.tokenize ids (shared fixtures/tokenizer).
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/error.h"
#include "io/file_util.h"
#include "fifo_support.h"
#include "test_support.h"
#include "text/bpe_tokenizer.h"

using dinoclip::BpeTokenizer;
using dinoclip::Error;

namespace {

constexpr const char* kVocab = "tokenizer/bpe_simple_vocab_16e6.txt.gz";

// Loaded once: every test here reads the same vocabulary.
const BpeTokenizer& shared_tokenizer(const std::string& path) {
  static const BpeTokenizer tokenizer(path);
  return tokenizer;
}

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

std::vector<int32_t> ids_of(const nlohmann::json& golden) { return golden["ids"].get<std::vector<int32_t>>(); }

void write_gzip(const std::string& path, const std::string& text) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(BpeTokenizer, MatchesEveryGoldenString) {
  DINOCLIP_REQUIRE_FIXTURE(vocab, kVocab);
  DINOCLIP_REQUIRE_FIXTURE(golden_path, "tokenizer/clip_tokenize_golden.jsonl");
  const BpeTokenizer& tokenizer = shared_tokenizer(vocab);
  const std::vector<nlohmann::json> golden = read_jsonl(golden_path);
  ASSERT_EQ(golden.size(), 53u);
  for (const nlohmann::json& g : golden) {
    const std::string text = g["text"];
    SCOPED_TRACE(g["category"].get<std::string>() + ": \"" + text + "\"");
    const std::vector<int32_t> ids = tokenizer.tokenize_one(text, 77, g["truncate"].get<bool>());
    EXPECT_EQ(ids, ids_of(g));
    // The BPE strings too, so a mismatch says which word went wrong.
    std::vector<std::string> strings;
    for (int32_t id : ids) {
      if (id == 0) break;
      strings.push_back(tokenizer.token_string(id));
    }
    EXPECT_EQ(strings, g["bpe"].get<std::vector<std::string>>());
    if (!g["truncate"].get<bool>()) {
      EXPECT_EQ(static_cast<int>(tokenizer.encode(text).size()) + 2, g["n_ids_untruncated"].get<int>());
    }
  }
}

TEST(BpeTokenizer, RejectsTooLongTextWithoutTruncation) {
  DINOCLIP_REQUIRE_FIXTURE(vocab, kVocab);
  DINOCLIP_REQUIRE_FIXTURE(golden_path, "tokenizer/clip_tokenize_golden.jsonl");
  const BpeTokenizer& tokenizer = shared_tokenizer(vocab);
  int truncated = 0;
  for (const nlohmann::json& g : read_jsonl(golden_path)) {
    if (!g["truncate"].get<bool>()) continue;
    ++truncated;
    const std::string text = g["text"];
    const std::string message = error_of([&] { tokenizer.tokenize_one(text); });
    const std::string needed = "needs " + std::to_string(g["n_ids_untruncated"].get<int>()) + " tokens";
    EXPECT_NE(message.find(needed), std::string::npos) << message;
    EXPECT_NE(message.find("context length is 77"), std::string::npos) << message;
    EXPECT_EQ(tokenizer.tokenize_one(text, 77, /*truncate=*/true).back(), dinoclip::kEndOfTextId);
  }
  EXPECT_EQ(truncated, 3);
}

TEST(BpeTokenizer, VocabularyFactsMatchClip) {
  DINOCLIP_REQUIRE_FIXTURE(vocab, kVocab);
  DINOCLIP_REQUIRE_FIXTURE(facts_path, "tokenizer/vocab_facts.json");
  const BpeTokenizer& tokenizer = shared_tokenizer(vocab);
  const nlohmann::json facts = nlohmann::json::parse(dinoclip::read_file(facts_path));
  EXPECT_EQ(tokenizer.vocab_size(), facts["vocab_size"].get<int>());
  EXPECT_EQ(dinoclip::kStartOfTextId, facts["sot"].get<int>());
  EXPECT_EQ(dinoclip::kEndOfTextId, facts["eot"].get<int>());
  EXPECT_EQ(dinoclip::kClipMergeCount, facts["n_merges_used"].get<int>());
  EXPECT_EQ(tokenizer.token_string(facts["a</w>"].get<int>()), "a</w>");
  EXPECT_EQ(tokenizer.token_string(0), "!");         // first byte symbol
  EXPECT_EQ(tokenizer.token_string(256), "!</w>");   // its end-of-word form
  EXPECT_EQ(tokenizer.token_string(255), "\u0143");  // last remapped byte (0xAD)
  EXPECT_EQ(tokenizer.token_string(49406), "<|startoftext|>");
  EXPECT_EQ(tokenizer.token_string(49407), "<|endoftext|>");
}

TEST(BpeTokenizer, MapsSpecialStringsToTheirIds) {
  DINOCLIP_REQUIRE_FIXTURE(vocab, kVocab);
  const BpeTokenizer& tokenizer = shared_tokenizer(vocab);
  EXPECT_EQ(tokenizer.encode("<|startoftext|>"), std::vector<int32_t>{49406});
  EXPECT_EQ(tokenizer.encode("<|ENDOFTEXT|>"), std::vector<int32_t>{49407});  // lower-cased first
  EXPECT_EQ(tokenizer.encode("a<|endoftext|>"), (std::vector<int32_t>{320, 49407}));
  // A punctuation run swallows the '<', as in CLIP: no special id then.
  const std::vector<int32_t> swallowed = tokenizer.encode("!<|endoftext|>");
  EXPECT_EQ(std::count(swallowed.begin(), swallowed.end(), 49407), 0);
}

TEST(BpeTokenizer, TokenizeGivesPaddedLongTensor) {
  DINOCLIP_REQUIRE_FIXTURE(vocab, kVocab);
  const BpeTokenizer& tokenizer = shared_tokenizer(vocab);
  const at::Tensor tokens = tokenizer.tokenize({"a person", "", "a photo of a cat"});
  EXPECT_EQ(tokens.sizes(), (std::vector<int64_t>{3, 77}));
  EXPECT_EQ(tokens.scalar_type(), at::kLong);
  EXPECT_EQ(tokens[0][0].item<int64_t>(), 49406);
  EXPECT_EQ(tokens[0][1].item<int64_t>(), 320);
  EXPECT_EQ(tokens[0][2].item<int64_t>(), 2533);
  EXPECT_EQ(tokens[0][3].item<int64_t>(), 49407);
  EXPECT_EQ(tokens[0].slice(0, 4).abs().sum().item<int64_t>(), 0);
  EXPECT_EQ(tokens[1][1].item<int64_t>(), 49407);
  EXPECT_EQ(tokenizer.tokenize({"a person"}, /*context_length=*/8).size(1), 8);
}

TEST(BpeTokenizer, DecodesBackToCleanedText) {
  DINOCLIP_REQUIRE_FIXTURE(vocab, kVocab);
  const BpeTokenizer& tokenizer = shared_tokenizer(vocab);
  EXPECT_EQ(tokenizer.decode(tokenizer.encode("A Photo of a DOG, naïve İstanbul 😀")),
            "a photo of a dog , naïve i \u0307 stanbul 😀 ");  // the combining dot is not a letter
}

TEST(BpeTokenizer, CurlyQuotesTokenizeAsStraightOnes) {
  DINOCLIP_REQUIRE_FIXTURE(vocab, kVocab);
  const BpeTokenizer& tokenizer = shared_tokenizer(vocab);
  EXPECT_EQ(tokenizer.encode("it\u2019s \u201cgood\u201d"), tokenizer.encode("it's \"good\""));
}

TEST(BpeTokenizer, IsThreadSafe) {
  DINOCLIP_REQUIRE_FIXTURE(vocab, kVocab);
  const BpeTokenizer tokenizer(vocab);  // fresh: empty cache, so threads race to fill it
  const std::vector<std::string> texts = {"supercalifragilisticexpialidocious", "a photo of a dog",
                                          "antidisestablishmentarianism", "日本語のテキスト"};
  std::vector<std::vector<int32_t>> expected;
  for (const auto& t : texts) expected.push_back(shared_tokenizer(vocab).encode(t));
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 200; ++round) {
        const size_t i = static_cast<size_t>(t + round) % texts.size();
        if (tokenizer.encode(texts[i]) != expected[i]) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(BpeTokenizer, RejectsBadContextLengthAndIds) {
  DINOCLIP_REQUIRE_FIXTURE(vocab, kVocab);
  const BpeTokenizer& tokenizer = shared_tokenizer(vocab);
  EXPECT_THROW(tokenizer.tokenize_one("a", 1), Error);
  EXPECT_THROW(tokenizer.token_string(49408), Error);
  EXPECT_THROW(tokenizer.token_string(-1), Error);
  EXPECT_THROW(tokenizer.encode("bad \xff utf-8"), Error);
}

TEST(BpeTokenizer, RejectsMissingVocabFile) {
  const std::string path = dinoclip::testing::temp_dir() + "/nope.txt.gz";
  const std::string message = error_of([&] { BpeTokenizer t(path); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
}

TEST(BpeTokenizer, RejectsVocabFileThatIsNotGzip) {
  const std::string path = dinoclip::testing::temp_dir() + "/plain.txt.gz";
  std::ofstream(path) << "#version: 0.2\na b\n";
  const std::string message = error_of([&] { BpeTokenizer t(path); });
  EXPECT_NE(message.find("not gzip"), std::string::npos) << message;
}

TEST(BpeTokenizer, RejectsTruncatedVocabFile) {
  DINOCLIP_REQUIRE_FIXTURE(vocab, kVocab);
  const std::string bytes = dinoclip::read_file(vocab);
  const std::string path = dinoclip::testing::temp_dir() + "/cut.txt.gz";
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  const std::string message = error_of([&] { BpeTokenizer t(path); });
  EXPECT_NE(message.find("truncated"), std::string::npos) << message;
}

TEST(BpeTokenizer, RejectsCorruptVocabContents) {
  const std::string dir = dinoclip::testing::temp_dir();
  write_gzip(dir + "/short.txt.gz", "#version: 0.2\nt h\nth e</w>\n");
  EXPECT_NE(error_of([&] { BpeTokenizer t(dir + "/short.txt.gz"); }).find("has 2 merge lines, CLIP needs 48894"),
            std::string::npos);
  write_gzip(dir + "/header.txt.gz", "no header\n");
  EXPECT_NE(error_of([&] { BpeTokenizer t(dir + "/header.txt.gz"); }).find("#version"), std::string::npos);
  std::string bad_line = "#version: 0.2\nt h\nthree parts here\n";
  for (int i = 0; i < dinoclip::kClipMergeCount; ++i) bad_line += "t h\n";
  write_gzip(dir + "/line.txt.gz", bad_line);
  EXPECT_NE(error_of([&] { BpeTokenizer t(dir + "/line.txt.gz"); }).find("line 3"), std::string::npos);
  std::string unknown = "#version: 0.2\nt h\nzz q\n";
  for (int i = 0; i < dinoclip::kClipMergeCount; ++i) unknown += "t h\n";
  write_gzip(dir + "/unknown.txt.gz", unknown);
  EXPECT_NE(error_of([&] { BpeTokenizer t(dir + "/unknown.txt.gz"); }).find("\"zz\" is not a vocabulary symbol"),
            std::string::npos);
}

TEST(BpeTokenizer, RejectsFifoVocabWithoutBlocking) {
  const std::string message =
      dinoclip::testing::message_for_fifo([](const std::string& fifo) { BpeTokenizer tokenizer(fifo); });
  EXPECT_NE(message.find("is a FIFO"), std::string::npos) << message;
}
