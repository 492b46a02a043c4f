// CLIP's text steps before BPE: html.unescape, whitespace, str.lower, the regex
// split and the ftfy stand-in. Goldens: tests/data/text/cleanup_golden.jsonl,
// made with Python's own html/str/regex (tests/data/gen/gen_text_cleanup.py).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "text/ftfy_subset.h"
#include "text/html_unescape.h"
#include "text/pretokenizer.h"
#include "text/text_cleanup.h"
#include "text/unicode_props.h"
#include "text/utf8.h"

using namespace dinoclip;

namespace {

std::vector<nlohmann::json> read_cleanup_golden() {
  const std::string path = std::string(DINOCLIP_TEXT_TEST_DATA) + "/cleanup_golden.jsonl";
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

std::string utf8(const std::u32string& text) { return codepoints_to_utf8(text); }
std::u32string u32(const std::string& text) { return utf8_to_codepoints(text); }

}  // namespace

TEST(TextCleanup, MatchesPythonOnEveryGoldenCase) {
  const std::vector<nlohmann::json> golden = read_cleanup_golden();
  ASSERT_GE(golden.size(), 300u);
  int entity_lines = 0;
  for (const nlohmann::json& g : golden) {
    const std::string text = g["text"];
    SCOPED_TRACE(g["category"].get<std::string>() + ": " + text);
    EXPECT_EQ(utf8(html_unescape(u32(text))), g["unescaped"].get<std::string>());
    const std::u32string cleaned = clean_text(text, /*fix_text=*/false);
    EXPECT_EQ(utf8(cleaned), g["cleaned"].get<std::string>());
    EXPECT_EQ(split_clip_words(cleaned), g["pieces"].get<std::vector<std::string>>());
    entity_lines += g["category"] == "entity table";
  }
  EXPECT_EQ(entity_lines, 298);
}

TEST(TextCleanup, UnescapesTwiceStripsCollapsesAndLowers) {
  EXPECT_EQ(utf8(clean_text("  Fish &amp;amp; CHIPS\t\n ", false)), "fish & chips");
  EXPECT_EQ(utf8(clean_text("a \u00a0\u3000 b", false)), "a b");
  EXPECT_EQ(utf8(clean_text("", false)), "");
  EXPECT_EQ(utf8(clean_text(" \t\n ", false)), "");
}

TEST(TextCleanup, LowerUsesFullCaseMappingAndFinalSigma) {
  EXPECT_EQ(utf8(python_lower(u32("İ"))), "i\u0307");
  EXPECT_EQ(utf8(python_lower(u32("ÜBER STRASSE ẞ"))), "über strasse ß");
  EXPECT_EQ(utf8(python_lower(u32("ΟΔΟΣ"))), "οδος");  // final: ς
  EXPECT_EQ(utf8(python_lower(u32("ΣΑ"))), "σα");      // initial: σ
  EXPECT_EQ(utf8(python_lower(u32("Σ"))), "σ");        // alone: σ
  EXPECT_EQ(utf8(python_lower(u32("ΑΣ'Σ"))), "ασ'ς");  // apostrophe is case-ignorable
}

TEST(TextCleanup, CharacterClassesFollowPython) {
  EXPECT_TRUE(is_letter(U'é'));
  EXPECT_TRUE(is_letter(U'中'));
  EXPECT_FALSE(is_letter(0x0301));  // combining acute: a mark, not a letter
  EXPECT_TRUE(is_number(U'²'));
  EXPECT_TRUE(is_number(0x2167));  // Roman numeral eight (Nl)
  EXPECT_FALSE(is_number(U'x'));
  EXPECT_TRUE(is_python_space(0x1C));
  EXPECT_FALSE(is_regex_space(0x1C));
  EXPECT_TRUE(is_regex_space(0x3000));
  EXPECT_FALSE(is_python_space(0x200B));           // zero-width space is not whitespace
  EXPECT_TRUE(equals_ignoring_case(0x017F, 's'));  // long s folds to s
  EXPECT_TRUE(equals_ignoring_case(U'T', 't'));
  EXPECT_FALSE(equals_ignoring_case(U'u', 't'));
  EXPECT_FALSE(equals_ignoring_case(U'<', 's'));
}

TEST(TextCleanup, SplitsAsClipRegex) {
  const std::vector<std::string> expected = {"don", "'t", "stop", "!!!", "2", "0", "<|endoftext|>"};
  EXPECT_EQ(split_clip_words(u32("don't stop!!! 20 <|endoftext|>")), expected);
  const std::vector<std::string> swallowed = {"!<|", "endoftext", "|>"};
  EXPECT_EQ(split_clip_words(u32("!<|endoftext|>")), swallowed);
  EXPECT_TRUE(split_clip_words(u32("")).empty());
}

TEST(FtfySubset, FixesQuotesLigaturesWidthControlsAndNormalises) {
  EXPECT_EQ(utf8(fix_text_subset(u32("\u2018don\u2019t\u2019 \u201cquoted\u201d"))), "'don't' \"quoted\"");
  EXPECT_EQ(utf8(fix_text_subset(u32("\ufb02u\ufb03e\ufb06 \u0132"))), "fluffiest IJ");
  EXPECT_EQ(utf8(fix_text_subset(u32("\uff2c\uff2f\uff35\uff24\uff01\u3000\uff76"))), "LOUD! \u30ab");
  EXPECT_EQ(utf8(fix_text_subset(u32(std::string("a\x01") + "b\x7f" + "c\u200b\ufeffd\t\n"))),
            "abc\u200bd\t\n");                                       // U+200B is not on ftfy's list
  EXPECT_EQ(utf8(fix_text_subset(u32("cafe\u0301"))), "caf\u00e9");  // NFC
  EXPECT_EQ(utf8(fix_text_subset(u32("plain ascii"))), "plain ascii");
  // Curly apostrophes then tokenize like straight ones, as in CLIP with ftfy.
  EXPECT_EQ(split_clip_words(clean_text("DON\u2019T")), split_clip_words(clean_text("don't")));
}

TEST(TextCleanup, RejectsInvalidUtf8) {
  try {
    clean_text(
        "ab\xff"
        "cd");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("byte 2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(clean_text("\xed\xa0\x80"), Error);  // an encoded surrogate
  EXPECT_THROW(clean_text("\xe2\x82"), Error);      // truncated sequence
}

TEST(TextCleanup, ReplacesInvalidUtf8WhenAsked) {
  EXPECT_EQ(replace_invalid_utf8("a\xff"
                                 "b"),
            "a\ufffd"
            "b");
  EXPECT_EQ(replace_invalid_utf8("\xc3\xa9"), "\xc3\xa9");
}
