// A persistent index of CLIP embeddings of video frames, searched by text:
// the `dinoclip index` / `dinoclip search-index` store.
//
// On disk, a folder IDX:
//   IDX/index.json            the manifest: model, videos, one entry per row
//                             ([video, time_ns, pts_ns, frame]),
//                             and the name of the embeddings file it goes with
//   IDX/embeddings-<G>.npy    [rows, embed_dim] float32, L2-normalised rows
// A save writes a new embeddings-<G+1>.npy, then replaces index.json (the one
// commit point: a rename), then removes older embeddings files. A run that
// stops anywhere before the rename leaves the previous manifest, which names
// the previous embeddings file, so the earlier index still loads.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dinoclip {

class ClipModel;

// The model that made an index's embeddings; an index holds one model's only.
struct IndexModel {
  std::string name;     // ClipModel::describe(), e.g. "CLIP ViT-B/32 (224 px, embed 512)"
  std::string weights;  // the weights file, for search's text encoder
  int64_t embed_dim = 0;
  std::vector<float> fingerprint;  // unit encode_image of a fixed input: tells weights apart

  // Throws dinoclip::Error naming the difference when `other` is not the same model.
  void check_same_as(const IndexModel& other, const std::string& what) const;
};

// `model` loaded from `weights_path`, with its fingerprint (one image forward).
IndexModel describe_index_model(const ClipModel& model, const std::string& weights_path);
// `path` as an index records it: absolute (a URI as given), so a search run
// from another folder finds the weights.
std::string index_weights_path(const std::string& path);

// `model` as one line of JSON (name, weights, embed_dim, fingerprint), and
// back: how a model's identity travels with embeddings outside an index (the
// classification meta's embedding model). The parse throws dinoclip::Error.
std::string index_model_to_json(const IndexModel& model);
IndexModel index_model_from_json(const std::string& text);

// One indexed frame of one video.
struct IndexedFrame {
  int64_t video = 0;    // position in VideoIndex::videos()
  int64_t time_ns = 0;  // stream time: where players show it and seeks go
  int64_t pts_ns = 0;   // the decoded buffer's presentation timestamp
  int64_t frame = 0;    // decoded-frame number from 0
};

struct IndexedVideo {
  std::string path;
  std::string sampling;  // how frames were picked, e.g. "every 1s, center crop" (informative)
};

struct VideoHit {
  int64_t row = 0;
  float score = 0;  // cosine similarity
};

class VideoIndex {
 public:
  explicit VideoIndex(IndexModel model);

  // Throws dinoclip::Error saying what is wrong (no index there, corrupt or
  // truncated manifest, missing embeddings file, rows vs entries, ...).
  static VideoIndex load(const std::string& dir);
  static bool exists(const std::string& dir);  // IDX/index.json is there
  // Whether an indexing run may write to `dir`: it does not exist yet, holds
  // an index, or is a folder holding nothing but what a first run that
  // stopped before saving leaves (its lock, embeddings files, temporary
  // files). False for a file or a folder with anything else in it: nothing a
  // user keeps there is mixed with an index. The file names stay ours.
  static bool can_index_into(const std::string& dir);

  // Adds one video's sampled frames: embeddings [n, embed_dim] (normalised
  // here), one row per stamp. Throws on a size mismatch; the index is
  // unchanged then.
  struct FrameStamp {
    int64_t time_ns;
    int64_t pts_ns;
    int64_t frame;
  };
  void append_video(const IndexedVideo& video, const std::vector<FrameStamp>& stamps, const at::Tensor& embeddings);
  // As append_video, after removing the rows of a video of the same path
  // (re-indexing it); on a throw the index is unchanged.
  void replace_video(const IndexedVideo& video, const std::vector<FrameStamp>& stamps, const at::Tensor& embeddings);

  // Creates `dir` if needed and writes the index there (see the file comment).
  void save(const std::string& dir);

  // The k frames closest to `query` [E] by cosine, best first (one matrix product).
  std::vector<VideoHit> search(const at::Tensor& query, int64_t k) const;

  const IndexModel& model() const;
  const std::vector<IndexedVideo>& videos() const;
  const std::vector<IndexedFrame>& frames() const;
  int64_t size() const;
  bool has_video(const std::string& path) const;
  at::Tensor embeddings() const;  // [size(), E] unit rows

  VideoIndex(VideoIndex&&) noexcept;
  VideoIndex& operator=(VideoIndex&&) noexcept;
  ~VideoIndex();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// An exclusive advisory lock (flock) on IDX/.lock for an indexing run, so two
// runs writing one index fail clearly instead of losing each other's videos.
// Creates `dir`. Released by the destructor or when the process ends.
class IndexWriteLock {
 public:
  explicit IndexWriteLock(const std::string& dir);
  ~IndexWriteLock();
  IndexWriteLock(const IndexWriteLock&) = delete;
  IndexWriteLock& operator=(const IndexWriteLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace dinoclip
