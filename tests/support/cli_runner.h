// Running the `dinoclip` command-line tool from a test, as a user would:
// the binary named by $DINOCLIP_CLI (meson sets it), else `dinoclip` on PATH.
#pragma once

#include <string>

namespace dinoclip::testing {

struct CliRun {
  int status;          // exit status, -1 if it could not run or was killed
  std::string output;  // stdout + stderr
};

// `arguments` is appended to the command line as it is (quote paths yourself).
CliRun dinoclip_cli(const std::string& arguments);

}  // namespace dinoclip::testing
