// A minimal unpickler for what torch.save writes (pickle protocol 2, and the
// opcodes of protocols 3-4 that Python emits for the same objects). It builds
// a small value tree instead of Python objects:
//  - None, bool, int (int64; longer ints kept as raw bytes), float, str, bytes,
//    tuple, list, dict (collections.OrderedDict becomes a dict);
//  - torch's persistent ids ('storage', torch.FloatStorage, key, location,
//    numel[, view]) become Storage records, and
//    torch._utils._rebuild_tensor_v2 / _rebuild_parameter become Tensor
//    records (storage + offset + size + stride); the caller supplies the bytes;
//  - any other class (argparse.Namespace, numpy scalars, ...) becomes an
//    opaque Object that remembers its class name, so full training
//    checkpoints load and the caller skips what it does not need.
// LibTorch's own torch::pickle_load cannot be used: 1.13 turns OrderedDict
// (every state_dict) into None. Input is untrusted: every read is
// bounds-checked and malformed pickles throw dinoclip::Error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace dinoclip::pickle {

struct Value;

// torch storage named by a persistent id. Tensors sharing a storage point at
// the same record.
struct StorageRef {
  std::string type_name;    // "FloatStorage", "HalfStorage", ...
  std::string key;          // zip: record <name>/data/<key>; legacy: entry of the key list
  std::string location;     // "cpu", "cuda:0" (data is read onto the CPU regardless)
  int64_t numel = 0;        // elements of type_name
  int64_t view_offset = 0;  // legacy storage views: element offset into `key`
};

// torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...).
struct TensorRef {
  const Value* storage = nullptr;  // a Kind::kStorage value
  int64_t offset = 0;              // in elements
  std::vector<int64_t> sizes;
  std::vector<int64_t> strides;
};

struct Value {
  enum class Kind {
    kNone, kBool, kInt, kBigInt, kFloat, kString, kBytes,
    kTuple, kList, kDict, kGlobal, kObject, kStorage, kTensor,
  };
  Kind kind = Kind::kNone;
  bool boolean = false;
  int64_t integer = 0;
  double real = 0;
  std::string text;  // str (UTF-8), bytes, big int (little-endian two's complement), global "module.name"
  std::vector<Value*> items;                       // tuple, list; object: constructor args
  std::vector<std::pair<Value*, Value*>> entries;  // dict, in insertion order
  const Value* cls = nullptr;                      // object: its class (a kGlobal)
  Value* state = nullptr;                          // object: BUILD state (e.g. Namespace's __dict__)
  StorageRef storage;
  TensorRef tensor;

  bool is(Kind k) const { return kind == k; }
  // "dict", "tensor", "argparse.Namespace object", ... for messages.
  std::string describe() const;
};

// The result of one unpickling: owns every value in the tree (the tree may
// share nodes and even contain cycles, so nodes live in an arena).
class Unpickled {
 public:
  const Value& root() const { return *root_; }
  size_t end_offset() const { return end_; }  // just past the STOP opcode

 private:
  friend class Unpickler;
  std::vector<std::unique_ptr<Value>> arena_;
  const Value* root_ = nullptr;
  size_t end_ = 0;
};

// Unpickles the pickle starting at `pos` in `data` (a file may hold several
// pickles back to back, as legacy torch.save files do). `context` names the
// source in error messages ("model.pth: data.pkl").
Unpickled unpickle(const char* data, size_t size, const std::string& context, size_t pos = 0);

}  // namespace dinoclip::pickle
