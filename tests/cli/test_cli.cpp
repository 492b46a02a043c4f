// The dinoclip tool as a user runs it: files in, files out, compared with the
// official code's outputs (../shared/fixtures); errors are clear, exit 1.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <utility>
#include <vector>

#include "io/image_file.h"
#include "io/checkpoint.h"
#include "io/npy.h"
#include "models/dino.h"
#include "models/random_weights.h"
#include "tasks/label_spec.h"
#include "cli_runner.h"
#include "test_support.h"

using namespace dinoclip;

namespace {

using dinoclip::testing::CliRun;
using dinoclip::testing::dinoclip_cli;

std::string fixture(const std::string& relative) { return dinoclip::testing::fixture_file(relative); }

TEST(Cli, DinoFeaturesMatchOfficialOutputsFromThePicture) {
  DINOCLIP_REQUIRE_FIXTURE(weights, "dino_tiny/dino_tiny.pth");
  const std::string out = dinoclip::testing::temp_dir() + "/features";
  CliRun run = dinoclip_cli("dino-features --weights " + weights + " --heads 4 --image " +
                         fixture("dino_tiny/img1_160x240.png") + " --size native --out " + out);
  ASSERT_EQ(run.status, 0) << run.output;
  at::Tensor tokens = read_npy(out + "/tokens.npy");
  at::Tensor attention = read_npy(out + "/cls_attention.npy");
  EXPECT_TENSOR_NEAR(tokens, read_npy(fixture("dino_tiny/img1_160x240_intermediate.npy"))[0], 1e-4);
  at::Tensor cls = read_npy(fixture("dino_tiny/img1_160x240_attn_cls.npy"))[0];
  EXPECT_TENSOR_NEAR(attention, cls.narrow(1, 1, cls.size(1) - 1), 1e-4);
}

TEST(Cli, AttentionPngFollowsTheAttentionValues) {
  DINOCLIP_REQUIRE_FIXTURE(weights, "dino_tiny/dino_tiny.pth");
  const std::string dir = dinoclip::testing::temp_dir();
  const std::string picture = fixture("dino_tiny/img2_96x96.png");
  ASSERT_EQ(dinoclip_cli("attention --weights " + weights + " --heads 4 --image " + picture +
                         " --size native --head 0 -o " + dir + "/h0.png").status, 0);
  ASSERT_EQ(dinoclip_cli("dino-features --weights " + weights + " --heads 4 --image " + picture +
                         " --size native --out " + dir).status, 0);
  Image heat = read_image(dir + "/h0.png");
  ASSERT_EQ(heat.width, 96);
  ASSERT_EQ(heat.height, 96);
  // The brightest patch of the picture is where head 0 attends most.
  at::Tensor head0 = read_npy(dir + "/cls_attention.npy")[0];
  const int64_t top = head0.argmax().item<int64_t>(), low = head0.argmin().item<int64_t>();
  auto brightness = [&](int64_t patch) {
    const int x = int(patch % 12) * 8 + 4, y = int(patch / 12) * 8 + 4;
    return int(heat.at(x, y, 0)) + heat.at(x, y, 1) + heat.at(x, y, 2);
  };
  EXPECT_GT(brightness(top), 600);  // inferno's bright yellow end
  EXPECT_LT(brightness(low), 40);   // inferno's black end
}

TEST(Cli, ClipEmbedMatchesOfficialFromPictureFiles) {
  DINOCLIP_REQUIRE_FIXTURE(weights, "clip_tiny/clip_tiny_jit.pt");
  DINOCLIP_REQUIRE_FIXTURE(vocab, "tokenizer/bpe_simple_vocab_16e6.txt.gz");
  const std::string out = dinoclip::testing::temp_dir();
  CliRun run = dinoclip_cli("clip-embed --weights " + weights + " --vocab " + vocab + " --image " +
                         fixture("clip_tiny/img0_100x140.png") + " --image " + fixture("clip_tiny/img1_150x100.png") +
                         " --image " + fixture("clip_tiny/img2_48x80.png") +
                         " --text 'a person' --text 'an animal' --text food --text 'a landscape' --text other"
                         " --text 'a photo of a dog.' --text 'A diagram, with TWO arrows & 3 boxes!'"
                         " --text 'café au lait 中文 😀' --out " + out);
  ASSERT_EQ(run.status, 0) << run.output;
  // From PNG files through PIL-exact preprocessing: the official pipeline's numbers.
  EXPECT_TENSOR_NEAR(read_npy(out + "/image_embeddings.npy"), read_npy(fixture("clip_tiny/image_features.npy")), 1e-4);
  EXPECT_TENSOR_NEAR(read_npy(out + "/text_embeddings.npy"), read_npy(fixture("clip_tiny/text_features.npy")), 1e-4);
  EXPECT_TENSOR_NEAR(read_npy(out + "/logits.npy"), read_npy(fixture("clip_tiny/logits_per_image.npy")), 1e-3);
}

TEST(Cli, ClassifyPrintsOneJsonLinePerPicture) {
  DINOCLIP_REQUIRE_FIXTURE(weights, "clip_tiny/clip_tiny_jit.pt");
  DINOCLIP_REQUIRE_FIXTURE(vocab, "tokenizer/bpe_simple_vocab_16e6.txt.gz");
  CliRun run = dinoclip_cli("classify --weights " + weights + " --vocab " + vocab + " --labels 'a person;an animal;food' " +
                         fixture("clip_tiny/img0_100x140.png") + " " + fixture("clip_tiny/img1_150x100.png"));
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_EQ(std::count(run.output.begin(), run.output.end(), '\n'), 2) << run.output;
  EXPECT_NE(run.output.find("\"label\":"), std::string::npos);
  EXPECT_NE(run.output.find("\"scores\":{\"a person\":"), std::string::npos);
}

// classify reads --labels and --template by clipzeroshot's rules (lib/tasks/label_spec):
// what the element refuses, the CLI refuses with the same words, before any model is loaded.
TEST(Cli, ClassifyRejectsTheLabelsAndTemplatesClipzeroshotRejects) {
  using dinoclip::testing::message_of;
  const std::string picture = fixture("clip_tiny/img0_100x140.png");
  for (const auto& spec : std::vector<std::pair<std::string, std::string>>{{"a;;b", "a photo of {}."},
                                                                          {"a;b;", "a photo of {}."},
                                                                          {" ; ", "a photo of {}."},
                                                                          {"a;b", "a photo"},
                                                                          {"a;b", "a photo of {}.||a {}"}}) {
    // Not a structured binding: C++17 does not let the lambda below capture one (clang refuses it).
    const std::string& labels = spec.first;
    const std::string& templates = spec.second;
    CliRun run = dinoclip_cli("classify --weights /nonexistent/clip.pt --labels '" + labels + "' --template '" +
                              templates + "' " + picture);
    EXPECT_EQ(run.status, 1) << labels << " / " << templates;
    const std::string expected = message_of([&] {
      parse_labels(labels);
      parse_templates(templates);
    });
    ASSERT_NE(expected, "(no error)");
    EXPECT_NE(run.output.find(expected), std::string::npos) << run.output << "\nexpected: " << expected;
  }
  // Accepted by both: spaces around entries are trimmed, the first error is then the missing model.
  CliRun fine = dinoclip_cli(
      "classify --weights /nonexistent/clip.pt --labels ' a dog ; a cat' --template "
      "'a photo of {}.|a drawing of {}.' " +
      picture);
  EXPECT_EQ(fine.status, 1);
  EXPECT_NE(fine.output.find("/nonexistent/clip.pt"), std::string::npos) << fine.output;
}

TEST(Cli, RejectsBadInputWithClearErrors) {
  DINOCLIP_REQUIRE_FIXTURE(weights, "dino_tiny/dino_tiny.pth");
  const std::string picture = fixture("dino_tiny/img2_96x96.png");
  CliRun missing = dinoclip_cli("attention --weights /nonexistent/dino.pth --image " + picture + " -o /tmp/x.png");
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.output.find("/nonexistent/dino.pth: cannot open"), std::string::npos) << missing.output;
  CliRun size = dinoclip_cli("attention --weights " + weights + " --heads 4 --image " + picture + " --size 100x96 -o /tmp/x.png");
  EXPECT_EQ(size.status, 1);
  EXPECT_NE(size.output.find("not a multiple of the model's patch size 8"), std::string::npos) << size.output;
  CliRun unwritable = dinoclip_cli("pca --weights " + weights + " --heads 4 --image " + picture +
                                " --size native -o /nonexistent/dir/pca.png");
  EXPECT_EQ(unwritable.status, 1);
  EXPECT_NE(unwritable.output.find("cannot write"), std::string::npos) << unwritable.output;
  CliRun unknown = dinoclip_cli("attention --weight " + weights);
  EXPECT_EQ(unknown.status, 1);
  EXPECT_NE(unknown.output.find("unknown option --weight"), std::string::npos) << unknown.output;
}

