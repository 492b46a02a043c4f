// load_checkpoint(): torch.save zip and legacy files, safetensors and
// TorchScript archives, checked against the shared fixtures and the small
// files of tests/data/io (made by tests/data/gen/gen_checkpoints.py, whose
// values follow formulas recomputed here), plus every rejection path.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/checkpoint.h"
#include "io/file_util.h"
#include "test_support.h"

namespace dinoclip {
namespace {

using ::dinoclip::testing::temp_dir;
using ::dinoclip::testing::test_data;

// The message of the dinoclip::Error that loading `path` throws ("" if none).
std::string load_error(const std::string& path) {
  try {
    load_checkpoint(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_LOAD_FAILS_WITH(path, fragment)                                  \
  do {                                                                          \
    const std::string _path = (path);                                           \
    const std::string _msg = load_error(_path);                                 \
    EXPECT_NE(_msg.find(_path), std::string::npos) << "message: " << _msg;      \
    EXPECT_NE(_msg.find(fragment), std::string::npos) << "message: " << _msg;   \
  } while (0)

std::string write_temp(const std::string& name, const std::string& bytes) {
  const std::string path = temp_dir() + "/" + name;
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  return path;
}

std::set<std::string> keys_of(const StateDict& d) {
  std::set<std::string> keys;
  for (const auto& [k, v] : d) keys.insert(k);
  return keys;
}

const at::Tensor& get(const StateDict& d, const std::string& key) {
  static const at::Tensor missing;
  auto it = d.find(key);
  EXPECT_NE(it, d.end()) << "no tensor '" << key << "'";
  return it == d.end() ? missing : it->second;
}

// Bit-exact equality with the same dtype and shape (and a contiguous result).
void expect_same(const at::Tensor& actual, const at::Tensor& expected, const std::string& what) {
  ASSERT_TRUE(actual.defined()) << what;
  EXPECT_EQ(actual.scalar_type(), expected.scalar_type()) << what;
  ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
  EXPECT_TRUE(actual.is_contiguous()) << what;
  EXPECT_TRUE(at::equal(actual, expected)) << what;
}

// gen_checkpoints.py's base grid: arange(60).reshape(6, 10) / 4, exact in float32.
at::Tensor base_grid() { return at::arange(60, at::kFloat).reshape({6, 10}) / 4; }

// --- shared fixtures -------------------------------------------------------

std::set<std::string> dino_tiny_keys() {
  std::set<std::string> keys = {"cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias",
                                "norm.weight", "norm.bias"};
  for (const char* block : {"blocks.0.", "blocks.1."}) {
    for (const char* p : {"norm1.weight", "norm1.bias", "attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight",
                          "attn.proj.bias", "norm2.weight", "norm2.bias", "mlp.fc1.weight", "mlp.fc1.bias",
                          "mlp.fc2.weight", "mlp.fc2.bias"}) {
      keys.insert(std::string(block) + p);
    }
  }
  return keys;
}

TEST(Checkpoint, DinoTinyPthAndSafetensorsAgreeBitExactly) {
  DINOCLIP_REQUIRE_FIXTURE(pth_path, "dino_tiny/dino_tiny.pth");
  DINOCLIP_REQUIRE_FIXTURE(st_path, "dino_tiny/dino_tiny.safetensors");
  const Checkpoint pth = load_checkpoint(pth_path);
  const Checkpoint st = load_checkpoint(st_path);
  EXPECT_EQ(pth.format, CheckpointFormat::kTorchZip);
  EXPECT_EQ(st.format, CheckpointFormat::kSafetensors);
  EXPECT_EQ(keys_of(pth.tensors), dino_tiny_keys());
  EXPECT_EQ(keys_of(st.tensors), dino_tiny_keys());
  for (const auto& [name, tensor] : st.tensors) expect_same(get(pth.tensors, name), tensor, name);
  // Shapes from dino_tiny/README.md.
  EXPECT_EQ(get(pth.tensors, "cls_token").sizes(), (at::IntArrayRef{1, 1, 64}));
  EXPECT_EQ(get(pth.tensors, "pos_embed").sizes(), (at::IntArrayRef{1, 785, 64}));
  EXPECT_EQ(get(pth.tensors, "patch_embed.proj.weight").sizes(), (at::IntArrayRef{64, 3, 8, 8}));
  EXPECT_EQ(get(pth.tensors, "blocks.1.attn.qkv.weight").sizes(), (at::IntArrayRef{192, 64}));
  EXPECT_EQ(get(pth.tensors, "blocks.0.mlp.fc1.weight").sizes(), (at::IntArrayRef{256, 64}));
  EXPECT_EQ(get(pth.tensors, "blocks.0.mlp.fc2.weight").sizes(), (at::IntArrayRef{64, 256}));
  EXPECT_EQ(get(pth.tensors, "pos_embed").scalar_type(), at::kFloat);
}

TEST(Checkpoint, ClipTinyStateDictEqualsTorchScriptArchiveAfterFloatConversion) {
  DINOCLIP_REQUIRE_FIXTURE(state_path, "clip_tiny/clip_tiny_state.pth");
  DINOCLIP_REQUIRE_FIXTURE(jit_path, "clip_tiny/clip_tiny_jit.pt");
  const Checkpoint state = load_checkpoint(state_path);
  const Checkpoint jit = load_checkpoint(jit_path);
  EXPECT_EQ(state.format, CheckpointFormat::kTorchZip);
  EXPECT_EQ(jit.format, CheckpointFormat::kTorchScript);

  const std::set<std::string> extra_buffers = {"input_resolution", "context_length", "vocab_size"};
  std::set<std::string> expected_jit_keys = keys_of(state.tensors);
  expected_jit_keys.insert(extra_buffers.begin(), extra_buffers.end());
  EXPECT_EQ(keys_of(jit.tensors), expected_jit_keys);
  EXPECT_EQ(get(jit.tensors, "input_resolution").item<int64_t>(), 64);
  EXPECT_EQ(get(jit.tensors, "context_length").item<int64_t>(), 77);
  EXPECT_EQ(get(jit.tensors, "vocab_size").item<int64_t>(), 49408);

  for (const auto& [name, tensor] : state.tensors) {
    EXPECT_EQ(tensor.scalar_type(), at::kFloat) << name;
    const at::Tensor& j = get(jit.tensors, name);
    ASSERT_TRUE(j.defined());
    ASSERT_EQ(j.sizes(), tensor.sizes()) << name;
    EXPECT_TRUE(at::equal(j.to(at::kFloat), tensor)) << name;  // fp16 copies are exact (see README)
  }

  const std::string config_path = ::dinoclip::testing::fixture_file("clip_tiny/config.json");
  const auto layout = nlohmann::json::parse(read_file(config_path)).at("jit_dtype_layout");
  ASSERT_EQ(layout.size(), jit.tensors.size());
  int half = 0;
  for (const auto& [name, dtype] : layout.items()) {
    const at::Tensor& t = get(jit.tensors, name);
    ASSERT_TRUE(t.defined());
    const std::string expected = dtype.get<std::string>();
    const at::ScalarType type = expected == "float16" ? at::kHalf : expected == "int64" ? at::kLong : at::kFloat;
    EXPECT_EQ(t.scalar_type(), type) << name << " should be " << expected;
    half += type == at::kHalf;
  }
  EXPECT_GT(half, 10);  // the mixed layout really is mixed
}

// --- small generated files -------------------------------------------------

void expect_views_content(const StateDict& d) {
  const at::Tensor base = base_grid();
  EXPECT_EQ(d.size(), 13u);
  expect_same(get(d, "base"), base, "base");
  expect_same(get(d, "row2"), base[2], "row2 (offset 20)");
  expect_same(get(d, "col3"), base.select(1, 3).contiguous(), "col3 (stride 10)");
  expect_same(get(d, "block"), base.slice(0, 1, 4).slice(1, 2, 7).contiguous(), "block (offset 12, stride 10,1)");
  expect_same(get(d, "transposed"), base.t().contiguous(), "transposed (stride 1,10)");
  expect_same(get(d, "alias"), base, "alias");
  expect_same(get(d, "scalar"), at::scalar_tensor(3.5, at::kFloat), "scalar");
  expect_same(get(d, "empty"), at::zeros({0, 4}), "empty");
  expect_same(get(d, "int64"), at::arange(-3, 3, at::kLong) * int64_t(1000000000000), "int64");
  expect_same(get(d, "int32"), at::arange(-3, 3, at::kInt) * 100000, "int32");
  expect_same(get(d, "uint8"), at::tensor({0, 1, 127, 128, 255}, at::kInt).to(at::kByte), "uint8");
  expect_same(get(d, "bool"), at::tensor({1, 0, 1}, at::kInt).to(at::kBool), "bool");
  expect_same(get(d, "float64"), at::arange(4, at::kDouble) / 3, "float64");
  // Views are copies: writing one must not change the tensors it shared a storage with.
  get(d, "row2").fill_(-1);
  EXPECT_TRUE(at::equal(get(d, "base"), base));
}

TEST(Checkpoint, ZipTensorViewsIntoSharedStorages) {
  const Checkpoint c = load_checkpoint(test_data("io/views.pth"));
  EXPECT_EQ(c.format, CheckpointFormat::kTorchZip);
  expect_views_content(c.tensors);
}

TEST(Checkpoint, LegacyFormatMatchesZip) {
  const Checkpoint c = load_checkpoint(test_data("io/views_legacy.pth"));
  EXPECT_EQ(c.format, CheckpointFormat::kTorchLegacy);
  expect_views_content(c.tensors);
}

TEST(Checkpoint, DeflatedZipEntries) {
  const Checkpoint c = load_checkpoint(test_data("io/views_deflate.pth"));
  EXPECT_EQ(c.format, CheckpointFormat::kTorchZip);
  expect_views_content(c.tensors);
}

TEST(Checkpoint, HalfAndBFloat16KeepTheirDtype) {
  const Checkpoint c = load_checkpoint(test_data("io/half.pth"));
  const at::Tensor values = at::arange(12, at::kFloat).reshape({3, 4}) / 8 - 0.5;
  EXPECT_EQ(c.tensors.size(), 3u);
  expect_same(get(c.tensors, "w16"), values.to(at::kHalf), "w16");
  expect_same(get(c.tensors, "b16"), values.to(at::kBFloat16), "b16");
  expect_same(get(c.tensors, "w16_t"), values.to(at::kHalf).t().contiguous(), "w16_t");
}

void expect_training_content(const StateDict& d) {
  const at::Tensor base = base_grid();
  const std::set<std::string> expected = {
      "teacher.module.backbone.cls_token", "teacher.module.backbone.blocks.0.norm1.weight",
      "teacher.module.head.last_layer.weight_g", "student.module.backbone.cls_token",
      "student.module.backbone.blocks.0.norm1.weight", "optimizer.state.0.exp_avg", "dino_loss.center"};
  EXPECT_EQ(keys_of(d), expected);  // epoch, args (argparse.Namespace), lr, ... are skipped
  expect_same(get(d, "teacher.module.backbone.cls_token"), base[0].reshape({1, 1, 10}), "teacher cls");
  expect_same(get(d, "teacher.module.backbone.blocks.0.norm1.weight"), base[1], "teacher norm1");
  expect_same(get(d, "teacher.module.head.last_layer.weight_g"), base[2].slice(0, 0, 1), "teacher head");
  expect_same(get(d, "student.module.backbone.cls_token"), -base[0].reshape({1, 1, 10}), "student cls");
  expect_same(get(d, "student.module.backbone.blocks.0.norm1.weight"), -base[1], "student norm1 (nn.Parameter)");
  expect_same(get(d, "optimizer.state.0.exp_avg"), base[3], "optimizer state keyed by int");
  expect_same(get(d, "dino_loss.center"), at::zeros({1, 4}), "dino_loss");
}

TEST(Checkpoint, TrainingCheckpointIsFlattenedWithDots) {
  expect_training_content(load_checkpoint(test_data("io/training.pth")).tensors);
}

TEST(Checkpoint, LegacyTrainingCheckpointIsFlattenedWithDots) {
  const Checkpoint c = load_checkpoint(test_data("io/training_legacy.pth"));
  EXPECT_EQ(c.format, CheckpointFormat::kTorchLegacy);
  expect_training_content(c.tensors);
}

TEST(Checkpoint, FilterMaterialisesOnlyTheChosenTensors) {
  const TensorFilter teacher = [](const std::string& name) { return name.rfind("teacher.", 0) == 0; };
  for (const char* file : {"io/training.pth", "io/training_legacy.pth", "io/dtypes.safetensors"}) {
    const Checkpoint c = load_checkpoint(test_data(file), teacher);
    for (const auto& [name, t] : c.tensors) EXPECT_EQ(name.rfind("teacher.", 0), 0u) << file << ": " << name;
    EXPECT_EQ(c.tensors.size(), std::string(file).find("training") != std::string::npos ? 3u : 0u) << file;
  }
}

TEST(Checkpoint, SafetensorsEveryDtypeUnalignedData) {
  const Checkpoint c = load_checkpoint(test_data("io/dtypes.safetensors"));
  EXPECT_EQ(c.format, CheckpointFormat::kSafetensors);
  const at::Tensor values = at::arange(6, at::kFloat).reshape({2, 3}) / 8 - 0.25;
  EXPECT_EQ(c.tensors.size(), 10u);
  expect_same(get(c.tensors, "f32"), values, "f32");
  expect_same(get(c.tensors, "f16"), values.to(at::kHalf), "f16");
  expect_same(get(c.tensors, "bf16"), values.to(at::kBFloat16), "bf16");
  expect_same(get(c.tensors, "f64"), values.to(at::kDouble), "f64");
  expect_same(get(c.tensors, "i64"), at::arange(-3, 3, at::kLong) * int64_t(1000000000000), "i64");
  expect_same(get(c.tensors, "i32"), at::arange(-3, 3, at::kInt) * 100000, "i32");
  expect_same(get(c.tensors, "u8"), at::tensor({0, 1, 127, 128, 255}, at::kInt).to(at::kByte), "u8");
  expect_same(get(c.tensors, "bool"), at::tensor({1, 0, 1}, at::kInt).to(at::kBool), "bool");
  expect_same(get(c.tensors, "scalar"), at::scalar_tensor(2.5, at::kFloat), "scalar");
  expect_same(get(c.tensors, "empty"), at::zeros({0, 3}), "empty");
}

TEST(Checkpoint, FormatNames) {
  EXPECT_STREQ(checkpoint_format_name(CheckpointFormat::kTorchZip), "torch.save zip");
  EXPECT_STREQ(checkpoint_format_name(CheckpointFormat::kTorchLegacy), "torch.save legacy");
  EXPECT_STREQ(checkpoint_format_name(CheckpointFormat::kSafetensors), "safetensors");
  EXPECT_STREQ(checkpoint_format_name(CheckpointFormat::kTorchScript), "TorchScript");
}

// --- rejections ------------------------------------------------------------

TEST(Checkpoint, RejectsMissingFile) {
  EXPECT_LOAD_FAILS_WITH(temp_dir() + "/no_such_file.pth", "cannot open");
}

TEST(Checkpoint, RejectsDirectory) { EXPECT_LOAD_FAILS_WITH(temp_dir(), "directory"); }

TEST(Checkpoint, RejectsNonCheckpointFiles) {
  EXPECT_LOAD_FAILS_WITH(write_temp("picture.pth", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16)), "PNG");
  EXPECT_LOAD_FAILS_WITH(write_temp("notes.pth", "these are not weights\n"), "text file");
  EXPECT_LOAD_FAILS_WITH(write_temp("empty.pth", ""), "empty");
  EXPECT_LOAD_FAILS_WITH(write_temp("page.safetensors", "<html>404</html>"), "HTML");
  // A Python pickle of {} is no torch.save file.
  EXPECT_LOAD_FAILS_WITH(write_temp("dict.pkl", std::string("\x80\x02}q\x00.", 6)), "not a torch.save file");
  EXPECT_LOAD_FAILS_WITH(test_data("io/plain.zip"), "without a data.pkl");
}

TEST(Checkpoint, RejectsTensorThatIsNotADict) {
  EXPECT_LOAD_FAILS_WITH(test_data("io/tensor_only.pth"), "holds a tensor, not a dict");
}

TEST(Checkpoint, RejectsTruncatedZip) {
  const std::string bytes = read_file(test_data("io/views.pth"));
  // Cut before the central directory: the archive's index is gone.
  EXPECT_LOAD_FAILS_WITH(write_temp("cut.pth", bytes.substr(0, bytes.size() / 2)), "truncated");
  // Central directory intact but entries' data cut away (bytes replaced).
  std::string hollow = bytes;
  std::fill(hollow.begin() + 64, hollow.begin() + long(bytes.size() / 2), '\0');
  EXPECT_LOAD_FAILS_WITH(write_temp("hollow.pth", hollow), "views/data");
}

TEST(Checkpoint, RejectsMissingStorageEntry) {
  EXPECT_LOAD_FAILS_WITH(test_data("io/missing_storage.pth"), "'views/data/0' is missing");
}

TEST(Checkpoint, RejectsStorageShorterThanNeeded) {
  EXPECT_LOAD_FAILS_WITH(test_data("io/short_storage.pth"), "shorter than");
}

TEST(Checkpoint, RejectsUnsupportedStorageDtype) {
  EXPECT_LOAD_FAILS_WITH(test_data("io/qint_storage.pth"), "unsupported dtype (storage type torch.QInt8Storage)");
}

TEST(Checkpoint, RejectsCorruptDeflateData) {
  std::string bytes = read_file(test_data("io/views_deflate.pth"));
  const size_t data_pkl = bytes.find("data.pkl") + 8 + 20;  // inside the compressed pickle
  bytes[data_pkl] = char(bytes[data_pkl] ^ 0x5a);
  const std::string msg = load_error(write_temp("bad_deflate.pth", bytes));
  EXPECT_TRUE(msg.find("CRC-32 mismatch") != std::string::npos || msg.find("deflate data is corrupt") != std::string::npos)
      << msg;
}

TEST(Checkpoint, RejectsFlippedStorageByteThroughCrc) {
  std::string bytes = read_file(test_data("io/views.pth"));
  const size_t storage = bytes.find("views/data/0") + 12;
  ASSERT_NE(storage, std::string::npos);
  const size_t value = bytes.find(std::string("\0\0\x80\x3e", 4), storage);  // 0.25f, base[0][1]
  ASSERT_NE(value, std::string::npos);
  bytes[value + 3] = 0x3f;
  EXPECT_LOAD_FAILS_WITH(write_temp("flipped.pth", bytes), "CRC-32 mismatch");
}

TEST(Checkpoint, RejectsTruncatedLegacyFile) {
  const std::string bytes = read_file(test_data("io/views_legacy.pth"));
  EXPECT_LOAD_FAILS_WITH(write_temp("cut_legacy.pth", bytes.substr(0, bytes.size() - 10)), "truncated");
  EXPECT_LOAD_FAILS_WITH(write_temp("cut_legacy_pickle.pth", bytes.substr(0, 300)), "unexpected end of data");
}

std::string safetensors_bytes(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[size_t(i)] = char((uint64_t(header.size()) >> (8 * i)) & 0xff);
  return out + header + data;
}

TEST(Checkpoint, RejectsBadSafetensors) {
  const std::string eight(8, '\0');
  EXPECT_LOAD_FAILS_WITH(
      write_temp("f8.safetensors",
                 safetensors_bytes(R"({"x":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}})", eight)),
      "unsupported dtype 'F8_E4M3'");
  EXPECT_LOAD_FAILS_WITH(
      write_temp("past_end.safetensors",
                 safetensors_bytes(R"({"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", eight)),
      "lie outside the 8-byte data section");
  EXPECT_LOAD_FAILS_WITH(
      write_temp("mismatch.safetensors",
                 safetensors_bytes(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}})", eight)),
      "span 8");
  EXPECT_LOAD_FAILS_WITH(
      write_temp("short.safetensors",
                 safetensors_bytes(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight)),
      "shorter than needed");
  EXPECT_LOAD_FAILS_WITH(
      write_temp("negative.safetensors",
                 safetensors_bytes(R"({"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight)),
      "non-negative");
  EXPECT_LOAD_FAILS_WITH(write_temp("json.safetensors", safetensors_bytes(R"({"x": [1, 2)", eight)), "not valid JSON");
  EXPECT_LOAD_FAILS_WITH(
      write_temp("no_dtype.safetensors", safetensors_bytes(R"({"x":{"shape":[2],"data_offsets":[0,8]}})", eight)),
      "no 'dtype'");
}

// A damaged safetensors framing says what is wrong, not just "not recognised".
TEST(Checkpoint, RejectsADamagedSafetensorsHeaderSayingWhatIsWrong) {
  const std::string good = safetensors_bytes(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                                             std::string(8, '\0'));
  std::string bad_length = good;
  bad_length[5] = '\x7f';  // the length field now claims ~140 TB
  EXPECT_LOAD_FAILS_WITH(write_temp("bad_length.safetensors", bad_length), "damaged safetensors file: the first 8");
  std::string bad_brace = good;
  bad_brace[8] = '\x01';
  EXPECT_LOAD_FAILS_WITH(write_temp("bad_brace.safetensors", bad_brace), "starts with byte 0x01");
  EXPECT_LOAD_FAILS_WITH(write_temp("cut.safetensors", good.substr(0, 30)), "truncated");
}

TEST(Checkpoint, RejectsDevicesWithoutReadingThem) {
  EXPECT_LOAD_FAILS_WITH("/dev/zero", "is a device");
  EXPECT_LOAD_FAILS_WITH("/dev/urandom", "is a device");
}

// Truncations and byte flips of every kind of file: each load must either
// succeed or throw dinoclip::Error; anything else (or a crash) fails. The
// bytes sit in an exact-size heap block, so valgrind/ASan see any overread.
TEST(Checkpoint, CorruptInputNeverCrashes) {
  int loads = 0, errors = 0;
  const auto try_load = [&](const std::string& bytes, size_t len, const std::string& what) {
    std::unique_ptr<char[]> exact(new char[std::max<size_t>(len, 1)]);
    std::memcpy(exact.get(), bytes.data(), len);
    ++loads;
    try {
      load_checkpoint_bytes(exact.get(), len, what);
    } catch (const Error&) {
      ++errors;
    } catch (const std::exception& e) {
      ADD_FAILURE() << what << ": non-dinoclip exception: " << e.what();
    }
  };
  std::mt19937 rng(1234);
  for (const char* file : {"io/views.pth", "io/views_legacy.pth", "io/views_deflate.pth", "io/training.pth",
                           "io/training_legacy.pth", "io/dtypes.safetensors"}) {
    const std::string bytes = read_file(test_data(file));
    for (size_t len = 0; len < bytes.size(); ++len) {
      try_load(bytes, len, std::string(file) + " cut at " + std::to_string(len));
    }
    for (size_t pos = 0; pos < bytes.size(); ++pos) {
      std::string changed = bytes;
      changed[pos] = char(changed[pos] ^ (1 + rng() % 255));
      try_load(changed, changed.size(), std::string(file) + " byte " + std::to_string(pos) + " changed");
    }
  }
  EXPECT_GT(errors, loads / 2);  // the corruptions are mostly detected
}

TEST(Checkpoint, LoadsFromMemoryLikeFromFile) {
  for (const char* file : {"io/views.pth", "io/views_legacy.pth", "io/dtypes.safetensors"}) {
    const std::string bytes = read_file(test_data(file));
    const Checkpoint from_file = load_checkpoint(test_data(file));
    const Checkpoint from_memory = load_checkpoint_bytes(bytes.data(), bytes.size(), file);
    EXPECT_EQ(from_memory.path, file);
    EXPECT_EQ(from_memory.format, from_file.format) << file;
    ASSERT_EQ(keys_of(from_memory.tensors), keys_of(from_file.tensors)) << file;
    for (const auto& [name, t] : from_file.tensors) expect_same(get(from_memory.tensors, name), t, name);
  }
}

TEST(Checkpoint, TorchScriptArchiveFromMemory) {
  DINOCLIP_REQUIRE_FIXTURE(jit_path, "clip_tiny/clip_tiny_jit.pt");
  const std::string bytes = read_file(jit_path);
  const Checkpoint c = load_checkpoint_bytes(bytes.data(), bytes.size(), "clip_tiny_jit.pt");
  EXPECT_EQ(c.format, CheckpointFormat::kTorchScript);
  expect_same(get(c.tensors, "visual.proj"), get(load_checkpoint(jit_path).tensors, "visual.proj"), "visual.proj");
  // Cut in the middle: refused by the zip check before LibTorch sees it.
  const std::string msg = [&] {
    try {
      load_checkpoint_bytes(bytes.data(), bytes.size() / 2, "half.pt");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  }();
  EXPECT_NE(msg.find("half.pt: zip end-of-central-directory record not found"), std::string::npos) << msg;
}

}  // namespace
}  // namespace dinoclip
