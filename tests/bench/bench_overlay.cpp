// attnoverlay's drawings on the CPU, per mode, at 1280x720 and 1920x1080:
// ms per frame (median and best wall clock, and the CPU time of all threads,
// which a machine shared with other jobs cannot hide) and frames/s, for the row-by-row implementation
// (lib/vision/overlay.cpp) and, with --reference, the per-pixel one it
// replaced (tests/unit/vision/overlay_reference.cpp). Not a test: run
// `meson test -C <build> --benchmark overlay` or the executable directly:
//   bench_overlay [--frames N] [--threads N] [--reference] [--format RGB|BGRx|...|I420|NV12] [--device cpu|cuda]
// --format I420 / NV12 times the drawing in Y'CbCr (YuvOverlayCanvas, what
// attnoverlay does on decoders' frames) beside the RGB round trip it replaced.
// --device times DeviceOverlay (lib/vision/device_overlay.h, attnoverlay
// device=gpu) instead: frames already on the device (CUDA memory: drawn in
// place) and frames in host memory (uploaded, drawn, copied back), for
// --format, I420 and NV12; N frames queued back to back, then one wait for
// the device, so the figure is throughput, and beside it the ATen operations
// one frame dispatches and how many of them run a kernel (what bounds a GPU
// at small frames: each is a launch). Without a CUDA GPU, --device cuda says
// so and exits 0.
// --threads sets ATen's (OpenMP) threads after the project's default; run
// with OMP_WAIT_POLICY=PASSIVE (as the meson entry does) or the CPU column
// counts the threads' spinning too.
// The patch grid is 45x80 (a 360x640 input at patch 8), the mask 45x80 with
// 4 classes in blobs, 6 heads for the strip.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <ctime>
#include <vector>

#include "core/device.h"
#include "core/threads.h"
#include "overlay_reference.h"
#include "overlay_test_frames.h"
#include "vision/device_overlay.h"
#include "vision/overlay.h"

