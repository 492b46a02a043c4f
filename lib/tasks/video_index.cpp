#include "tasks/video_index.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/file_util.h"
#include "io/npy.h"
#include "io/regular_file.h"
#include "models/clip.h"
#include "tasks/retriever.h"
#include "tasks/similarity.h"

namespace dinoclip {
namespace fs = std::filesystem;
namespace {

constexpr const char* kFormat = "dinoclip-video-index";
constexpr int kVersion = 1;
constexpr const char* kManifest = "index.json";
constexpr const char* kLockFile = ".lock";
constexpr const char* kTemporaryMark = ".tmp-";  // write_file_atomically's temporary files
// Unit fingerprints of one model computed twice (other format, other thread
// count) agree to ~1e-6; different weights differ by far more than this.
constexpr float kFingerprintTolerance = 1e-3f;
// Stored rows are unit vectors; anything further off was not written by us.
constexpr double kUnitNormTolerance = 1e-3;

std::string embeddings_name(int64_t generation) { return "embeddings-" + std::to_string(generation) + ".npy"; }

// The generation G of "embeddings-G.npy", or -1 for any other name.
int64_t generation_of(const std::string& name) {
  const std::string prefix = "embeddings-", suffix = ".npy";
  if (name.size() <= prefix.size() + suffix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return -1;
  }
  const std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.empty() || digits.size() > 15 || digits.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoll(digits);
}

nlohmann::ordered_json model_to_json(const IndexModel& model) {
  return {{"name", model.name},
          {"weights", model.weights},
          {"embed_dim", model.embed_dim},
          {"fingerprint", model.fingerprint}};
}

IndexModel model_from_json(const nlohmann::json& j) {
  IndexModel model;
  model.name = j.at("name").get<std::string>();
  model.weights = j.at("weights").get<std::string>();
  model.embed_dim = j.at("embed_dim").get<int64_t>();
  model.fingerprint = j.at("fingerprint").get<std::vector<float>>();
  return model;
}

// Rows must be the manifest's count, the model's size, finite and unit length.
void check_embeddings(const at::Tensor& embeddings, int64_t rows, int64_t embed_dim, const std::string& path) {
  if (embeddings.scalar_type() != at::kFloat || embeddings.dim() != 2) {
    throw Error(path + ": expected a 2-D float32 array, got " + std::to_string(embeddings.dim()) + "-D " +
                std::string(c10::toString(embeddings.scalar_type())) + "; re-create the index with dinoclip index");
  }
  if (embeddings.size(0) != rows || embeddings.size(1) != embed_dim) {
    throw Error(path + ": holds " + std::to_string(embeddings.size(0)) + " x " + std::to_string(embeddings.size(1)) +
                " embeddings but index.json lists " + std::to_string(rows) + " frames of size " +
                std::to_string(embed_dim) + "; the two files do not belong together (re-create the index)");
  }
  if (rows == 0) return;
  // One reduction, no copy of the rows: a NaN or infinity makes its row's
  // norm non-finite, which fails the `<=` below too.
  const double worst = (embeddings.norm(2, 1) - 1).abs().max().item<double>();
  if (!(worst <= kUnitNormTolerance)) {
    throw Error(path + ": rows are not finite unit vectors; the file is damaged (re-create the index)");
  }
}

}  // namespace

void IndexModel::check_same_as(const IndexModel& other, const std::string& what) const {
  const std::string fix = " (an index holds one model's embeddings: use the model the index was made with, " + weights +
                          ", or a new index)";
  if (embed_dim != other.embed_dim) {
    throw Error(what + ": embeddings of size " + std::to_string(other.embed_dim) + " from " + other.name +
                " cannot join an index of size " + std::to_string(embed_dim) + " made by " + name + fix);
  }
  if (name != other.name) throw Error(what + ": model " + other.name + " differs from the index's " + name + fix);
  if (fingerprint.size() != other.fingerprint.size()) {
    throw Error(what + ": model fingerprints differ in size; the index was not made by " + other.weights + fix);
  }
  for (size_t i = 0; i < fingerprint.size(); ++i) {
    if (std::abs(fingerprint[i] - other.fingerprint[i]) > kFingerprintTolerance) {
      throw Error(what + ": the weights " + other.weights + " are not the ones that made the index (" + name +
                  " from " + weights + "): same architecture, different values" + fix);
    }
  }
}

IndexModel describe_index_model(const ClipModel& model, const std::string& weights_path) {
  c10::InferenceMode guard;
  const int r = model.config().image_resolution;
  // Zeros are the dataset-mean picture after CLIP's normalisation: a fixed
  // input whose embedding depends on the weights alone.
  const at::Tensor probe = at::zeros({1, 3, r, r}, at::TensorOptions().device(model.device()));
  const at::Tensor unit = l2_normalize_rows(model.encode_image(probe), "model fingerprint").cpu().contiguous();
  IndexModel described;
  described.name = model.describe();
  described.weights = weights_path;
  described.embed_dim = unit.size(1);
  described.fingerprint.assign(unit.data_ptr<float>(), unit.data_ptr<float>() + unit.numel());
  return described;
}

std::string index_weights_path(const std::string& path) {
  if (path.empty() || path.find("://") != std::string::npos) return path;
  return fs::absolute(path).lexically_normal().string();
}

std::string index_model_to_json(const IndexModel& model) { return model_to_json(model).dump(); }

IndexModel index_model_from_json(const std::string& text) {
  try {
    IndexModel model = model_from_json(nlohmann::json::parse(text));
    if (model.embed_dim <= 0) throw Error("embed_dim must be positive");
    return model;
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("not a model description (name, weights, embed_dim, fingerprint): ") + e.what());
  }
}

