// The video index as `dinoclip search-index` loads it: IDX/index.json (the
// manifest) and the embeddings .npy it names, then one search. An input is the
// manifest bytes followed by the .npy bytes (split at the first "\x93NUMPY");
// the .npy is written as embeddings-1.npy, the name the seeds' manifests use.
#include <ATen/ATen.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "fuzz_util.h"
#include "tasks/video_index.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const dinoclip::fuzz::ScratchPath dir("index");
  static const uint8_t kNpyMagic[] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  const uint8_t* npy = std::search(data, data + size, kNpyMagic, kNpyMagic + sizeof(kNpyMagic));
  dir.write_in("index.json", data, size_t(npy - data));
  dir.write_in("embeddings-1.npy", npy, size_t(data + size - npy));
  dinoclip::fuzz::expect_result_or_error([&] {
    const dinoclip::VideoIndex index = dinoclip::VideoIndex::load(dir.path());
    const int64_t dim = index.model().embed_dim;
    if (dim <= 0 || dim > 4096) return;
    const at::Tensor query = at::ones({dim}) / std::sqrt(double(dim));
    const auto hits = index.search(query, 3);
    for (const auto& hit : hits) {
      if (hit.row < 0 || hit.row >= index.size()) std::abort();
      const auto& frame = index.frames().at(size_t(hit.row));
      if (frame.video < 0 || size_t(frame.video) >= index.videos().size()) std::abort();
    }
  });
  return 0;
}
