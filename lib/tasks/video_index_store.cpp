#include "tasks/video_index_store.h"

#include <filesystem>

#include "core/error.h"
#include "io/postgres.h"

namespace dinoclip {
namespace {
namespace fs = std::filesystem;

// The folder index: everything in memory, written by commit() in one save.
class FolderIndexStore : public VideoIndexStore {
 public:
  FolderIndexStore(std::string dir, VideoIndex index, std::unique_ptr<IndexWriteLock> lock)
      : dir_(std::move(dir)), index_(std::move(index)), lock_(std::move(lock)) {}

  const IndexModel& model() const override { return index_.model(); }
  std::string describe() const override { return dir_; }
  int64_t frame_count() override { return index_.size(); }
  int64_t video_count() override { return int64_t(index_.videos().size()); }
  bool has_video(const std::string& video) override { return index_.has_video(video); }

  void put_video(const IndexedVideo& video, const std::vector<VideoIndex::FrameStamp>& stamps,
                 const at::Tensor& embeddings) override {
    if (!lock_) throw Error(dir_ + ": opened for searching, not for writing");
    index_.replace_video(video, stamps, embeddings);
    changed_ = true;
  }

  void commit() override {
    if (changed_) index_.save(dir_);
    changed_ = false;
  }

  std::vector<IndexHit> search(const at::Tensor& query, int64_t k, const IndexSearchOptions&) override {
    std::vector<IndexHit> hits;
    for (const VideoHit& hit : index_.search(query, k)) {
      const IndexedFrame& f = index_.frames()[size_t(hit.row)];
      hits.push_back({index_.videos()[size_t(f.video)].path, "", f.time_ns, f.pts_ns, f.frame, hit.score});
    }
    return hits;
  }

 private:
  std::string dir_;
  VideoIndex index_;
  std::unique_ptr<IndexWriteLock> lock_;  // held while writing
  bool changed_ = false;
};

class PostgresIndexStore : public VideoIndexStore {
 public:
  explicit PostgresIndexStore(PgVideoIndex index) : index_(std::move(index)) {}

  const IndexModel& model() const override { return index_.model(); }
  std::string describe() const override { return index_.describe(); }
  int64_t frame_count() override { return index_.frame_count(); }
  int64_t video_count() override { return index_.video_count(); }
  bool has_video(const std::string& video) override { return index_.has_video(video); }

  void put_video(const IndexedVideo& video, const std::vector<VideoIndex::FrameStamp>& stamps,
                 const at::Tensor& embeddings) override {
    index_.replace_video(video.path, /*source_id=*/"", stamps, embeddings);
  }
  void commit() override {}  // each video was its own transaction
  void start_bulk_load() override { index_.drop_ann_index(); }
  void finish_bulk_load() override { index_.build_ann_index(); }

  std::vector<IndexHit> search(const at::Tensor& query, int64_t k, const IndexSearchOptions& options) override {
    return index_.search(query, k, options.exact, options.ef_search);
  }

 private:
  PgVideoIndex index_;
};

std::string table_or_default(const std::string& location, const std::string& table) {
  if (!is_postgres_index(location)) {
    if (!table.empty()) throw Error(location + ": a table is for a PostgreSQL index (postgresql://...), not a folder");
    return "";
  }
  return table.empty() ? PgVideoIndex::kDefaultTable : table;
}

}  // namespace

bool is_postgres_index(const std::string& location) {
  if (is_postgres_uri(location)) return true;
  const size_t scheme = location.find("://");
  if (scheme != std::string::npos) {
    throw Error(location + ": not a PostgreSQL address (" + location.substr(0, scheme) +
                "://); an index is a folder or postgresql://USER@HOST:PORT/DATABASE");
  }
  return false;
}

std::unique_ptr<VideoIndexStore> open_index_for_writing(const std::string& location, const std::string& table,
                                                        const IndexModel& model,
                                                        const PgVideoIndex::HnswOptions& hnsw) {
  const std::string pg_table = table_or_default(location, table);
  const std::string what = "the weights " + model.weights;
  if (!pg_table.empty()) {
    return std::make_unique<PostgresIndexStore>(PgVideoIndex::open_for_writing(location, pg_table, model, hnsw));
  }
  if (fs::exists(location) && !fs::is_directory(location))
    throw Error(location + ": exists and is not an index folder");
  if (!VideoIndex::can_index_into(location)) {
    throw Error(location +
                ": folder is not empty and holds no index; give a new or empty folder (or an existing index)");
  }
  auto lock = std::make_unique<IndexWriteLock>(location);
  if (!VideoIndex::exists(location))
    return std::make_unique<FolderIndexStore>(location, VideoIndex(model), std::move(lock));
  VideoIndex index = VideoIndex::load(location);
  index.model().check_same_as(model, what);
  return std::make_unique<FolderIndexStore>(location, std::move(index), std::move(lock));
}

std::unique_ptr<VideoIndexStore> open_index_for_search(const std::string& location, const std::string& table) {
  const std::string pg_table = table_or_default(location, table);
  if (!pg_table.empty()) return std::make_unique<PostgresIndexStore>(PgVideoIndex::open_for_search(location, pg_table));
  return std::make_unique<FolderIndexStore>(location, VideoIndex::load(location), nullptr);
}

}  // namespace dinoclip
