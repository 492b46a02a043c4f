// The label and prompt-template lists a user types into clipzeroshot
// (labels="a person;a cat", template="a photo of {}.|a drawing of {}.") or
// keeps in a labels file, checked once so that a typo is an error that names
// the entry, not a silently odd classifier.
#pragma once

#include <string>
#include <vector>

namespace dinoclip {

inline constexpr char kLabelSeparator = ';';
inline constexpr char kTemplateSeparator = '|';

// "a person; a cat ;food" -> {"a person", "a cat", "food"}: split on ';', each
// entry trimmed of ASCII whitespace. Throws dinoclip::Error when the text is
// blank or an entry is empty ("a;;b", "a;b;"), naming its position.
std::vector<std::string> parse_labels(const std::string& text);

// One label per line (UTF-8, trimmed); blank lines and lines starting with
// '#' are skipped. Throws dinoclip::Error when the file cannot be read or
// holds no label.
std::vector<std::string> read_labels_file(const std::string& path);

// "a photo of {}.|a drawing of {}." -> two templates (trimmed). Every template
// must contain "{}" (where the label goes). Throws dinoclip::Error on a blank
// text, an empty entry or a template without "{}".
std::vector<std::string> parse_templates(const std::string& text);

}  // namespace dinoclip
