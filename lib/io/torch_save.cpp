#include "io/torch_save.h"

#include <ATen/ATen.h>

#include <cstring>
#include <map>
#include <set>
#include <unordered_set>
#include <vector>

#include "core/error.h"
#include "io/byte_reader.h"
#include "io/pickle.h"
#include "io/storage_view.h"

namespace dinoclip {
namespace {

using pickle::Value;
using Kind = pickle::Value::Kind;

// Nesting deeper than this is not a checkpoint (and would exhaust the stack).
constexpr int kMaxDepth = 100;

// torch.save's legacy magic number 0x1950a86a20f9469cfc6c, as pickle stores it.
const unsigned char kLegacyMagic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
constexpr int64_t kLegacyProtocolVersion = 1001;

struct StorageType {
  const char* name;
  at::ScalarType type;
};

const StorageType kStorageTypes[] = {
    {"FloatStorage", at::kFloat},       {"HalfStorage", at::kHalf},     {"BFloat16Storage", at::kBFloat16},
    {"DoubleStorage", at::kDouble},     {"LongStorage", at::kLong},     {"IntStorage", at::kInt},
    {"ShortStorage", at::kShort},       {"CharStorage", at::kChar},     {"ByteStorage", at::kByte},
    {"BoolStorage", at::kBool},         {"ComplexFloatStorage", at::kComplexFloat},
    {"ComplexDoubleStorage", at::kComplexDouble},
};

at::ScalarType storage_dtype(const std::string& type_name, const std::string& what) {
  for (const auto& s : kStorageTypes) {
    if (type_name == s.name) return s.type;
  }
  throw Error(what + ": unsupported dtype (storage type torch." + type_name +
              "); supported: float32/16, bfloat16, float64, int64/32/16/8, uint8, bool, complex");
}

struct ByteSpan {
  const char* data = nullptr;
  size_t size = 0;
};

struct NamedTensor {
  std::string name;
  const pickle::TensorRef* ref;
};

// Dict keys as name parts: strings as is, ints in decimal (optimizer state is
// keyed by parameter index); other keys cannot name a tensor.
bool key_text(const Value& key, std::string& out) {
  switch (key.kind) {
    case Kind::kString:
    case Kind::kBytes: out = key.text; return true;
    case Kind::kInt: out = std::to_string(key.integer); return true;
    case Kind::kBool: out = key.boolean ? "True" : "False"; return true;
    default: return false;
  }
}

// Walks dicts (and lists/tuples) from the root and names every tensor leaf.
class Flattener {
 public:
  explicit Flattener(std::string path) : path_(std::move(path)) {}

  std::vector<NamedTensor> run(const Value& root) {
    if (!root.is(Kind::kDict)) {
      std::string hint = root.is(Kind::kObject) ? " (a whole pickled object, e.g. torch.save(model)?)" : "";
      throw Error(path_ + ": holds a " + root.describe() + hint +
                  ", not a dict of named tensors; save model.state_dict() instead");
    }
    visit(root, "", 0);
    return std::move(out_);
  }

 private:
  void visit(const Value& v, const std::string& name, int depth) {
    if (v.is(Kind::kTensor)) {
      if (!names_.insert(name).second) throw Error(path_ + ": two tensors flatten to the same name '" + name + "'");
      out_.push_back({name, &v.tensor});
      return;
    }
    const bool container = v.is(Kind::kDict) || v.is(Kind::kList) || v.is(Kind::kTuple);
    if (!container || !on_path_.insert(&v).second) return;  // leaves, and cycles, hold no new tensors
    if (depth > kMaxDepth) throw Error(path_ + ": nesting deeper than " + std::to_string(kMaxDepth) + " levels");
    const std::string prefix = name.empty() ? "" : name + ".";
    if (v.is(Kind::kDict)) {
      std::string key;
      for (const auto& [k, child] : v.entries) {
        if (key_text(*k, key)) visit(*child, prefix + key, depth + 1);
      }
    } else {
      for (size_t i = 0; i < v.items.size(); ++i) visit(*v.items[i], prefix + std::to_string(i), depth + 1);
    }
    on_path_.erase(&v);
  }

