// Strings users type into the CLI and element properties: frame-number
// patterns (FramePattern: "gt/%05d.png"), model input sizes (InputSize:
// "480x480", "short:448", "native", resolved against frame sizes), and
// clipzeroshot's label and template lists. The first byte picks the parser.
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>

#include "fuzz_util.h"
#include "io/frame_pattern.h"
#include "tasks/label_spec.h"
#include "vision/input_size.h"

namespace {

void fuzz_frame_pattern(const std::string& text) {
  const dinoclip::FramePattern pattern = dinoclip::FramePattern::parse(text);
  for (int64_t index : {int64_t(0), int64_t(7), int64_t(99999), std::numeric_limits<int64_t>::max()}) {
    dinoclip::fuzz::expect_result_or_error([&] { (void)pattern.path(index); });
  }
}

void fuzz_input_size(const std::string& text) {
  const dinoclip::InputSize size = dinoclip::InputSize::parse(text);
  (void)size.to_string();
  const int frames[][2] = {{1, 1}, {17, 13}, {640, 480}, {3840, 2160}, {1, 100000}, {100000, 1}};
  for (const auto& frame : frames) {
    for (int patch : {8, 14, 16, 32}) {
      dinoclip::fuzz::expect_result_or_error([&] {
        const dinoclip::ResolvedSize resolved = dinoclip::resolve_input_size(size, frame[0], frame[1], patch);
        // A resolved size is whole patches, at least one.
        if (resolved.width < patch || resolved.height < patch || resolved.width % patch || resolved.height % patch) {
          std::abort();
        }
      });
    }
  }
}

void fuzz_labels(const std::string& text) {
  for (const std::string& label : dinoclip::parse_labels(text)) {
    if (label.empty()) std::abort();
  }
}

void fuzz_templates(const std::string& text) {
  for (const std::string& tmpl : dinoclip::parse_templates(text)) {
    if (tmpl.find("{}") == std::string::npos) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  dinoclip::fuzz::expect_result_or_error([&] {
    switch (data[0] % 4) {
      case 0: fuzz_frame_pattern(text); break;
      case 1: fuzz_input_size(text); break;
      case 2: fuzz_labels(text); break;
      default: fuzz_templates(text); break;
    }
  });
  return 0;
}
