// A small synthetic video with exact masks, run through a random-weight tiny
// DINO: the shared input of the segmentation-head and propagation tests.
// Random weights still give features that tell the objects' colours and
// textures from the background (the patch embedding is a random projection of
// the pixels), which is all these tests need; they check the maths, not DINO.
#pragma once

#include <ATen/ATen.h>

#include <map>
#include <string>
#include <vector>

#include "core/image.h"
#include "io/safetensors_writer.h"
#include "models/dino.h"
#include "models/random_weights.h"
#include "test_support.h"
#include "vision/preprocess.h"
#include "vision/synthetic.h"

namespace dinoclip::testing {

struct FeatureVideo {
  std::vector<Image> masks;  // frame-size class masks
  at::Tensor features;       // [frames, grid_h * grid_w, D] patch tokens
  int grid_h = 0, grid_w = 0, width = 0, height = 0;
  int num_classes = 0;
};

inline const DinoModel& tiny_random_dino() {
  static DinoModel model = [] {
    const std::string path = temp_dir() + "/tiny_random_dino.safetensors";
    save_safetensors(path, random_dino_weights(dino_architecture("tiny"), /*seed=*/7));
    DinoLoadOptions options;
    options.num_heads = 4;
    return DinoModel::load(path, options);
  }();
  return model;
}

// Frames 0..frames-1 of SyntheticScene(size, size, objects, scene_seed);
// cached per argument set, so tests share one forward pass.
inline const FeatureVideo& synthetic_feature_video(int frames, uint64_t scene_seed, int size = 96, int objects = 2) {
  static std::map<std::vector<uint64_t>, FeatureVideo> cache;
  const std::vector<uint64_t> key{uint64_t(frames), scene_seed, uint64_t(size), uint64_t(objects)};
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  SyntheticScene scene(size, size, objects, scene_seed);
  FeatureVideo video;
  video.width = video.height = size;
  video.num_classes = objects + 1;
  std::vector<at::Tensor> inputs;
  for (int i = 0; i < frames; ++i) {
    SyntheticFrame frame = scene.render(i);
    inputs.push_back(dino_input(frame.rgb.view(), size, size));
    video.masks.push_back(frame.mask);
  }
  DinoOutput out = tiny_random_dino().forward(at::cat(inputs));
  video.features = out.tokens.narrow(1, 1, out.tokens.size(1) - 1).contiguous();
  video.grid_h = out.grid_h;
  video.grid_w = out.grid_w;
  return cache.emplace(key, std::move(video)).first->second;
}

// (x, y) centre of mass of class `id` in `mask`, in pixels; (-1, -1) if absent.
inline std::pair<double, double> class_centroid(const Image& mask, int id) {
  double sx = 0, sy = 0, n = 0;
  for (int y = 0; y < mask.height; ++y) {
    for (int x = 0; x < mask.width; ++x) {
      if (mask.at(x, y) != id) continue;
      sx += x;
      sy += y;
      n += 1;
    }
  }
  return n > 0 ? std::make_pair(sx / n, sy / n) : std::make_pair(-1.0, -1.0);
}

}  // namespace dinoclip::testing
