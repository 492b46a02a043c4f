// Cosine similarity against the seeded reference (fixtures/similarity.json).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/file_util.h"
#include "tasks/similarity.h"
#include "test_support.h"

using dinoclip::cosine_similarity_matrix;
using dinoclip::Error;

namespace {

// JSON numbers are the float32 values printed as doubles: parse as double, cast to float.
at::Tensor matrix_from_json(const nlohmann::json& rows) {
  const auto values = rows.get<std::vector<std::vector<double>>>();
  at::Tensor out =
      at::empty({static_cast<int64_t>(values.size()), static_cast<int64_t>(values.at(0).size())}, at::kFloat);
  auto a = out.accessor<float, 2>();
  for (size_t r = 0; r < values.size(); ++r) {
    for (size_t c = 0; c < values[r].size(); ++c) a[r][c] = static_cast<float>(values[r][c]);
  }
  return out;
}

// max |actual - expected| / |expected| over all elements.
double max_relative_error(const at::Tensor& actual, const at::Tensor& expected) {
  const at::Tensor e = expected.to(at::kDouble);
  return ((actual.to(at::kDouble) - e).abs() / e.abs()).max().item<double>();
}

}  // namespace

TEST(CosineSimilarity, MatchesSeededReference) {
  DINOCLIP_REQUIRE_FIXTURE(path, "similarity.json");
  const nlohmann::json ref = nlohmann::json::parse(dinoclip::read_file(path));
  const at::Tensor similarity = cosine_similarity_matrix(matrix_from_json(ref["text"]), matrix_from_json(ref["image"]));
  ASSERT_EQ(similarity.sizes(), (std::vector<int64_t>{6, 5}));
  EXPECT_EQ(similarity.scalar_type(), at::kFloat);
  EXPECT_LT(max_relative_error(similarity, matrix_from_json(ref["expected_similarity"])), 1e-5);
  EXPECT_LT(max_relative_error(similarity, matrix_from_json(ref["expected_similarity_float64"])), 1e-5);
  const double tolerance = ref["tolerance"];
  for (const auto& [row, values] : ref["check_rows"].items()) {
    const at::Tensor expected = matrix_from_json(nlohmann::json::array({values}))[0];
    EXPECT_TENSOR_NEAR(similarity[std::stoi(row)], expected, tolerance);
  }
}

TEST(CosineSimilarity, IgnoresScaleAndHandlesHalfPrecision) {
  const at::Tensor text = at::tensor({3.f, 4.f, 0.f, 0.f, 0.f, 2.f}).reshape({2, 3});
  const at::Tensor image = at::tensor({1.f, 0.f, 0.f, 0.f, -5.f, 0.f}).reshape({2, 3});
  const at::Tensor expected = at::tensor({0.6f, -0.8f, 0.f, 0.f}).reshape({2, 2});
  EXPECT_TENSOR_NEAR(cosine_similarity_matrix(text, image), expected, 1e-6);
  EXPECT_TENSOR_NEAR(cosine_similarity_matrix(text * 1000, image * 1e-3), expected, 1e-6);
  const at::Tensor half = cosine_similarity_matrix(text.to(at::kBFloat16), image.to(at::kBFloat16));
  EXPECT_EQ(half.scalar_type(), at::kFloat);
  EXPECT_TENSOR_NEAR(half, expected, 1e-6);
}

TEST(CosineSimilarity, RejectsBadShapesAndZeroVectors) {
  const at::Tensor good = at::randn({2, 4});
  EXPECT_THROW(cosine_similarity_matrix(at::randn({4}), good), Error);
  EXPECT_THROW(cosine_similarity_matrix(good, at::randn({2, 5})), Error);
  EXPECT_THROW(cosine_similarity_matrix(good, at::ones({2, 4}, at::kLong)), Error);
  EXPECT_THROW(cosine_similarity_matrix(good, at::empty({0, 4})), Error);
  try {
    cosine_similarity_matrix(good, at::cat({at::ones({1, 4}), at::zeros({1, 4})}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("zero vector (row 1)"), std::string::npos) << e.what();
  }
}
