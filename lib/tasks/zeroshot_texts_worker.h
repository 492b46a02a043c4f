// Keeps the current ZeroShotTexts and rebuilds it off the caller's thread when
// the labels, templates or query change (clipzeroshot's live label edits).
//
// Readers take current(): a shared_ptr to an immutable set, swapped in whole
// (std::atomic_load / atomic_store), so a frame sees the old set or the new one,
// never a mix; the old set lives on until its last reader lets go. Requests
// made while a rebuild runs are coalesced: only the newest spec is built next.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "tasks/zeroshot_texts.h"

namespace dinoclip {

class ClipModel;
class BpeTokenizer;

class ZeroShotTextsWorker {
 public:
  // Called on the worker thread after each background rebuild: the new set,
  // or nullptr and the error message (the current set is then kept).
  using Listener = std::function<void(const std::shared_ptr<const ZeroShotTexts>& texts, const std::string& error)>;

  // Encodes `initial` on the calling thread (throws dinoclip::Error as
  // encode_zero_shot_texts does); the model and tokenizer are shared with the
  // worker thread, which starts with the first request().
  ZeroShotTextsWorker(std::shared_ptr<const ClipModel> model, std::shared_ptr<const BpeTokenizer> tokenizer,
                      const ZeroShotTextSpec& initial, Listener listener = {});

  // Builds a set from a spec (throws dinoclip::Error as encode_zero_shot_texts
  // does). Elements pass one that runs the encoding on the model's own worker
  // (lib/runtime), so the text tower never runs beside the image tower.
  using Encoder = std::function<ZeroShotTexts(const ZeroShotTextSpec& spec)>;
  ZeroShotTextsWorker(Encoder encode, const ZeroShotTextSpec& initial, Listener listener = {});
  ZeroShotTextsWorker(const ZeroShotTextsWorker&) = delete;
  ZeroShotTextsWorker& operator=(const ZeroShotTextsWorker&) = delete;
  // Waits for a rebuild in progress (pending requests are dropped).
  ~ZeroShotTextsWorker();

  // Queues a rebuild from `spec`; returns at once.
  void request(ZeroShotTextSpec spec);

  // The latest complete set; never null.
  std::shared_ptr<const ZeroShotTexts> current() const;

  // Successful encodings so far, the initial one included.
  uint64_t encodings() const;

  // Blocks until no request is pending or being built (tests, shutdown).
  void wait_idle();

 private:
  void run();

  Encoder encode_;
  Listener listener_;
  std::shared_ptr<const ZeroShotTexts> current_;  // only through std::atomic_load / atomic_store

  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable changed_;
  std::optional<ZeroShotTextSpec> pending_;
  bool building_ = false;
  bool stopping_ = false;
  uint64_t encodings_ = 0;
  std::thread thread_;
};

}  // namespace dinoclip
