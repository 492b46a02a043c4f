#include "io/zip_archive.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "io/byte_reader.h"

namespace dinoclip {
namespace {

constexpr uint32_t kLocalHeaderSig = 0x04034b50;
constexpr uint32_t kCentralHeaderSig = 0x02014b50;
constexpr uint32_t kEndOfDirSig = 0x06054b50;
constexpr uint32_t kZip64EndOfDirSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr size_t kEndOfDirSize = 22;
constexpr size_t kZip64LocatorSize = 20;
constexpr size_t kCentralHeaderSize = 46;
constexpr size_t kLocalHeaderSize = 30;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint16_t kFlagEncrypted = 0x0001;
constexpr uint16_t kMethodStored = 0;
constexpr uint16_t kMethodDeflate = 8;
// Deflate cannot expand data more than ~1032:1; a larger claim is corruption
// (or a zip bomb), refused before allocating.
constexpr uint64_t kMaxDeflateRatio = 1032;

struct Directory {
  uint64_t entry_count = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t end = 0;  // where the directory must end: the first end record
};

// Callers guarantee pos + 4 <= size.
uint32_t sig_at(const char* data, size_t pos) {
  const auto* p = reinterpret_cast<const unsigned char*>(data + pos);
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

// The end-of-central-directory record sits in the last 22 + 65535 bytes
// (a trailing comment of up to 64 KiB); scan backwards for its signature.
size_t find_end_of_directory(const char* data, size_t size) {
  if (size < kEndOfDirSize) return SIZE_MAX;
  const size_t lowest = size > kEndOfDirSize + 0xffff ? size - kEndOfDirSize - 0xffff : 0;
  for (size_t pos = size - kEndOfDirSize + 1; pos-- > lowest;) {
    if (sig_at(data, pos) != kEndOfDirSig) continue;
    const size_t comment_len = size_t(uint8_t(data[pos + 20])) | size_t(uint8_t(data[pos + 21])) << 8;
    if (pos + kEndOfDirSize + comment_len <= size) return pos;
  }
  return SIZE_MAX;
}

// Fills the zip64 values from the zip64 end record that the locator just
// before the classic end record points at (PyTorch always writes both).
bool read_zip64_directory(ByteReader& r, size_t end_of_dir, Directory& dir) {
  if (end_of_dir < kZip64LocatorSize) return false;
  r.seek(end_of_dir - kZip64LocatorSize);
  if (r.u32() != kZip64LocatorSig) return false;
  r.skip(4);  // disk with the zip64 end record
  const uint64_t record = r.u64();
  if (record >= end_of_dir) throw Error(r.context() + ": zip64 end record offset out of range");
  r.seek(record);
  if (r.u32() != kZip64EndOfDirSig) throw Error(r.context() + ": zip64 end record signature missing");
  r.skip(8 + 2 + 2);  // record size, versions
  const uint32_t disk = r.u32();
  const uint32_t dir_disk = r.u32();
  if (disk != 0 || dir_disk != 0) throw Error(r.context() + ": multi-disk zip archives are not supported");
  r.skip(8);  // entries on this disk
  dir.entry_count = r.u64();
  dir.size = r.u64();
  dir.offset = r.u64();
  dir.end = record;
  return true;
}

Directory read_directory_location(const char* data, size_t size, const std::string& path) {
  const size_t end_of_dir = find_end_of_directory(data, size);
  if (end_of_dir == SIZE_MAX) {
    throw Error(path + ": zip end-of-central-directory record not found: the file is truncated "
                       "or not a zip archive (re-download or re-save it)");
  }
  ByteReader r(data, size, path + ": zip directory", end_of_dir + 4);
  const uint16_t disk = r.u16();
  const uint16_t dir_disk = r.u16();
  r.skip(2);  // entries on this disk
  Directory dir;
  dir.entry_count = r.u16();
  dir.size = r.u32();
  dir.offset = r.u32();
  dir.end = end_of_dir;
  if (!read_zip64_directory(r, end_of_dir, dir) && (disk != 0 || dir_disk != 0)) {
    throw Error(path + ": multi-disk zip archives are not supported");
  }
  if (dir.offset > dir.end || dir.size > dir.end - dir.offset) {
    throw Error(path + ": zip central directory (offset " + std::to_string(dir.offset) + ", " +
                std::to_string(dir.size) + " bytes) lies outside the file: truncated or corrupt");
  }
  if (dir.entry_count > dir.size / kCentralHeaderSize) {
    throw Error(path + ": zip central directory claims " + std::to_string(dir.entry_count) +
                " entries but holds only " + std::to_string(dir.size) + " bytes: corrupt");
  }
  return dir;
}

// Sizes and offset that do not fit 32 bits are 0xffffffff in the header and
// live, in this order, in the zip64 extra field.
void apply_zip64_extra(ByteReader extra, ZipEntry& e) {
  while (extra.remaining() >= 4) {
    const uint16_t id = extra.u16();
    const uint16_t len = extra.u16();
    ByteReader field(extra.bytes(len), len, extra.context());
    if (id != kZip64ExtraId) continue;
    if (e.uncompressed_size == 0xffffffffu) e.uncompressed_size = field.u64();
    if (e.compressed_size == 0xffffffffu) e.compressed_size = field.u64();
    if (e.local_header_offset == 0xffffffffu) e.local_header_offset = field.u64();
    return;
  }
}

ZipEntry read_central_header(ByteReader& r) {
  if (r.u32() != kCentralHeaderSig) throw Error(r.context() + ": bad central directory entry signature");
  ZipEntry e;
  r.skip(4);  // versions
  e.flags = r.u16();
  e.method = r.u16();
  r.skip(4);  // time, date
  e.crc32 = r.u32();
  e.compressed_size = r.u32();
  e.uncompressed_size = r.u32();
  const uint16_t name_len = r.u16();
  const uint16_t extra_len = r.u16();
  const uint16_t comment_len = r.u16();
  r.skip(8);  // disk, internal and external attributes
  e.local_header_offset = r.u32();
  e.name.assign(r.bytes(name_len), name_len);
  apply_zip64_extra(ByteReader(r.bytes(extra_len), extra_len, r.context()), e);
  r.skip(comment_len);
  return e;
}

std::string inflate_raw(const char* data, uint64_t size, uint64_t expected, const std::string& what) {
  std::string out(size_t(expected), '\0');
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) throw Error(what + ": cannot initialise zlib");
  uint64_t in_left = size, out_left = expected;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  int status = Z_OK;
  while (status == Z_OK) {
    // zlib counts in 32-bit units: feed large entries in chunks.
    const uInt in_chunk = uInt(std::min<uint64_t>(in_left, 1u << 30));
    const uInt out_chunk = uInt(std::min<uint64_t>(out_left, 1u << 30));
    zs.avail_in = in_chunk;
    zs.avail_out = out_chunk;
    status = inflate(&zs, Z_NO_FLUSH);
    in_left -= in_chunk - zs.avail_in;
    out_left -= out_chunk - zs.avail_out;
  }
  inflateEnd(&zs);
  if (status != Z_STREAM_END || out_left != 0) {
    throw Error(what + ": deflate data is corrupt (" + (zs.msg ? zs.msg : "size mismatch") + ")");
  }
  return out;
}

uint32_t crc32_of(const char* data, size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (size > 0) {
    const uInt chunk = uInt(std::min<size_t>(size, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data), chunk);
    data += chunk;
    size -= chunk;
  }
  return uint32_t(crc);
}

}  // namespace

bool looks_like_zip(const char* data, size_t size) {
  return size >= 4 && data[0] == 'P' && data[1] == 'K' &&
         ((data[2] == 3 && data[3] == 4) || (data[2] == 5 && data[3] == 6));
}

ZipArchive::ZipArchive(const char* data, size_t size, std::string path)
    : data_(data), size_(size), path_(std::move(path)) {
  const Directory dir = read_directory_location(data_, size_, path_);
  ByteReader r(data_ + dir.offset, size_t(dir.size), path_ + ": zip central directory");
  entries_.reserve(size_t(dir.entry_count));
  for (uint64_t i = 0; i < dir.entry_count; ++i) {
    entries_.push_back(read_central_header(r));
    index_.emplace(entries_.back().name, entries_.size() - 1);  // the first of duplicates wins
  }
}

const ZipEntry* ZipArchive::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

void ZipArchive::fail(const std::string& what) const { throw Error(path_ + ": " + what); }

// The local header repeats name and extra field (PyTorch pads the extra field
// so data is 64-byte aligned); sizes come from the central directory because
// with a data descriptor (flag bit 3, as PyTorch writes) the local ones are 0.
ZipArchive::DataRange ZipArchive::locate_data(const ZipEntry& e) const {
  const std::string what = "zip entry '" + e.name + "'";
  if (e.local_header_offset > size_ || size_ - e.local_header_offset < kLocalHeaderSize) {
    fail(what + ": local header lies outside the file (truncated?)");
  }
  ByteReader r(data_, size_, path_ + ": " + what, size_t(e.local_header_offset));
  if (r.u32() != kLocalHeaderSig) fail(what + ": local header signature missing (corrupt archive)");
  r.skip(22);
  const uint16_t name_len = r.u16();
  const uint16_t extra_len = r.u16();
  const uint64_t offset = e.local_header_offset + kLocalHeaderSize + name_len + extra_len;
  if (offset > size_ || e.compressed_size > size_ - offset) {
    fail(what + ": data (" + std::to_string(e.compressed_size) + " bytes at offset " + std::to_string(offset) +
         ") runs past the end of the " + std::to_string(size_) + "-byte file: truncated");
  }
  return {offset, e.compressed_size};
}

void ZipArchive::check_entry_bounds() const {
  for (const ZipEntry& e : entries_) locate_data(e);
}

ZipEntryData ZipArchive::read(const ZipEntry& e) const {
  const std::string what = "zip entry '" + e.name + "'";
  if (e.flags & kFlagEncrypted) fail(what + " is encrypted");
  const DataRange range = locate_data(e);
  const char* raw = data_ + range.offset;
  ZipEntryData result;
  if (e.method == kMethodStored) {
    if (e.compressed_size != e.uncompressed_size) fail(what + ": stored entry with differing sizes (corrupt)");
    result = ZipEntryData(raw, size_t(range.size));
  } else if (e.method == kMethodDeflate) {
    if (e.uncompressed_size > range.size * kMaxDeflateRatio + 1024) {
      fail(what + ": claims " + std::to_string(e.uncompressed_size) + " bytes from " +
           std::to_string(range.size) + " compressed bytes (corrupt)");
    }
    auto owned = std::make_shared<const std::string>(
        inflate_raw(raw, range.size, e.uncompressed_size, path_ + ": " + what));
    result = ZipEntryData(owned->data(), owned->size(), owned);
  } else {
    fail(what + ": unsupported compression method " + std::to_string(e.method) +
         " (only stored and deflate); re-save the file with torch.save");
  }
  if (crc32_of(result.data(), result.size()) != e.crc32) {
    fail(what + ": CRC-32 mismatch, the file is corrupt (re-download it)");
  }
  return result;
}

}  // namespace dinoclip
