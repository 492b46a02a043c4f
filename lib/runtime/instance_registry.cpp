#include "runtime/instance_registry.h"

#include <algorithm>

namespace dinoclip::runtime {

std::string describe_mismatch(const InstanceSettings& wanted, const InstanceSettings& loaded) {
  for (const auto& setting_wanted : wanted) {
    // Not a structured binding: C++17 does not let a lambda capture one (clang refuses it).
    const std::string& name = setting_wanted.first;
    const std::string& value = setting_wanted.second;
    auto it = std::find_if(loaded.begin(), loaded.end(), [&](const auto& setting) { return setting.first == name; });
    const std::string other = it == loaded.end() ? "(not set)" : it->second;
    if (other != value) {
      return name + " differs: \"" + value + "\" here, \"" + other + "\" in the instance already loaded";
    }
  }
  return "";
}

InstanceRegistry& InstanceRegistry::global() {
  static InstanceRegistry registry;  // never destroyed before the elements holding its instances
  return registry;
}

std::shared_ptr<void> InstanceRegistry::find_alive(const std::string& id, const InstanceSettings& settings) {
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(), [](const Entry& e) { return e.instance.expired(); }),
                 entries_.end());
  for (const Entry& entry : entries_) {
    if (entry.id != id) continue;
    std::shared_ptr<void> alive = entry.instance.lock();
    if (!alive) continue;
    const std::string mismatch = describe_mismatch(settings, entry.settings);
    if (!mismatch.empty()) {
      throw Error("model-instance-id \"" + id + "\" is already loaded with other settings: " + mismatch +
                  ". Elements sharing an instance must use the same model, device, precision and batching; "
                  "give this element its own model-instance-id (or none) to load a separate copy");
    }
    return alive;
  }
  return nullptr;
}

std::shared_ptr<void> InstanceRegistry::find_or_claim(const std::string& id, const InstanceSettings& settings) {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    if (std::shared_ptr<void> alive = find_alive(id, settings)) return alive;
    auto loading = loading_.find(id);
    if (loading == loading_.end()) break;
    // Someone is loading this id: wait for them without the lock, then look
    // again (their instance, or, if their load failed, a claim of our own).
    std::shared_future<void> finished = loading->second->finished;
    lock.unlock();
    finished.wait();
    lock.lock();
  }
  loading_.emplace(id, std::make_shared<Loading>());
  return nullptr;
}

void InstanceRegistry::finish_load(const std::string& id, const InstanceSettings& settings,
                                   std::shared_ptr<void> instance) {
  std::shared_ptr<Loading> loading;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (instance) entries_.push_back(Entry{id, settings, instance});
    auto it = loading_.find(id);
    if (it != loading_.end()) {
      loading = it->second;
      loading_.erase(it);
    }
  }
  if (loading) loading->done.set_value();
}

std::vector<std::string> InstanceRegistry::live_ids() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> ids;
  for (const Entry& entry : entries_) {
    if (!entry.instance.expired()) ids.push_back(entry.id);
  }
  return ids;
}

}  // namespace dinoclip::runtime
