#include "io/pickle.h"

#include <cstdio>
#include <cstring>
#include <unordered_map>

#include "core/error.h"
#include "io/byte_reader.h"

namespace dinoclip::pickle {

// Opcodes from CPython's Lib/pickle.py (protocols 0-4, the subset needed).
enum Op : uint8_t {
  MARK = '(', STOP = '.', POP = '0', POP_MARK = '1', DUP = '2',
  BININT = 'J', BININT1 = 'K', BININT2 = 'M', NONE = 'N', BINPERSID = 'Q', REDUCE = 'R',
  BINSTRING = 'T', SHORT_BINSTRING = 'U', BINUNICODE = 'X', APPEND = 'a', BUILD = 'b', GLOBAL = 'c',
  DICT = 'd', EMPTY_DICT = '}', APPENDS = 'e', BINGET = 'h', LONG_BINGET = 'j', LIST = 'l',
  EMPTY_LIST = ']', BINPUT = 'q', LONG_BINPUT = 'r', SETITEM = 's', TUPLE = 't', EMPTY_TUPLE = ')',
  SETITEMS = 'u', BINFLOAT = 'G',
  PROTO = 0x80, NEWOBJ = 0x81, TUPLE1 = 0x85, TUPLE2 = 0x86, TUPLE3 = 0x87, NEWTRUE = 0x88,
  NEWFALSE = 0x89, LONG1 = 0x8a, LONG4 = 0x8b,
  BINBYTES = 'B', SHORT_BINBYTES = 'C',
  SHORT_BINUNICODE = 0x8c, BINUNICODE8 = 0x8d, BINBYTES8 = 0x8e, EMPTY_SET = 0x8f, ADDITEMS = 0x90,
  FROZENSET = 0x91, NEWOBJ_EX = 0x92, STACK_GLOBAL = 0x93, MEMOIZE = 0x94, FRAME = 0x95,
};

constexpr int kHighestProtocol = 5;

std::string Value::describe() const {
  switch (kind) {
    case Kind::kNone: return "None";
    case Kind::kBool: return "bool";
    case Kind::kInt:
    case Kind::kBigInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return "str";
    case Kind::kBytes: return "bytes";
    case Kind::kTuple: return "tuple";
    case Kind::kList: return "list";
    case Kind::kDict: return "dict";
    case Kind::kGlobal: return "class " + text;
    case Kind::kObject: return (cls ? cls->text : std::string("unknown")) + " object";
    case Kind::kStorage: return "storage";
    case Kind::kTensor: return "tensor";
  }
  return "value";
}

class Unpickler {
 public:
  Unpickler(const char* data, size_t size, const std::string& context, size_t pos)
      : in_(data, size, context, pos) {}

  Unpickled run() {
    while (true) {
      op_offset_ = in_.pos();
      const uint8_t op = in_.u8();
      if (op == STOP) break;
      dispatch(op);
    }
    if (stack_.size() != 1 || !marks_.empty()) fail("STOP with " + std::to_string(stack_.size()) + " values on the stack");
    out_.root_ = stack_.back();
    out_.end_ = in_.pos();
    return std::move(out_);
  }

 private:
  using Kind = Value::Kind;

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(in_.context() + ": corrupt or unsupported pickle at offset " + std::to_string(op_offset_) + ": " +
                what);
  }

  Value* make(Kind kind) {
    out_.arena_.push_back(std::make_unique<Value>());
    out_.arena_.back()->kind = kind;
    return out_.arena_.back().get();
  }
  Value* make_int(int64_t v) {
    Value* x = make(Kind::kInt);
    x->integer = v;
    return x;
  }
  Value* make_text(Kind kind, const char* p, size_t n) {
    Value* x = make(kind);
    x->text.assign(p, n);
    return x;
  }