namespace {

using namespace dinoclip;

constexpr int kGridH = 45, kGridW = 80;

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

struct Inputs {
  at::Tensor heat;   // [1, h, w]
  at::Tensor heads;  // [6, h, w]
  Image pca;         // h x w RGB
  at::Tensor mask;   // [h, w] class ids
};

Inputs make_inputs() {
  at::Generator gen = at::detail::createCPUGenerator(0);
  Inputs in;
  in.heat = at::rand({1, kGridH, kGridW}, gen);
  in.heads = at::rand({6, kGridH, kGridW}, gen);
  in.pca = Image(kGridW, kGridH, 3);
  const at::Tensor bytes = at::randint(0, 256, {int64_t(in.pca.pixels.size())}, gen, at::kByte);
  std::memcpy(in.pca.pixels.data(), bytes.data_ptr<std::uint8_t>(), in.pca.pixels.size());
  const at::Tensor y = at::arange(kGridH).view({-1, 1}).to(at::kFloat), x = at::arange(kGridW).to(at::kFloat);
  const at::Tensor r1 = (y - 15).pow(2) + (x - 20).pow(2), r2 = (y - 30).pow(2) + (x - 55).pow(2);
  in.mask = (r1 < 100).to(at::kLong) + 2 * (r2 < 150).to(at::kLong) + (x > 70).to(at::kLong) * 3;
  in.mask.clamp_(0, 3);
  return in;
}

struct Mode {
  const char* name;
  std::function<void(MutableImageView)> fast, reference;
};

PixelFormat parse_format(const std::string& name) {
  const char* names[] = {"RGB", "BGR", "RGBA", "BGRA", "RGBx", "BGRx"};
  for (int i = 0; i < 6; ++i)
    if (name == names[i]) return PixelFormat(i);
  std::fprintf(stderr, "unknown --format %s (RGB, BGR, RGBA, BGRA, RGBx, BGRx, I420, NV12)\n", name.c_str());
  std::exit(2);
}

double process_cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

struct Timing {
  double median_ms, best_ms;  // wall clock per frame
  double cpu_ms;              // CPU time of all threads per frame (what a loaded machine cannot hide)
};

Timing time_frames(const std::function<void()>& draw, int frames) {
  draw();  // warm-up: thread pool, scratch rows
  std::vector<double> ms;
  const double cpu_start = process_cpu_ms();
  for (int i = 0; i < frames; ++i) {
    const auto start = std::chrono::steady_clock::now();
    draw();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  const double cpu = (process_cpu_ms() - cpu_start) / frames;
  return {median(ms), *std::min_element(ms.begin(), ms.end()), cpu};
}

// Waits for everything queued on the device: a one-byte copy to the host.
void wait_for(const at::Tensor& on_device) { (void)on_device.flatten()[0].item<std::uint8_t>(); }

// ATen operations `run` dispatches, and the leaves among them (operations
// that call no other) that are not views or allocations: each of those runs
// one kernel, a launch on a GPU.
struct OpCount {
  int operations = 0, kernels = 0;
};

OpCount count_operations(const std::function<void()>& run) {
  static std::atomic<int> operations, kernels;
  thread_local std::vector<bool> called_another;  // per open operation
  operations = kernels = 0;
  const auto start = [](const at::RecordFunction&) -> std::unique_ptr<at::ObserverContext> {
    ++operations;
    if (!called_another.empty()) called_another.back() = true;
    called_another.push_back(false);
    return nullptr;
  };
  const auto end = [](const at::RecordFunction& fn, at::ObserverContext*) {
    const bool leaf = !called_another.back();
    called_another.pop_back();
    const std::string name = fn.name();
    for (const char* metadata : {"empty", "view", "as_strided", "select", "narrow", "slice", "permute", "squeeze",
                                 "expand", "reshape", "alias", "detach", "resolve", "transpose", "set_", "lift"}) {
      if (name.find(metadata) != std::string::npos) return;
    }
    kernels += leaf;
  };
  const at::CallbackHandle handle =
      at::addGlobalCallback(at::RecordFunctionCallback(start, end).scopes({at::RecordScope::FUNCTION}));
  run();
  at::removeCallback(handle);
  return {operations.load(), kernels.load()};
}

// DeviceOverlay per mode on `device`, ms per frame (throughput) and frames/s.
int bench_device(const c10::Device& device, PixelFormat packed, const std::string& packed_name, int frames) {
  const Inputs in = make_inputs();
  const at::Tensor heat = in.heat.to(device), heads = in.heads.to(device), mask = in.mask.to(device);
  const at::Tensor pca = at::from_blob(const_cast<std::uint8_t*>(in.pca.pixels.data()), {kGridH, kGridW, 3}, at::kByte)
                             .to(device);
  const Palette palette = davis_palette();
  const std::vector<std::pair<const char*, std::function<void(OverlayCanvas&)>>> modes = {
      {"heatmap (attention)", [&](OverlayCanvas& c) { c.head_strip(heat, Colormap::kInferno, 0.5f); }},
      {"heads (6 tiles)", [&](OverlayCanvas& c) { c.head_strip(heads, Colormap::kInferno, 0.5f); }},
      {"pca (nearest)", [&](OverlayCanvas& c) { c.rgb_grid(pca, 0.5f, false); }},
      {"mask + contours", [&](OverlayCanvas& c) { c.mask(mask, palette, 0.5f, true); }},
  };
  const testing::FrameKind kinds[] = {{FrameLayout::kPacked, packed, packed_name.c_str()},
                                      {FrameLayout::kI420, PixelFormat::kRGB, "I420"},
                                      {FrameLayout::kNV12, PixelFormat::kRGB, "NV12"}};
  std::printf("attnoverlay device drawing (DeviceOverlay) on %s, grid %dx%d, %d frames queued per figure\n",
              device.str().c_str(), kGridW, kGridH, frames);
  for (auto [width, height] : {std::pair{1280, 720}, std::pair{1920, 1080}}) {
    for (const testing::FrameKind& kind : kinds) {
      testing::TestFrame host(kind, width, height, /*padding=*/0, /*seed=*/1);
      FramePlanes on_host = host.planes();
      FramePlanes resident = on_host;
      for (at::Tensor& plane : resident.planes) plane = plane.to(device);
      for (const auto& mode : modes) {
        // Named copies, not a structured binding: C++17 lambdas cannot capture those (clang refuses).
        const auto& name = mode.first;
        const auto& draw = mode.second;
        for (bool in_device_memory : {true, false}) {
          const FramePlanes& planes = in_device_memory ? resident : on_host;
          const auto one_frame = [&] {
            DeviceOverlay canvas(planes, device);
            draw(canvas);
            canvas.finish();
          };
          one_frame();  // warm-up: kernels, caches, the colour map's upload
          wait_for(resident.planes[0]);
          const auto start = std::chrono::steady_clock::now();
          for (int i = 0; i < frames; ++i) one_frame();
          wait_for(resident.planes[0]);
          const double ms =
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / frames;
          const OpCount ops = count_operations(one_frame);
          std::printf("  %dx%d %-5s %-20s %-14s %8.3f ms/frame (%7.0f fps), %3d ATen ops, %3d kernels\n", width,
                      height, kind.name, name, in_device_memory ? "device memory" : "host memory", ms, 1000.0 / ms,
                      ops.operations, ops.kernels);
          std::fflush(stdout);
        }
      }
    }
  }
  return 0;
}

void print_timing(const Timing& t) {
  std::printf("median %7.2f ms/frame (%6.0f fps), best %6.2f ms (%6.0f fps), cpu %6.2f ms", t.median_ms,
              1000.0 / t.median_ms, t.best_ms, 1000.0 / t.best_ms, t.cpu_ms);
}

// The CPU drawing on I420 / NV12 per mode: YuvOverlayCanvas in place (what
// attnoverlay does) and, beside it, the RGB round trip it replaced
// (kStandard to RGB, HostOverlayCanvas, rgb_to_i420 / rgb_to_nv12 back).
int bench_yuv(const testing::FrameKind& kind, int frames) {
  const Inputs in = make_inputs();
  const at::Tensor pca = at::from_blob(const_cast<std::uint8_t*>(in.pca.pixels.data()), {kGridH, kGridW, 3}, at::kByte);
  const Palette palette = davis_palette();
  const std::vector<std::pair<const char*, std::function<void(OverlayCanvas&)>>> modes = {
      {"heatmap (attention)", [&](OverlayCanvas& c) { c.head_strip(in.heat, Colormap::kInferno, 0.5f); }},
      {"heads (6 tiles)", [&](OverlayCanvas& c) { c.head_strip(in.heads, Colormap::kInferno, 0.5f); }},
      {"pca (nearest)", [&](OverlayCanvas& c) { c.rgb_grid(pca, 0.5f, false); }},
      {"pca smooth", [&](OverlayCanvas& c) { c.rgb_grid(pca, 0.5f, true); }},
      {"mask + contours", [&](OverlayCanvas& c) { c.mask(in.mask, palette, 0.5f, true); }},
      {"mask", [&](OverlayCanvas& c) { c.mask(in.mask, palette, 0.5f, false); }},
  };
  std::printf("attnoverlay drawing, %s frames, grid %dx%d, median of %d frames; threads: %s\n"
              "  in Y'CbCr (YuvOverlayCanvas) | through RGB (to RGB, HostOverlayCanvas, back)\n",
              kind.name, kGridW, kGridH, frames, describe_threads().c_str());
  for (auto [width, height] : {std::pair{1280, 720}, std::pair{1920, 1080}}) {
    testing::TestFrame frame(kind, width, height, /*padding=*/0, /*seed=*/1);
    for (const auto& mode : modes) {
      const auto& draw = mode.second;
      std::printf("  %dx%d %-20s ", width, height, mode.first);
      print_timing(time_frames([&] { frame.draw_in_ycbcr(draw); }, frames));
      std::printf("   | through RGB: ");
      print_timing(time_frames([&] { frame.draw_on_cpu(draw); }, std::max(3, frames / 5)));
      std::printf("\n");
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int frames = 50, threads = 0;
  bool with_reference = false;
  std::string format_name = "RGB", device_name;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--frames" && i + 1 < argc) {
      frames = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--threads" && i + 1 < argc) {
      threads = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--reference") {
      with_reference = true;
    } else if (arg == "--format" && i + 1 < argc) {
      format_name = argv[++i];
    } else if (arg == "--device" && i + 1 < argc) {
      device_name = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: %s [--frames N] [--threads N] [--reference] [--format RGB|BGR|RGBA|BGRA|RGBx|BGRx|I420|NV12] "
                   "[--device cpu|cuda]\n",
                   argv[0]);
      return 2;
    }
  }
  const bool yuv = format_name == "I420" || format_name == "NV12";
  const PixelFormat format = yuv ? PixelFormat::kRGB : parse_format(format_name);  // kRGB: --device's packed frames
  configure_threads();  // the project's default, as the CLI and the elements use
  if (threads > 0) at::set_num_threads(threads);
  if (!device_name.empty()) {
    if (device_name != "cpu" && device_name != "cuda") {
      std::fprintf(stderr, "unknown --device %s (cpu, cuda)\n", device_name.c_str());
      return 2;
    }
    if (device_name == "cuda" && !cuda_available()) {
      std::printf("bench_overlay --device cuda: no CUDA GPU here (a CPU-only build, or none on the machine); "
                  "skipping the device timings\n");
      return 0;
    }
    return bench_device(device_name == "cuda" ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU), format,
                        yuv ? std::string("RGB") : format_name, frames);  // --device times I420 and NV12 anyway
  }
  if (yuv) return bench_yuv(testing::kKinds[format_name == "I420" ? 6 : 7], frames);
  const Inputs in = make_inputs();
  const Palette palette = davis_palette();
  const std::vector<Mode> modes = {
      {"heatmap (attention)", [&](MutableImageView v) { draw_head_strip(v, in.heat, Colormap::kInferno, 0.5f); },
       [&](MutableImageView v) { reference::draw_head_strip(v, in.heat, Colormap::kInferno, 0.5f); }},
      {"heads (6 tiles)", [&](MutableImageView v) { draw_head_strip(v, in.heads, Colormap::kInferno, 0.5f); },
       [&](MutableImageView v) { reference::draw_head_strip(v, in.heads, Colormap::kInferno, 0.5f); }},
      {"pca (nearest)", [&](MutableImageView v) { blend_rgb_grid(v, in.pca, 0.5f, false); },
       [&](MutableImageView v) { reference::blend_rgb_grid(v, in.pca, 0.5f, false); }},
      {"pca smooth", [&](MutableImageView v) { blend_rgb_grid(v, in.pca, 0.5f, true); },
       [&](MutableImageView v) { reference::blend_rgb_grid(v, in.pca, 0.5f, true); }},
      {"mask + contours", [&](MutableImageView v) { blend_mask(v, in.mask, palette, 0.5f, true); },
       [&](MutableImageView v) { reference::blend_mask(v, in.mask, palette, 0.5f, true); }},
      {"mask", [&](MutableImageView v) { blend_mask(v, in.mask, palette, 0.5f, false); },
       [&](MutableImageView v) { reference::blend_mask(v, in.mask, palette, 0.5f, false); }},
  };
  std::printf("attnoverlay drawing, %s frames, grid %dx%d, median of %d frames; threads: %s\n", format_name.c_str(),
              kGridW, kGridH, frames, describe_threads().c_str());
  for (auto [width, height] : {std::pair{1280, 720}, std::pair{1920, 1080}}) {
    const int bpp = bytes_per_pixel(format);
    std::vector<std::uint8_t> pixels(std::size_t(width) * height * bpp, 90);
    const MutableImageView view{pixels.data(), width, height, std::ptrdiff_t(width) * bpp, format};
    for (const Mode& mode : modes) {
      const Timing fast = time_frames([&] { mode.fast(view); }, frames);
      std::printf("  %dx%d %-20s ", width, height, mode.name);
      print_timing(fast);
      if (with_reference) {
        const Timing slow = time_frames([&] { mode.reference(view); }, std::max(3, frames / 10));
        std::printf("   | per-pixel reference: median %7.2f ms, best %7.2f ms, cpu %7.2f ms", slow.median_ms,
                    slow.best_ms, slow.cpu_ms);
      }
      std::printf("\n");
      std::fflush(stdout);
    }
  }
  return 0;
}
