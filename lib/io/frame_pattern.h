// Per-frame file names from a printf-style pattern ("gt/%05d.png"), as
// multifilesrc's `location` takes them, without handing a user's string to
// printf: the pattern must hold exactly one integer conversion.
#pragma once

#include <cstdint>
#include <string>

namespace dinoclip {

class FramePattern {
 public:
  // Accepts one %d with an optional 0 flag and width (%d, %5d, %05d) and any
  // number of %% (a literal %). Throws dinoclip::Error naming the pattern on
  // no conversion, a second one, or any other conversion (%s, %x, %ld...).
  static FramePattern parse(const std::string& pattern);

  // The path of frame `index` (>= 0): "gt/%05d.png" -> "gt/00042.png".
  std::string path(int64_t index) const;

  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  std::string prefix_, suffix_;  // around the conversion, %% already unescaped
  int width_ = 0;
  bool zero_pad_ = false;
};

}  // namespace dinoclip