  void push(Value* v) { stack_.push_back(v); }
  Value* pop() {
    if (stack_.size() <= floor()) fail("stack underflow");
    Value* v = stack_.back();
    stack_.pop_back();
    return v;
  }
  Value* top() {
    if (stack_.size() <= floor()) fail("stack underflow");
    return stack_.back();
  }
  // Values above the innermost MARK cannot be popped below it.
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  std::vector<Value*> pop_mark() {
    if (marks_.empty()) fail("no MARK on the stack");
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<Value*> items(stack_.begin() + long(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }

  void dispatch(uint8_t op) {
    switch (op) {
      case PROTO: protocol(); break;
      case FRAME: in_.skip(8); break;  // frames only group bytes
      case MARK: marks_.push_back(stack_.size()); break;
      case POP: pop(); break;
      case POP_MARK: pop_mark(); break;
      case DUP: push(top()); break;
      case NONE: push(make(Kind::kNone)); break;
      case NEWTRUE: push_bool(true); break;
      case NEWFALSE: push_bool(false); break;
      case BININT: push(make_int(int32_t(in_.u32()))); break;
      case BININT1: push(make_int(in_.u8())); break;
      case BININT2: push(make_int(in_.u16())); break;
      case LONG1: long_int(in_.u8()); break;
      case LONG4: long_int(int32_t(in_.u32())); break;
      case BINFLOAT: binfloat(); break;
      case BINUNICODE: counted_text(Kind::kString, in_.u32()); break;
      case SHORT_BINUNICODE: counted_text(Kind::kString, in_.u8()); break;
      case BINUNICODE8: counted_text(Kind::kString, in_.u64()); break;
      case BINSTRING: counted_text(Kind::kString, signed_length(int32_t(in_.u32()))); break;
      case SHORT_BINSTRING: counted_text(Kind::kString, in_.u8()); break;
      case BINBYTES: counted_text(Kind::kBytes, in_.u32()); break;
      case SHORT_BINBYTES: counted_text(Kind::kBytes, in_.u8()); break;
      case BINBYTES8: counted_text(Kind::kBytes, in_.u64()); break;
      case EMPTY_TUPLE: push(make(Kind::kTuple)); break;
      case TUPLE: push_sequence(Kind::kTuple, pop_mark()); break;
      case TUPLE1: tuple_n(1); break;
      case TUPLE2: tuple_n(2); break;
      case TUPLE3: tuple_n(3); break;
      case EMPTY_LIST: push(make(Kind::kList)); break;
      case LIST: push_sequence(Kind::kList, pop_mark()); break;
      case EMPTY_SET: push(make(Kind::kList)); break;  // sets hold no tensors we need: kept as lists
      case FROZENSET: push_sequence(Kind::kList, pop_mark()); break;
      case APPEND: append({pop()}); break;
      case APPENDS:
      case ADDITEMS: append(pop_mark()); break;
      case EMPTY_DICT: push(make(Kind::kDict)); break;
      case DICT: dict_from_mark(); break;
      case SETITEM: setitem_single(); break;
      case SETITEMS: setitems(pop_mark()); break;
      case BINPUT: memo_put(in_.u8()); break;
      case LONG_BINPUT: memo_put(in_.u32()); break;
      case MEMOIZE: memo_put(memo_.size()); break;
      case BINGET: memo_get(in_.u8()); break;
      case LONG_BINGET: memo_get(in_.u32()); break;
      case GLOBAL: global(); break;
      case STACK_GLOBAL: stack_global(); break;
      case REDUCE: reduce(); break;
      case NEWOBJ: newobj(); break;
      case NEWOBJ_EX: newobj_ex(); break;
      case BUILD: build(); break;
      case BINPERSID: push(persistent_load(pop())); break;
      default: {
        char hex[8];
        std::snprintf(hex, sizeof(hex), "0x%02x", op);
        fail(std::string("unsupported opcode ") + hex);
      }
    }
  }

  void protocol() {
    const int version = in_.u8();
    if (version > kHighestProtocol) fail("pickle protocol " + std::to_string(version) + " is newer than 5");
  }

  void push_bool(bool b) {
    Value* v = make(Kind::kBool);
    v->boolean = b;
    push(v);
  }

  uint64_t signed_length(int32_t n) {
    if (n < 0) fail("negative string length");
    return uint64_t(n);
  }

  // Python ints of any size: little-endian two's complement.
  void long_int(int64_t n) {
    if (n < 0) fail("negative LONG length");
    const char* p = in_.bytes(uint64_t(n));
    if (n > 8) {
      push(make_text(Kind::kBigInt, p, size_t(n)));
      return;
    }
    uint64_t v = 0;
    for (int64_t i = n - 1; i >= 0; --i) v = (v << 8) | uint8_t(p[i]);
    if (n > 0 && n < 8 && (uint8_t(p[n - 1]) & 0x80)) v |= ~uint64_t(0) << (8 * n);  // sign-extend
    push(make_int(int64_t(v)));
  }

  void binfloat() {  // big-endian IEEE double
    const char* p = in_.bytes(8);
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits = (bits << 8) | uint8_t(p[i]);
    Value* v = make(Kind::kFloat);
    std::memcpy(&v->real, &bits, sizeof(double));
    push(v);
  }

  void counted_text(Kind kind, uint64_t n) {
    const char* p = in_.bytes(n);
    push(make_text(kind, p, size_t(n)));
  }

  void push_sequence(Kind kind, std::vector<Value*> items) {
    Value* v = make(kind);
    v->items = std::move(items);
    push(v);
  }

  void tuple_n(size_t n) {
    if (stack_.size() < floor() + n) fail("stack underflow");
    std::vector<Value*> items(stack_.end() - long(n), stack_.end());
    stack_.resize(stack_.size() - n);
    push_sequence(Kind::kTuple, std::move(items));
  }

  void append(std::vector<Value*> items) {
    Value* target = top();
    if (target->is(Kind::kList)) {
      target->items.insert(target->items.end(), items.begin(), items.end());
    } else if (!target->is(Kind::kObject)) {  // a list subclass we do not know: contents dropped
      fail("APPEND to a " + target->describe());
    }
  }

  void add_entries(Value* target, const std::vector<Value*>& kv) {
    if (kv.size() % 2 != 0) fail("odd number of items for SETITEMS");
    if (target->is(Kind::kDict)) {
      for (size_t i = 0; i < kv.size(); i += 2) target->entries.emplace_back(kv[i], kv[i + 1]);
    } else if (!target->is(Kind::kObject)) {  // a dict subclass we do not know: contents dropped
      fail("SETITEM on a " + target->describe());
    }
  }

  void setitem_single() {
    Value* value = pop();
    Value* key = pop();
    add_entries(top(), {key, value});
  }

  void setitems(const std::vector<Value*>& kv) { add_entries(top(), kv); }

  void dict_from_mark() {
    Value* d = make(Kind::kDict);
    add_entries(d, pop_mark());
    push(d);
  }

  void memo_put(uint64_t index) { memo_[index] = top(); }

  void memo_get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) fail("memo key " + std::to_string(index) + " was never stored");
    push(it->second);
  }

