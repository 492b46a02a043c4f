#include <gtest/gtest.h>

#include "core/error.h"
#include "vision/text_render.h"

using namespace dinoclip;

TEST(TextRender, DrawsInsideTheBoxOnly) {
  TextRenderer renderer;
  std::vector<uint8_t> pixels(64 * 32 * 3, 0);
  MutableImageView frame{pixels.data(), 64, 32, 64 * 3, PixelFormat::kRGB};
  const int width = renderer.draw(frame, "Hi", 2, 2, 12, {255, 255, 255}, {0, 0, 255}, 1.0f);
  EXPECT_GT(width, 0);
  int white = 0;
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 64; ++x) {
      const uint8_t* p = &pixels[(y * 64 + x) * 3];
      const bool inside = x >= 2 && x < 2 + width && y >= 2 && y < 2 + 12 + 2 * 2;
      if (!inside) {
        EXPECT_EQ(p[0] + p[1] + p[2], 0) << x << "," << y;
      }
      white += p[0] > 200 && p[1] > 200;
    }
  EXPECT_GT(white, 5);  // glyph pixels were drawn
}

TEST(TextRender, ClipsAtTheEdgesAndAcceptsAnyUtf8) {
  TextRenderer renderer;
  std::vector<uint8_t> pixels(20 * 10 * 4, 0);
  MutableImageView frame{pixels.data(), 20, 10, 20 * 4, PixelFormat::kRGBA};
  renderer.draw(frame, "café 中 \xff", 15, 5, 16, {255, 0, 0}, {0, 0, 0}, 0.5f);  // no crash, no overflow
  EXPECT_EQ(renderer.draw(frame, "", 0, 0, 16, {255, 0, 0}, {0, 0, 0}, 0.5f), 0);
}

TEST(TextRender, RejectsMissingFont) { EXPECT_THROW(TextRenderer("/nonexistent/font.ttf"), Error); }
