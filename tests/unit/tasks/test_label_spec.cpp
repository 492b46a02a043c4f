// Labels and templates as a user types them into clipzeroshot.
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "tasks/label_spec.h"
#include "fifo_support.h"
#include "test_support.h"

using dinoclip::Error;
using dinoclip::parse_labels;
using dinoclip::parse_templates;
using dinoclip::read_labels_file;
using dinoclip::testing::message_of;
using dinoclip::testing::temp_dir;
using Labels = std::vector<std::string>;

TEST(ParseLabels, SplitsOnSemicolonsAndTrims) {
  EXPECT_EQ(parse_labels("a person; a cat ;food"), (Labels{"a person", "a cat", "food"}));
  EXPECT_EQ(parse_labels("  one label\t"), Labels{"one label"});
}

TEST(ParseLabels, KeepsUnicodeAndInnerSpacesAsTyped) {
  EXPECT_EQ(parse_labels("café au lait;中文 ;😀  smile"), (Labels{"café au lait", "中文", "😀  smile"}));
}

TEST(ParseLabels, RejectsEmptyEntriesNamingThePosition) {
  EXPECT_THROW(parse_labels(""), Error);
  EXPECT_THROW(parse_labels("  \t"), Error);
  EXPECT_THROW(parse_labels("a;b;"), Error);
  EXPECT_THROW(parse_labels(";a"), Error);
  const std::string message = message_of([] { parse_labels("a person;; a cat"); });
  EXPECT_NE(message.find("label 2"), std::string::npos) << message;
  EXPECT_NE(message.find("empty"), std::string::npos) << message;
}

TEST(ReadLabelsFile, OneLabelPerLineSkippingBlanksAndComments) {
  const std::string path = temp_dir() + "/labels.txt";
  std::ofstream(path) << "# animals\na cat\r\n\n  a dog  \n#a bird\nan empty room";  // no final newline
  EXPECT_EQ(read_labels_file(path), (Labels{"a cat", "a dog", "an empty room"}));
}

TEST(ReadLabelsFile, RejectsMissingOrEmptyFiles) {
  const std::string missing = temp_dir() + "/missing.txt";
  EXPECT_NE(message_of([&] { read_labels_file(missing); }).find(missing), std::string::npos);
  const std::string only_comments = temp_dir() + "/comments.txt";
  std::ofstream(only_comments) << "# nothing here\n\n   \n";
  EXPECT_NE(message_of([&] { read_labels_file(only_comments); }).find("no label"), std::string::npos);
}

TEST(ReadLabelsFile, RejectsDirectoryAndFifoWithoutBlocking) {
  EXPECT_NE(message_of([] { read_labels_file(temp_dir()); }).find("is a directory"), std::string::npos);
  EXPECT_NE(
      dinoclip::testing::message_for_fifo([](const std::string& fifo) { read_labels_file(fifo); }).find("is a FIFO"),
      std::string::npos);
}

TEST(ParseTemplates, SplitsOnBarsAndRequiresPlaceholder) {
  EXPECT_EQ(parse_templates("a photo of {}."), Labels{"a photo of {}."});
  EXPECT_EQ(parse_templates("a photo of {}. | a drawing of {}."), (Labels{"a photo of {}.", "a drawing of {}."}));
}

TEST(ParseTemplates, RejectsTemplatesWithoutPlaceholderOrEmpty) {
  EXPECT_NE(message_of([] { parse_templates("a photo of {}.|a drawing"); }).find("\"a drawing\""), std::string::npos);
  EXPECT_THROW(parse_templates(""), Error);
  EXPECT_THROW(parse_templates("{}||{}"), Error);
}
