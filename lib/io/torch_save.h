// torch.save files: the zip format (PyTorch >= 1.6: <name>/data.pkl plus one
// <name>/data/<key> entry per storage) and the legacy stream (magic number,
// protocol and sys_info pickles, the object pickle, the storage key list, then
// each storage as int64 numel + raw bytes). The pickled object must be a dict
// (or OrderedDict); nested dicts (and lists) are flattened with '.' joins,
// non-tensor entries are skipped.
#pragma once

#include <cstddef>
#include <string>

#include "io/checkpoint.h"
#include "io/mapped_file.h"
#include "io/zip_archive.h"

namespace dinoclip {

// The "<name>/" prefix of a torch.save zip's records ("" for records at the
// root) into `prefix`; false when the archive has no data.pkl.
bool find_torch_zip_prefix(const ZipArchive& zip, std::string& prefix);

// `release` (optional) gets each storage's bytes after its tensors were copied.
StateDict read_torch_zip(const ZipArchive& zip, const std::string& prefix, const TensorFilter& keep,
                         const ByteRelease& release = ByteRelease());

// True when the bytes start with a binary pickle (protocol 2-5), the first
// record of a legacy torch.save file.
bool looks_like_pickle(const char* data, size_t size);

StateDict read_torch_legacy(const char* data, size_t size, const std::string& path, const TensorFilter& keep,
                            const ByteRelease& release = ByteRelease());

}  // namespace dinoclip
