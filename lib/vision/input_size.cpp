#include "vision/input_size.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace dinoclip {
namespace {

int parse_positive(const std::string& text, const std::string& whole) {
  size_t used = 0;
  int value = 0;
  try {
    value = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || value <= 0) {
    throw Error("input size '" + whole + "': expected WIDTHxHEIGHT (e.g. 480x480), short:N (e.g. short:448) or native");
  }
  if (value > kMaxInputSide) {
    throw Error("input size '" + whole + "': " + std::to_string(value) + " pixels is above the " +
                std::to_string(kMaxInputSide) + "-pixel limit per side (and at most " +
                std::to_string(kMaxPatchTokens) + " patches in all): use e.g. 480x480 or short:480");
  }
  return value;
}

int round_to_patch(double pixels, int patch) { return std::max(patch, int(std::lround(pixels / patch)) * patch); }

// The refusal of a size above kMaxPatchTokens, before anything is allocated.
ResolvedSize within_token_limit(ResolvedSize size, const InputSize& asked, int frame_width, int frame_height,
                                int patch) {
  const int64_t tokens = int64_t(size.width / patch) * int64_t(size.height / patch);
  if (tokens <= kMaxPatchTokens) return size;
  std::string what = "input size " + asked.to_string();
  if (asked.kind != InputSize::Kind::kFixed) {
    what += " on a " + std::to_string(frame_width) + "x" + std::to_string(frame_height) + " frame";
  }
  throw Error(what + " gives a " + std::to_string(size.width) + "x" + std::to_string(size.height) + " model input of " +
              std::to_string(tokens) + " patches (patch " + std::to_string(patch) + "), above the limit of " +
              std::to_string(kMaxPatchTokens) + " patches (attention memory grows with its square): use a smaller " +
              "size, e.g. input-size=short:480 or 480x480, or downscale the video first");
}

// short:N on extreme aspect ratios: computed in double so a long side cannot overflow int.
ResolvedSize short_side_size(int short_side, int frame_width, int frame_height, int patch) {
  const double scale = double(short_side) / std::min(frame_width, frame_height);
  const double width = std::min(frame_width * scale, double(1 << 30));
  const double height = std::min(frame_height * scale, double(1 << 30));
  return {round_to_patch(width, patch), round_to_patch(height, patch)};
}

}  // namespace

InputSize InputSize::parse(const std::string& text) {
  InputSize size;
  if (text == "native") {
    size.kind = Kind::kNative;
  } else if (text.rfind("short:", 0) == 0) {
    size.kind = Kind::kShortSide;
    size.short_side = parse_positive(text.substr(6), text);
  } else {
    auto x = text.find('x');
    if (x == std::string::npos) parse_positive("", text);
    size.kind = Kind::kFixed;
    size.width = parse_positive(text.substr(0, x), text);
    size.height = parse_positive(text.substr(x + 1), text);
  }
  return size;
}

std::string InputSize::to_string() const {
  switch (kind) {
    case Kind::kNative:
      return "native";
    case Kind::kShortSide:
      return "short:" + std::to_string(short_side);
    case Kind::kFixed:
      break;
  }
  return std::to_string(width) + "x" + std::to_string(height);
}

namespace {

ResolvedSize resolve_unbounded(const InputSize& size, int frame_width, int frame_height, int patch) {
  switch (size.kind) {
    case InputSize::Kind::kFixed:
      if (size.width % patch || size.height % patch) {
        throw Error("input size " + size.to_string() + " is not a multiple of the model's patch size " +
                    std::to_string(patch) + "; use e.g. " + std::to_string(round_to_patch(size.width, patch)) + "x" +
                    std::to_string(round_to_patch(size.height, patch)));
      }
      return {size.width, size.height};
    case InputSize::Kind::kShortSide:
      if (frame_width <= 0 || frame_height <= 0) throw Error("input size " + size.to_string() + " needs a frame size");
      return short_side_size(size.short_side, frame_width, frame_height, patch);
    case InputSize::Kind::kNative:
      if (frame_width < patch || frame_height < patch) {
        throw Error("image " + std::to_string(frame_width) + "x" + std::to_string(frame_height) +
                    " is smaller than one " + std::to_string(patch) + "-pixel patch");
      }
      return {frame_width - frame_width % patch, frame_height - frame_height % patch};
  }
  return {};
}

}  // namespace

ResolvedSize resolve_input_size(const InputSize& size, int frame_width, int frame_height, int patch) {
  if (patch <= 0) throw Error("the model's patch size " + std::to_string(patch) + " is not positive");
  return within_token_limit(resolve_unbounded(size, frame_width, frame_height, patch), size, frame_width, frame_height,
                            patch);
}

InputSize square_input_size(int side, int patch) {
  if (side < 1 || patch < 1) throw Error("square_input_size: side and patch must be positive");
  InputSize size;
  size.kind = InputSize::Kind::kFixed;
  size.width = size.height = round_to_patch(double(side), patch);
  return size;
}

}  // namespace dinoclip
