#include "io/file_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <sys/stat.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "io/regular_file.h"

namespace dinoclip {

namespace {

std::string size_text(std::uint64_t bytes) {
  if (bytes >= (std::uint64_t(1) << 30) && bytes % (std::uint64_t(1) << 30) == 0)
    return std::to_string(bytes >> 30) + " GiB";
  if (bytes >= (std::uint64_t(1) << 20) && bytes % (std::uint64_t(1) << 20) == 0)
    return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes) + " bytes";
}

}  // namespace

std::string read_file(const std::string& path, std::uint64_t max_bytes) {
  const FileDescriptor file = open_regular_file(path);
  struct stat st;
  if (::fstat(file.get(), &st) != 0) throw Error(path + ": cannot stat (" + std::strerror(errno) + ")");
  const std::string too_large = path + ": larger than the " + size_text(max_bytes) + " this file may have";
  if (std::uint64_t(st.st_size) > max_bytes) throw Error(too_large);
  std::string out;
  out.reserve(size_t(st.st_size));
  char chunk[1 << 16];
  for (;;) {
    const ssize_t n = ::read(file.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(path + ": read error (" + std::strerror(errno) + ")");
    if (n == 0) break;
    if (out.size() + size_t(n) > max_bytes) throw Error(too_large);
    out.append(chunk, size_t(n));
  }
  return out;
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  require_regular_or_missing(path);
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(path + ": cannot write (" + std::strerror(errno) + ")");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      throw Error(path + ": write failed (disk full?)");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(tmp.c_str());
    throw Error(path + ": cannot write (" + reason + ")");
  }
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool directory_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace dinoclip
