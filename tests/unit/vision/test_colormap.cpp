#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "vision/colormap.h"

using namespace dinoclip;

TEST(Colormap, MatchesMatplotlibInferno) {
  // matplotlib 3.6: inferno(0.0), inferno(0.5), inferno(1.0) as round(255 * x).
  EXPECT_EQ(colormap_rgb(Colormap::kInferno, 0.0f), (std::array<uint8_t, 3>{0, 0, 4}));
  EXPECT_EQ(colormap_rgb(Colormap::kInferno, 0.5f), (std::array<uint8_t, 3>{188, 55, 84}));
  EXPECT_EQ(colormap_rgb(Colormap::kInferno, 1.0f), (std::array<uint8_t, 3>{252, 255, 164}));
  EXPECT_EQ(colormap_rgb(Colormap::kInferno, 7.0f), colormap_rgb(Colormap::kInferno, 1.0f));  // clamped
  EXPECT_EQ(colormap_rgb(Colormap::kInferno, NAN), colormap_rgb(Colormap::kInferno, 0.0f));
}

TEST(Colormap, ColorizeScalesBetweenVminAndVmax) {
  at::Tensor map = at::tensor({0.0f, 2.0f, 4.0f}).view({1, 3});
  Image image = colorize(map, Colormap::kGray, 0.0f, 4.0f);
  EXPECT_EQ(image.at(0, 0), 0);
  EXPECT_EQ(image.at(1, 0), 128);
  EXPECT_EQ(image.at(2, 0), 255);
  Image flat = colorize(map, Colormap::kGray, 1.0f, 1.0f);  // no division by zero
  EXPECT_EQ(flat.at(2, 0), 0);
}

TEST(Colormap, RejectsUnknownName) {
  EXPECT_EQ(parse_colormap("viridis"), Colormap::kViridis);
  EXPECT_THROW(parse_colormap("rainbow"), Error);
}
