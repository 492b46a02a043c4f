// What the element benchmarks share: "--key value" options over defaults,
// medians and wall-clock timing that waits for queued GPU work.
#pragma once

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

namespace dinoclip::bench {

using Clock = std::chrono::steady_clock;
using Options = std::map<std::string, std::string>;

// "--key value" pairs over `defaults`; an unknown key exits with status 2,
// pointing at `source`, whose top comment documents the options.
inline Options parse_options(int argc, char** argv, Options defaults, const char* source) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    if (key.rfind("--", 0) != 0 || !defaults.count(key.substr(2))) {
      std::fprintf(stderr, "unknown option %s (see the comment at the top of %s)\n", argv[i], source);
      std::exit(2);
    }
    defaults[key.substr(2)] = argv[i + 1];
  }
  return defaults;
}

inline double median(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

inline double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Waits for kernels queued on a CUDA device, so that a time covers them.
inline void synchronize(const c10::Device& device) {
  if (device.is_cuda()) at::empty({1}, at::TensorOptions().device(device)).cpu();
}

}  // namespace dinoclip::bench
