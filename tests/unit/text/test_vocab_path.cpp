// find_vocab_file(): explicit path, $DINOCLIP_VOCAB, then the search folders.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "test_support.h"
#include "text/vocab_path.h"

using dinoclip::Error;
using dinoclip::find_vocab_file;

namespace {

// Sets environment variables for one test and restores them after.
class ScopedEnv {
 public:
  void set(const char* name, const std::string& value) {
    remember(name);
    ::setenv(name, value.c_str(), 1);
  }
  void unset(const char* name) {
    remember(name);
    ::unsetenv(name);
  }
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_) {
      if (value.second)
        ::setenv(name.c_str(), value.first.c_str(), 1);
      else
        ::unsetenv(name.c_str());
    }
  }

 private:
  void remember(const char* name) {
    if (saved_.count(name)) return;
    const char* old = std::getenv(name);
    saved_[name] = {old ? old : "", old != nullptr};
  }
  std::map<std::string, std::pair<std::string, bool>> saved_;
};

std::string make_vocab_in(const std::string& dir) {
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/" + dinoclip::kClipVocabFileName;
  std::ofstream(path) << "x";
  return path;
}

std::string error_of(const std::string& explicit_path) {
  try {
    find_vocab_file(explicit_path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(VocabPath, ExplicitPathWinsOverEverything) {
  ScopedEnv env;
  const std::string dir = dinoclip::testing::temp_dir();
  const std::string file = make_vocab_in(dir + "/explicit");
  env.set("DINOCLIP_VOCAB", make_vocab_in(dir + "/env"));
  EXPECT_EQ(find_vocab_file(file), file);
}

TEST(VocabPath, RejectsMissingExplicitPathWithoutFallback) {
  ScopedEnv env;
  const std::string dir = dinoclip::testing::temp_dir();
  env.set("DINOCLIP_VOCAB", make_vocab_in(dir + "/env"));
  const std::string missing = dir + "/typo.txt.gz";
  const std::string message = error_of(missing);
  EXPECT_NE(message.find(missing), std::string::npos) << message;
  EXPECT_NE(message.find("does not exist"), std::string::npos) << message;
  EXPECT_NE(error_of(dir).find("is not a regular file"), std::string::npos);  // a folder
}

TEST(VocabPath, UsesEnvironmentVariableThenSearchFolders) {
  ScopedEnv env;
  const std::string dir = dinoclip::testing::temp_dir();
  const std::string from_env = make_vocab_in(dir + "/env");
  env.set("DINOCLIP_VOCAB", from_env);
  EXPECT_EQ(find_vocab_file(), from_env);

  env.unset("DINOCLIP_VOCAB");
  const std::string in_models = make_vocab_in(dir + "/models");
  const std::string in_cache = make_vocab_in(dir + "/home/.cache/dinoclip");
  env.set("DINOCLIP_MODELS_DIR", dir + "/models");
  env.set("HOME", dir + "/home");
  EXPECT_EQ(find_vocab_file(), in_models);
  env.set("DINOCLIP_MODELS_DIR", dir + "/empty");
  EXPECT_EQ(find_vocab_file(), in_cache);
}

TEST(VocabPath, RejectsBadEnvironmentVariable) {
  ScopedEnv env;
  env.set("DINOCLIP_VOCAB", "/nonexistent/vocab.txt.gz");
  const std::string message = error_of("");
  EXPECT_NE(message.find("/nonexistent/vocab.txt.gz"), std::string::npos) << message;
  EXPECT_NE(message.find("$DINOCLIP_VOCAB"), std::string::npos) << message;
}

TEST(VocabPath, RejectsWhenNothingFoundListingPlacesSearched) {
  if (std::filesystem::exists(std::string("/usr/share/dinoclip/models/") + dinoclip::kClipVocabFileName)) {
    GTEST_SKIP() << "a system-wide vocabulary is installed";
  }
  ScopedEnv env;
  const std::string dir = dinoclip::testing::temp_dir();
  env.unset("DINOCLIP_VOCAB");
  env.set("DINOCLIP_MODELS_DIR", dir + "/models");
  env.set("HOME", dir + "/home");
  const std::string message = error_of("");
  EXPECT_NE(message.find(dir + "/models/bpe_simple_vocab_16e6.txt.gz"), std::string::npos) << message;
  EXPECT_NE(message.find(dir + "/home/.cache/dinoclip/bpe_simple_vocab_16e6.txt.gz"), std::string::npos);
  EXPECT_NE(message.find("/usr/share/dinoclip/models/bpe_simple_vocab_16e6.txt.gz"), std::string::npos);
  EXPECT_NE(message.find("clip/bpe_simple_vocab_16e6.txt.gz"), std::string::npos);  // where to get it
}
