// EmbeddingIndex: exact cosine top-k on constructed embeddings.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "tasks/retriever.h"
#include "test_support.h"

using dinoclip::EmbeddingIndex;
using dinoclip::Error;

TEST(EmbeddingIndex, FindsTheMostSimilarRowsInOrder) {
  EmbeddingIndex index;
  EXPECT_EQ(index.add(at::eye(4) * 3.0), 0);                  // rows 0..3: axes, any length
  EXPECT_EQ(index.add(at::tensor({1.f, 1.f, 0.f, 0.f})), 4);  // row 4: between axes 0 and 1
  ASSERT_EQ(index.size(), 5);
  const auto result = index.search(at::tensor({2.f, 1.f, 0.f, 0.f}), 3);
  ASSERT_EQ(result.indices.size(), 3u);
  // cos with row 4 = 3/(sqrt5 sqrt2) = .949, row 0 = 2/sqrt5 = .894, row 1 = 1/sqrt5 = .447.
  EXPECT_EQ(result.indices, (std::vector<int64_t>{4, 0, 1}));
  EXPECT_NEAR(result.scores[0], 3.0 / std::sqrt(10.0), 1e-6);
  EXPECT_NEAR(result.scores[1], 2.0 / std::sqrt(5.0), 1e-6);
  EXPECT_NEAR(result.scores[2], 1.0 / std::sqrt(5.0), 1e-6);
}

TEST(EmbeddingIndex, AdoptsUnitRowsWithoutACopyAndSearchesThem) {
  const at::Tensor rows = at::eye(3);
  EmbeddingIndex index = EmbeddingIndex::from_unit_rows(rows);
  ASSERT_EQ(index.size(), 3);
  EXPECT_EQ(index.embeddings().data_ptr(), rows.data_ptr());
  EXPECT_EQ(index.search(at::tensor({0.f, 2.f, 0.f}), 1).indices, std::vector<int64_t>{1});
  EXPECT_EQ(index.add(at::tensor({0.f, 0.f, 5.f})), 3);  // grows like any index
  EXPECT_FLOAT_EQ(index.embeddings()[3][2].item<float>(), 1.f);
  EXPECT_THROW(EmbeddingIndex::from_unit_rows(at::eye(3).to(at::kDouble)), Error);
}

TEST(EmbeddingIndex, GivesAllRowsWhenKExceedsSize) {
  EmbeddingIndex index;
  index.add(at::eye(3));
  const auto result = index.search(at::tensor({0.f, 0.f, 1.f}).unsqueeze(0), 10);
  ASSERT_EQ(result.indices.size(), 3u);
  EXPECT_EQ(result.indices[0], 2);
  EXPECT_FLOAT_EQ(result.scores[0], 1.0f);
}

TEST(EmbeddingIndex, GrowsAcrossManyAddsAndKeepsRows) {
  EmbeddingIndex index;
  const at::Tensor all = at::randn({3000, 16});
  for (int64_t start = 0; start < 3000; start += 7) {
    const int64_t n = std::min<int64_t>(7, 3000 - start);
    EXPECT_EQ(index.add(all.narrow(0, start, n)), start);
  }
  ASSERT_EQ(index.size(), 3000);
  EXPECT_TENSOR_NEAR(index.embeddings(), all / all.norm(2, {1}, true), 1e-6);
  for (int64_t i : {0, 1234, 2999}) {
    EXPECT_EQ(index.search(all[i] * 7.0, 1).indices[0], i);  // a row's nearest neighbour is itself
  }
}

TEST(EmbeddingIndex, RejectsEmptyIndexBadKAndSizeMismatch) {
  EmbeddingIndex index;
  try {
    index.search(at::ones({4}), 1);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("empty"), std::string::npos) << e.what();
  }
  index.add(at::eye(4));
  EXPECT_THROW(index.search(at::ones({4}), 0), Error);
  EXPECT_THROW(index.search(at::ones({4}), -3), Error);
  EXPECT_THROW(index.search(at::ones({5}), 1), Error);
  EXPECT_THROW(index.search(at::ones({2, 4}), 1), Error);
  EXPECT_THROW(index.search(at::zeros({4}), 1), Error);
  EXPECT_THROW(index.add(at::ones({2, 5})), Error);
  EXPECT_THROW(index.add(at::zeros({1, 4})), Error);
  EXPECT_THROW(index.add(at::ones({1, 2, 4})), Error);
  EXPECT_EQ(index.size(), 4);  // failed adds leave the index unchanged
}
