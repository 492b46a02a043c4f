#include "text/vocab_path.h"

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "core/error.h"

namespace dinoclip {
namespace {

constexpr const char* kWhereToGetIt =
    "Get it from CLIP's repository (clip/bpe_simple_vocab_16e6.txt.gz, "
    "https://github.com/openai/CLIP/raw/main/clip/bpe_simple_vocab_16e6.txt.gz; models/download.sh does it, "
    "models/README.md explains)";

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

bool is_file(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

std::string require_file(const std::string& path, const std::string& origin) {
  if (is_file(path)) return path;
  const char* problem = std::filesystem::exists(path) ? "is not a regular file" : "does not exist";
  throw Error("CLIP BPE vocabulary " + path + " (" + origin + ") " + problem + ". " + kWhereToGetIt +
              " and pass its path.");
}

std::vector<std::string> search_dirs() {
  std::vector<std::string> dirs;
  if (std::string d = env("DINOCLIP_MODELS_DIR"); !d.empty()) dirs.push_back(d);
  if (std::string home = env("HOME"); !home.empty()) dirs.push_back(home + "/.cache/dinoclip");
  dirs.push_back("/usr/share/dinoclip/models");
  return dirs;
}

}  // namespace

std::string find_vocab_file(const std::string& explicit_path) {
  if (!explicit_path.empty()) return require_file(explicit_path, "given explicitly");
  if (std::string path = env("DINOCLIP_VOCAB"); !path.empty()) return require_file(path, "from $DINOCLIP_VOCAB");
  std::string searched;
  for (const std::string& dir : search_dirs()) {
    const std::string candidate = dir + "/" + kClipVocabFileName;
    if (is_file(candidate)) return candidate;
    searched += "\n  " + candidate;
  }
  throw Error(std::string("CLIP BPE vocabulary ") + kClipVocabFileName +
              " not found. Searched ($DINOCLIP_VOCAB unset, then $DINOCLIP_MODELS_DIR, ~/.cache/dinoclip, "
              "/usr/share/dinoclip/models):" +
              searched + "\n" + kWhereToGetIt +
              ", then put it in one of those folders, set $DINOCLIP_VOCAB or pass its path.");
}

}  // namespace dinoclip
