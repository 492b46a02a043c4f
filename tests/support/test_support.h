// Helpers shared by the unit tests: fixture lookup and tensor comparison.
#pragma once

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>

namespace dinoclip::testing {

// Folder with the shared reference fixtures: $DINOCLIP_FIXTURES, else ../shared/fixtures.
std::string fixtures_root();

// Full path of a fixture file, or "" when it is missing. When missing, the
// caller must skip (see DINOCLIP_REQUIRE_FIXTURE), except under CI=true, where
// a missing fixture is a failure.
std::string fixture_path(const std::string& relative);

// fixtures_root()/relative, unchecked: for companions of a fixture that a
// test already required (a missing one then fails with the reader's error).
std::string fixture_file(const std::string& relative);

// The repository's tests/data/<relative> (committed goldens), found through
// $DINOCLIP_SOURCE_ROOT (set by meson test) or this file's source path.
std::string test_data(const std::string& relative);

// A scratch directory unique to the running test, removed at process exit.
std::string temp_dir();

// Max |a - b| over all elements (both converted to double).
double max_abs_diff(const at::Tensor& a, const at::Tensor& b);

bool running_in_ci();

// The message of the dinoclip::Error that f() throws, or "(no error)".
std::string message_of(const std::function<void()>& f);

}  // namespace dinoclip::testing

// Resolves a fixture into `var`; skips the test (or fails it under CI=true)
// with a message naming the missing file.
#define DINOCLIP_REQUIRE_FIXTURE(var, relative)                                               \
  std::string var = ::dinoclip::testing::fixture_path(relative);                              \
  if (var.empty()) {                                                                          \
    if (::dinoclip::testing::running_in_ci()) {                                               \
      FAIL() << "fixture missing under CI=true: " << ::dinoclip::testing::fixtures_root()    \
             << "/" << (relative);                                                            \
    } else {                                                                                  \
      GTEST_SKIP() << "fixture missing: " << ::dinoclip::testing::fixtures_root() << "/"     \
                   << (relative) << " (set DINOCLIP_FIXTURES to the shared fixtures folder)"; \
    }                                                                                         \
  }

// Expects max|actual - expected| <= tol, printing the worst difference.
#define EXPECT_TENSOR_NEAR(actual, expected, tol)                                          \
  do {                                                                                     \
    at::Tensor _a = (actual);                                                              \
    at::Tensor _e = (expected);                                                            \
    ASSERT_EQ(_a.sizes(), _e.sizes());                                                     \
    double _d = ::dinoclip::testing::max_abs_diff(_a, _e);                                 \
    EXPECT_LE(_d, (tol)) << "max |" #actual " - " #expected "| = " << _d;                  \
  } while (0)
