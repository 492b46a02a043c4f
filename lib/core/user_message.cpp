#include "core/user_message.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <new>

namespace dinoclip {
namespace {

constexpr const char* kOutOfMemoryAdvice =
    ": use a smaller input size (input-size / --size), a smaller model, fewer frames at once, or free memory";

// "... you tried to allocate 1234 bytes ..." -> "1.2 GB"; "" when absent.
std::string requested_size(const std::string& message) {
  const std::string marker = "allocate ";
  size_t at = message.find(marker);  // "can't allocate memory: you tried to allocate N bytes": the one with a number
  while (at != std::string::npos && !std::isdigit(static_cast<unsigned char>(message[at + marker.size()]))) {
    at = message.find(marker, at + 1);
  }
  if (at == std::string::npos) return "";
  const unsigned long long bytes = std::strtoull(message.c_str() + at + marker.size(), nullptr, 10);
  if (bytes == 0) return "";
  char text[64];
  std::snprintf(text, sizeof text, "%.1f GB", double(bytes) / 1e9);
  return text;
}

}  // namespace

std::string user_message(const std::exception& error) {
  std::string message = error.what();
  const bool allocation = dynamic_cast<const std::bad_alloc*>(&error) != nullptr ||
                          message.find("alloc_cpu") != std::string::npos ||
                          message.find("can't allocate memory") != std::string::npos ||
                          message.find("CUDA out of memory") != std::string::npos;
  if (allocation) {
    const std::string size = requested_size(message);
    return "out of memory" + (size.empty() ? std::string() : " (a single allocation of " + size + " failed)") +
           kOutOfMemoryAdvice;
  }
  // LibTorch appends its C++ backtrace after the first line on some builds.
  const size_t backtrace = message.find("\nException raised from");
  if (backtrace != std::string::npos) message.resize(backtrace);
  return message;
}

}  // namespace dinoclip
