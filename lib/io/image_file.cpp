// libpng and libjpeg report errors by calling a handler that must not return.
// Ours longjmp back to a setjmp in a small "guarded" function that holds no
// C++ objects, which then returns false; the caller throws dinoclip::Error.
// All C++ allocation happens outside the guarded calls, so a longjmp never
// skips a destructor.
#include "io/image_file.h"

#include <cctype>

#include <jpeglib.h>
#include <png.h>

#include <jerror.h>  // after jpeglib.h: the message codes (JWRN_JPEG_EOF)

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "io/file_util.h"

namespace dinoclip {
namespace {

enum class FileKind { kPng, kJpeg, kOther };

FileKind sniff(const std::string& bytes) {
  static const unsigned char kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), kPngSignature, 8) == 0) return FileKind::kPng;
  if (bytes.size() >= 3 && (unsigned char)bytes[0] == 0xff && (unsigned char)bytes[1] == 0xd8 &&
      (unsigned char)bytes[2] == 0xff) {
    return FileKind::kJpeg;
  }
  return FileKind::kOther;
}

void check_decoded_size(const std::string& path, std::uint64_t width, std::uint64_t height) {
  if (width == 0 || height == 0) {
    throw Error(path + ": the picture's header declares " + std::to_string(width) + "x" + std::to_string(height) +
                " pixels: the file is damaged");
  }
  if (width * height > kMaxPicturePixels) {
    throw Error(path + ": the picture's header declares " + std::to_string(width) + "x" + std::to_string(height) +
                " pixels, more than the " + std::to_string(kMaxPicturePixels) + "-pixel (16384x16384) limit: "
                "downscale it (the models see at most a few hundred pixels a side anyway)");
  }
}

// DAVIS-2016 style binary masks: 0 and one grey value v >= 128 -> 0/1, in place.
void binary_grey_to_classes(Image& labels) {
  std::array<bool, 256> present{};
  for (std::uint8_t v : labels.pixels) present[v] = true;
  int other = -1;
  for (int v = 1; v < 256; ++v) {
    if (!present[v]) continue;
    if (other >= 0) return;  // three or more values: class ids, kept
    other = v;
  }
  if (other < 128) return;
  for (std::uint8_t& v : labels.pixels) v = v ? 1 : 0;
}

[[noreturn]] void throw_not_an_image(const std::string& path, const std::string& bytes) {
  if (bytes.empty()) throw Error(path + ": empty file, expected a PNG or JPEG picture");
  throw Error(path + ": not a PNG or JPEG picture (unrecognised file signature)");
}

void check_writable_image(const std::string& path, const Image& image, const char* what) {
  if (image.width <= 0 || image.height <= 0) {
    throw Error(path + ": cannot write an empty " + what + " (" + std::to_string(image.width) + "x" +
                std::to_string(image.height) + ")");
  }
  if (image.channels != 1 && image.channels != 3) {
    throw Error(path + ": cannot write a " + std::to_string(image.channels) + "-channel image as " + what +
                " (expected 1 = grey or 3 = RGB)");
  }
  if (image.pixels.size() != std::size_t(image.width) * image.height * image.channels) {
    throw Error(path + ": image buffer holds " + std::to_string(image.pixels.size()) + " bytes, expected " +
                std::to_string(std::size_t(image.width) * image.height * image.channels));
  }
}

// ---------------------------------------------------------------- PNG read

struct PngReadContext {
  png_structp png = nullptr;
  png_infop info = nullptr;
  const std::string* bytes = nullptr;
  std::size_t position = 0;
  char message[256] = "";
  // Filled by the header phase.
  png_uint_32 width = 0, height = 0;
  int color_type = 0, bit_depth = 0, channels = 0;
  std::vector<png_bytep> rows;  // sized before the pixel phase

  ~PngReadContext() {
    if (png != nullptr) png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, nullptr);
  }
};

void png_error_handler(png_structp png, png_const_charp message) {
  auto* context = static_cast<PngReadContext*>(png_get_error_ptr(png));
  std::snprintf(context->message, sizeof(context->message), "%s", message);
  png_longjmp(png, 1);
}

void png_silent_warning(png_structp, png_const_charp) {}

void png_read_from_memory(png_structp png, png_bytep out, png_size_t count) {
  auto* context = static_cast<PngReadContext*>(png_get_io_ptr(png));
  if (count > context->bytes->size() - context->position) png_error(png, "file is truncated");
  std::memcpy(out, context->bytes->data() + context->position, count);
  context->position += count;
}

enum class PngTarget { kRgb, kLabels };

