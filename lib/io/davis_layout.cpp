#include "io/davis_layout.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "core/error.h"
#include "io/frame_pattern.h"

namespace dinoclip {
namespace {

namespace fs = std::filesystem;

constexpr const char* kLayout =
    "expected the DAVIS 2017 layout ROOT/JPEGImages/480p/NAME/00000.jpg and ROOT/Annotations/480p/NAME/00000.png "
    "(see docs/davis.md)";
constexpr size_t kDigits = 5;  // DAVIS numbers files as 00000.jpg / 00000.png

std::string frame_name(int index, const char* extension) {
  return FramePattern::parse(std::string("%05d.") + extension).path(index);
}

// A few sequence names found under `dir`, to suggest when NAME is not there.
std::string some_sequences(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  }
  if (names.empty()) return "it holds no sequence folder";
  std::sort(names.begin(), names.end());
  std::string text = "it holds " + std::to_string(names.size()) + " sequence(s): ";
  for (size_t i = 0; i < names.size() && i < 8; ++i) text += (i ? ", " : "") + names[i];
  return text + (names.size() > 8 ? ", ..." : "");
}

void require_dir(const std::string& dir, const std::string& what) {
  if (!fs::is_directory(dir)) throw Error(dir + ": no such folder (" + what + "); " + kLayout);
}

}  // namespace

std::map<int, std::string> davis_numbered_files(const std::string& dir, const std::string& extension) {
  std::map<int, std::string> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() != kDigits + 1 + extension.size() || name.compare(kDigits, std::string::npos, "." + extension)) {
      continue;
    }
    if (!std::all_of(name.begin(), name.begin() + kDigits, [](char c) { return c >= '0' && c <= '9'; })) continue;
    files[std::stoi(name.substr(0, kDigits))] = entry.path().string();
  }
  return files;
}

DavisSequence::DavisSequence(const std::string& root, const std::string& name)
    : name_(name),
      frames_dir_(root + "/JPEGImages/480p/" + name),
      annotations_dir_(root + "/Annotations/480p/" + name) {}

std::string DavisSequence::frame_path(int index) const { return frames_dir_ + "/" + frame_name(index, "jpg"); }

std::string DavisSequence::annotation_path(int index) const {
  return annotations_dir_ + "/" + frame_name(index, "png");
}

DavisSequence DavisSequence::open(const std::string& root, const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos) {
    throw Error("--sequence '" + name + "': give a sequence folder name such as 'bear', not a path");
  }
  require_dir(root, "the --root folder");
  require_dir(root + "/JPEGImages/480p", "the frames of all sequences");
  require_dir(root + "/Annotations/480p", "the masks of all sequences");
  DavisSequence sequence(root, name);
  if (!fs::is_directory(sequence.frames_dir_)) {
    throw Error(sequence.frames_dir_ + ": no such sequence folder; " + some_sequences(root + "/JPEGImages/480p"));
  }
  require_dir(sequence.annotations_dir_, "the masks of sequence " + name);

  const std::map<int, std::string> frames = sequence.frame_files();
  if (!frames.count(0)) {
    throw Error(sequence.frame_path(0) + ": missing; frames are numbered from 00000.jpg (" + kLayout + ")");
  }
  int count = 0;
  while (frames.count(count)) ++count;
  if (count != int(frames.size())) {
    throw Error(sequence.frame_path(count) + ": missing, but later frames exist (" + std::to_string(frames.size()) +
                " frames in " + sequence.frames_dir_ + "): frames must be numbered without gaps");
  }
  const std::map<int, std::string> masks = sequence.annotation_files();
  for (int i = 0; i < count; ++i) {
    if (!masks.count(i)) {
      throw Error(sequence.annotation_path(i) + ": missing; every frame needs its annotation to measure IoU (" +
                  std::to_string(masks.size()) + " of " + std::to_string(count) + " present)");
    }
  }
  sequence.frame_count_ = count;
  return sequence;
}

}  // namespace dinoclip
