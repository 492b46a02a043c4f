#include "io/npy.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/error.h"
#include "io/file_util.h"
#include "io/regular_file.h"

namespace dinoclip {
namespace {

const char kMagic[] = "\x93NUMPY";
// NumPy itself refuses headers over 10,000 bytes unless told otherwise.
constexpr uint32_t kMaxHeaderBytes = 1 << 20;

struct DtypeName {
  const char* descr;
  at::ScalarType type;
};

// Little-endian (or byte-order-free) descriptors only: every supported writer emits these.
const DtypeName kDtypes[] = {
    {"|b1", at::kBool},   {"|u1", at::kByte},   {"|i1", at::kChar},   {"<i2", at::kShort},
    {"<i4", at::kInt},    {"<i8", at::kLong},   {"<f2", at::kHalf},   {"<f4", at::kFloat},
    {"<f8", at::kDouble},
};

std::string header_value(const std::string& header, const std::string& key, const std::string& path) {
  auto pos = header.find("'" + key + "'");
  if (pos == std::string::npos) throw Error(path + ": .npy header has no '" + key + "' entry");
  pos = header.find(':', pos);
  if (pos == std::string::npos) throw Error(path + ": malformed .npy header");
  return header.substr(pos + 1);
}

at::ScalarType parse_descr(const std::string& header, const std::string& path) {
  std::string rest = header_value(header, "descr", path);
  auto q1 = rest.find('\'');
  auto q2 = rest.find('\'', q1 + 1);
  if (q1 == std::string::npos || q2 == std::string::npos) throw Error(path + ": malformed .npy descr");
  std::string descr = rest.substr(q1 + 1, q2 - q1 - 1);
  if (descr == "<u1" || descr == "|u1") return at::kByte;
  if (descr == "<i1") return at::kChar;
  for (const auto& d : kDtypes)
    if (descr == d.descr) return d.type;
  throw Error(path + ": unsupported .npy dtype '" + descr + "' (need little-endian bool/int/float)");
}

std::vector<int64_t> parse_shape(const std::string& header, const std::string& path) {
  std::string rest = header_value(header, "shape", path);
  auto open = rest.find('(');
  auto close = rest.find(')', open);
  if (open == std::string::npos || close == std::string::npos) throw Error(path + ": malformed .npy shape");
  std::vector<int64_t> shape;
  std::stringstream ss(rest.substr(open + 1, close - open - 1));
  std::string item;
  while (std::getline(ss, item, ',')) {
    const size_t first = item.find_first_not_of(' ');
    if (first == std::string::npos) continue;
    const std::string digits = item.substr(first, item.find_last_not_of(' ') - first + 1);
    // Non-negative decimal sizes only; 18 digits cannot overflow int64.
    if (digits.empty() || digits.size() > 18 || digits.find_first_not_of("0123456789") != std::string::npos) {
      throw Error(path + ": malformed .npy shape entry '" + digits + "' (expected a size >= 0)");
    }
    shape.push_back(std::stoll(digits));
  }
  // A zero size makes the data empty, but the other sizes still give the
  // strides (products of the trailing sizes, zeros counted as 1): those must
  // fit in int64 too, or LibTorch refuses the shape with its own exception.
  if (std::find(shape.begin(), shape.end(), 0) == shape.end()) return shape;  // data_bytes() checks the rest
  int64_t extent = 1;
  for (int64_t size : shape) {
    const int64_t factor = std::max<int64_t>(size, 1);
    if (extent > std::numeric_limits<int64_t>::max() / factor) {
      throw Error(path + ": malformed .npy shape (its sizes multiply to more than 2^63)");
    }
    extent *= factor;
  }
  return shape;
}

// Bytes the array's data takes, or -1 when that does not fit in int64.
int64_t data_bytes(const std::vector<int64_t>& shape, size_t element_size) {
  int64_t bytes = int64_t(element_size);
  for (int64_t size : shape) {
    if (size != 0 && bytes > std::numeric_limits<int64_t>::max() / size) return -1;
    bytes *= size;
  }
  return bytes;
}

const char* descr_of(at::ScalarType type) {
  for (const auto& d : kDtypes)
    if (d.type == type) return d.descr;
  throw Error(std::string("write_npy: unsupported dtype ") + c10::toString(type));
}

}  // namespace

at::Tensor read_npy(const std::string& path) {
  require_regular_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open .npy file (" + std::strerror(errno) + ")");
  char magic[6];
  unsigned char version[2];
  in.read(magic, 6);
  in.read(reinterpret_cast<char*>(version), 2);
  if (!in || std::memcmp(magic, kMagic, 6) != 0) throw Error(path + ": not a .npy file (bad magic)");
  uint32_t header_len = 0;
  if (version[0] == 1) {
    unsigned char b[2];
    in.read(reinterpret_cast<char*>(b), 2);
    header_len = b[0] | (b[1] << 8);
  } else {
    unsigned char b[4];
    in.read(reinterpret_cast<char*>(b), 4);
    header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (uint32_t(b[3]) << 24);
  }
  // Sizes in the file are checked against the file before anything is
  // allocated: a damaged length field must not ask for gigabytes.
  const std::streamoff header_start = in.tellg();
  in.seekg(0, std::ios::end);
  const std::streamoff file_size = in.tellg();
  in.seekg(header_start);
  if (!in || header_start < 0 || header_len > kMaxHeaderBytes || std::streamoff(header_len) > file_size - header_start) {
    throw Error(path + ": truncated .npy header (it declares " + std::to_string(header_len) + " bytes, the file holds " +
                std::to_string(std::max<std::streamoff>(file_size - header_start, 0)) + " more)");
  }
  std::string header(header_len, '\0');
  in.read(header.data(), header_len);
  if (!in) throw Error(path + ": truncated .npy header");
  if (header.find("'fortran_order': True") != std::string::npos)
    throw Error(path + ": Fortran-order .npy arrays are not supported; save with C order");

  at::ScalarType type = parse_descr(header, path);
  std::vector<int64_t> shape = parse_shape(header, path);
  // Compare with what the file holds before allocating: a damaged header
  // must not ask for gigabytes.
  const int64_t available = int64_t(file_size - in.tellg());
  const int64_t needed = data_bytes(shape, c10::elementSize(type));
  if (needed < 0 || needed > available) {
    throw Error(path + ": truncated .npy data (the header's shape needs " +
                (needed < 0 ? std::string("more than 2^63") : std::to_string(needed)) + " bytes, the file holds " +
                std::to_string(available) + ")");
  }
  at::Tensor tensor = at::empty(shape, at::TensorOptions().dtype(type));
  const auto nbytes = static_cast<std::streamsize>(tensor.nbytes());
  in.read(static_cast<char*>(tensor.data_ptr()), nbytes);
  if (in.gcount() != nbytes) throw Error(path + ": truncated .npy data");
  return tensor;
}

void write_npy(const std::string& path, const at::Tensor& tensor) {
  at::Tensor data = tensor.detach().to(at::kCPU).contiguous();
  std::string header = std::string("{'descr': '") + descr_of(data.scalar_type()) +
                       "', 'fortran_order': False, 'shape': (";
  for (int64_t i = 0; i < data.dim(); ++i) {
    header += std::to_string(data.size(i));
    if (data.dim() == 1 || i + 1 < data.dim()) header += ",";
    if (i + 1 < data.dim()) header += " ";
  }
  header += "), }";
  // Pad so that the data starts on a 64-byte boundary, ending the header with '\n'.
  const size_t preamble = 10;
  size_t total = preamble + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';

  std::string bytes(kMagic, 6);
  bytes += '\x01';
  bytes += '\x00';
  bytes += char(header.size() & 0xff);
  bytes += char((header.size() >> 8) & 0xff);
  bytes += header;
  bytes.append(static_cast<const char*>(data.data_ptr()), data.nbytes());
  write_file_atomically(path, bytes);
}

}  // namespace dinoclip
