#include "tasks/zeroshot_texts_worker.h"

#include <exception>
#include <utility>

#include "models/clip.h"
#include "text/bpe_tokenizer.h"

namespace dinoclip {

ZeroShotTextsWorker::ZeroShotTextsWorker(std::shared_ptr<const ClipModel> model,
                                         std::shared_ptr<const BpeTokenizer> tokenizer, const ZeroShotTextSpec& initial,
                                         Listener listener)
    : ZeroShotTextsWorker(
          [model = std::move(model), tokenizer = std::move(tokenizer)](const ZeroShotTextSpec& spec) {
            return encode_zero_shot_texts(*model, *tokenizer, spec);
          },
          initial, std::move(listener)) {}

ZeroShotTextsWorker::ZeroShotTextsWorker(Encoder encode, const ZeroShotTextSpec& initial, Listener listener)
    : encode_(std::move(encode)), listener_(std::move(listener)) {
  std::atomic_store(&current_, std::shared_ptr<const ZeroShotTexts>(std::make_shared<ZeroShotTexts>(encode_(initial))));
  encodings_ = 1;
}

ZeroShotTextsWorker::~ZeroShotTextsWorker() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    pending_.reset();
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ZeroShotTextsWorker::request(ZeroShotTextSpec spec) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pending_ = std::move(spec);  // a newer request replaces one not yet started
    if (!thread_.joinable()) thread_ = std::thread(&ZeroShotTextsWorker::run, this);
  }
  changed_.notify_all();
}

std::shared_ptr<const ZeroShotTexts> ZeroShotTextsWorker::current() const { return std::atomic_load(&current_); }

uint64_t ZeroShotTextsWorker::encodings() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return encodings_;
}

void ZeroShotTextsWorker::wait_idle() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return stopping_ || (!pending_ && !building_); });
}

void ZeroShotTextsWorker::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] { return stopping_ || pending_.has_value(); });
    if (stopping_) return;
    const ZeroShotTextSpec spec = std::move(*pending_);
    pending_.reset();
    building_ = true;
    lock.unlock();
    std::shared_ptr<const ZeroShotTexts> texts;
    std::string error;
    try {
      texts = std::make_shared<ZeroShotTexts>(encode_(spec));
      std::atomic_store(&current_, texts);
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (listener_) listener_(texts, error);  // outside the lock: it may post messages, call current()
    lock.lock();
    if (texts) ++encodings_;
    building_ = false;
    changed_.notify_all();
  }
}

}  // namespace dinoclip