// Reads the header and chooses libpng transforms. No C++ objects live here.
bool png_guarded_header(PngReadContext& c, PngTarget target) {
  if (setjmp(png_jmpbuf(c.png))) return false;
  png_set_read_fn(c.png, &c, png_read_from_memory);
  png_read_info(c.png, c.info);
  c.color_type = png_get_color_type(c.png, c.info);
  c.bit_depth = png_get_bit_depth(c.png, c.info);
  const bool palette = c.color_type == PNG_COLOR_TYPE_PALETTE;
  if (target == PngTarget::kRgb) {
    // PIL: palettes expand to RGB, 1/2/4-bit grey scales to 0..255, 16-bit keeps the high byte.
    if (palette) png_set_palette_to_rgb(c.png);
    if (c.color_type == PNG_COLOR_TYPE_GRAY && c.bit_depth < 8) png_set_expand_gray_1_2_4_to_8(c.png);
    if (c.bit_depth == 16) png_set_strip_16(c.png);
  } else if (palette) {
    if (c.bit_depth < 8) png_set_packing(c.png);  // one index per byte, unscaled
  } else if (c.color_type == PNG_COLOR_TYPE_GRAY && c.bit_depth < 8) {
    png_set_expand_gray_1_2_4_to_8(c.png);  // what numpy.array(PIL.Image.open(...)) gives
  }
  png_set_interlace_handling(c.png);
  png_read_update_info(c.png, c.info);
  c.width = png_get_image_width(c.png, c.info);
  c.height = png_get_image_height(c.png, c.info);
  c.channels = png_get_channels(c.png, c.info);
  return true;
}

bool png_guarded_pixels(PngReadContext& c) {
  if (setjmp(png_jmpbuf(c.png))) return false;
  png_read_image(c.png, c.rows.data());
  png_read_end(c.png, nullptr);
  return true;
}

const char* png_color_type_name(int color_type) {
  switch (color_type) {
    case PNG_COLOR_TYPE_GRAY:
      return "grey";
    case PNG_COLOR_TYPE_GRAY_ALPHA:
      return "grey+alpha";
    case PNG_COLOR_TYPE_PALETTE:
      return "palette";
    case PNG_COLOR_TYPE_RGB:
      return "RGB";
    case PNG_COLOR_TYPE_RGB_ALPHA:
      return "RGBA";
  }
  return "unknown";
}

// Sets up libpng and reads the header; c.channels is what each decoded pixel will hold.
void read_png_header(const std::string& path, const std::string& bytes, PngTarget target, PngReadContext& c) {
  c.bytes = &bytes;
  c.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &c, png_error_handler, png_silent_warning);
  if (c.png != nullptr) c.info = png_create_info_struct(c.png);
  if (c.png == nullptr || c.info == nullptr) throw Error(path + ": cannot initialise libpng (out of memory)");
  if (!png_guarded_header(c, target)) {
    throw Error(path + ": corrupt or truncated PNG header (" + std::string(c.message) + ")");
  }
  check_decoded_size(path, c.width, c.height);
}

std::vector<std::uint8_t> decode_png_pixels(const std::string& path, PngReadContext& c) {
  const std::size_t row_bytes = std::size_t(c.width) * c.channels;
  std::vector<std::uint8_t> pixels(row_bytes * c.height);
  c.rows.resize(c.height);
  for (png_uint_32 y = 0; y < c.height; ++y) c.rows[y] = pixels.data() + y * row_bytes;
  if (!png_guarded_pixels(c)) throw Error(path + ": corrupt or truncated PNG (" + std::string(c.message) + ")");
  return pixels;
}

// n-channel 8-bit rows -> RGB: grey replicated, alpha dropped.
Image channels_to_rgb(const std::vector<std::uint8_t>& pixels, int width, int height, int channels) {
  Image out(width, height, 3);
  const std::size_t count = std::size_t(width) * height;
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint8_t* in = &pixels[i * channels];
    std::uint8_t* dst = &out.pixels[3 * i];
    if (channels >= 3) {
      dst[0] = in[0], dst[1] = in[1], dst[2] = in[2];
    } else {
      dst[0] = dst[1] = dst[2] = in[0];
    }
  }
  return out;
}

Image read_png_rgb(const std::string& path, const std::string& bytes) {
  PngReadContext c;
  read_png_header(path, bytes, PngTarget::kRgb, c);
  const std::vector<std::uint8_t> pixels = decode_png_pixels(path, c);
  return channels_to_rgb(pixels, int(c.width), int(c.height), c.channels);
}

// ---------------------------------------------------------------- JPEG read

