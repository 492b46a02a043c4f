#include "test_support.h"

#include "core/error.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace dinoclip::testing {

std::string fixtures_root() {
  if (const char* env = std::getenv("DINOCLIP_FIXTURES"); env && *env) return env;
  return "../shared/fixtures";
}

std::string fixture_path(const std::string& relative) {
  std::string path = fixtures_root() + "/" + relative;
  return std::filesystem::exists(path) ? path : std::string();
}

std::string fixture_file(const std::string& relative) { return fixtures_root() + "/" + relative; }

std::string test_data(const std::string& relative) {
  std::filesystem::path root;
  if (const char* env = std::getenv("DINOCLIP_SOURCE_ROOT"); env && *env) {
    root = env;
  } else {
    root = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
  }
  return (root / "tests" / "data" / relative).string();
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

namespace {
struct TempRoot {
  std::filesystem::path path;
  TempRoot() {
    path = std::filesystem::temp_directory_path() / ("dinoclip-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
  }
  ~TempRoot() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};
}  // namespace

std::string temp_dir() {
  static TempRoot root;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "global";
  auto dir = root.path / name;
  std::filesystem::create_directories(dir);
  return dir.string();
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  if (a.numel() == 0) return 0.0;
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

}  // namespace dinoclip::testing
