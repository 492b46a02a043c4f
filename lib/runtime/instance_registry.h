// Loaded model instances shared by id within the process (DL Streamer's
// model-instance-id): elements giving the same id get the same instance, as
// long as they ask for the same thing; a different model file, device,
// precision or batching for an id already loaded is an error naming the
// setting that differs. An instance lives while someone holds it.
#pragma once

#include <functional>
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
    std::lock_guard<std::mutex> lock(mutex_);  // held while loading: one load per id
    if (auto alive = find_alive(id, settings)) return std::static_pointer_cast<Instance>(alive);
    std::shared_ptr<Instance> instance = create();
    remember(id, settings, instance);
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
  void remember(const std::string& id, const InstanceSettings& settings, std::shared_ptr<void> instance);

  std::mutex mutex_;
  std::vector<Entry> entries_;
};

}  // namespace dinoclip::runtime
