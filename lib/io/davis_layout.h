// The DAVIS 2017 folder layout, as the dataset's zip unpacks:
//   ROOT/JPEGImages/480p/NAME/00000.jpg, 00001.jpg, ...   the frames
//   ROOT/Annotations/480p/NAME/00000.png, ...             palette masks, one per frame
// `dinoclip davis` reads it and `dinoclip make-sequence` writes it. Paths and
// checks only: no image is decoded here.
#pragma once

#include <map>
#include <string>

namespace dinoclip {

// The files named NNNNN.<extension> (five digits, as DAVIS numbers them)
// directly in `dir`, by frame number; empty when `dir` does not exist.
std::map<int, std::string> davis_numbered_files(const std::string& dir, const std::string& extension);

class DavisSequence {
 public:
  // Paths only, nothing checked (make-sequence writes here).
  DavisSequence(const std::string& root, const std::string& name);

  // Checks the layout: the frame and annotation folders exist, frames are
  // numbered 00000.jpg.. without gaps, and every frame has its annotation.
  // Throws dinoclip::Error naming the missing folder or file and the layout
  // expected.
  static DavisSequence open(const std::string& root, const std::string& name);

  const std::string& name() const { return name_; }
  const std::string& frames_dir() const { return frames_dir_; }
  const std::string& annotations_dir() const { return annotations_dir_; }
  int frame_count() const { return frame_count_; }  // 0 until open() counted them

  // multifilesrc / dinoseg ground-truth patterns: ".../%05d.jpg", ".../%05d.png".
  std::string frame_pattern() const { return frames_dir_ + "/%05d.jpg"; }
  std::string annotation_pattern() const { return annotations_dir_ + "/%05d.png"; }
  std::string frame_path(int index) const;
  std::string annotation_path(int index) const;

  // The numbered frames (NNNNN.jpg) and masks (NNNNN.png) already there.
  std::map<int, std::string> frame_files() const { return davis_numbered_files(frames_dir_, "jpg"); }
  std::map<int, std::string> annotation_files() const { return davis_numbered_files(annotations_dir_, "png"); }

 private:
  std::string name_, frames_dir_, annotations_dir_;
  int frame_count_ = 0;
};

}  // namespace dinoclip
