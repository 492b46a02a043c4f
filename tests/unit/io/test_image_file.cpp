// PNG/JPEG reading against PIL 9.4 (tests/data/gen/gen_image_file_goldens.py),
// label maps, writing round trips, and every way a file can be broken.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "io/file_util.h"
#include "io/image_file.h"
#include "io/npy.h"
#include "test_support.h"

using dinoclip::testing::test_data;

namespace dinoclip {
namespace {

// tests/data/<relative> in the source tree: $DINOCLIP_SOURCE_ROOT (meson test),
// else found from this file's compile-time path (relative to the build dir).
at::Tensor as_tensor(const Image& image) {
  return at::from_blob(const_cast<std::uint8_t*>(image.pixels.data()), {image.height, image.width, image.channels},
                       at::kByte)
      .clone();
}

void expect_same_pixels(const Image& image, const at::Tensor& expected, const std::string& what) {
  at::Tensor got = as_tensor(image);
  if (expected.dim() == 2) got = got.squeeze(2);
  ASSERT_EQ(got.sizes(), expected.sizes()) << what;
  EXPECT_TRUE(at::equal(got, expected)) << what << ": max diff " << testing::max_abs_diff(got, expected);
}

// Expects `call` to throw dinoclip::Error whose message contains `needle`.
template <typename Call>
void expect_error_mentioning(Call call, const std::string& needle) {
  try {
    call();
    ADD_FAILURE() << "expected dinoclip::Error mentioning '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

void write_bytes(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

TEST(ImageFile, ReadsEveryPngColourTypeLikePil) {
  const char* cases[] = {"grey1",       "grey2",        "grey4",    "grey8",    "grey16",   "grey8_trns",
                         "grey_alpha8", "grey_alpha16", "rgb8",     "rgb16",    "rgba8",    "rgba16",
                         "rgb8_adam7",  "palette1",     "palette2", "palette4", "palette8", "palette8_trns"};
  for (const char* name : cases) {
    const std::string stem = test_data(std::string("vision/png_") + name);
    const Image image = read_image(stem + ".png");
    EXPECT_EQ(image.channels, 3) << name;
    expect_same_pixels(image, read_npy(stem + "_rgb.npy"), name);
  }
}

TEST(ImageFile, ReadsJpegLikePil) {
  for (const char* name : {"rgb420", "rgb444", "grey", "progressive"}) {
    const std::string stem = test_data(std::string("vision/jpeg_") + name);
    expect_same_pixels(read_image(stem + ".jpg"), read_npy(stem + "_rgb.npy"), name);
  }
}

TEST(ImageFile, ReadsFixturePicture) {
  // dino_tiny's input is (u8 / 255 - mean) / std of this very PNG.
  DINOCLIP_REQUIRE_FIXTURE(png, "dino_tiny/img3_64x96.png");
  const Image image = read_image(png);
  ASSERT_EQ(image.width, 96);
  ASSERT_EQ(image.height, 64);
  const at::Tensor input = read_npy(testing::fixture_file("dino_tiny/img3_64x96_input.npy"));
  const at::Tensor mean = at::tensor({0.485f, 0.456f, 0.406f}).view({1, 3, 1, 1});
  const at::Tensor std = at::tensor({0.229f, 0.224f, 0.225f}).view({1, 3, 1, 1});
  const at::Tensor ours = (as_tensor(image).permute({2, 0, 1}).unsqueeze(0).to(at::kFloat) / 255 - mean) / std;
  EXPECT_TENSOR_NEAR(ours, input, 1e-6);
}

TEST(ImageFile, ReadsLabelPngsAsClassIds) {
  for (const char* name : {"palette8", "palette4", "grey8"}) {
    const std::string stem = test_data(std::string("vision/label_") + name);
    const Image labels = read_label_png(stem + ".png");
    EXPECT_EQ(labels.channels, 1) << name;
    expect_same_pixels(labels, read_npy(stem + ".npy"), name);
  }
}

TEST(ImageFile, ReadLabelPngRejectsRgbAndJpeg) {
  expect_error_mentioning([] { read_label_png(test_data("vision/png_rgb8.png")); }, "palette");
  expect_error_mentioning([] { read_label_png(test_data("vision/png_grey16.png")); }, "16-bit");
  expect_error_mentioning([] { read_label_png(test_data("vision/png_grey_alpha8.png")); }, "grey+alpha");
  expect_error_mentioning([] { read_label_png(test_data("vision/jpeg_grey.jpg")); }, "JPEG");
}

TEST(ImageFile, PngRoundTripsRgbAndGrey) {
  const std::string dir = testing::temp_dir();
  Image rgb(13, 7, 3);
  for (std::size_t i = 0; i < rgb.pixels.size(); ++i) rgb.pixels[i] = std::uint8_t(i * 29 + 3);
  write_png(dir + "/rgb.png", rgb);
  EXPECT_EQ(read_image(dir + "/rgb.png").pixels, rgb.pixels);

  Image grey(5, 9, 1);
  for (std::size_t i = 0; i < grey.pixels.size(); ++i) grey.pixels[i] = std::uint8_t(i * 7);
  write_png(dir + "/grey.png", grey);
  EXPECT_EQ(read_label_png(dir + "/grey.png").pixels, grey.pixels);
  const Image grey_as_rgb = read_image(dir + "/grey.png");
  for (std::size_t i = 0; i < grey.pixels.size(); ++i) {
    ASSERT_EQ(grey_as_rgb.pixels[3 * i], grey.pixels[i]);
    ASSERT_EQ(grey_as_rgb.pixels[3 * i + 2], grey.pixels[i]);
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/rgb.png.tmp-" + std::to_string(::getpid())));
}

TEST(ImageFile, PalettePngKeepsIndicesAndColours) {
  const std::string dir = testing::temp_dir();
  Image indices(6, 4, 1);
  for (std::size_t i = 0; i < indices.pixels.size(); ++i) indices.pixels[i] = std::uint8_t(i % 3);
  const std::vector<std::array<std::uint8_t, 3>> palette = {{0, 0, 0}, {128, 0, 0}, {0, 128, 0}};
  write_palette_png(dir + "/mask.png", indices, palette);
  EXPECT_EQ(read_label_png(dir + "/mask.png").pixels, indices.pixels);
  const Image colours = read_image(dir + "/mask.png");
  EXPECT_EQ(colours.at(1, 0, 0), 128);  // index 1 -> (128, 0, 0)
  EXPECT_EQ(colours.at(2, 0, 1), 128);  // index 2 -> (0, 128, 0)
}

TEST(ImageFile, WritePalettePngRejectsIndicesOutsideThePalette) {
  const std::string dir = testing::temp_dir();
  Image indices(2, 2, 1);
  indices.pixels = {0, 1, 2, 3};
  expect_error_mentioning([&] { write_palette_png(dir + "/bad.png", indices, {{0, 0, 0}, {1, 1, 1}}); }, "index 2");
  expect_error_mentioning([&] { write_palette_png(dir + "/bad.png", indices, {}); }, "palette has 0");
  Image rgb(2, 2, 3);
  expect_error_mentioning([&] { write_palette_png(dir + "/bad.png", rgb, {{0, 0, 0}}); }, "1-channel");
  EXPECT_FALSE(std::filesystem::exists(dir + "/bad.png"));
}

TEST(ImageFile, JpegRoundTripIsClose) {
  const std::string dir = testing::temp_dir();
  Image rgb(48, 32, 3);
  for (int y = 0; y < 32; ++y) {
    for (int x = 0; x < 48; ++x) {
      rgb.at(x, y, 0) = std::uint8_t(x * 5);
      rgb.at(x, y, 1) = std::uint8_t(y * 7);
      rgb.at(x, y, 2) = 100;
    }
  }
  write_jpeg(dir + "/frame.jpg", rgb, 95);
  const Image back = read_image(dir + "/frame.jpg");
  ASSERT_EQ(back.width, 48);
  ASSERT_EQ(back.height, 32);
  const double mean_error =
      (as_tensor(back).to(at::kFloat) - as_tensor(rgb).to(at::kFloat)).abs().mean().item<double>();
  EXPECT_LT(mean_error, 2.0);
  Image grey(16, 16, 1);
  write_jpeg(dir + "/grey.jpg", grey, 50);
  EXPECT_EQ(read_image(dir + "/grey.jpg").width, 16);
}

TEST(ImageFile, WriteRejectsBadImagesAndUnwritablePaths) {
  const std::string dir = testing::temp_dir();
  Image two_channels(4, 4, 2);
  expect_error_mentioning([&] { write_png(dir + "/x.png", two_channels); }, "2-channel");
  expect_error_mentioning([&] { write_jpeg(dir + "/x.jpg", Image(), 90); }, "empty");
  expect_error_mentioning([&] { write_jpeg(dir + "/x.jpg", Image(4, 4, 3), 0); }, "quality");
  Image short_buffer(4, 4, 3);
  short_buffer.pixels.resize(10);
  expect_error_mentioning([&] { write_png(dir + "/x.png", short_buffer); }, "buffer");
  expect_error_mentioning([&] { write_png(dir + "/no/such/folder/x.png", Image(4, 4, 3)); }, "cannot write");
  expect_error_mentioning([&] { write_jpeg(dir + "/no/such/folder/x.jpg", Image(4, 4, 3)); }, "cannot write");
}

TEST(ImageFile, ReadRejectsMissingAndNonImageFiles) {
  const std::string dir = testing::temp_dir();
  expect_error_mentioning([&] { read_image(dir + "/missing.png"); }, "missing.png");
  write_bytes(dir + "/empty.png", "");
  expect_error_mentioning([&] { read_image(dir + "/empty.png"); }, "empty file");
  write_bytes(dir + "/text.png", "this is not a picture at all");
  expect_error_mentioning([&] { read_image(dir + "/text.png"); }, "not a PNG or JPEG");
  expect_error_mentioning([&] { read_label_png(dir + "/text.png"); }, "not a PNG or JPEG");
}

TEST(ImageFile, ReadRejectsTruncatedAndCorruptPng) {
  const std::string dir = testing::temp_dir();
  const std::string good = read_file(test_data("vision/png_rgb8.png"));
  write_bytes(dir + "/cut_header.png", good.substr(0, 20));
  expect_error_mentioning([&] { read_image(dir + "/cut_header.png"); }, "cut_header.png");
  write_bytes(dir + "/cut_data.png", good.substr(0, good.size() - 20));  // inside IDAT
  expect_error_mentioning([&] { read_image(dir + "/cut_data.png"); }, "truncated");
  std::string bad_crc = good;
  bad_crc[29] ^= 0x5a;  // IHDR's CRC
  write_bytes(dir + "/bad_crc.png", bad_crc);
  expect_error_mentioning([&] { read_image(dir + "/bad_crc.png"); }, "bad_crc.png");
  const std::string label = read_file(test_data("vision/label_palette8.png"));
  write_bytes(dir + "/cut_label.png", label.substr(0, label.size() - 20));
  expect_error_mentioning([&] { read_label_png(dir + "/cut_label.png"); }, "truncated");
}

TEST(ImageFile, ReadRejectsTruncatedAndCorruptJpeg) {
  const std::string dir = testing::temp_dir();
  const std::string good = read_file(test_data("vision/jpeg_rgb420.jpg"));
  write_bytes(dir + "/cut.jpg", good.substr(0, good.size() / 2));
  expect_error_mentioning([&] { read_image(dir + "/cut.jpg"); }, "cut.jpg");
  write_bytes(dir + "/header_only.jpg", good.substr(0, 40));
  expect_error_mentioning([&] { read_image(dir + "/header_only.jpg"); }, "corrupt");
  std::string garbage = good.substr(0, 3) + std::string(200, '\x11');
  write_bytes(dir + "/garbage.jpg", garbage);
  expect_error_mentioning([&] { read_image(dir + "/garbage.jpg"); }, "garbage.jpg");
}

Image grey_mask(std::initializer_list<int> values) {
  Image mask(int(values.size()), 1, 1);
  size_t i = 0;
  for (int v : values) mask.pixels[i++] = uint8_t(v);
  return mask;
}

// DAVIS-2016 saves binary masks as grey 0/255: that is background/object, not 256 classes.
TEST(ImageFile, ReadsABinaryGreyMaskAsZeroAndOne) {
  const std::string path = testing::temp_dir() + "/binary.png";
  write_png(path, grey_mask({0, 255, 255, 0}));
  expect_same_pixels(read_label_png(path), at::tensor({0, 1, 1, 0}, at::kByte).reshape({1, 4}), "0/255");
  write_png(path, grey_mask({128, 0}));
  expect_same_pixels(read_label_png(path), at::tensor({1, 0}, at::kByte).reshape({1, 2}), "0/128");
  EXPECT_EQ(label_map_warning(read_label_png(path), path), "");
}

TEST(ImageFile, KeepsGreyMasksOfClassIdsAndPaletteIndices) {
  const std::string path = testing::temp_dir() + "/ids.png";
  write_png(path, grey_mask({0, 3, 3}));  // one object of a multi-object sequence
  expect_same_pixels(read_label_png(path), at::tensor({0, 3, 3}, at::kByte).reshape({1, 3}), "0/3");
  write_png(path, grey_mask({0, 1, 255}));  // three values: ids as stored
  expect_same_pixels(read_label_png(path), at::tensor({0, 1, 255}, at::kByte).reshape({1, 3}), "0/1/255");
  std::vector<std::array<std::uint8_t, 3>> palette(256, {0, 0, 0});
  write_palette_png(path, grey_mask({0, 255}), palette);  // a palette index is the class, whatever its value
  expect_same_pixels(read_label_png(path), at::tensor({0, 255}, at::kByte).reshape({1, 2}), "palette");
}

TEST(ImageFile, WarnsWhenMostClassIdsOfALabelMapAreAbsent) {
  const std::string warning = label_map_warning(grey_mask({0, 1, 200}), "m.png");
  EXPECT_NE(warning.find("201 classes"), std::string::npos) << warning;
  EXPECT_NE(warning.find("198 of them never appear"), std::string::npos) << warning;
  EXPECT_NE(warning.find("0, 1, 200"), std::string::npos) << warning;
  EXPECT_EQ(label_map_warning(grey_mask({0, 1, 2, 3, 5}), "m.png"), "");  // dense, one object gone
  EXPECT_EQ(label_map_warning(grey_mask({0, 3}), "m.png"), "");            // too few ids to judge
}

TEST(ImageFile, RejectsADirectoryAndADeviceWithoutReadingThem) {
  const std::string dir = testing::temp_dir();
  expect_error_mentioning([&] { read_image(dir); }, "is a directory");
  expect_error_mentioning([&] { read_label_png(dir); }, "is a directory");
  expect_error_mentioning([&] { read_image("/dev/zero"); }, "is a device");
  expect_error_mentioning([&] { read_image("/dev/urandom"); }, "is a device");
}

TEST(ImageFile, ReadFileRefusesFilesAboveItsLimit) {
  const std::string path = testing::temp_dir() + "/big.bin";
  write_bytes(path, std::string(1000, 'x'));
  EXPECT_EQ(read_file(path, 1000).size(), 1000u);
  expect_error_mentioning([&] { read_file(path, 999); }, "larger than the 999 bytes");
}

TEST(ImageFile, WritePictureChoosesTheFormatByExtensionAndRefusesOthers) {
  const std::string dir = testing::temp_dir();
  Image rgb(4, 2, 3);
  write_picture(dir + "/a.jpg", rgb);
  write_picture(dir + "/a.JPEG", rgb);
  write_picture(dir + "/a.png", rgb);
  EXPECT_EQ(read_file(dir + "/a.jpg").substr(0, 3), "\xff\xd8\xff");
  EXPECT_EQ(read_file(dir + "/a.JPEG").substr(0, 3), "\xff\xd8\xff");
  EXPECT_EQ(read_file(dir + "/a.png").substr(1, 3), "PNG");
  expect_error_mentioning([&] { write_picture(dir + "/a.gif", rgb); }, "name the file *.png or *.jpg");
  expect_error_mentioning([&] { check_picture_path(dir + ".d/noext"); }, "*.png or *.jpg");
  EXPECT_FALSE(file_exists(dir + "/a.gif"));
}

// An EXIF orientation tag (6: rotate 90) is not applied, as PIL's
// Image.open(...).convert('RGB') in the reference scripts does not: same pixels, same size.
TEST(ImageFile, ExifRotatedJpegKeepsItsStoredOrientationLikePil) {
  const std::string dir = testing::temp_dir();
  Image rgb(8, 4, 3);
  for (size_t i = 0; i < rgb.pixels.size(); ++i) rgb.pixels[i] = uint8_t(i * 7);
  write_jpeg(dir + "/plain.jpg", rgb);
  const std::string plain = read_file(dir + "/plain.jpg");
  // APP1 "Exif\0\0", big-endian TIFF header, one IFD entry: Orientation (0x0112) SHORT 1 = 6.
  const std::string tiff = std::string("MM\x00\x2a\x00\x00\x00\x08", 8) + std::string("\x00\x01", 2) +
                           std::string("\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00", 12) +
                           std::string("\x00\x00\x00\x00", 4);
  const std::string payload = std::string("Exif\x00\x00", 6) + tiff;
  const size_t length = payload.size() + 2;
  const std::string app1 = std::string("\xff\xe1", 2) + char(length >> 8) + char(length & 0xff) + payload;
  write_bytes(dir + "/rotated.jpg", plain.substr(0, 2) + app1 + plain.substr(2));
  const Image stored = read_image(dir + "/plain.jpg");
  const Image rotated = read_image(dir + "/rotated.jpg");
  EXPECT_EQ(rotated.width, 8);
  EXPECT_EQ(rotated.height, 4);
  EXPECT_EQ(rotated.pixels, stored.pixels);
}

// A PNG header declaring 100000x100000 is refused from the header, before
// the 30 GB pixel buffer would be allocated.
TEST(ImageFile, RejectsAHeaderDeclaringAHugePictureBeforeAllocating) {
  const std::string path = testing::temp_dir() + "/huge.png";
  std::string png = read_file(test_data("vision/png_rgb8.png"));
  auto put32 = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) png[at + size_t(i)] = char((v >> (24 - 8 * i)) & 0xff);
  };
  put32(16, 100000);
  put32(20, 100000);
  // IHDR's CRC over type + data (bytes 12..28), so libpng reads the header.
  uint32_t crc = 0xffffffffu;
  for (size_t i = 12; i < 29; ++i) {
    crc ^= uint8_t(png[i]);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  put32(29, ~crc);
  write_bytes(path, png);
  expect_error_mentioning([&] { read_image(path); }, "declares 100000x100000 pixels, more than the");
  expect_error_mentioning([&] { read_label_png(path); }, "16384x16384");
}

}  // namespace
}  // namespace dinoclip