struct VideoIndex::State {
  IndexModel model;
  std::vector<IndexedVideo> videos;
  std::vector<IndexedFrame> frames;
  EmbeddingIndex index;
  int64_t generation = 0;  // of the embeddings file last loaded or saved
};

VideoIndex::VideoIndex(IndexModel model) : state_(std::make_unique<State>()) {
  if (model.embed_dim <= 0)
    throw Error("a video index needs the model's embedding size (got " + std::to_string(model.embed_dim) + ")");
  state_->model = std::move(model);
}

VideoIndex::VideoIndex(VideoIndex&&) noexcept = default;
VideoIndex& VideoIndex::operator=(VideoIndex&&) noexcept = default;
VideoIndex::~VideoIndex() = default;

bool VideoIndex::exists(const std::string& dir) { return file_exists(dir + "/" + kManifest); }

namespace {

// Timestamps beyond this (about 31 years of video) are hand edits or damage:
// refused at load rather than printed as nonsense later.
constexpr int64_t kMaxIndexTimeNs = int64_t(1000000000) * 1000000000;

int64_t manifest_time(const nlohmann::json& value, const std::string& manifest_path) {
  if (!value.is_number_integer() || (value.is_number_unsigned() && value.get<uint64_t>() > uint64_t(kMaxIndexTimeNs)) ||
      value.get<int64_t>() < 0 || value.get<int64_t>() > kMaxIndexTimeNs) {
    throw Error(manifest_path + ": a frame's timestamp " + value.dump() + " is not a time in nanoseconds between 0 "
                "and " + std::to_string(kMaxIndexTimeNs) + " (about 31 years); the index is damaged, re-create it");
  }
  return value.get<int64_t>();
}

}  // namespace

bool VideoIndex::can_index_into(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return true;
  if (!fs::is_directory(dir, ec)) return false;
  if (exists(dir)) return true;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const bool leftover =
        name == kLockFile || generation_of(name) >= 0 || name.find(kTemporaryMark) != std::string::npos;
    if (!leftover) return false;
  }
  return !ec;
}