struct JpegErrorManager {
  jpeg_error_mgr base;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_error_exit_handler(j_common_ptr info) {
  auto* err = reinterpret_cast<JpegErrorManager*>(info->err);
  (*info->err->format_message)(info, err->message);
  std::longjmp(err->jump, 1);
}

// Warnings are ignored except running out of data, which libjpeg would
// otherwise paper over with grey: a truncated file is an error (as in PIL).
void jpeg_message_handler(j_common_ptr info, int level) {
  if (level == -1 && info->err->msg_code == JWRN_JPEG_EOF) jpeg_error_exit_handler(info);
}

struct JpegReadContext {
  jpeg_decompress_struct info;
  JpegErrorManager err;
  bool created = false;
  bool unsupported_colour = false;
  bool unexpected_layout = false;
  std::vector<std::uint8_t>* pixels = nullptr;

  JpegReadContext() {
    std::memset(&info, 0, sizeof(info));
    info.err = jpeg_std_error(&err.base);
    err.base.error_exit = jpeg_error_exit_handler;
    err.base.emit_message = jpeg_message_handler;
    err.message[0] = '\0';
  }
  ~JpegReadContext() {
    if (created) jpeg_destroy_decompress(&info);
  }
};

bool jpeg_guarded_header(JpegReadContext& c, const std::string& bytes) {
  if (setjmp(c.err.jump)) return false;
  jpeg_create_decompress(&c.info);
  c.created = true;
  jpeg_mem_src(&c.info, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&c.info, TRUE);
  if (c.info.jpeg_color_space == JCS_CMYK || c.info.jpeg_color_space == JCS_YCCK) {
    c.unsupported_colour = true;
    return true;
  }
  c.info.out_color_space = JCS_RGB;  // grey is replicated, as PIL's convert('RGB')
  return true;
}

// Decodes into c.pixels, sized for image_width x image_height x 3 (no scaling
// is requested, so the output has exactly that size).
bool jpeg_guarded_scanlines(JpegReadContext& c) {
  if (setjmp(c.err.jump)) return false;
  jpeg_start_decompress(&c.info);
  if (c.info.output_width != c.info.image_width || c.info.output_height != c.info.image_height ||
      c.info.output_components != 3) {
    c.unexpected_layout = true;  // never expected without scaling; refuse rather than overrun
    return true;
  }
  const std::size_t row_bytes = std::size_t(c.info.output_width) * 3;
  while (c.info.output_scanline < c.info.output_height) {
    JSAMPROW row = c.pixels->data() + row_bytes * c.info.output_scanline;
    jpeg_read_scanlines(&c.info, &row, 1);
  }
  jpeg_finish_decompress(&c.info);
  return true;
}

Image read_jpeg_rgb(const std::string& path, const std::string& bytes) {
  JpegReadContext c;
  if (!jpeg_guarded_header(c, bytes)) {
    throw Error(path + ": corrupt or truncated JPEG (" + std::string(c.err.message) + ")");
  }
  if (c.unsupported_colour) {
    throw Error(path +
                ": CMYK/YCCK JPEG is not supported; convert it to RGB (e.g. convert in.jpg -colorspace sRGB "
                "out.jpg)");
  }
  check_decoded_size(path, c.info.image_width, c.info.image_height);
  Image out(int(c.info.image_width), int(c.info.image_height), 3);
  c.pixels = &out.pixels;
  if (!jpeg_guarded_scanlines(c)) {
    throw Error(path + ": corrupt or truncated JPEG (" + std::string(c.err.message) + ")");
  }
  if (c.unexpected_layout) throw Error(path + ": JPEG decoder did not produce 8-bit RGB at the stored size");
  return out;
}

// ---------------------------------------------------------------- PNG write

struct PngWriteContext {
  png_structp png = nullptr;
  png_infop info = nullptr;
  std::string bytes;
  char message[256] = "";
  std::vector<png_bytep> rows;

