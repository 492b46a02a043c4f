#include "davis_layout.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <vector>

#include "core/error.h"
#include "io/frame_pattern.h"

namespace dinoclip::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kLayout =
    "expected the DAVIS 2017 layout ROOT/JPEGImages/480p/NAME/00000.jpg and ROOT/Annotations/480p/NAME/00000.png "
    "(see docs/davis.md)";

// DAVIS numbers files as 00000.jpg / 00000.png.
std::string frame_name(int index, const char* extension) {
  return FramePattern::parse(std::string("%05d.") + extension).path(index);
}

// Frame numbers of the files named NNNNN.<extension> in `dir`.
std::set<int> numbered_files(const std::string& dir, const std::string& extension) {
  std::set<int> numbers;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.size() != 6 + extension.size() || name.substr(5) != "." + extension) continue;
    if (!std::all_of(name.begin(), name.begin() + 5, [](char c) { return c >= '0' && c <= '9'; })) continue;
    numbers.insert(std::stoi(name.substr(0, 5)));
  }
  return numbers;
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

  const std::set<int> frames = numbered_files(sequence.frames_dir_, "jpg");
  if (!frames.count(0)) {
    throw Error(sequence.frame_path(0) + ": missing; frames are numbered from 00000.jpg (" + kLayout + ")");
  }
  int count = 0;
  while (frames.count(count)) ++count;
  if (count != int(frames.size())) {
    throw Error(sequence.frame_path(count) + ": missing, but later frames exist (" + std::to_string(frames.size()) +
                " frames in " + sequence.frames_dir_ + "): frames must be numbered without gaps");
  }
  const std::set<int> masks = numbered_files(sequence.annotations_dir_, "png");
  for (int i = 0; i < count; ++i) {
    if (!masks.count(i)) {
      throw Error(sequence.annotation_path(i) + ": missing; every frame needs its annotation to measure IoU (" +
                  std::to_string(masks.size()) + " of " + std::to_string(count) + " present)");
    }
  }
  sequence.frame_count_ = count;
  return sequence;
}

}  // namespace dinoclip::cli
