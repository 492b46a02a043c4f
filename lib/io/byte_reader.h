// Bounds-checked little-endian reads from a byte buffer. Every parser of
// untrusted checkpoint bytes (zip, pickle, safetensors, legacy torch.save)
// reads through this, so corrupt or truncated input throws instead of
// reading past the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"

namespace dinoclip {

class ByteReader {
 public:
  // `context` names what is being read in errors, e.g. "model.pth: data.pkl".
  ByteReader(const char* data, size_t size, std::string context, size_t pos = 0)
      : data_(data), size_(size), pos_(pos), context_(std::move(context)) {
    if (pos_ > size_) fail_short(0);
  }

  size_t pos() const { return pos_; }
  size_t size() const { return size_; }
  size_t remaining() const { return size_ - pos_; }
  bool at_end() const { return pos_ == size_; }
  const std::string& context() const { return context_; }

  void seek(uint64_t pos) {
    if (pos > size_) fail_short(pos - pos_);
    pos_ = size_t(pos);
  }
  void skip(uint64_t n) { bytes(n); }

  // Pointer to the next `n` bytes, then advances past them.
  const char* bytes(uint64_t n) {
    if (n > remaining()) fail_short(n);
    const char* p = data_ + pos_;
    pos_ += size_t(n);
    return p;
  }

  uint8_t u8() { return uint8_t(le(1)); }
  uint16_t u16() { return uint16_t(le(2)); }
  uint32_t u32() { return uint32_t(le(4)); }
  uint64_t u64() { return le(8); }

  // An unsigned little-endian integer of `n` <= 8 bytes.
  uint64_t le(int n) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes(uint64_t(n)));
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
  }

 private:
  [[noreturn]] void fail_short(uint64_t wanted) const {
    throw Error(context_ + ": unexpected end of data (needed " + std::to_string(wanted) +
                " more bytes at offset " + std::to_string(pos_) + " of " + std::to_string(size_) +
                "); the file is truncated or corrupt");
  }

  const char* data_;
  size_t size_;
  size_t pos_;
  std::string context_;
};

}  // namespace dinoclip