VideoIndex VideoIndex::load(const std::string& dir) {
  const std::string manifest_path = dir + "/" + kManifest;
  if (!fs::is_directory(dir)) {
    throw Error(dir + ": no such index folder (make one with `dinoclip index VIDEO... --out " + dir + "`)");
  }
  if (!file_exists(manifest_path)) {
    throw Error(dir + ": not a dinoclip video index (no index.json); make one with `dinoclip index VIDEO... --out " +
                dir + "`");
  }
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(read_file(manifest_path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(manifest_path + ": not valid JSON (" + e.what() + "); the index is damaged, re-create it");
  }
  std::unique_ptr<State> state = std::make_unique<State>();
  std::string embeddings_file;
  try {
    if (!manifest.is_object() || manifest.value("format", "") != kFormat) {
      throw Error(manifest_path + ": not a dinoclip video index manifest (\"format\" is not \"" + kFormat + "\")");
    }
    if (manifest.at("version").get<int>() != kVersion) {
      throw Error(manifest_path + ": index format version " + manifest.at("version").dump() + ", this dinoclip reads " +
                  std::to_string(kVersion) + "; re-create the index");
    }
    state->model = model_from_json(manifest.at("model"));
    embeddings_file = manifest.at("embeddings").get<std::string>();
    state->generation = generation_of(embeddings_file);
    if (state->generation < 0) throw Error(manifest_path + ": bad embeddings file name '" + embeddings_file + "'");
    for (const auto& v : manifest.at("videos")) {
      state->videos.push_back({v.at("path").get<std::string>(), v.value("sampling", "")});
    }
    for (const auto& f : manifest.at("frames")) {
      IndexedFrame frame{f.at(0).get<int64_t>(), manifest_time(f.at(1), manifest_path), manifest_time(f.at(2), manifest_path),
                         f.at(3).get<int64_t>()};
      if (frame.video < 0 || frame.video >= int64_t(state->videos.size())) {
        throw Error(manifest_path + ": a frame names video " + std::to_string(frame.video) + " of " +
                    std::to_string(state->videos.size()) + "; the index is damaged, re-create it");
      }
      state->frames.push_back(frame);
    }
    if (manifest.at("rows").get<int64_t>() != int64_t(state->frames.size())) {
      throw Error(manifest_path + ": \"rows\" is " + manifest.at("rows").dump() + " but " +
                  std::to_string(state->frames.size()) + " frames are listed; the index is damaged, re-create it");
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(manifest_path + ": malformed index manifest (" + e.what() + "); the index is damaged, re-create it");
  }
  const std::string embeddings_path = dir + "/" + embeddings_file;
  if (!file_exists(embeddings_path)) {
    throw Error(embeddings_path + ": missing (index.json names it); the index is damaged, re-create it");
  }
  const at::Tensor embeddings = read_npy(embeddings_path);
  check_embeddings(embeddings, int64_t(state->frames.size()), state->model.embed_dim, embeddings_path);
  state->index = EmbeddingIndex::from_unit_rows(embeddings);
  VideoIndex index(state->model);
  index.state_ = std::move(state);
  return index;
}

void VideoIndex::append_video(const IndexedVideo& video, const std::vector<FrameStamp>& stamps,
                              const at::Tensor& embeddings) {
  const int64_t e = state_->model.embed_dim;
  if (!embeddings.defined() || embeddings.dim() != 2 || embeddings.size(1) != e ||
      embeddings.size(0) != int64_t(stamps.size())) {
    throw Error(video.path + ": " + std::to_string(stamps.size()) + " frames need embeddings [" +
                std::to_string(stamps.size()) + ", " + std::to_string(e) + "], got " +
                (embeddings.defined() ? c10::str(embeddings.sizes()) : std::string("none")));
  }
  if (stamps.empty()) throw Error(video.path + ": no frames to index (is the video empty?)");
  if (has_video(video.path)) throw Error(video.path + ": already in the index");
  state_->index.add(embeddings);  // validates (zero rows) before anything below changes
  const int64_t id = int64_t(state_->videos.size());
  state_->videos.push_back(video);
  for (const auto& stamp : stamps) state_->frames.push_back({id, stamp.time_ns, stamp.pts_ns, stamp.frame});
}

void VideoIndex::replace_video(const IndexedVideo& video, const std::vector<FrameStamp>& stamps,
                               const at::Tensor& embeddings) {
  int64_t old_id = -1;
  for (size_t i = 0; i < state_->videos.size(); ++i) {
    if (state_->videos[i].path == video.path) old_id = int64_t(i);
  }
  if (old_id < 0) return append_video(video, stamps, embeddings);
  // The rest of the index without that video, then the new rows: built aside
  // and swapped in, so a throw leaves this index as it was.
  State kept;
  kept.model = state_->model;
  kept.generation = state_->generation;
  std::vector<int64_t> rows;
  for (size_t i = 0; i < state_->videos.size(); ++i) {
    if (int64_t(i) != old_id) kept.videos.push_back(state_->videos[i]);
  }
  for (size_t r = 0; r < state_->frames.size(); ++r) {
    IndexedFrame f = state_->frames[r];
    if (f.video == old_id) continue;
    if (f.video > old_id) --f.video;
    kept.frames.push_back(f);
    rows.push_back(int64_t(r));
  }
  if (!rows.empty()) {
    const at::Tensor selected = this->embeddings().index_select(0, at::tensor(rows, at::kLong)).contiguous();
    kept.index = EmbeddingIndex::from_unit_rows(selected);
  }
  VideoIndex rebuilt(kept.model);
  *rebuilt.state_ = std::move(kept);
  rebuilt.append_video(video, stamps, embeddings);
  state_ = std::move(rebuilt.state_);
}

void VideoIndex::save(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir + ": cannot create the index folder (" + ec.message() + ")");
  // Never reuse a name a manifest in `dir` may point to.
  int64_t generation = state_->generation;
  for (const auto& entry : fs::directory_iterator(dir)) {
    generation = std::max(generation, generation_of(entry.path().filename().string()));
  }
  ++generation;
  const std::string embeddings_file = embeddings_name(generation);
  write_npy(dir + "/" + embeddings_file, embeddings());

  nlohmann::ordered_json videos = nlohmann::ordered_json::array(), frames = nlohmann::ordered_json::array();
  for (const auto& v : state_->videos) videos.push_back({{"path", v.path}, {"sampling", v.sampling}});
  for (const auto& f : state_->frames) frames.push_back({f.video, f.time_ns, f.pts_ns, f.frame});
  const nlohmann::ordered_json manifest = {{"format", kFormat},
                                           {"version", kVersion},
                                           {"model", model_to_json(state_->model)},
                                           {"embeddings", embeddings_file},
                                           {"rows", size()},
                                           {"videos", videos},
                                           {"frames", frames}};
  write_file_atomically(dir + "/" + kManifest, manifest.dump(1) + "\n");  // the commit point
  state_->generation = generation;

  // Older embeddings files and temporary files of interrupted runs.
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    const int64_t g = generation_of(name);
    if ((g >= 0 && g != generation) || name.find(kTemporaryMark) != std::string::npos) fs::remove(entry.path(), ec);
  }
}

