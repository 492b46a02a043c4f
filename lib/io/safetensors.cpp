#include "io/safetensors.h"

#include <ATen/ATen.h>

#include <nlohmann/json.hpp>

#include <cstdio>

#include "core/error.h"
#include "io/byte_reader.h"
#include "io/storage_view.h"

namespace dinoclip {
namespace {

// The format's own limit on the header (safetensors refuses larger ones).
constexpr uint64_t kMaxHeaderBytes = 100u << 20;

struct DtypeCode {
  const char* code;
  at::ScalarType type;
};

const DtypeCode kDtypes[] = {
    {"F32", at::kFloat}, {"F16", at::kHalf}, {"BF16", at::kBFloat16}, {"F64", at::kDouble}, {"I64", at::kLong},
    {"I32", at::kInt},   {"I16", at::kShort}, {"I8", at::kChar},      {"U8", at::kByte},    {"BOOL", at::kBool},
};

at::ScalarType parse_dtype(const std::string& code, const std::string& what) {
  for (const auto& d : kDtypes) {
    if (code == d.code) return d.type;
  }
  throw Error(what + ": unsupported dtype '" + code + "' (supported: F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL)");
}

uint64_t unsigned_number(const nlohmann::json& v, const std::string& what) {
  if (!v.is_number_unsigned()) throw Error(what + " must be non-negative integers");
  return v.get<uint64_t>();
}

std::vector<int64_t> parse_shape(const nlohmann::json& shape, const std::string& what) {
  if (!shape.is_array()) throw Error(what + ": 'shape' is not a list");
  std::vector<int64_t> sizes;
  for (const auto& d : shape) {
    const uint64_t n = unsigned_number(d, what + ": 'shape' entries");
    if (n > (uint64_t(1) << 62)) throw Error(what + ": dimension " + std::to_string(n) + " is absurd (corrupt)");
    sizes.push_back(int64_t(n));
  }
  return sizes;
}

const nlohmann::json& field(const nlohmann::json& entry, const char* name, const std::string& what) {
  auto it = entry.find(name);
  if (it == entry.end()) throw Error(what + ": header entry has no '" + name + "'");
  return *it;
}

// The tensor of one header entry; `begin` receives its data's offset.
at::Tensor read_tensor(const nlohmann::json& entry, const char* data, uint64_t data_size, const std::string& what,
                       uint64_t& begin) {
  if (!entry.is_object()) throw Error(what + ": header entry is not an object");
  const nlohmann::json& dtype = field(entry, "dtype", what);
  if (!dtype.is_string()) throw Error(what + ": 'dtype' is not a string");
  const at::ScalarType type = parse_dtype(dtype.get<std::string>(), what);
  const std::vector<int64_t> sizes = parse_shape(field(entry, "shape", what), what);
  const nlohmann::json& offsets = field(entry, "data_offsets", what);
  if (!offsets.is_array() || offsets.size() != 2) throw Error(what + ": 'data_offsets' is not [begin, end]");
  begin = unsigned_number(offsets[0], what + ": 'data_offsets'");
  const uint64_t end = unsigned_number(offsets[1], what + ": 'data_offsets'");
  if (begin > end || end > data_size) {
    throw Error(what + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                "] lie outside the " + std::to_string(data_size) + "-byte data section (truncated or corrupt file)");
  }
  at::Tensor t = copy_storage_view(data + begin, size_t(end - begin), type, sizes, contiguous_strides(sizes),
                                   /*offset=*/0, what);
  if (t.nbytes() != end - begin) {
    throw Error(what + ": shape and dtype need " + std::to_string(t.nbytes()) + " bytes but data_offsets span " +
                std::to_string(end - begin));
  }
  return t;
}

// The parsed header; `data_start` receives where the tensor data begins.
nlohmann::json parse_header(const char* data, size_t size, const std::string& path, size_t& data_start) {
  ByteReader r(data, size, path + ": safetensors header");
  const uint64_t length = r.u64();
  if (length > kMaxHeaderBytes) throw Error(path + ": safetensors header length " + std::to_string(length) + " is absurd");
  const char* text = r.bytes(length);
  data_start = r.pos();
  try {
    return nlohmann::json::parse(text, text + length);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": safetensors header is not valid JSON (" + e.what() + ")");
  }
}

}  // namespace

bool looks_like_safetensors(const char* data, size_t size) {
  if (size < 10) return false;
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = (length << 8) | uint8_t(data[i]);
  return length >= 2 && length <= size - 8 && data[8] == '{';
}

std::string safetensors_framing_problem(const char* data, size_t size) {
  if (size < 10) return "only " + std::to_string(size) + " bytes, too short for the 8-byte length and a header";
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = (length << 8) | uint8_t(data[i]);
  if (length < 2 || length > size - 8) {
    return "the first 8 bytes give a header of " + std::to_string(length) + " bytes but " +
           std::to_string(size - 8) + " bytes follow them (the file is truncated or its start is damaged)";
  }
  if (data[8] != '{') {
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02x", unsigned(uint8_t(data[8])));
    return std::string("the header must be a JSON object starting with '{' but starts with byte ") + byte +
           " (the header is damaged)";
  }
  return "";
}

StateDict read_safetensors(const char* data, size_t size, const std::string& path, const TensorFilter& keep,
                           const ByteRelease& release) {
  size_t data_start = 0;
  const nlohmann::json header = parse_header(data, size, path, data_start);
  if (!header.is_object()) throw Error(path + ": safetensors header is not a JSON object");
  const char* tensor_data = data + data_start;
  const uint64_t data_size = size - data_start;
  StateDict tensors;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    if (keep && !keep(name)) continue;
    uint64_t begin = 0;
    at::Tensor t = read_tensor(entry, tensor_data, data_size, path + ": tensor '" + name + "'", begin);
    if (release) release(tensor_data + begin, t.nbytes());
    tensors.emplace(name, std::move(t));
  }
  return tensors;
}

std::map<std::string, std::string> read_safetensors_metadata(const char* data, size_t size, const std::string& path) {
  size_t data_start = 0;
  const nlohmann::json header = parse_header(data, size, path, data_start);
  std::map<std::string, std::string> metadata;
  auto it = header.is_object() ? header.find("__metadata__") : header.end();
  if (it == header.end() || !it->is_object()) return metadata;
  for (const auto& [key, value] : it->items()) {
    if (value.is_string()) metadata.emplace(key, value.get<std::string>());
  }
  return metadata;
}

}  // namespace dinoclip
