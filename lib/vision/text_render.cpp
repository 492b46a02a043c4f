#include "vision/text_render.h"

#include <ft2build.h>
#include FT_FREETYPE_H

#include <algorithm>
#include <mutex>
#include <vector>

#include "core/error.h"
#include "vision/color_convert.h"

namespace dinoclip {
namespace {

std::vector<char32_t> decode_utf8(const std::string& s) {
  std::vector<char32_t> out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = s[i];
    const int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > s.size()) {  // invalid byte: show a replacement, go on
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    char32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += len;
  }
  return out;
}

int box_padding(int pixel_height) { return std::max(1, pixel_height / 5); }

// The pen's advance over the text, in pixels, at the face's current size.
int text_advance(FT_Face face, const std::vector<char32_t>& code_points) {
  int advance = 0;
  for (char32_t cp : code_points) {
    if (!FT_Load_Char(face, cp, FT_LOAD_DEFAULT)) advance += int(face->glyph->advance.x >> 6);
  }
  return advance;
}

}  // namespace

struct TextRenderer::Face {
  FT_Library library = nullptr;
  FT_Face face = nullptr;
  std::mutex mutex;  // FreeType faces are not thread-safe
  ~Face() {
    if (face) FT_Done_Face(face);
    if (library) FT_Done_FreeType(library);
  }
};

TextRenderer::TextRenderer(const std::string& font_path) : face_(std::make_unique<Face>()) {
  if (FT_Init_FreeType(&face_->library)) throw Error("cannot initialise FreeType");
  if (FT_New_Face(face_->library, font_path.c_str(), 0, &face_->face)) {
    throw Error(font_path + ": cannot load the font (install fonts-dejavu-core or pass another TrueType font)");
  }
}

TextRenderer::~TextRenderer() = default;

std::array<int, 2> TextRenderer::box_size(const std::string& text, int pixel_height) const {
  if (text.empty() || pixel_height <= 0) return {0, 0};
  std::lock_guard<std::mutex> lock(face_->mutex);
  FT_Set_Pixel_Sizes(face_->face, 0, FT_UInt(pixel_height));
  const int pad = box_padding(pixel_height);
  return {text_advance(face_->face, decode_utf8(text)) + 2 * pad, pixel_height + 2 * pad};
}
TextRenderer::TextRenderer(TextRenderer&&) noexcept = default;
TextRenderer& TextRenderer::operator=(TextRenderer&&) noexcept = default;

int TextRenderer::draw(MutableImageView frame, const std::string& text, int x, int y, int pixel_height,
                       std::array<std::uint8_t, 3> colour, std::array<std::uint8_t, 3> background,
                       float bg_alpha) const {
  if (text.empty() || pixel_height <= 0 || frame.format == PixelFormat::kGray) return 0;
  std::lock_guard<std::mutex> lock(face_->mutex);
  FT_Face face = face_->face;
  FT_Set_Pixel_Sizes(face, 0, FT_UInt(pixel_height));
  const std::vector<char32_t> code_points = decode_utf8(text);
  const int pad = box_padding(pixel_height);
  const int ascender = int(face->size->metrics.ascender >> 6);
  const int box_w = text_advance(face, code_points) + 2 * pad, box_h = pixel_height + 2 * pad;
  const RgbLayout layout = rgb_layout(frame.format);
  auto blend = [&](int px, int py, const std::array<std::uint8_t, 3>& rgb, float a) {
    if (px < 0 || py < 0 || px >= frame.width || py >= frame.height || a <= 0.0f) return;
    std::uint8_t* p = frame.data + py * frame.stride + px * layout.bytes_per_pixel;
    const int idx[3] = {layout.r, layout.g, layout.b};
    for (int c = 0; c < 3; ++c) p[idx[c]] = std::uint8_t(std::lround(p[idx[c]] + a * (float(rgb[c]) - p[idx[c]])));
  };
  for (int by = 0; by < box_h; ++by)
    for (int bx = 0; bx < box_w; ++bx) blend(x + bx, y + by, background, bg_alpha);
  int pen = x + pad;
  const int baseline = y + pad + ascender;
  for (char32_t cp : code_points) {
    if (FT_Load_Char(face, cp, FT_LOAD_RENDER)) continue;
    const FT_GlyphSlot g = face->glyph;
    for (unsigned row = 0; row < g->bitmap.rows; ++row) {
      for (unsigned col = 0; col < g->bitmap.width; ++col) {
        const float a = g->bitmap.buffer[row * g->bitmap.pitch + col] / 255.0f;
        blend(pen + g->bitmap_left + int(col), baseline - g->bitmap_top + int(row), colour, a);
      }
    }
    pen += int(g->advance.x >> 6);
  }
  return box_w;
}

}  // namespace dinoclip