  ~PngWriteContext() {
    if (png != nullptr) png_destroy_write_struct(&png, info != nullptr ? &info : nullptr);
  }
};

void png_write_error_handler(png_structp png, png_const_charp message) {
  auto* context = static_cast<PngWriteContext*>(png_get_error_ptr(png));
  std::snprintf(context->message, sizeof(context->message), "%s", message);
  png_longjmp(png, 1);
}

void png_write_to_memory(png_structp png, png_bytep data, png_size_t count) {
  auto* context = static_cast<PngWriteContext*>(png_get_io_ptr(png));
  bool appended = true;
  try {
    context->bytes.append(reinterpret_cast<const char*>(data), count);
  } catch (...) {
    appended = false;  // no exception may cross libpng's C frames
  }
  if (!appended) png_error(png, "out of memory");
}

void png_flush_nothing(png_structp) {}

struct PngLayout {
  int color_type;
  const std::vector<std::array<std::uint8_t, 3>>* palette;  // palette images only
};

bool png_guarded_write(PngWriteContext& c, const Image& image, const PngLayout& layout, png_color* palette_entries,
                       int palette_size) {
  if (setjmp(png_jmpbuf(c.png))) return false;
  png_set_write_fn(c.png, &c, png_write_to_memory, png_flush_nothing);
  png_set_IHDR(c.png, c.info, png_uint_32(image.width), png_uint_32(image.height), 8, layout.color_type,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (palette_size > 0) png_set_PLTE(c.png, c.info, palette_entries, palette_size);
  png_write_info(c.png, c.info);
  png_write_image(c.png, c.rows.data());
  png_write_end(c.png, nullptr);
  return true;
}

void write_png_with_layout(const std::string& path, const Image& image, const PngLayout& layout) {
  PngWriteContext c;
  c.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &c, png_write_error_handler, png_silent_warning);
  if (c.png != nullptr) c.info = png_create_info_struct(c.png);
  if (c.png == nullptr || c.info == nullptr) throw Error(path + ": cannot initialise libpng (out of memory)");
  c.rows.resize(image.height);
  for (int y = 0; y < image.height; ++y) c.rows[y] = const_cast<png_bytep>(image.row(y));
  std::vector<png_color> palette_entries;
  if (layout.palette != nullptr) {
    for (const auto& rgb : *layout.palette) palette_entries.push_back(png_color{rgb[0], rgb[1], rgb[2]});
  }
  if (!png_guarded_write(c, image, layout, palette_entries.data(), int(palette_entries.size()))) {
    throw Error(path + ": PNG encoding failed (" + std::string(c.message) + ")");
  }
  write_file_atomically(path, c.bytes);
}

// ---------------------------------------------------------------- JPEG write

struct JpegWriteContext {
  jpeg_compress_struct info;
  JpegErrorManager err;
  bool created = false;
  unsigned char* buffer = nullptr;  // malloc'ed by jpeg_mem_dest
  unsigned long size = 0;

  JpegWriteContext() {
    std::memset(&info, 0, sizeof(info));
    info.err = jpeg_std_error(&err.base);
    err.base.error_exit = jpeg_error_exit_handler;
    err.base.emit_message = jpeg_message_handler;
    err.message[0] = '\0';
  }
  ~JpegWriteContext() {
    if (created) jpeg_destroy_compress(&info);
    std::free(buffer);
  }
};

bool jpeg_guarded_write(JpegWriteContext& c, const Image& image, int quality) {
  if (setjmp(c.err.jump)) return false;
  jpeg_create_compress(&c.info);
  c.created = true;
  jpeg_mem_dest(&c.info, &c.buffer, &c.size);
  c.info.image_width = JDIMENSION(image.width);
  c.info.image_height = JDIMENSION(image.height);
  c.info.input_components = image.channels;
  c.info.in_color_space = image.channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&c.info);
  jpeg_set_quality(&c.info, quality, TRUE);
  jpeg_start_compress(&c.info, TRUE);
  while (c.info.next_scanline < c.info.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(image.row(int(c.info.next_scanline)));
    jpeg_write_scanlines(&c.info, &row, 1);
  }
  jpeg_finish_compress(&c.info);
  return true;
}

}  // namespace

Image read_image(const std::string& path) {
  const std::string bytes = read_file(path, kMaxPictureFileBytes);
  switch (sniff(bytes)) {
    case FileKind::kPng:
      return read_png_rgb(path, bytes);
    case FileKind::kJpeg:
      return read_jpeg_rgb(path, bytes);
    case FileKind::kOther:
      break;
  }
  throw_not_an_image(path, bytes);
}

