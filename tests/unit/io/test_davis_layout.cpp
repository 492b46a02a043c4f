// The DAVIS 2017 layout on disk (lib/io/davis_layout): paths and patterns,
// which names count as numbered frames, and open()'s errors, each naming the
// missing folder or file. Empty files stand in for pictures: nothing here
// decodes an image.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "io/davis_layout.h"
#include "test_support.h"

using namespace dinoclip;
using dinoclip::testing::message_of;
namespace fs = std::filesystem;

namespace {

void touch(const std::string& path) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << "";
}

// ROOT/{JPEGImages,Annotations}/480p/NAME with `frames` numbered files each.
std::string make_layout(const std::string& name, int frames) {
  const std::string root = dinoclip::testing::temp_dir() + "/davis";
  const DavisSequence sequence(root, name);
  for (int i = 0; i < frames; ++i) {
    touch(sequence.frame_path(i));
    touch(sequence.annotation_path(i));
  }
  return root;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(DavisLayout, PathsAndPatternsFollowTheDatasetLayout) {
  const DavisSequence sequence("/data/DAVIS", "bear");
  EXPECT_EQ(sequence.frames_dir(), "/data/DAVIS/JPEGImages/480p/bear");
  EXPECT_EQ(sequence.annotations_dir(), "/data/DAVIS/Annotations/480p/bear");
  EXPECT_EQ(sequence.frame_path(7), "/data/DAVIS/JPEGImages/480p/bear/00007.jpg");
  EXPECT_EQ(sequence.annotation_path(12345), "/data/DAVIS/Annotations/480p/bear/12345.png");
  EXPECT_EQ(sequence.frame_pattern(), "/data/DAVIS/JPEGImages/480p/bear/%05d.jpg");
  EXPECT_EQ(sequence.annotation_pattern(), "/data/DAVIS/Annotations/480p/bear/%05d.png");
  EXPECT_EQ(sequence.frame_count(), 0);  // nothing counted without open()
}

TEST(DavisLayout, NumberedFilesAreFiveDigitsAndTheExtension) {
  const std::string dir = dinoclip::testing::temp_dir() + "/numbered";
  for (const char* name : {"00000.jpg", "00002.jpg", "00001.png", "0003.jpg", "000004.jpg", "0000a.jpg", "00005.jpeg",
                           "00006.jpg.bak", "x00007.jpg"}) {
    touch(dir + "/" + name);
  }
  const std::map<int, std::string> jpg = davis_numbered_files(dir, "jpg");
  ASSERT_EQ(jpg.size(), 2u);
  EXPECT_EQ(jpg.at(0), dir + "/00000.jpg");
  EXPECT_EQ(jpg.at(2), dir + "/00002.jpg");
  const std::map<int, std::string> png = davis_numbered_files(dir, "png");
  ASSERT_EQ(png.size(), 1u);
  EXPECT_EQ(png.at(1), dir + "/00001.png");
  EXPECT_TRUE(davis_numbered_files(dir + "/nowhere", "jpg").empty());
}

TEST(DavisLayout, OpenCountsTheFramesOfACompleteSequence) {
  const std::string root = make_layout("synthetic", 4);
  const DavisSequence sequence = DavisSequence::open(root, "synthetic");
  EXPECT_EQ(sequence.name(), "synthetic");
  EXPECT_EQ(sequence.frame_count(), 4);
  EXPECT_EQ(sequence.frame_files().size(), 4u);
  EXPECT_EQ(sequence.annotation_files().size(), 4u);
}

TEST(DavisLayout, OpenRejectsAPathAsTheSequenceName) {
  const std::string root = make_layout("synthetic", 1);
  EXPECT_TRUE(contains(message_of([&] { DavisSequence::open(root, "a/b"); }), "not a path"));
  EXPECT_TRUE(contains(message_of([&] { DavisSequence::open(root, ""); }), "not a path"));
}

TEST(DavisLayout, OpenRejectsAMissingRootNamingTheLayout) {
  const std::string root = dinoclip::testing::temp_dir() + "/nowhere";
  const std::string message = message_of([&] { DavisSequence::open(root, "bear"); });
  EXPECT_TRUE(contains(message, root + ": no such folder (the --root folder)")) << message;
  EXPECT_TRUE(contains(message, "JPEGImages/480p/NAME/00000.jpg")) << message;
}

TEST(DavisLayout, OpenRejectsAnUnknownSequenceListingTheOnesThere) {
  const std::string root = make_layout("synthetic", 1);
  const std::string message = message_of([&] { DavisSequence::open(root, "bear"); });
  EXPECT_TRUE(contains(message, "JPEGImages/480p/bear: no such sequence folder")) << message;
  EXPECT_TRUE(contains(message, "1 sequence(s): synthetic")) << message;
}

TEST(DavisLayout, OpenRejectsAGapInTheFrames) {
  const std::string root = make_layout("synthetic", 3);
  fs::remove(DavisSequence(root, "synthetic").frame_path(1));
  const std::string message = message_of([&] { DavisSequence::open(root, "synthetic"); });
  EXPECT_TRUE(contains(message, "synthetic/00001.jpg: missing, but later frames exist (2 frames in ")) << message;
}

TEST(DavisLayout, OpenRejectsAFirstFrameThatIsNotZero) {
  const std::string root = make_layout("synthetic", 2);
  fs::remove(DavisSequence(root, "synthetic").frame_path(0));
  const std::string message = message_of([&] { DavisSequence::open(root, "synthetic"); });
  EXPECT_TRUE(contains(message, "synthetic/00000.jpg: missing; frames are numbered from 00000.jpg")) << message;
}

TEST(DavisLayout, OpenRejectsAFrameWithoutItsAnnotation) {
  const std::string root = make_layout("synthetic", 3);
  fs::remove(DavisSequence(root, "synthetic").annotation_path(2));
  const std::string message = message_of([&] { DavisSequence::open(root, "synthetic"); });
  EXPECT_TRUE(contains(message, "Annotations/480p/synthetic/00002.png: missing")) << message;
  EXPECT_TRUE(contains(message, "(2 of 3 present)")) << message;
}

TEST(DavisLayout, OpenRejectsAMissingAnnotationsFolder) {
  const std::string root = make_layout("synthetic", 1);
  fs::remove_all(root + "/Annotations/480p/synthetic");
  const std::string message = message_of([&] { DavisSequence::open(root, "synthetic"); });
  EXPECT_TRUE(contains(message, "Annotations/480p/synthetic: no such folder (the masks of sequence synthetic)"))
      << message;
}

}  // namespace
