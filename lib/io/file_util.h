// Small file helpers shared by the readers and writers.
#pragma once

#include <string>

namespace dinoclip {

// Whole file as bytes; throws dinoclip::Error naming the path and the reason.
std::string read_file(const std::string& path);

// Writes to "<path>.tmp-<pid>" and renames over `path`, so readers never see a
// torn file and an interrupted write leaves the old one intact.
void write_file_atomically(const std::string& path, const std::string& bytes);

bool file_exists(const std::string& path);

}  // namespace dinoclip
