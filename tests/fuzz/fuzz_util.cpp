#include "fuzz_util.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace dinoclip::fuzz {
namespace {

std::string scratch_root() {
  if (const char* dir = std::getenv("DINOCLIP_FUZZ_TMPDIR"); dir && *dir) return dir;
  std::error_code ec;
  if (fs::is_directory("/dev/shm", ec)) return "/dev/shm";  // no disk writes at 10^4 inputs a second
  if (const char* dir = std::getenv("TMPDIR"); dir && *dir) return dir;
  return "/tmp";
}

void write_bytes(const std::string& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  if (!out) {
    std::fprintf(stderr, "fuzz: cannot write scratch file %s\n", path.c_str());
    std::abort();
  }
}

}  // namespace

ScratchPath::ScratchPath(const std::string& name)
    : path_(scratch_root() + "/dinoclip-fuzz-" + std::to_string(getpid()) + "-" + name) {}

ScratchPath::~ScratchPath() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void ScratchPath::write(const uint8_t* data, size_t size) const { write_bytes(path_, data, size); }

void ScratchPath::write_in(const std::string& name, const uint8_t* data, size_t size) const {
  std::error_code ec;
  fs::create_directories(path_, ec);
  write_bytes(path_ + "/" + name, data, size);
}

std::string fuzz_vocab_path() {
  std::error_code ec;
  if (const char* path = std::getenv("DINOCLIP_VOCAB"); path && *path) return path;
  std::string fixtures = DINOCLIP_FUZZ_FIXTURES;
  if (const char* dir = std::getenv("DINOCLIP_FIXTURES"); dir && *dir) fixtures = dir;
  const std::string path = fixtures + "/tokenizer/bpe_simple_vocab_16e6.txt.gz";
  if (!fs::exists(path, ec)) {
    std::fprintf(stderr,
                 "fuzz_tokenizer: no CLIP vocabulary at %s; set DINOCLIP_VOCAB to bpe_simple_vocab_16e6.txt.gz "
                 "or DINOCLIP_FIXTURES to the fixtures folder\n",
                 path.c_str());
    std::exit(2);
  }
  return path;
}

}  // namespace dinoclip::fuzz
