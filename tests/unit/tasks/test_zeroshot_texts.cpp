// The text side of clipzeroshot and one frame's scores, on the tiny random
// CLIP (clip_tiny) against the official code's outputs.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "io/image_file.h"
#include "io/npy.h"
#include "models/clip.h"
#include "tasks/frame_zeroshot.h"
#include "tasks/zeroshot_texts.h"
#include "test_support.h"
#include "text/bpe_tokenizer.h"

namespace dinoclip::testing {
namespace {

constexpr const char* kModel = "clip_tiny/clip_tiny_state.pth";
constexpr const char* kVocab = "tokenizer/bpe_simple_vocab_16e6.txt.gz";
constexpr double kFeatureTolerance = 1e-4;      // fixture README's suggestion for a float32 port
constexpr double kProbabilityTolerance = 1e-5;  // softmax of logits known to 1e-3 / 100 (cos to 1e-5)
constexpr double kCosineTolerance = 1e-5;       // the fixture's logits (x100) to 1e-3
// One text encoded alone vs inside a batch: encode_text stops at the batch's
// longest text, so matrix shapes (and float summation order) differ.
constexpr double kBatchTolerance = 1e-5;

// The fixture's 8 texts (texts.json); the first five are plain labels.
const std::vector<std::string> kTexts = {"a person",
                                         "an animal",
                                         "food",
                                         "a landscape",
                                         "other",
                                         "a photo of a dog.",
                                         "A diagram, with TWO arrows & 3 boxes!",
                                         "café au lait 中文 😀"};
const std::vector<std::string> kLabels(kTexts.begin(), kTexts.begin() + 5);

struct Tiny {
  ClipModel model;
  BpeTokenizer tokenizer;
};

Tiny load_tiny(const std::string& model, const std::string& vocab) {
  return {ClipModel::load(model), BpeTokenizer(vocab)};
}

#define REQUIRE_TINY(tiny)                      \
  DINOCLIP_REQUIRE_FIXTURE(model_path, kModel); \
  DINOCLIP_REQUIRE_FIXTURE(vocab_path, kVocab); \
  Tiny tiny = load_tiny(model_path, vocab_path)

TEST(ZeroShotTexts, LabelPromptsEqualTheReferenceTextFeatures) {
  REQUIRE_TINY(tiny);
  // Template "{}" makes each prompt the text itself, so rows are the fixture's.
  const at::Tensor prompts = encode_label_prompts(tiny.model, tiny.tokenizer, kTexts, {"{}"});
  ASSERT_EQ(prompts.sizes(), (std::vector<int64_t>{8, 1, 32}));
  EXPECT_TENSOR_NEAR(prompts.squeeze(1), read_npy(fixture_file("clip_tiny/text_features.npy")), kFeatureTolerance);
}

TEST(ZeroShotTexts, TemplatesAreGroupedPerLabel) {
  REQUIRE_TINY(tiny);
  const at::Tensor prompts =
      encode_label_prompts(tiny.model, tiny.tokenizer, {"dog", "person"}, {"a photo of a {}.", "{}"});
  ASSERT_EQ(prompts.sizes(), (std::vector<int64_t>{2, 2, 32}));
  // "a photo of a dog." is fixture text 5; "a person" is not "person", so check self-consistency too.
  const at::Tensor reference = read_npy(fixture_file("clip_tiny/text_features.npy"));
  EXPECT_TENSOR_NEAR(prompts[0][0], reference[5], kFeatureTolerance);
  const at::Tensor person = tiny.model.encode_text(tiny.tokenizer.tokenize({"person"}));
  EXPECT_TENSOR_NEAR(prompts[1][1], person[0], kBatchTolerance);
}

// Classifier probabilities = softmax over the labels of the reference logits.
TEST(ZeroShotTexts, ProbabilitiesEqualSoftmaxOfReferenceLogits) {
  REQUIRE_TINY(tiny);
  const ZeroShotTexts texts = encode_zero_shot_texts(tiny.model, tiny.tokenizer, {kLabels, {"{}"}, ""});
  ASSERT_TRUE(texts.has_labels());
  EXPECT_FALSE(texts.has_query());
  const at::Tensor images = read_npy(fixture_file("clip_tiny/image_features.npy"));
  const at::Tensor logits = read_npy(fixture_file("clip_tiny/logits_per_image.npy"));
  for (int64_t i = 0; i < images.size(0); ++i) {
    const FrameScores scores = score_image_embedding(texts, images[i], /*top_k=*/3, /*unknown_threshold=*/0.0);
    const at::Tensor expected = logits[i].narrow(0, 0, 5).softmax(0);
    EXPECT_TENSOR_NEAR(scores.probabilities, expected, kProbabilityTolerance);
    ASSERT_TRUE(scores.result.has_value());
    ASSERT_EQ(scores.result->top.size(), 3u);
    EXPECT_EQ(scores.result->top[0].label, expected.argmax().item<int64_t>());
    EXPECT_FALSE(scores.query_similarity.has_value());
  }
}

TEST(ZeroShotTexts, QuerySimilarityIsTheReferenceCosine) {
  REQUIRE_TINY(tiny);
  const ZeroShotTexts texts = encode_zero_shot_texts(tiny.model, tiny.tokenizer, {{}, {}, kTexts[5]});
  ASSERT_TRUE(texts.has_query());
  EXPECT_FALSE(texts.has_labels());
  EXPECT_NEAR(texts.query_embedding.norm().item<double>(), 1.0, 1e-6);
  const at::Tensor images = read_npy(fixture_file("clip_tiny/image_features.npy"));
  const at::Tensor logits = read_npy(fixture_file("clip_tiny/logits_per_image.npy"));
  for (int64_t i = 0; i < images.size(0); ++i) {
    const FrameScores scores = score_image_embedding(texts, images[i], 1, 0.0);
    ASSERT_TRUE(scores.query_similarity.has_value());
    EXPECT_NEAR(*scores.query_similarity, logits[i][5].item<double>() / 100.0, kCosineTolerance);
    EXPECT_FALSE(scores.probabilities.defined());
  }
}

TEST(ZeroShotTexts, UnicodeLabelMatchesReference) {
  REQUIRE_TINY(tiny);
  const at::Tensor prompts = encode_label_prompts(tiny.model, tiny.tokenizer, {kTexts[7]}, {"{}"});
  EXPECT_TENSOR_NEAR(prompts[0][0], read_npy(fixture_file("clip_tiny/text_features.npy"))[7], kFeatureTolerance);
}

// A 10,000-character label is cut to CLIP's 77 tokens (as clip.tokenize(...,
// truncate=True)), so it encodes like its own truncated token row.
TEST(ZeroShotTexts, VeryLongLabelIsTruncatedToTheContext) {
  REQUIRE_TINY(tiny);
  std::string label;
  while (label.size() < 10000) label += "a very long label ";
  label.resize(10000);
  const at::Tensor prompts = encode_label_prompts(tiny.model, tiny.tokenizer, {label, "food"}, {"a photo of {}."});
  const at::Tensor truncated = tiny.tokenizer.tokenize({"a photo of " + label + "."}, 77, /*truncate=*/true);
  EXPECT_EQ(truncated[0][76].item<int64_t>(), 49407);  // ends with <|endoftext|>
  EXPECT_TENSOR_NEAR(prompts[0][0], tiny.model.encode_text(truncated)[0], kBatchTolerance);
}

TEST(ZeroShotTexts, FrameScoresUseTheChosenCrop) {
  REQUIRE_TINY(tiny);
  DINOCLIP_REQUIRE_FIXTURE(png, "clip_tiny/img0_100x140.png");
  const Image picture = read_image(png);
  const ZeroShotTexts texts = encode_zero_shot_texts(tiny.model, tiny.tokenizer, {kLabels, {"{}"}, kTexts[5]});
  const FrameScores center = score_frame(tiny.model, texts, picture.view(), ClipCrop::kCenter, 5, 0.0);
  // Centre crop is CLIP's own preprocessing: the fixture's image 0.
  const at::Tensor logits = read_npy(fixture_file("clip_tiny/logits_per_image.npy"))[0];
  EXPECT_TENSOR_NEAR(center.probabilities, logits.narrow(0, 0, 5).softmax(0), 1e-3);
  EXPECT_NEAR(*center.query_similarity, logits[5].item<double>() / 100.0, 1e-4);
  // The whole frame is a different picture: different scores.
  const FrameScores full = score_frame(tiny.model, texts, picture.view(), ClipCrop::kFullFrame, 5, 0.0);
  EXPECT_GT(max_abs_diff(full.probabilities, center.probabilities), 1e-4);
}

TEST(ZeroShotTexts, RejectsNothingToClassify) {
  REQUIRE_TINY(tiny);
  EXPECT_NE(message_of([&] { encode_zero_shot_texts(tiny.model, tiny.tokenizer, {}); }).find("labels"),
            std::string::npos);
  EXPECT_THROW(encode_label_prompts(tiny.model, tiny.tokenizer, {"a"}, {"no placeholder"}), Error);
  EXPECT_THROW(encode_label_prompts(tiny.model, tiny.tokenizer, {}, {"{}"}), Error);
}

TEST(ZeroShotTexts, RejectsBadTopKAndThreshold) {
  REQUIRE_TINY(tiny);
  const ZeroShotTexts texts = encode_zero_shot_texts(tiny.model, tiny.tokenizer, {kLabels, {"{}"}, ""});
  const at::Tensor image = read_npy(fixture_file("clip_tiny/image_features.npy"))[0];
  EXPECT_THROW(score_image_embedding(texts, image, 0, 0.0), Error);
  EXPECT_THROW(score_image_embedding(texts, image, 1, 1.5), Error);
  EXPECT_THROW(score_image_embedding(texts, at::ones({16}), 1, 0.0), Error);  // wrong embedding size
}

}  // namespace
}  // namespace dinoclip::testing
