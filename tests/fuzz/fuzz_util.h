// Shared by the libFuzzer targets in this folder.
//
// The oracle every target applies: a parser of untrusted bytes may only
// return a result or throw dinoclip::Error (the project's "clear error" type).
// Any other exception, a sanitizer report, a leak, a hang or an allocation over
// libFuzzer's -malloc_limit_mb is a finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"

namespace dinoclip::fuzz {

// Runs `parse`; swallows dinoclip::Error (a correct refusal) and lets any
// other exception escape, which libFuzzer reports as a crash with the input.
template <typename Parse>
void expect_result_or_error(Parse&& parse) {
  try {
    parse();
  } catch (const dinoclip::Error&) {
  }
}

// A private scratch file (or folder) for parsers that take a path: under
// $DINOCLIP_FUZZ_TMPDIR, else /dev/shm when it exists, else $TMPDIR or /tmp;
// one per process so parallel fuzzing jobs do not share it. Removed at exit.
class ScratchPath {
 public:
  explicit ScratchPath(const std::string& name);
  ~ScratchPath();
  const std::string& path() const { return path_; }
  // Replaces the file's content with `size` bytes at `data`.
  void write(const uint8_t* data, size_t size) const;
  // As a folder: writes `data` to path()/name (the folder is created once).
  void write_in(const std::string& name, const uint8_t* data, size_t size) const;

 private:
  std::string path_;
};

// The CLIP vocabulary for the tokenizer target: $DINOCLIP_VOCAB, else
// $DINOCLIP_FIXTURES/tokenizer/bpe_simple_vocab_16e6.txt.gz, else the
// ../shared/fixtures default compiled in. Exits with a message naming the
// variables when none exists (a fuzzer without its vocabulary tests nothing).
std::string fuzz_vocab_path();

}  // namespace dinoclip::fuzz
