// The model input size a user asks for, as text ("480x480", "short:448",
// "native") and resolved against a frame size and the model's patch size.
#pragma once

#include <cstdint>
#include <string>

namespace dinoclip {

struct InputSize {
  enum class Kind { kFixed, kShortSide, kNative };
  Kind kind = Kind::kFixed;
  int width = 224;   // kFixed
  int height = 224;  // kFixed
  int short_side = 0;  // kShortSide

  // "WxH" (e.g. "480x640" = 480 wide, 640 high), "short:N" or "native".
  // Throws dinoclip::Error with the accepted forms on anything else.
  static InputSize parse(const std::string& text);
  std::string to_string() const;
};

// Limits on one model input, so that a typo or a 4K frame cannot allocate
// gigabytes and run for minutes: attention holds tokens^2 values per head, so
// 16384 patch tokens (a 128x128 grid: 1024x1024 at patch 8, 2048x2048 at
// patch 16) already need 1 GiB per head. Above either limit resolve_input_size
// throws an error saying the limit and what to use instead.
constexpr int kMaxInputSide = 16384;         // pixels, either side, in "WxH" and "short:N"
constexpr int64_t kMaxPatchTokens = 16384;   // grid_width x grid_height

struct ResolvedSize {
  int width = 0;
  int height = 0;
};

// The model input size for a frame: kFixed must be a multiple of the patch
// (else an error saying so); kShortSide scales the frame so its shorter side
// is N, keeping the aspect, then rounds both sides to the nearest multiple of
// the patch (at least one patch); kNative crops the frame to a multiple of the
// patch, as DINO's visualize_attention.py does. Every kind is refused above
// kMaxPatchTokens patches (an error naming the size, the limit and a fix).
ResolvedSize resolve_input_size(const InputSize& size, int frame_width, int frame_height, int patch);

// A side x side input rounded to the nearest multiple of the patch: the
// default size of commands whose default is one square size whatever the
// model (480 stays 480 at patch 8 and 16, becomes 476 at DINOv2's 14).
InputSize square_input_size(int side, int patch);

}  // namespace dinoclip