  std::string read_line() {
    const void* nl = std::memchr(in_.bytes(0), '\n', in_.remaining());
    if (!nl) fail("unterminated GLOBAL name");
    const size_t n = size_t(static_cast<const char*>(nl) - in_.bytes(0));
    std::string line(in_.bytes(n), n);
    in_.skip(1);
    return line;
  }

  void push_global(const std::string& module, const std::string& name) {
    Value* g = make(Kind::kGlobal);
    g->text = module + "." + name;
    push(g);
  }

  void global() {
    std::string module = read_line();
    std::string name = read_line();
    push_global(module, name);
  }

  void stack_global() {
    Value* name = pop();
    Value* module = pop();
    if (!name->is(Kind::kString) || !module->is(Kind::kString)) fail("STACK_GLOBAL needs two strings");
    push_global(module->text, name->text);
  }

  static bool is_global(const Value* v, const char* qualified) { return v->is(Kind::kGlobal) && v->text == qualified; }

  void reduce() {
    Value* args = pop();
    Value* callable = pop();
    if (!args->is(Kind::kTuple)) fail("REDUCE arguments are a " + args->describe() + ", not a tuple");
    push(call(callable, args->items));
  }

  void newobj() {
    Value* args = pop();
    Value* cls = pop();
    if (!args->is(Kind::kTuple)) fail("NEWOBJ arguments are a " + args->describe() + ", not a tuple");
    push(call(cls, args->items));
  }

  void newobj_ex() {
    pop();  // kwargs
    newobj();
  }

  // What calling `callable(*args)` would build, for the callables torch.save
  // uses; anything else becomes an opaque object.
  Value* call(Value* callable, const std::vector<Value*>& args) {
    if (is_global(callable, "collections.OrderedDict") || is_global(callable, "builtins.dict") ||
        is_global(callable, "__builtin__.dict")) {
      return ordered_dict(args);
    }
    if (is_global(callable, "torch._utils._rebuild_tensor_v2") || is_global(callable, "torch._utils._rebuild_tensor")) {
      return rebuild_tensor(args);
    }
    if (is_global(callable, "torch._utils._rebuild_parameter") ||
        is_global(callable, "torch._utils._rebuild_parameter_with_state")) {
      if (args.empty() || !args[0]->is(Kind::kTensor)) fail("_rebuild_parameter without a tensor");
      return args[0];  // a Parameter is its data for loading purposes
    }
    if (is_global(callable, "_codecs.encode")) return latin1_bytes(args);
    Value* object = make(Kind::kObject);
    object->cls = callable;
    object->items = args;
    return object;
  }

  Value* ordered_dict(const std::vector<Value*>& args) {
    Value* d = make(Kind::kDict);
    // OrderedDict([(k, v), ...]); torch.save passes () and adds items with SETITEMS.
    if (!args.empty() && args[0]->is(Kind::kList)) {
      for (Value* pair : args[0]->items) {
        if (!pair->is(Kind::kTuple) || pair->items.size() != 2) fail("OrderedDict item is not a pair");
        d->entries.emplace_back(pair->items[0], pair->items[1]);
      }
    }
    return d;
  }