// make-model writes what the loaders read: a tiny DINO loads back with its
// shape; CLIP architectures are named clip-*, unknown ones are refused.
TEST(Cli, MakeModelWritesLoadableRandomWeights) {
  const std::string out = dinoclip::testing::temp_dir() + "/made_tiny.safetensors";
  CliRun run = dinoclip_cli("make-model --arch tiny --seed 3 --out " + out);
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("RANDOM"), std::string::npos) << run.output;
  const Checkpoint made = load_checkpoint(out);
  EXPECT_TRUE(at::equal(made.tensors.at("blocks.0.attn.qkv.weight"),
                        random_dino_weights(dino_architecture("tiny"), 3).at("blocks.0.attn.qkv.weight")));
  EXPECT_EQ(made.metadata.at("arch"), "tiny");

  CliRun bad = dinoclip_cli("make-model --arch clip-rn50 --out " + dinoclip::testing::temp_dir() + "/x.safetensors");
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.output.find("unknown CLIP architecture 'rn50'"), std::string::npos) << bad.output;
}

// DINOv2 (patch 14, registers) and DINOv3 (patch 16, RoPE, storage tokens)
// from their fixture pictures at their own size: the official outputs, and
// the registers / storage tokens in registers.npy.
TEST(Cli, DinoFeaturesOfDinov2AndDinov3MatchOfficialOutputs) {
  struct Case {
    const char* weights;
    const char* picture;
  };
  for (const Case& c : {Case{"dinov2_tiny/dinov2_tiny.pth", "dinov2_tiny/img1_168x98"},
                        Case{"dinov3_tiny/dinov3_tiny.pth", "dinov3_tiny/img1_240x160"}}) {
    SCOPED_TRACE(c.weights);
    DINOCLIP_REQUIRE_FIXTURE(weights, c.weights);
    const std::string out = dinoclip::testing::temp_dir() + "/features_" + std::string(c.weights).substr(0, 6);
    CliRun run = dinoclip_cli("dino-features --weights " + weights + " --heads 4 --image " +
                              fixture(std::string(c.picture) + ".png") + " --size native --out " + out);
    ASSERT_EQ(run.status, 0) << run.output;
    const std::string base = std::string(c.picture) + "_";
    const at::Tensor expected_tokens =
        at::cat({read_npy(fixture(base + "cls.npy")).unsqueeze(0), read_npy(fixture(base + "patch_tokens.npy"))}, 0);
    EXPECT_TENSOR_NEAR(read_npy(out + "/tokens.npy"), expected_tokens, 1e-4);
    EXPECT_TENSOR_NEAR(read_npy(out + "/cls_attention.npy"), read_npy(fixture(base + "attn_cls.npy")), 1e-4);
    const bool v2 = std::string(c.weights).rfind("dinov2", 0) == 0;
    EXPECT_TENSOR_NEAR(read_npy(out + "/registers.npy"), read_npy(fixture(base + (v2 ? "registers.npy" : "storage.npy"))),
                       1e-4);
  }
}

