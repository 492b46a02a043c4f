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
  if (used != text.size() || value <= 0 || value > 16384) {
    throw Error("input size '" + whole + "': expected WIDTHxHEIGHT (e.g. 480x480), short:N (e.g. short:448) or native");
  }
  return value;
}

int round_to_patch(double pixels, int patch) { return std::max(patch, int(std::lround(pixels / patch)) * patch); }

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

ResolvedSize resolve_input_size(const InputSize& size, int frame_width, int frame_height, int patch) {
  switch (size.kind) {
    case InputSize::Kind::kFixed:
      if (size.width % patch || size.height % patch) {
        throw Error("input size " + size.to_string() + " is not a multiple of the model's patch size " +
                    std::to_string(patch) + "; use e.g. " + std::to_string(round_to_patch(size.width, patch)) + "x" +
                    std::to_string(round_to_patch(size.height, patch)));
      }
      return {size.width, size.height};
    case InputSize::Kind::kShortSide: {
      const double scale = double(size.short_side) / std::min(frame_width, frame_height);
      return {round_to_patch(frame_width * scale, patch), round_to_patch(frame_height * scale, patch)};
    }
    case InputSize::Kind::kNative:
      if (frame_width < patch || frame_height < patch) {
        throw Error("image " + std::to_string(frame_width) + "x" + std::to_string(frame_height) +
                    " is smaller than one " + std::to_string(patch) + "-pixel patch");
      }
      return {frame_width - frame_width % patch, frame_height - frame_height % patch};
  }
  return {};
}

}  // namespace dinoclip
