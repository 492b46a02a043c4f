// The unpickler behind torch.save files, on its own: every opcode, memo and
// stack operation on untrusted bytes, several pickles back to back (as legacy
// torch.save files hold them).
#include <cstdint>
#include <functional>
#include <unordered_set>

#include "fuzz_util.h"
#include "io/pickle.h"

namespace {

using dinoclip::pickle::Value;

// Walks the value tree (which may share nodes or hold cycles) once per node.
void walk(const Value* value, std::unordered_set<const Value*>& seen) {
  if (value == nullptr || !seen.insert(value).second) return;
  (void)value->describe();
  for (const Value* item : value->items) walk(item, seen);
  for (const auto& [key, item] : value->entries) {
    walk(key, seen);
    walk(item, seen);
  }
  walk(value->cls, seen);
  walk(value->state, seen);
  walk(value->tensor.storage, seen);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* bytes = reinterpret_cast<const char*>(data);
  dinoclip::fuzz::expect_result_or_error([&] {
    size_t pos = 0;
    for (int pickles = 0; pickles < 4 && pos < size; ++pickles) {
      const dinoclip::pickle::Unpickled result = dinoclip::pickle::unpickle(bytes, size, "fuzz.pkl", pos);
      std::unordered_set<const Value*> seen;
      walk(&result.root(), seen);
      if (result.end_offset() <= pos || result.end_offset() > size) __builtin_trap();  // must move forward, stay inside
      pos = result.end_offset();
    }
  });
  return 0;
}