// Without --size the square default is rounded to the patch: 476x476 at 14.
TEST(Cli, AttentionOfDinov2DefaultsToASizeThatFitsPatch14) {
  DINOCLIP_REQUIRE_FIXTURE(weights, "dinov2_tiny/dinov2_tiny.pth");
  const std::string out = dinoclip::testing::temp_dir() + "/dinov2_head0.png";
  CliRun run = dinoclip_cli("attention --weights " + weights + " --heads 4 --image " +
                            fixture("dinov2_tiny/img2_252x252.png") + " --head 0 -o " + out);
  ASSERT_EQ(run.status, 0) << run.output;
  const Image heat = read_image(out);
  EXPECT_EQ(heat.width, 476);
  EXPECT_EQ(heat.height, 476);
}

TEST(Cli, RejectsAnUnknownPosInterpolation) {
  DINOCLIP_REQUIRE_FIXTURE(weights, "dinov2_tiny/dinov2_tiny.pth");
  CliRun run = dinoclip_cli("dino-features --weights " + weights + " --heads 4 --pos-interpolation bicubic --image " +
                            fixture("dinov2_tiny/img1_168x98.png") + " --out " + dinoclip::testing::temp_dir());
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.output.find("position-embedding interpolation 'bicubic'"), std::string::npos) << run.output;
}

// make-model --arch dinov2-vits14[-reg] / dinov3-vits16: the official layout,
// recognised as such when loaded back.
TEST(Cli, MakeModelWritesDinov2AndDinov3InTheOfficialLayout) {
  struct Case {
    const char* arch;
    DinoFamily family;
    int patch, registers;
  };
  for (const Case& c : {Case{"dinov2-vits14", DinoFamily::kV2, 14, 0}, Case{"dinov2-vits14-reg", DinoFamily::kV2, 14, 4},
                        Case{"dinov3-vits16", DinoFamily::kV3, 16, 4}}) {
    SCOPED_TRACE(c.arch);
    const std::string out = dinoclip::testing::temp_dir() + "/made_" + c.arch + ".safetensors";
    CliRun run = dinoclip_cli(std::string("make-model --arch ") + c.arch + " --out " + out);
    ASSERT_EQ(run.status, 0) << run.output;
    EXPECT_NE(run.output.find("RANDOM"), std::string::npos) << run.output;
    const DinoModel model = DinoModel::load(out);
    EXPECT_EQ(model.config().family, c.family);
    EXPECT_EQ(model.config().patch_size, c.patch);
    EXPECT_EQ(model.config().num_register_tokens, c.registers);
    EXPECT_EQ(model.config().num_heads, 6);
    EXPECT_EQ(model.config().depth, 12);
    if (c.family == DinoFamily::kV2) {
      EXPECT_EQ(model.config().pos_interpolation,
                c.registers ? PosInterpolation::kSizeAntialiased : PosInterpolation::kScaleOffset);
    }
    const DinoOutput output = model.forward(at::randn({1, 3, 2 * c.patch, 3 * c.patch}));
    EXPECT_EQ(output.tokens.sizes(), (std::vector<int64_t>{1, 1 + 6, 384}));
    EXPECT_EQ(output.cls_attention.sizes(), (std::vector<int64_t>{1, 6, 6}));
  }
}

}  // namespace
