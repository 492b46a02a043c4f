// Reading .safetensors files: 8-byte little-endian header length, a JSON
// header {name: {dtype, shape, data_offsets}, "__metadata__": {...}}, then the
// raw little-endian tensor data. Offsets are validated against the file.
#pragma once

#include <cstddef>
#include <map>
#include <string>

#include "io/checkpoint.h"
#include "io/mapped_file.h"

namespace dinoclip {

// True when the bytes start like a safetensors file (a plausible header
// length followed by '{').
bool looks_like_safetensors(const char* data, size_t size);

// Tensors (F32/F16/BF16/F64/I64/I32/I16/I8/U8/BOOL) whose names `keep`
// accepts (all when empty), each copied once out of `data`. Throws
// dinoclip::Error naming `path` and the tensor on a malformed header, an
// unsupported dtype, or offsets that do not match the shape or the file.
// `release` (optional) gets each tensor's bytes once copied.
StateDict read_safetensors(const char* data, size_t size, const std::string& path, const TensorFilter& keep,
                           const ByteRelease& release = ByteRelease());

// The header's "__metadata__" (string to string; non-string values are
// skipped), empty when there is none. Throws like read_safetensors on a
// malformed header.
// Why bytes that should be a safetensors file (by its name) are not one: the
// header length field against the file size, the '{' that must open the
// header. For an error message; "" when the framing looks right.
std::string safetensors_framing_problem(const char* data, size_t size);

std::map<std::string, std::string> read_safetensors_metadata(const char* data, size_t size, const std::string& path);

}  // namespace dinoclip
