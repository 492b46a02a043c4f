#include "tasks/pg_frame_writer.h"

#include <algorithm>

#include "core/error.h"
#include "io/postgres.h"

namespace dinoclip {

PgFrameWriter::PgFrameWriter(Options options) : options_(std::move(options)) {
  if (options_.max_queued < 1 || options_.batch < 1)
    throw Error("the frame writer needs a queue and a batch of at least 1");
  check_index_table_name(options_.table);
  check_postgres_address(options_.conninfo, "the frame writer's address");
  if (!options_.connect_in_background) {
    index_ = std::make_unique<PgVideoIndex>(
        PgVideoIndex::open_for_writing(options_.conninfo, options_.table, options_.model));
    connected_ = true;
    ever_connected_ = true;
  }
  thread_ = std::thread([this] { run(); });
}

PgFrameWriter::~PgFrameWriter() { close(); }

void PgFrameWriter::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  index_.reset();
  connected_ = false;
}

bool PgFrameWriter::push(PgFrameRow row) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || !fatal_error_.empty() || queue_.size() + in_flight_ >= options_.max_queued) {
      ++dropped_;
      return false;
    }
    queue_.push_back(std::move(row));
  }
  wake_.notify_one();
  return true;
}

bool PgFrameWriter::flush(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return idle_.wait_for(lock, timeout, [&] { return queue_.empty() && in_flight_ == 0; });
}

std::string PgFrameWriter::last_error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_error_;
}

std::string PgFrameWriter::fatal_error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return fatal_error_;
}

// Drops what is queued and refuses what comes (see fatal_error()).
void PgFrameWriter::give_up(const std::string& why) {
  std::lock_guard<std::mutex> lock(mutex_);
  fatal_error_ = why;
  last_error_ = why;
  dropped_ += in_flight_ + queue_.size();
  queue_.clear();
  in_flight_ = 0;
  idle_.notify_all();
}

bool PgFrameWriter::write_batch(std::vector<PgFrameRow>& batch) {
  try {
    bool retrying = false;
    if (!index_) {
      index_ = std::make_unique<PgVideoIndex>(
          PgVideoIndex::open_for_writing(options_.conninfo, options_.table, options_.model));
      connected_ = true;
      if (ever_connected_) ++reconnects_;
      retrying = ever_connected_;
    }
    ever_connected_ = true;
    // A batch whose COMMIT was sent before the connection broke may have
    // committed: its first frame tells (frames of a stream are unique by
    // video, source, frame number and timestamp).
    if (!retrying || !index_->has_frame(batch.front())) index_->append_frames(batch);
    return true;
  } catch (const PgSetupError& e) {
    index_.reset();
    connected_ = false;
    give_up(e.what());
    return false;
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lock(mutex_);
    last_error_ = e.what();
    index_.reset();
    connected_ = false;
    return false;
  }
}

void PgFrameWriter::run() {
  std::vector<PgFrameRow> batch;
  std::chrono::milliseconds backoff = options_.first_backoff;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (batch.empty()) {
        wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping with nothing left
        while (!queue_.empty() && batch.size() < options_.batch) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        in_flight_ = batch.size();
      }
      if (stopping_ && deadline == std::chrono::steady_clock::time_point::max()) {
        deadline = std::chrono::steady_clock::now() + drain;
      }
      if (std::chrono::steady_clock::now() >= deadline) {  // the server is not coming back in time
        dropped_ += batch.size() + queue_.size();
        queue_.clear();
        batch.clear();
        in_flight_ = 0;
        idle_.notify_all();
        return;
      }
    }
    if (write_batch(batch)) {
      written_ += batch.size();
      batch.clear();
      backoff = options_.first_backoff;
      std::lock_guard<std::mutex> lock(mutex_);
      in_flight_ = 0;
      if (queue_.empty()) idle_.notify_all();
      continue;
    }
    // Back off (woken early only to stop), then try the same batch again.
    std::unique_lock<std::mutex> lock(mutex_);
    if (!fatal_error_.empty()) return;  // give_up() counted the batch
    const auto until = std::min(deadline, std::chrono::steady_clock::now() + backoff);
    wake_.wait_until(lock, until,
                     [&] { return stopping_ && deadline == std::chrono::steady_clock::time_point::max(); });
    backoff = std::min(options_.max_backoff, backoff * 2);
  }
}

}  // namespace dinoclip
