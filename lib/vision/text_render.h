// Label text on frames (attnoverlay mode=label), rendered with FreeType.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "core/image.h"

namespace dinoclip {

// DejaVu Sans from Debian's fonts-dejavu-core.
inline constexpr const char* kDefaultFontPath = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

class TextRenderer {
 public:
  // Throws dinoclip::Error when the font cannot be loaded (naming the file).
  explicit TextRenderer(const std::string& font_path = kDefaultFontPath);
  ~TextRenderer();
  TextRenderer(TextRenderer&&) noexcept;
  TextRenderer& operator=(TextRenderer&&) noexcept;

  // Draws UTF-8 `text` with its top-left corner at (x, y), on a filled box
  // (background blended with bg_alpha). Clipped to the frame. Returns the
  // box width drawn in pixels.
  int draw(MutableImageView frame, const std::string& text, int x, int y, int pixel_height,
           std::array<std::uint8_t, 3> colour, std::array<std::uint8_t, 3> background, float bg_alpha) const;

  // The width and height of the box draw() fills for `text` (glyphs may reach
  // past it by a fraction of pixel_height: overhangs, descenders).
  std::array<int, 2> box_size(const std::string& text, int pixel_height) const;

 private:
  struct Face;
  std::unique_ptr<Face> face_;
};

}  // namespace dinoclip
