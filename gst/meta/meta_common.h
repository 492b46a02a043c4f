// Internal helpers shared by the meta implementations (not installed).
#pragma once

#include <gst/gst.h>

#include <atomic>

namespace dinoclip_meta {

// Whether a meta whose payload covers the whole frame in relative
// coordinates stays true under a GstMeta transform of kind `type`:
// a full copy or a scale keeps it (the payload is shared, not copied);
// a copy of a byte range, or any transform we do not know, drops it.
bool whole_frame_payload_survives(GQuark type, gpointer data);

// Intrusive refcount for the payloads (atomic, starts at 1).
struct RefCount {
  std::atomic<int> count{1};
  void ref() { count.fetch_add(1, std::memory_order_relaxed); }
  // True when this was the last reference.
  bool unref() { return count.fetch_sub(1, std::memory_order_acq_rel) == 1; }
};

}  // namespace dinoclip_meta