  std::string path_;
  std::vector<NamedTensor> out_;
  std::set<std::string> names_;
  std::unordered_set<const Value*> on_path_;
};

// Copies each wanted tensor out of its storage's bytes (`lookup` finds them).
// `release` then gets the storage bytes: a storage shared by several views is
// released after each; touching it again only re-reads the page cache.
template <typename Lookup>
StateDict materialise(const std::vector<NamedTensor>& tensors, const TensorFilter& keep, const std::string& path,
                      const ByteRelease& release, Lookup&& lookup) {
  StateDict out;
  for (const NamedTensor& t : tensors) {
    if (keep && !keep(t.name)) continue;
    const std::string what = path + ": tensor '" + t.name + "'";
    const pickle::StorageRef& storage = t.ref->storage->storage;
    const at::ScalarType dtype = storage_dtype(storage.type_name, what);
    const ByteSpan bytes = lookup(storage, what);
    const size_t element = c10::elementSize(dtype);
    const unsigned __int128 begin = (unsigned __int128)uint64_t(storage.view_offset) * element;
    const unsigned __int128 length = (unsigned __int128)uint64_t(storage.numel) * element;
    if (begin + length > bytes.size) {
      throw Error(what + ": storage '" + storage.key + "' holds " + std::to_string(bytes.size) + " bytes, shorter than the " +
                  std::to_string(uint64_t(begin + length)) + " its record needs: truncated or corrupt file");
    }
    out.emplace(t.name, copy_storage_view(bytes.data + size_t(begin), size_t(length), dtype, t.ref->sizes,
                                          t.ref->strides, t.ref->offset, what));
    if (release) release(bytes.data, bytes.size);
  }
  return out;
}

// Every storage record reachable from `root` (also under skipped objects),
// by key: the legacy format needs each storage's element size to step over it.
std::map<std::string, std::string> storage_types(const Value& root) {
  std::map<std::string, std::string> types;
  std::unordered_set<const Value*> seen;
  std::vector<const Value*> todo = {&root};
  while (!todo.empty()) {
    const Value* v = todo.back();
    todo.pop_back();
    if (!v || !seen.insert(v).second) continue;
    if (v->is(Kind::kStorage)) types.emplace(v->storage.key, v->storage.type_name);
    if (v->is(Kind::kTensor)) todo.push_back(v->tensor.storage);
    for (const Value* item : v->items) todo.push_back(item);
    for (const auto& [k, child] : v->entries) {
      todo.push_back(k);
      todo.push_back(child);
    }
    todo.push_back(v->state);
  }
  return types;
}

bool is_legacy_magic(const Value& v) {
  return v.is(Kind::kBigInt) && v.text.size() == sizeof(kLegacyMagic) &&
         std::memcmp(v.text.data(), kLegacyMagic, sizeof(kLegacyMagic)) == 0;
}

void check_legacy_preamble(const char* data, size_t size, const std::string& path, size_t& pos) {
  const pickle::Unpickled magic = pickle::unpickle(data, size, path + ": magic number", pos);
  if (!is_legacy_magic(magic.root())) {
    throw Error(path + ": a Python pickle, but not a torch.save file (no torch magic number); "
                       "expected a .pth/.pt checkpoint or .safetensors file");
  }
  const pickle::Unpickled version = pickle::unpickle(data, size, path + ": protocol version", magic.end_offset());
  if (!version.root().is(Kind::kInt) || version.root().integer != kLegacyProtocolVersion) {
    throw Error(path + ": unsupported legacy torch.save protocol version (expected 1001)");
  }
  const pickle::Unpickled sys_info = pickle::unpickle(data, size, path + ": sys_info", version.end_offset());
  for (const auto& [key, value] : sys_info.root().entries) {
    if (key->is(Kind::kString) && key->text == "little_endian" && value->is(Kind::kBool) && !value->boolean) {
      throw Error(path + ": saved on a big-endian machine; re-save it on a little-endian one");
    }
  }
  pos = sys_info.end_offset();
}

// The data section: for each key of the pickled key list, int64 numel then
// numel elements of that storage's type.
std::map<std::string, ByteSpan> legacy_storages(const char* data, size_t size, size_t pos, const Value& keys,
                                                const std::map<std::string, std::string>& types,
                                                const std::string& path) {
  if (!keys.is(Kind::kList)) throw Error(path + ": legacy storage key list is a " + keys.describe());
  ByteReader r(data, size, path + ": legacy storage data", pos);
  std::map<std::string, ByteSpan> spans;
  for (const Value* key : keys.items) {
    if (!key->is(Kind::kString)) throw Error(path + ": legacy storage key is a " + key->describe());
    auto type = types.find(key->text);
    if (type == types.end()) throw Error(path + ": storage '" + key->text + "' has no record in the pickle (corrupt)");
    const size_t element = c10::elementSize(storage_dtype(type->second, path + ": storage '" + key->text + "'"));
    const uint64_t numel = r.u64();
    if (numel > r.remaining() / element) {
      throw Error(path + ": storage '" + key->text + "' claims " + std::to_string(numel) + " elements but only " +
                  std::to_string(r.remaining()) + " bytes remain: truncated file");
    }
    const size_t bytes = size_t(numel) * element;
    spans[key->text] = ByteSpan{r.bytes(bytes), bytes};
  }
  return spans;
}

}  // namespace

bool find_torch_zip_prefix(const ZipArchive& zip, std::string& prefix) {
  for (const ZipEntry& e : zip.entries()) {
    const std::string& n = e.name;
    if (n == "data.pkl") {
      prefix.clear();
      return true;
    }
    const size_t slash = n.find('/');
    if (slash != std::string::npos && n.compare(slash, std::string::npos, "/data.pkl") == 0) {
      prefix = n.substr(0, slash + 1);
      return true;
    }
  }
  return false;
}

StateDict read_torch_zip(const ZipArchive& zip, const std::string& prefix, const TensorFilter& keep,
                         const ByteRelease& release) {
  const std::string& path = zip.path();
  if (const ZipEntry* order = zip.find(prefix + "byteorder")) {  // written by PyTorch >= 2.1
    const ZipEntryData bytes = zip.read(*order);
    if (std::string(bytes.data(), bytes.size()) != "little") {
      throw Error(path + ": saved with big-endian byte order, which is not supported");
    }
  }
  const ZipEntryData pkl = zip.read(*zip.find(prefix + "data.pkl"));
  const pickle::Unpickled tree = pickle::unpickle(pkl.data(), pkl.size(), path + ": " + prefix + "data.pkl");
  const std::vector<NamedTensor> tensors = Flattener(path).run(tree.root());
  std::map<std::string, ZipEntryData> storages;  // read (and CRC-checked) once, shared by views
  return materialise(tensors, keep, path, release, [&](const pickle::StorageRef& s, const std::string& what) {
    auto it = storages.find(s.key);
    if (it == storages.end()) {
      const ZipEntry* entry = zip.find(prefix + "data/" + s.key);
      if (!entry) {
        throw Error(what + ": its storage '" + prefix + "data/" + s.key +
                    "' is missing from the archive (truncated or corrupt file)");
      }
      it = storages.emplace(s.key, zip.read(*entry)).first;
    }
    return ByteSpan{it->second.data(), it->second.size()};
  });
}

bool looks_like_pickle(const char* data, size_t size) {
  return size >= 2 && uint8_t(data[0]) == 0x80 && data[1] >= 2 && data[1] <= 5;
}

StateDict read_torch_legacy(const char* data, size_t size, const std::string& path, const TensorFilter& keep,
                            const ByteRelease& release) {
  size_t pos = 0;
  check_legacy_preamble(data, size, path, pos);
  const pickle::Unpickled tree = pickle::unpickle(data, size, path + ": pickled object", pos);
  const std::vector<NamedTensor> tensors = Flattener(path).run(tree.root());
  const pickle::Unpickled keys = pickle::unpickle(data, size, path + ": storage key list", tree.end_offset());
  const std::map<std::string, ByteSpan> storages =
      legacy_storages(data, size, keys.end_offset(), keys.root(), storage_types(tree.root()), path);
  return materialise(tensors, keep, path, release, [&](const pickle::StorageRef& s, const std::string& what) {
    auto it = storages.find(s.key);
    if (it == storages.end()) throw Error(what + ": its storage '" + s.key + "' is not in the file (corrupt)");
    return it->second;
  });
}

}  // namespace dinoclip
