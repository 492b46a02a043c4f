#include "io/frame_pattern.h"

#include <cctype>

#include "core/error.h"

namespace dinoclip {
namespace {

[[noreturn]] void reject(const std::string& pattern, const std::string& why) {
  throw Error("file pattern '" + pattern + "' " + why +
              ": use one integer conversion for the frame number, e.g. 'gt/%05d.png' (write %% for a literal %)");
}

}  // namespace

FramePattern FramePattern::parse(const std::string& pattern) {
  FramePattern parsed;
  parsed.pattern_ = pattern;
  bool converted = false;
  std::string* out = &parsed.prefix_;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%') {
      *out += pattern[i];
      continue;
    }
    if (i + 1 < pattern.size() && pattern[i + 1] == '%') {
      *out += '%';
      ++i;
      continue;
    }
    size_t j = i + 1;
    const bool zero = j < pattern.size() && pattern[j] == '0';
    if (zero) ++j;
    int width = 0;
    while (j < pattern.size() && std::isdigit(static_cast<unsigned char>(pattern[j])) && width < 100) {
      width = width * 10 + (pattern[j++] - '0');
    }
    if (j >= pattern.size() || pattern[j] != 'd') reject(pattern, "has a conversion other than %d");
    if (converted) reject(pattern, "has more than one conversion");
    converted = true;
    parsed.zero_pad_ = zero;
    parsed.width_ = width;
    out = &parsed.suffix_;
    i = j;
  }
  if (!converted) reject(pattern, "has no frame number conversion");
  return parsed;
}

std::string FramePattern::path(int64_t index) const {
  if (index < 0) throw Error("frame index " + std::to_string(index) + " is negative");
  std::string number = std::to_string(index);
  if (int(number.size()) < width_) number.insert(0, size_t(width_) - number.size(), zero_pad_ ? '0' : ' ');
  return prefix_ + number + suffix_;
}

}  // namespace dinoclip
