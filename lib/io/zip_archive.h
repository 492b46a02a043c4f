// Entries of a zip archive held in memory: the container of torch.save files
// (PyTorch >= 1.6) and TorchScript archives. Stored entries are returned in
// place (no copy), deflated ones are inflated with zlib; every entry read is
// CRC-32 checked, so a damaged file fails instead of yielding wrong weights.
// Zip64 records (which PyTorch always writes) are understood; multi-disk and
// encrypted archives are not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace dinoclip {

struct ZipEntry {
  std::string name;
  uint16_t flags = 0;
  uint16_t method = 0;  // 0 stored, 8 deflate
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint64_t local_header_offset = 0;
};

// The bytes of one entry: a view into the archive for a stored entry, an
// owned inflated copy for a deflated one. Cheap to copy.
class ZipEntryData {
 public:
  ZipEntryData() = default;
  ZipEntryData(const char* data, size_t size, std::shared_ptr<const std::string> owner = nullptr)
      : data_(data), size_(size), owner_(std::move(owner)) {}
  const char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  const char* data_ = nullptr;
  size_t size_ = 0;
  std::shared_ptr<const std::string> owner_;
};

// True when `data` starts like a zip archive ("PK\3\4", or "PK\5\6" for an
// empty one).
bool looks_like_zip(const char* data, size_t size);

class ZipArchive {
 public:
  // Parses the central directory of the `size` bytes at `data`, which must
  // outlive this object; `path` only names the file in errors. Throws
  // dinoclip::Error when the end-of-central-directory record or the directory
  // itself is missing or out of bounds (not a zip, or a truncated one).
  ZipArchive(const char* data, size_t size, std::string path);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(const std::string& name) const;  // nullptr when absent
  const std::string& path() const { return path_; }

  // The entry's uncompressed bytes, CRC-checked. Throws dinoclip::Error naming
  // the entry when its header or data lies outside the file, its method is not
  // stored/deflate, it is encrypted, or the data does not match its CRC.
  ZipEntryData read(const ZipEntry& entry) const;

  // Checks that every entry's local header and data lie inside the file
  // (cheap: no decompression, no CRC). For archives handed to other readers.
  void check_entry_bounds() const;

 private:
  struct DataRange {
    uint64_t offset;
    uint64_t size;
  };
  DataRange locate_data(const ZipEntry& entry) const;
  [[noreturn]] void fail(const std::string& what) const;

  const char* data_;
  size_t size_;
  std::string path_;
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace dinoclip
