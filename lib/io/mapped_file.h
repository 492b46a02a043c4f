// A whole file as read-only bytes, memory-mapped where possible: checkpoint
// readers copy each tensor out of it exactly once, and the mapping costs page
// cache rather than a second heap copy of a 350 MB checkpoint.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace dinoclip {

// Called by readers with bytes they have finished copying out.
using ByteRelease = std::function<void(const char* data, size_t size)>;

class MappedFile {
 public:
  // Throws dinoclip::Error naming `path` if it cannot be opened or read.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const char* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Drops the whole pages inside [data, data + size) from this process's
  // memory once a reader has copied them out (the kernel reads them back from
  // the file if touched again), so loading peaks near the size of the tensors
  // rather than tensors + file. A no-op outside the mapping (inflated copies,
  // the non-mmap fallback).
  void release(const char* data, size_t size) const;

 private:
  std::string path_;
  const char* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  std::string fallback_;  // contents when mmap is not possible (pipes, special files)
};

}  // namespace dinoclip