Image read_label_png(const std::string& path) {
  const std::string bytes = read_file(path, kMaxPictureFileBytes);
  const FileKind kind = sniff(bytes);
  if (kind == FileKind::kJpeg) {
    throw Error(path + ": label maps must be PNG (palette or 8-bit grey); JPEG compression corrupts class ids");
  }
  if (kind != FileKind::kPng) throw_not_an_image(path, bytes);
  PngReadContext c;
  read_png_header(path, bytes, PngTarget::kLabels, c);
  const bool palette = c.color_type == PNG_COLOR_TYPE_PALETTE;
  const bool grey8 = c.color_type == PNG_COLOR_TYPE_GRAY && c.bit_depth <= 8;
  if (!palette && !grey8) {
    throw Error(path + ": label PNG is " + std::to_string(c.bit_depth) + "-bit " + png_color_type_name(c.color_type) +
                "; it must be palette-indexed (DAVIS style) or 8-bit grey, one class id per pixel");
  }
  const std::vector<std::uint8_t> pixels = decode_png_pixels(path, c);
  Image out(int(c.width), int(c.height), 1);
  // Grey with a tRNS entry may come back with an alpha channel: keep the value.
  for (std::size_t i = 0; i < out.pixels.size(); ++i) out.pixels[i] = pixels[i * c.channels];
  if (grey8) binary_grey_to_classes(out);
  return out;
}

std::string label_map_warning(const Image& labels, const std::string& path) {
  std::array<bool, 256> present{};
  for (std::uint8_t v : labels.pixels) present[v] = true;
  int largest = 0, used = 0;
  std::string ids;
  for (int v = 0; v < 256; ++v) {
    if (!present[v]) continue;
    largest = v;
    ++used;
    if (used <= 8) ids += (ids.empty() ? "" : ", ") + std::to_string(v);
  }
  if (used > 8) ids += ", ...";
  // Dense ids (0..N-1 with a few objects gone) are normal; most ids unused is not.
  if (largest < 4 || used * 2 > largest + 1) return "";
  return path + ": class ids " + ids + " are used, so " + std::to_string(largest + 1) + " classes are set up but " +
         std::to_string(largest + 1 - used) + " of them never appear: store the classes as ids 0, 1, 2, ... (a "
         "palette PNG as DAVIS does, or a grey PNG of small ids)";
}

void write_png(const std::string& path, const Image& image) {
  check_writable_image(path, image, "PNG");
  const int color_type = image.channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB;
  write_png_with_layout(path, image, PngLayout{color_type, nullptr});
}

void write_palette_png(const std::string& path, const Image& indices,
                       const std::vector<std::array<std::uint8_t, 3>>& palette) {
  check_writable_image(path, indices, "palette PNG");
  if (indices.channels != 1) {
    throw Error(path + ": palette PNG needs a 1-channel index image, got " + std::to_string(indices.channels) +
                " channels");
  }
  if (palette.empty() || palette.size() > 256) {
    throw Error(path + ": palette has " + std::to_string(palette.size()) + " entries, expected 1..256");
  }
  for (std::uint8_t index : indices.pixels) {
    if (index >= palette.size()) {
      throw Error(path + ": pixel index " + std::to_string(index) + " is outside the " +
                  std::to_string(palette.size()) + "-entry palette");
    }
  }
  write_png_with_layout(path, indices, PngLayout{PNG_COLOR_TYPE_PALETTE, &palette});
}

void write_jpeg(const std::string& path, const Image& image, int quality) {
  check_writable_image(path, image, "JPEG");
  if (quality < 1 || quality > 100) throw Error(path + ": JPEG quality " + std::to_string(quality) + " not in 1..100");
  if (image.width > JPEG_MAX_DIMENSION || image.height > JPEG_MAX_DIMENSION) {
    throw Error(path + ": " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                " is larger than JPEG allows (" + std::to_string(JPEG_MAX_DIMENSION) + " per side)");
  }
  JpegWriteContext c;
  if (!jpeg_guarded_write(c, image, quality)) {
    throw Error(path + ": JPEG encoding failed (" + std::string(c.err.message) + ")");
  }
  write_file_atomically(path, std::string(reinterpret_cast<const char*>(c.buffer), c.size));
}

namespace {

enum class PictureFormat { kPng, kJpeg };

PictureFormat picture_format_of(const std::string& path) {
  const size_t dot = path.find_last_of('.');
  const size_t slash = path.find_last_of('/');
  std::string extension = dot == std::string::npos || (slash != std::string::npos && dot < slash) ? ""
                                                                                                   : path.substr(dot);
  for (char& c : extension) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (extension == ".png") return PictureFormat::kPng;
  if (extension == ".jpg" || extension == ".jpeg") return PictureFormat::kJpeg;
  throw Error(path + ": pictures are written as PNG or JPEG: name the file *.png or *.jpg");
}

}  // namespace

void check_picture_path(const std::string& path) { picture_format_of(path); }

void write_picture(const std::string& path, const Image& image) {
  if (picture_format_of(path) == PictureFormat::kJpeg) {
    write_jpeg(path, image);
  } else {
    write_png(path, image);
  }
}

}  // namespace dinoclip
