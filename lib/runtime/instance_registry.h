// Loaded model instances shared by id within the process (DL Streamer's
// model-instance-id): elements giving the same id get the same instance, as
// long as they ask for the same thing; a different model file, device,
// precision or batching for an id already loaded is an error naming the
// setting that differs. An instance lives while someone holds it.
//
// Loading happens outside the registry's lock: while one id loads, callers
// of that id wait for the load (then share it, or get the mismatch error),
// and callers of every other id go on (find, other loads, live_ids).
#pragma once

#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace dinoclip::runtime {

// What an instance is, as (setting name, value) pairs in the order a mismatch
// is reported: {"model type", "DINO"}, {"model", "/m/dino.pth"}, {"device", "cpu"}, ...
using InstanceSettings = std::vector<std::pair<std::string, std::string>>;

// "" when equal; else e.g. "precision differs: bf16 here, fp32 in the instance already loaded".
std::string describe_mismatch(const InstanceSettings& wanted, const InstanceSettings& loaded);

class InstanceRegistry {
 public:
  // The process's registry (what elements share).
  static InstanceRegistry& global();

  // The instance called `id`, created with `create` when none is alive. An
  // empty id always creates a private instance. Throws dinoclip::Error when
  // `id` is alive with other settings (and whatever `create` throws).
  template <typename Instance>
  std::shared_ptr<Instance> acquire(const std::string& id, const InstanceSettings& settings,
                                    const std::function<std::shared_ptr<Instance>()>& create) {
    if (id.empty()) return create();
    if (std::shared_ptr<void> alive = find_or_claim(id, settings)) return std::static_pointer_cast<Instance>(alive);
    std::shared_ptr<Instance> instance;
    try {
      instance = create();  // outside the lock: this id's other callers wait in find_or_claim
    } catch (...) {
      finish_load(id, settings, nullptr);
      throw;
    }
    finish_load(id, settings, instance);
    return instance;
  }

  // The live instance called `id`, or nullptr (for tests and tools that look at
  // what elements share). The caller knows its type.
  template <typename Instance>
  std::shared_ptr<Instance> find(const std::string& id) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const Entry& entry : entries_) {
      if (entry.id != id) continue;
      if (std::shared_ptr<void> alive = entry.instance.lock()) return std::static_pointer_cast<Instance>(alive);
    }
    return nullptr;
  }

  // Ids with a live instance (for logs and tests).
  std::vector<std::string> live_ids();

 private:
  struct Entry {
    std::string id;
    InstanceSettings settings;
    std::weak_ptr<void> instance;
  };
  std::shared_ptr<void> find_alive(const std::string& id, const InstanceSettings& settings);
  // The live instance `id`; else, after waiting for a load of `id` already
  // under way, nullptr with the load claimed by the caller (who must call
  // finish_load). Throws the mismatch error.
  std::shared_ptr<void> find_or_claim(const std::string& id, const InstanceSettings& settings);
  // Ends the caller's claim: remembers `instance` (nullptr: the load failed)
  // and wakes this id's waiters.
  void finish_load(const std::string& id, const InstanceSettings& settings, std::shared_ptr<void> instance);

  struct Loading {
    std::promise<void> done;
    std::shared_future<void> finished = done.get_future().share();
  };

  std::mutex mutex_;  // guards entries_ and loading_; never held while loading
  std::vector<Entry> entries_;
  std::map<std::string, std::shared_ptr<Loading>> loading_;  // ids being loaded now
};

}  // namespace dinoclip::runtime