  int64_t int_arg(const Value* v, const char* what) {
    if (!v->is(Kind::kInt)) fail(std::string("tensor ") + what + " is a " + v->describe() + ", not an int");
    return v->integer;
  }

  std::vector<int64_t> int_tuple(const Value* v, const char* what) {
    if (!v->is(Kind::kTuple)) fail(std::string("tensor ") + what + " is a " + v->describe() + ", not a tuple");
    std::vector<int64_t> out;
    for (const Value* x : v->items) out.push_back(int_arg(x, what));
    return out;
  }

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
  // backward_hooks[, metadata]); the v1 form stops after stride.
  Value* rebuild_tensor(const std::vector<Value*>& args) {
    if (args.size() < 4) fail("_rebuild_tensor with " + std::to_string(args.size()) + " arguments");
    if (!args[0]->is(Kind::kStorage)) fail("_rebuild_tensor on a " + args[0]->describe() + ", not a storage");
    Value* t = make(Kind::kTensor);
    t->tensor.storage = args[0];
    t->tensor.offset = int_arg(args[1], "storage offset");
    t->tensor.sizes = int_tuple(args[2], "size");
    t->tensor.strides = int_tuple(args[3], "stride");
    if (t->tensor.sizes.size() != t->tensor.strides.size()) fail("tensor size and stride differ in length");
    return t;
  }

  // Protocol 2 pickles Python 3 bytes as _codecs.encode(str, 'latin1').
  Value* latin1_bytes(const std::vector<Value*>& args) {
    if (args.empty() || !args[0]->is(Kind::kString)) fail("_codecs.encode without a string");
    Value* b = make(Kind::kBytes);
    const std::string& s = args[0]->text;
    for (size_t i = 0; i < s.size(); ++i) {
      const uint8_t c = uint8_t(s[i]);
      if (c >= 0xc0 && c < 0xc4 && i + 1 < s.size()) {  // U+0080..U+00FF as two UTF-8 bytes
        b->text.push_back(char(((c & 0x03) << 6) | (uint8_t(s[++i]) & 0x3f)));
      } else {
        b->text.push_back(char(c));
      }
    }
    return b;
  }

  void build() {
    Value* state = pop();
    Value* target = top();
    // A dict's state is its attributes (state_dict's _metadata): not needed.
    if (target->is(Kind::kObject)) target->state = state;
  }

  // torch's persistent ids: ('storage', storage_type, key, location, numel)
  // in the zip format, plus a view (key, offset, size) or None in the legacy one.
  Value* persistent_load(Value* pid) {
    const bool storage_id = pid->is(Kind::kTuple) && pid->items.size() >= 5 &&
                            pid->items[0]->is(Kind::kString) && pid->items[0]->text == "storage";
    if (!storage_id) {  // e.g. ('module', cls, file, source) for pickled nn.Modules
      Value* object = make(Kind::kObject);
      object->items = {pid};
      return object;
    }
    const auto& f = pid->items;
    if (!f[1]->is(Kind::kGlobal) || !f[2]->is(Kind::kString) || !f[3]->is(Kind::kString) || !f[4]->is(Kind::kInt)) {
      fail("malformed storage persistent id");
    }
    Value* s = make(Kind::kStorage);
    const std::string& type = f[1]->text;
    s->storage.type_name = type.substr(type.rfind('.') + 1);  // torch.FloatStorage, torch.cuda.FloatStorage
    s->storage.key = f[2]->text;
    s->storage.location = f[3]->text;
    s->storage.numel = f[4]->integer;
    if (s->storage.numel < 0) fail("negative storage size");
    if (f.size() >= 6 && f[5]->is(Kind::kTuple)) legacy_view(f[5]->items, s->storage);
    return s;
  }

  // Pre-1.6 storage views: (view_key, offset, size), a window of `size`
  // elements at `offset` into the root storage `key` (whose data is stored).
  void legacy_view(const std::vector<Value*>& view, StorageRef& s) {
    if (view.size() != 3 || !view[0]->is(Kind::kString) || !view[1]->is(Kind::kInt) || !view[2]->is(Kind::kInt)) {
      fail("malformed storage view metadata");
    }
    s.view_offset = view[1]->integer;
    s.numel = view[2]->integer;
    if (s.view_offset < 0 || s.numel < 0) fail("negative storage view");
  }

  ByteReader in_;
  size_t op_offset_ = 0;
  std::vector<Value*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Value*> memo_;
  Unpickled out_;
};

Unpickled unpickle(const char* data, size_t size, const std::string& context, size_t pos) {
  return Unpickler(data, size, context, pos).run();
}

}  // namespace dinoclip::pickle
