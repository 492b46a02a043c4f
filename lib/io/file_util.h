// Small file helpers shared by the readers and writers.
#pragma once

#include <cstdint>
#include <string>

namespace dinoclip {

// Files above this are refused by read_file unless the caller allows more.
constexpr std::uint64_t kMaxReadFileBytes = std::uint64_t(4) << 30;  // 4 GiB

// Whole file as bytes; throws dinoclip::Error naming the path and the reason.
// Refuses, before reading, what is not a regular file (open_regular_file:
// a directory, FIFO, device or socket) and a file above max_bytes.
std::string read_file(const std::string& path, std::uint64_t max_bytes = kMaxReadFileBytes);

// Writes to "<path>.tmp-<pid>" and renames over `path`, so readers never see a
// torn file and an interrupted write leaves the old one intact. An existing
// `path` that is not a regular file (a directory, /dev/null, a FIFO) is
// refused before anything is written.
void write_file_atomically(const std::string& path, const std::string& bytes);

bool file_exists(const std::string& path);
bool directory_exists(const std::string& path);

}  // namespace dinoclip
