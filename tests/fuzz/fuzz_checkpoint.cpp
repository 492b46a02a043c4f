// load_checkpoint_bytes(): format detection, torch.save zip (zip + pickle +
// storages), torch.save legacy, safetensors. TorchScript archives are cut off
// where dinoclip hands them to LibTorch's torch::jit::load (fuzz_zip covers
// the checks done before that hand-off); fuzzing LibTorch's own loader is
// LibTorch's job.
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "io/checkpoint.h"
#include "io/zip_archive.h"
#include "tensor_check.h"

namespace {

bool is_torchscript_archive(const char* data, size_t size) {
  if (!dinoclip::looks_like_zip(data, size)) return false;
  try {
    const dinoclip::ZipArchive zip(data, size, "fuzz.pt");
    for (const auto& entry : zip.entries()) {
      const size_t slash = entry.name.find('/');
      const std::string rest = slash == std::string::npos ? entry.name : entry.name.substr(slash + 1);
      if (rest == "constants.pkl" || rest.compare(0, 5, "code/") == 0) return true;
    }
  } catch (const dinoclip::Error&) {
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* bytes = reinterpret_cast<const char*>(data);
  if (is_torchscript_archive(bytes, size)) return 0;
  dinoclip::fuzz::expect_result_or_error([&] {
    const dinoclip::Checkpoint checkpoint = dinoclip::load_checkpoint_bytes(bytes, size, "fuzz.pth");
    for (const auto& [name, tensor] : checkpoint.tensors) dinoclip::fuzz::touch_tensor(tensor);
  });
  return 0;
}
