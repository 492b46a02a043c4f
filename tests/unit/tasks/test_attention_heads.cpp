// Choosing DINO attention maps to show (lib/tasks/attention_heads): the CLI's
// --head text and attnoverlay's head property give the same maps and errors.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "tasks/attention_heads.h"
#include "test_support.h"

using namespace dinoclip;
using dinoclip::testing::message_of;

namespace {

at::Tensor three_heads() { return at::arange(3 * 2 * 4, at::kFloat).reshape({3, 2, 4}); }

TEST(AttentionHeads, ParsesNumbersMeanAndAll) {
  EXPECT_EQ(AttentionHeads::parse("2").kind, AttentionHeads::Kind::kOne);
  EXPECT_EQ(AttentionHeads::parse("2").index, 2);
  EXPECT_EQ(AttentionHeads::parse("mean").kind, AttentionHeads::Kind::kMean);
  EXPECT_EQ(AttentionHeads::parse("all").kind, AttentionHeads::Kind::kAll);
  for (const char* text : {"0", "11", "mean", "all"}) EXPECT_EQ(AttentionHeads::parse(text).to_string(), text);
}

TEST(AttentionHeads, RejectsTextThatIsNoHead) {
  for (const char* text : {"", "-1", "1.5", "Mean", "x", "2x", "99999999"}) {
    EXPECT_NE(message_of([&] { AttentionHeads::parse(text); }).find("give a head number (0, 1, ...), mean or all"),
              std::string::npos)
        << text;
  }
}

TEST(AttentionHeads, PropertyMinusOneIsTheMean) {
  EXPECT_EQ(AttentionHeads::from_property(-1).kind, AttentionHeads::Kind::kMean);
  EXPECT_EQ(AttentionHeads::from_property(1).kind, AttentionHeads::Kind::kOne);
  EXPECT_EQ(AttentionHeads::from_property(1).index, 1);
}

TEST(AttentionHeads, SelectsOneHeadTheMeanOrAll) {
  const at::Tensor maps = three_heads();
  const at::Tensor one = select_attention_heads(maps, AttentionHeads::one(1));
  ASSERT_EQ(one.sizes(), (at::IntArrayRef{1, 2, 4}));
  EXPECT_TRUE(at::equal(one[0], maps[1]));
  const at::Tensor mean = select_attention_heads(maps, AttentionHeads::mean());
  ASSERT_EQ(mean.sizes(), (at::IntArrayRef{1, 2, 4}));
  EXPECT_TRUE(at::allclose(mean[0], maps[1]));  // arange: the middle head is the mean
  EXPECT_TRUE(at::equal(select_attention_heads(maps, AttentionHeads::all()), maps));
  // The same choice through either spelling gives the same map.
  EXPECT_TRUE(at::equal(select_attention_heads(maps, AttentionHeads::parse("mean")),
                        select_attention_heads(maps, AttentionHeads::from_property(-1))));
}

TEST(AttentionHeads, RejectsAHeadTheModelDoesNotHave) {
  const at::Tensor maps = three_heads();
  EXPECT_EQ(message_of([&] { select_attention_heads(maps, AttentionHeads::one(3)); }),
            "head 3 does not exist: the model has heads 0..2 (or their mean)");
  EXPECT_NE(message_of([&] { select_attention_heads(maps[0], AttentionHeads::mean()); }).find("[heads, h, w]"),
            std::string::npos);
}

}  // namespace
