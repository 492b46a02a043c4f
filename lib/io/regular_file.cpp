#include "io/regular_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace dinoclip {
namespace {

std::string cannot_open(const std::string& path, int error) {
  return path + ": cannot open (" + std::strerror(error) + ")";
}

// Throws unless `mode` is a regular file's.
void refuse_unless_regular(const std::string& path, mode_t mode) {
  if (S_ISREG(mode)) return;
  if (S_ISDIR(mode)) throw Error(path + ": is a directory, not a file: give the path of a file inside it");
  if (S_ISCHR(mode) || S_ISBLK(mode)) {
    throw Error(path + ": is a device, not a file (it could be read forever): give a regular file");
  }
  if (S_ISFIFO(mode)) {
    throw Error(path + ": is a FIFO (named pipe), not a file (reading it could wait forever): give a regular file");
  }
  if (S_ISSOCK(mode)) throw Error(path + ": is a socket, not a file: give a regular file");
  throw Error(path + ": is not a regular file: give a regular file");
}

}  // namespace

FileDescriptor::~FileDescriptor() {
  if (fd_ >= 0) ::close(fd_);
}

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

FileDescriptor open_regular_file(const std::string& path, int flags, mode_t mode) {
  FileDescriptor file(::open(path.c_str(), flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, mode));
  if (file.get() < 0) {
    const int error = errno;
    struct stat st;  // open() fails on a socket (ENXIO): say what it is
    if (::stat(path.c_str(), &st) == 0) refuse_unless_regular(path, st.st_mode);
    throw Error(cannot_open(path, error));
  }
  struct stat st;
  if (::fstat(file.get(), &st) != 0) throw Error(path + ": cannot stat (" + std::strerror(errno) + ")");
  refuse_unless_regular(path, st.st_mode);
  const int status = ::fcntl(file.get(), F_GETFL);
  if (status < 0 || ::fcntl(file.get(), F_SETFL, status & ~O_NONBLOCK) != 0) {
    throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
  }
  return file;
}

void require_regular_file(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) throw Error(cannot_open(path, errno));
  refuse_unless_regular(path, st.st_mode);
}

void require_regular_or_missing(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return;  // missing (or unreachable: the write reports that)
  refuse_unless_regular(path, st.st_mode);
}

}  // namespace dinoclip
