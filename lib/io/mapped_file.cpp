#include "io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/error.h"
#include "io/file_util.h"
#include "io/regular_file.h"

namespace dinoclip {

MappedFile::MappedFile(const std::string& path) : path_(path) {
  const FileDescriptor file = open_regular_file(path);  // closed on every exit path; the mapping outlives it
  struct stat st;
  if (::fstat(file.get(), &st) != 0) throw Error(path + ": cannot stat (" + std::strerror(errno) + ")");
  if (st.st_size > 0) {
    void* map = ::mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_PRIVATE, file.get(), 0);
    if (map != MAP_FAILED) {
      data_ = static_cast<const char*>(map);
      size_ = size_t(st.st_size);
      mapped_ = true;
      return;
    }
  }
  fallback_ = read_file(path);
  data_ = fallback_.data();
  size_ = fallback_.size();
}

void MappedFile::release(const char* data, size_t size) const {
  if (!mapped_ || data < data_ || size > size_ || data - data_ > std::ptrdiff_t(size_ - size)) return;
  const uintptr_t page = uintptr_t(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (uintptr_t(data) + page - 1) / page * page;
  const uintptr_t end = (uintptr_t(data) + size) / page * page;
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

MappedFile::~MappedFile() {
  if (mapped_) ::munmap(const_cast<char*>(data_), size_);
}

}  // namespace dinoclip
