// The one way the product opens a file the user names (weights, vocabulary,
// labels files, annotations, ground truth, images, .npy arrays, indexes,
// heads to load or save): what is not a regular file is refused with a
// message naming the path, what it is and what to give instead, and nothing
// blocks. A directory, a FIFO (named pipe), a device (/dev/zero would be read
// until memory runs out) or a socket is never read or written.
//
// Reading opens with O_NONBLOCK (open() on a FIFO without a writer would
// otherwise wait forever), checks with fstat() before a byte is read, then
// clears O_NONBLOCK. Paths a library opens itself (gzopen, torch::jit::load,
// std::ifstream) are checked with stat(), which never blocks either.
#pragma once

#include <fcntl.h>
#include <sys/types.h>

#include <string>

namespace dinoclip {

// An open descriptor, closed when it goes.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd = -1) : fd_(fd) {}
  ~FileDescriptor();
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(other.release()) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept;
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;

  int get() const { return fd_; }
  // The caller closes it from now on.
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

// `path` opened with `flags` (O_RDONLY, or O_RDWR | O_CREAT with `mode`),
// refused unless it is a regular file. Throws dinoclip::Error:
// "<path>: cannot open (<reason>)" or "<path>: is a directory, ...".
FileDescriptor open_regular_file(const std::string& path, int flags = O_RDONLY, mode_t mode = 0);

// The same refusal for a path a library opens itself; a missing path is
// "<path>: cannot open (No such file or directory)".
void require_regular_file(const std::string& path);

// For a file about to be (re)written: refused when `path` exists and is not a
// regular file (writing over /dev/null, a FIFO or a directory would replace or
// block on it). A missing path is fine.
void require_regular_or_missing(const std::string& path);

}  // namespace dinoclip
