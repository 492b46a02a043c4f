#include "io/checkpoint.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <new>
#include <stdexcept>

#include "core/error.h"
#include "io/mapped_file.h"
#include "io/safetensors.h"
#include "io/torch_save.h"
#include "io/torchscript.h"
#include "io/zip_archive.h"

namespace dinoclip {
namespace {

constexpr const char* kExpected =
    "expected a PyTorch checkpoint (.pth/.pt from torch.save, zip or legacy format), a TorchScript archive "
    "(torch.jit.save) or a .safetensors file";

bool starts_with(const char* data, size_t size, const char* magic) {
  const size_t n = std::strlen(magic);
  return size >= n && std::memcmp(data, magic, n) == 0;
}

// Names common non-checkpoint files, so that a wrong path is obvious.
constexpr const char* kUnrecognised = "its content is not recognised";

std::string describe_content(const char* data, size_t size) {
  if (size == 0) return "the file is empty";
  if (starts_with(data, size, "\x89PNG")) return "it is a PNG image";
  if (starts_with(data, size, "\xff\xd8\xff")) return "it is a JPEG image";
  if (starts_with(data, size, "\x1f\x8b")) return "it is gzip-compressed (decompress it first)";
  if (starts_with(data, size, "<")) return "it looks like HTML/XML (an error page saved instead of the download?)";
  size_t printable = 0;
  const size_t n = std::min<size_t>(size, 512);
  for (size_t i = 0; i < n; ++i) printable += std::isprint(uint8_t(data[i])) || std::isspace(uint8_t(data[i]));
  if (printable == n) return "it looks like a text file";
  return kUnrecognised;
}

// TorchScript archives also hold a data.pkl; their code/ and constants.pkl
// records tell them apart from torch.save files.
bool is_torchscript(const ZipArchive& zip) {
  for (const ZipEntry& e : zip.entries()) {
    const size_t slash = e.name.find('/');
    const std::string rest = slash == std::string::npos ? e.name : e.name.substr(slash + 1);
    if (rest == "constants.pkl" || rest.compare(0, 5, "code/") == 0) return true;
  }
  return false;
}

StateDict filtered(StateDict tensors, const TensorFilter& keep) {
  if (!keep) return tensors;
  for (auto it = tensors.begin(); it != tensors.end();) it = keep(it->first) ? std::next(it) : tensors.erase(it);
  return tensors;
}

// `from_file`: `name` is a real path LibTorch can read itself.
Checkpoint load_zip(const char* data, size_t size, const std::string& name, bool from_file, const TensorFilter& keep,
                    const ByteRelease& release) {
  Checkpoint out;
  out.path = name;
  const ZipArchive zip(data, size, name);
  if (is_torchscript(zip)) {
    zip.check_entry_bounds();  // refuse truncated archives before LibTorch reads them
    out.format = CheckpointFormat::kTorchScript;
    out.tensors = filtered(from_file ? read_torchscript(name) : read_torchscript(data, size, name), keep);
    return out;
  }
  std::string prefix;
  if (!find_torch_zip_prefix(zip, prefix)) {
    throw Error(name + ": a zip archive without a data.pkl record, so not a torch.save file; " + kExpected);
  }
  out.format = CheckpointFormat::kTorchZip;
  out.tensors = read_torch_zip(zip, prefix, keep, release);
  return out;
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Checkpoint load_by_content(const char* data, size_t size, const std::string& name, bool from_file,
                           const TensorFilter& keep, const ByteRelease& release = ByteRelease()) {
  if (looks_like_zip(data, size)) return load_zip(data, size, name, from_file, keep, release);
  Checkpoint out;
  out.path = name;
  if (looks_like_safetensors(data, size)) {
    out.format = CheckpointFormat::kSafetensors;
    out.tensors = read_safetensors(data, size, name, keep, release);
    out.metadata = read_safetensors_metadata(data, size, name);
  } else if (looks_like_pickle(data, size)) {
    out.format = CheckpointFormat::kTorchLegacy;
    out.tensors = read_torch_legacy(data, size, name, keep, release);
  } else {
    const std::string content = describe_content(data, size);
    // Named .safetensors and not something else recognisable: say what in its framing is broken.
    if (ends_with(name, ".safetensors") && content == kUnrecognised && !safetensors_framing_problem(data, size).empty()) {
      throw Error(name + ": damaged safetensors file: " + safetensors_framing_problem(data, size) +
                  "; download or export it again");
    }
    throw Error(name + ": not a checkpoint: " + content + "; " + kExpected);
  }
  return out;
}

// Turns the foreign exceptions a corrupt file can still provoke into
// dinoclip::Error naming the file.
template <typename Load>
Checkpoint with_file_errors(const std::string& name, Load&& load) {
  try {
    return load();
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {  // ATen refusing a view: corrupt sizes that slipped through
    throw Error(name + ": cannot build a tensor from the stored data: " + e.what_without_backtrace());
  } catch (const std::bad_alloc&) {
    throw Error(name + ": out of memory while loading (a corrupt size field, or the file is too large)");
  } catch (const std::length_error& e) {
    throw Error(name + ": corrupt size field (" + e.what() + ")");
  }
}

}  // namespace

const char* checkpoint_format_name(CheckpointFormat format) {
  switch (format) {
    case CheckpointFormat::kTorchZip: return "torch.save zip";
    case CheckpointFormat::kTorchLegacy: return "torch.save legacy";
    case CheckpointFormat::kSafetensors: return "safetensors";
    case CheckpointFormat::kTorchScript: return "TorchScript";
  }
  return "unknown";
}

Checkpoint load_checkpoint(const std::string& path) { return load_checkpoint(path, TensorFilter()); }

Checkpoint load_checkpoint(const std::string& path, const TensorFilter& keep) {
  return with_file_errors(path, [&] {
    const MappedFile file(path);
    const ByteRelease release = [&file](const char* data, size_t size) { file.release(data, size); };
    return load_by_content(file.data(), file.size(), path, /*from_file=*/true, keep, release);
  });
}

Checkpoint load_checkpoint_bytes(const char* data, size_t size, const std::string& name, const TensorFilter& keep) {
  return with_file_errors(name, [&] { return load_by_content(data, size, name, /*from_file=*/false, keep); });
}

}  // namespace dinoclip
