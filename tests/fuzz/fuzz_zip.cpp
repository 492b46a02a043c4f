// The zip container of torch.save files and TorchScript archives: central
// directory (incl. Zip64), local headers, stored/deflated entries with CRC
// checks, the bounds check run before a TorchScript archive goes to LibTorch,
// and the torch.save record prefix.
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "io/torch_save.h"
#include "io/zip_archive.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* bytes = reinterpret_cast<const char*>(data);
  (void)dinoclip::looks_like_zip(bytes, size);
  dinoclip::fuzz::expect_result_or_error([&] {
    const dinoclip::ZipArchive zip(bytes, size, "fuzz.zip");
    std::string prefix;
    (void)dinoclip::find_torch_zip_prefix(zip, prefix);
    dinoclip::fuzz::expect_result_or_error([&] { zip.check_entry_bounds(); });
    for (const auto& entry : zip.entries()) {
      if (zip.find(entry.name) == nullptr) __builtin_trap();  // every listed entry can be looked up
      dinoclip::fuzz::expect_result_or_error([&] {
        const dinoclip::ZipEntryData content = zip.read(entry);
        const volatile char* p = content.data();
        char sum = 0;
        for (size_t i = 0; i < content.size(); ++i) sum = char(sum + p[i]);
        (void)sum;
      });
    }
  });
  return 0;
}
