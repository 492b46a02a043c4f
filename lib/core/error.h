// dinoclip's error type: every failure the core reports to a user is one of these,
// with a message that says what was wrong and, where possible, how to fix it.
#pragma once

#include <stdexcept>
#include <string>

namespace dinoclip {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace dinoclip
