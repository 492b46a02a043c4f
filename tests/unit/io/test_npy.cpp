#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "io/npy.h"
#include "test_support.h"

using dinoclip::read_npy;
using dinoclip::write_npy;

TEST(Npy, RoundTripsFloatAndIntArrays) {
  const std::string dir = dinoclip::testing::temp_dir();
  at::Tensor f = at::arange(24, at::kFloat).reshape({2, 3, 4}) * 0.5;
  at::Tensor i = at::arange(5, at::kLong) - 2;
  write_npy(dir + "/f.npy", f);
  write_npy(dir + "/i.npy", i);
  at::Tensor f2 = read_npy(dir + "/f.npy");
  at::Tensor i2 = read_npy(dir + "/i.npy");
  EXPECT_EQ(f2.scalar_type(), at::kFloat);
  EXPECT_EQ(f2.sizes(), f.sizes());
  EXPECT_TRUE(at::equal(f2, f));
  EXPECT_EQ(i2.scalar_type(), at::kLong);
  EXPECT_TRUE(at::equal(i2, i));
}

TEST(Npy, HeaderIsAlignedAndNumpyReadable) {
  const std::string dir = dinoclip::testing::temp_dir();
  write_npy(dir + "/s.npy", at::zeros({7}, at::kFloat));
  std::ifstream in(dir + "/s.npy", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GE(bytes.size(), 10u);
  size_t header_len = (unsigned char)bytes[8] | ((unsigned char)bytes[9] << 8);
  EXPECT_EQ((10 + header_len) % 64, 0u);
  EXPECT_NE(bytes.find("'shape': (7,)"), std::string::npos);
  EXPECT_EQ(bytes.size(), 10 + header_len + 7 * 4);
}

TEST(Npy, ReadsReferenceFixture) {
  DINOCLIP_REQUIRE_FIXTURE(path, "dino_tiny/img2_96x96_cls.npy");
  at::Tensor t = read_npy(path);
  EXPECT_EQ(t.sizes(), (std::vector<int64_t>{1, 64}));
  EXPECT_EQ(t.scalar_type(), at::kFloat);
}

TEST(Npy, RejectsMissingAndTruncatedFiles) {
  const std::string dir = dinoclip::testing::temp_dir();
  EXPECT_THROW(read_npy(dir + "/nope.npy"), dinoclip::Error);
  write_npy(dir + "/t.npy", at::ones({100}, at::kFloat));
  std::string bytes;
  {
    std::ifstream in(dir + "/t.npy", std::ios::binary);
    bytes.assign((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  std::ofstream(dir + "/t.npy", std::ios::binary | std::ios::trunc).write(bytes.data(), bytes.size() - 8);
  try {
    read_npy(dir + "/t.npy");
    FAIL() << "expected an error";
  } catch (const dinoclip::Error& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
}

// Found by tests/fuzz/fuzz_npy: a shape entry that is not a number escaped as
// std::invalid_argument, and a header could ask for any allocation size.
TEST(Npy, RejectsMalformedAndOversizedShapes) {
  const std::string path = dinoclip::testing::temp_dir() + "/shape.npy";
  auto write_with_shape = [&](const std::string& shape) {
    std::string header = "{'descr': '<i1', 'fortran_order': False, 'shape': " + shape + ", }";
    header.resize(118, ' ');
    header += '\n';
    std::string bytes = std::string("\x93NUMPY\x01\x00", 8) + char(header.size()) + '\0' + header;
    bytes += std::string(12, '\1');  // 12 bytes of data
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), bytes.size());
  };
  const std::pair<std::string, std::string> cases[] = {
      {"(\x14,3,)", "malformed .npy shape"},  // the fuzzer's input
      {"(-1,)", "malformed .npy shape"},
      {"(2x,)", "malformed .npy shape"},
      {"(1000000000000,)", "truncated .npy data"},
      {"(100000000000000000, 1000)", "truncated .npy data"},  // bytes overflow int64
      {"(4, 4)", "truncated .npy data"},
      // Found by fuzz_npy on LibTorch 2: no data (a zero size) but strides past
      // int64 escaped as c10::Error "Stride calculation overflowed".
      {"(0, 42000000000, 42000000000)", "malformed .npy shape"},
  };
  for (const auto& [shape, expected] : cases) {
    write_with_shape(shape);
    try {
      read_npy(path);
      ADD_FAILURE() << shape << ": expected an error";
    } catch (const dinoclip::Error& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << shape << ": " << e.what();
    }
  }
  write_with_shape("(4, 3)");  // exactly the 12 bytes present
  EXPECT_EQ(read_npy(path).numel(), 12);
}

// Found by tests/fuzz/fuzz_npy and fuzz_video_index: a version-2 header length
// of 0xffffffff allocated 4 GB before noticing the file is 170 bytes.
TEST(Npy, RejectsHeaderLengthBeyondTheFile) {
  const std::string path = dinoclip::testing::temp_dir() + "/header.npy";
  const std::string bytes = std::string("\x93NUMPY\x02\x00\xff\xff\xff\xff", 12) +
                            "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }\n" + std::string(12, '\0');
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), bytes.size());
  try {
    read_npy(path);
    FAIL() << "expected an error";
  } catch (const dinoclip::Error& e) {
    EXPECT_NE(std::string(e.what()).find("truncated .npy header"), std::string::npos) << e.what();
  }
}
