#include "tasks/label_spec.h"

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "io/regular_file.h"

namespace dinoclip {
namespace {

constexpr const char* kWhitespace = " \t\r\n\f\v";

std::string trim(const std::string& text) {
  const size_t first = text.find_first_not_of(kWhitespace);
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(kWhitespace) - first + 1);
}

// Split on `separator`, trimming each entry; empty entries are refused with
// `what` ("label", "template") and the 1-based position in the message.
std::vector<std::string> split_entries(const std::string& text, char separator, const std::string& what) {
  if (trim(text).empty()) {
    throw Error("no " + what + "s given: the text is empty (write them separated by '" + std::string(1, separator) +
                "')");
  }
  std::vector<std::string> entries;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(separator, start);
    std::string entry = trim(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (entry.empty()) {
      throw Error(what + " " + std::to_string(entries.size() + 1) + " of \"" + text +
                  "\" is empty: remove the extra '" + std::string(1, separator) + "'");
    }
    entries.push_back(std::move(entry));
    if (end == std::string::npos) return entries;
    start = end + 1;
  }
}

}  // namespace

std::vector<std::string> parse_labels(const std::string& text) { return split_entries(text, kLabelSeparator, "label"); }

std::vector<std::string> read_labels_file(const std::string& path) {
  require_regular_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open the labels file (one label per line)");
  std::vector<std::string> labels;
  std::string line;
  while (std::getline(in, line)) {
    std::string label = trim(line);
    if (label.empty() || label[0] == '#') continue;
    labels.push_back(std::move(label));
  }
  if (in.bad()) throw Error(path + ": read error in the labels file");
  if (labels.empty()) throw Error(path + ": the labels file holds no label (one per line; '#' starts a comment)");
  return labels;
}

std::vector<std::string> parse_templates(const std::string& text) {
  std::vector<std::string> templates = split_entries(text, kTemplateSeparator, "template");
  for (const std::string& t : templates) {
    if (t.find("{}") == std::string::npos) {
      throw Error("prompt template \"" + t + "\" has no \"{}\" where the label goes (e.g. \"a photo of {}.\")");
    }
  }
  return templates;
}

}  // namespace dinoclip
