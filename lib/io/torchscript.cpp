#include "io/torchscript.h"

#include <torch/script.h>

#include <istream>
#include <streambuf>

#include "core/error.h"
#include "io/regular_file.h"

namespace dinoclip {
namespace {

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// A read-only, seekable stream over bytes in memory (no copy).
class MemoryBuffer : public std::streambuf {
 public:
  MemoryBuffer(const char* data, size_t size) {
    char* p = const_cast<char*>(data);  // get area only: never written
    setg(p, p, p + size);
  }

 protected:
  pos_type seekoff(off_type off, std::ios_base::seekdir dir, std::ios_base::openmode) override {
    char* base = dir == std::ios_base::beg ? eback() : dir == std::ios_base::cur ? gptr() : egptr();
    return seek_to(base - eback() + off);
  }
  pos_type seekpos(pos_type pos, std::ios_base::openmode) override { return seek_to(off_type(pos)); }

 private:
  pos_type seek_to(off_type pos) {
    if (pos < 0 || pos > egptr() - eback()) return pos_type(off_type(-1));
    setg(eback(), eback() + pos, egptr());
    return pos_type(pos);
  }
};

template <typename Source>
torch::jit::Module load_module(Source&& source, const std::string& name) {
  try {
    return torch::jit::load(source, c10::Device(c10::kCPU));
  } catch (const c10::Error& e) {
    throw Error(name + ": LibTorch cannot load this TorchScript archive: " + first_line(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    throw Error(name + ": LibTorch cannot load this TorchScript archive: " + first_line(e.what()));
  }
}

StateDict parameters_and_buffers(const torch::jit::Module& module) {
  StateDict tensors;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) tensors.emplace(p.name, p.value.detach());
  for (const auto& b : module.named_buffers(/*recurse=*/true)) tensors.emplace(b.name, b.value.detach());
  return tensors;
}

}  // namespace

StateDict read_torchscript(const std::string& path) {
  require_regular_file(path);  // LibTorch opens it itself
  return parameters_and_buffers(load_module(path, path));
}

StateDict read_torchscript(const char* data, size_t size, const std::string& name) {
  MemoryBuffer buffer(data, size);
  std::istream in(&buffer);
  return parameters_and_buffers(load_module(in, name));
}

}  // namespace dinoclip
