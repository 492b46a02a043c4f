// Picture files: PNG and JPEG in, PNG (plain or palette) and JPEG out.
// Decoding follows PIL's Image.open(...).convert('RGB') so pictures read here
// give the same pixels as the Python references.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/image.h"

namespace dinoclip {

// PNG (any colour type/bit depth) or JPEG (grey or colour) -> 3-channel RGB8.
// Grey is replicated, palettes expanded, alpha and tRNS dropped, 16-bit
// samples keep their high byte (as PIL does for RGB(A) and grey+alpha; for
// 16-bit grey PIL instead clamps values above 255, which we do not copy).
// No gamma or ICC handling (PIL applies none either). Throws dinoclip::Error
// for a missing, unreadable, truncated or corrupt file, or one that is
// neither PNG nor JPEG.
Image read_image(const std::string& path);

// Picture files above this are refused before reading (a PNG or JPEG of the
// largest picture decoded, 2^28 pixels, is far smaller).
constexpr std::uint64_t kMaxPictureFileBytes = std::uint64_t(1) << 30;  // 1 GiB
// Pictures whose header declares more pixels are refused before any pixel
// buffer is allocated (16384 x 16384; PIL refuses above ~179M pixels).
constexpr std::uint64_t kMaxPicturePixels = std::uint64_t(1) << 28;

// A segmentation label map (DAVIS annotations) -> 1-channel class ids:
// palette PNG -> the raw palette indices; 8-bit (or lower) grey PNG -> its
// values (as numpy.array(PIL.Image.open(path)) gives them), except a binary
// grey mask: only 0 and one value of 128 or more (DAVIS-2016 saves 0/255) is
// read as 0/1 (background/object), not as classes 0 and 255. Any other PNG
// (RGB, grey+alpha, 16-bit grey) or a JPEG -> dinoclip::Error.
Image read_label_png(const std::string& path);

// A warning for a label map whose ids are mostly unused (e.g. ids 0 and 200
// only: 201 classes, 199 of them never seen, which a head then learns as
// classes), naming the ids and what to do; empty when the ids look dense.
std::string label_map_warning(const Image& labels, const std::string& path);

// 1-channel (grey) or 3-channel (RGB) 8-bit PNG. Written to a temporary file
// and renamed, so a failure never leaves a torn file.
void write_png(const std::string& path, const Image& image);

// Palette PNG whose pixels are `indices` (1 channel), e.g. DAVIS-style masks.
// The palette has 1..256 entries and every index must be below its size.
void write_palette_png(const std::string& path, const Image& indices,
                       const std::vector<std::array<std::uint8_t, 3>>& palette);

// Baseline JPEG (4:2:0 for RGB) of a 1- or 3-channel image, quality 1..100.
void write_jpeg(const std::string& path, const Image& image, int quality = 95);

// PNG or JPEG by the path's extension (.png; .jpg/.jpeg, quality 95);
// any other extension -> dinoclip::Error saying to name it .png or .jpg.
// check_picture_path refuses such a path before any work is done.
void write_picture(const std::string& path, const Image& image);
void check_picture_path(const std::string& path);

}  // namespace dinoclip
