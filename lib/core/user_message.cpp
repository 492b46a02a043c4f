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

// The text after `marker` up to the next "." or " ", e.g. "20.00 MiB" after
// "Tried to allocate " (a number and its unit); "" when absent.
std::string quantity_after(const std::string& message, const std::string& marker) {
  const size_t at = message.find(marker);
  if (at == std::string::npos) return "";
  const size_t start = at + marker.size();
  if (start >= message.size() || !std::isdigit(static_cast<unsigned char>(message[start]))) return "";
  const size_t number_end = message.find(' ', start);
  if (number_end == std::string::npos) return "";
  size_t unit_end = message.find_first_of(". ", number_end + 1);
  if (unit_end == std::string::npos) unit_end = message.size();
  return message.substr(start, unit_end - start);
}

// LibTorch's CUDA caching allocator: "CUDA out of memory. Tried to allocate
// 20.00 MiB. GPU 1 has a total capacity of 139.80 GiB of which 3.56 MiB is
// free. ... If reserved but unallocated memory is large try setting
// PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to avoid fragmentation. ..."
// -> what failed, where, and what to change.
std::string cuda_out_of_memory(const std::string& message) {
  std::string text = "out of GPU memory";
  const size_t gpu = message.find(". GPU ");
  if (gpu != std::string::npos) {
    const size_t start = gpu + 6, end = message.find(' ', start);
    if (end != std::string::npos) text += " on cuda:" + message.substr(start, end - start);
  }
  const std::string wanted = quantity_after(message, "Tried to allocate ");
  const std::string total = quantity_after(message, "has a total capacity of ");
  const std::string free = quantity_after(message, " of which ");
  if (!wanted.empty()) {
    text += " (an allocation of " + wanted + " failed";
    if (!free.empty() && !total.empty()) text += "; " + free + " of " + total + " free";
    text += ")";
  }
  text += ": use a smaller batch-size (--batch) or input size (input-size / --size), precision=bf16 or fp16, "
          "fewer models or streams on this GPU (share one with model-instance-id), or another GPU";
  if (message.find("expandable_segments:True") != std::string::npos) {
    text += "; if much memory is reserved but unallocated, set PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True";
  }
  return text;
}

}  // namespace

std::string user_message(const std::exception& error) {
  std::string message = error.what();
  if (message.find("CUDA out of memory") != std::string::npos) return cuda_out_of_memory(message);
  const bool allocation = dynamic_cast<const std::bad_alloc*>(&error) != nullptr ||
                          message.find("alloc_cpu") != std::string::npos ||
                          message.find("can't allocate memory") != std::string::npos;
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