std::vector<VideoHit> VideoIndex::search(const at::Tensor& query, int64_t k) const {
  const SearchResult found = state_->index.search(query, k);
  std::vector<VideoHit> hits;
  for (size_t i = 0; i < found.indices.size(); ++i) hits.push_back({found.indices[i], found.scores[i]});
  return hits;
}

const IndexModel& VideoIndex::model() const { return state_->model; }
const std::vector<IndexedVideo>& VideoIndex::videos() const { return state_->videos; }
const std::vector<IndexedFrame>& VideoIndex::frames() const { return state_->frames; }
int64_t VideoIndex::size() const { return int64_t(state_->frames.size()); }

bool VideoIndex::has_video(const std::string& path) const {
  for (const auto& v : state_->videos) {
    if (v.path == path) return true;
  }
  return false;
}

at::Tensor VideoIndex::embeddings() const {
  if (size() == 0) return at::zeros({0, state_->model.embed_dim});
  return state_->index.embeddings();
}

IndexWriteLock::IndexWriteLock(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir + ": cannot create the index folder (" + ec.message() + ")");
  const std::string path = dir + "/" + kLockFile;
  try {
    fd_ = open_regular_file(path, O_RDWR | O_CREAT, 0644).release();
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " (the index lock)");
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd_);
    fd_ = -1;
    if (error == EWOULDBLOCK) {
      throw Error(dir + ": another `dinoclip index` run is writing this index; wait for it to finish");
    }
    throw Error(path + ": cannot lock the index (" + std::strerror(error) + ")");
  }
}

IndexWriteLock::~IndexWriteLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace dinoclip
