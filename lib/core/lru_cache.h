// A small least-recently-used cache: at most `capacity` values, the one used
// longest ago dropped first. For per-size values computed on demand (DINO's
// position embeddings per input grid) whose sizes a stream can keep changing
// (input-size=native or short:N on changing caps), so nothing grows without
// bound. Not thread-safe: the owner locks.
#pragma once

#include <cstddef>
#include <iterator>
#include <list>
#include <utility>

namespace dinoclip {

template <typename Key, typename Value>
class LruCache {
 public:
  explicit LruCache(size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}

  // The value for `key`, made with make() when absent (evicting the least
  // recently used value if full). If make() throws, nothing changes.
  template <typename Make>
  const Value& get_or_make(const Key& key, Make&& make) {
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->first == key) {
        entries_.splice(entries_.begin(), entries_, it);  // now the most recent
        return entries_.front().second;
      }
    }
    Value value = make();
    if (entries_.size() >= capacity_) {
      entries_.pop_back();
      ++evictions_;
    }
    entries_.emplace_front(key, std::move(value));
    return entries_.front().second;
  }

  bool contains(const Key& key) const {
    for (const auto& entry : entries_) {
      if (entry.first == key) return true;
    }
    return false;
  }
  size_t size() const { return entries_.size(); }
  size_t capacity() const { return capacity_; }
  size_t evictions() const { return evictions_; }

 private:
  size_t capacity_;
  size_t evictions_ = 0;
  std::list<std::pair<Key, Value>> entries_;  // most recently used first (a handful: a linear search)
};

}  // namespace dinoclip
