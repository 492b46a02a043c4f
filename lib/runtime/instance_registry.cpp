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

void InstanceRegistry::remember(const std::string& id, const InstanceSettings& settings,
                                std::shared_ptr<void> instance) {
  entries_.push_back(Entry{id, settings, instance});
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
