// dino-meta-reader: runs dinofeatures in a pipeline and reads its results
// from an appsink through the public meta API (gstreamer-dinoclip-1.0) only:
// no LibTorch, no dinoclip internals.
//
//   dino-meta-reader MODEL [VIDEO] [--frames N] [--interval N] [--input-size S] [--heads N]
//
// VIDEO is any file GStreamer can decode; without it, videotestsrc is used.
// For each frame it prints the PTS, whether the result was carried from an
// earlier frame, the patch grid, the patch the CLS token attends to most
// (mean over heads) and the CLS token's L2 norm.
#include <gst/app/gstappsink.h>
#include <gst/dinoclip/dinoclip-meta.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

struct Options {
  std::string model;
  std::string video;
  int frames = 30;
  std::string extra;  // dinofeatures properties
};

bool parse(int argc, char** argv, Options* options) {
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--frames" && has_value) {
      options->frames = std::atoi(argv[++i]);
    } else if ((arg == "--interval" || arg == "--input-size" || arg == "--heads") && has_value) {
      options->extra += " " + arg.substr(2) + "=" + argv[++i];
    } else if (arg.rfind("--", 0) == 0) {
      return false;
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.empty() || positional.size() > 2) return false;
  options->model = positional[0];
  if (positional.size() == 2) options->video = positional[1];
  return true;
}

std::string pipeline_description(const Options& o) {
  const std::string source =
      o.video.empty() ? "videotestsrc num-buffers=" + std::to_string(o.frames) + " ! video/x-raw,width=320,height=240"
                      : "filesrc location=\"" + o.video + "\" ! decodebin";
  return source + " ! videoconvert ! dinofeatures model=\"" + o.model + "\"" + o.extra +
         " ! appsink name=sink sync=false";
}

// The patch with the highest mean CLS attention, or -1 without attention.
long most_attended_patch(GstDinoclipFeatures* features) {
  const GstDinoclipFeaturesShape* shape = gst_dinoclip_features_get_shape(features);
  const gsize patches = gsize(shape->grid_height) * shape->grid_width;
  std::vector<float> mean(patches, 0.0f);
  for (guint head = 0; head < shape->n_heads; ++head) {
    const gfloat* row = gst_dinoclip_features_get_head_attention(features, head);
    if (!row) return -1;
    for (gsize i = 0; i < patches; ++i) mean[i] += row[i] / shape->n_heads;
  }
  if (shape->n_heads == 0) return -1;
  long best = 0;
  for (gsize i = 1; i < patches; ++i) {
    if (mean[i] > mean[best]) best = long(i);
  }
  return best;
}

double cls_norm(GstDinoclipFeatures* features) {
  gsize n = 0;
  const gfloat* cls = gst_dinoclip_features_get_cls_token(features, &n);
  double sum = 0;
  for (gsize i = 0; cls && i < n; ++i) sum += double(cls[i]) * cls[i];
  return std::sqrt(sum);
}

void print_frame(GstBuffer* buffer) {
  GstDinoclipFeaturesMeta* meta = gst_buffer_get_dinoclip_features_meta(buffer);
  if (!meta) {
    std::printf("%" GST_TIME_FORMAT "  no DINO meta\n", GST_TIME_ARGS(GST_BUFFER_PTS(buffer)));
    return;
  }
  const GstDinoclipFeaturesShape* shape = gst_dinoclip_features_get_shape(meta->features);
  const long best = most_attended_patch(meta->features);
  std::printf("%" GST_TIME_FORMAT "  %s  grid %ux%u dim %u heads %u  ", GST_TIME_ARGS(GST_BUFFER_PTS(buffer)),
              meta->carried ? "carried" : "fresh  ", shape->grid_height, shape->grid_width, shape->dim, shape->n_heads);
  if (best >= 0)
    std::printf("most attended patch (row %ld, col %ld)  ", best / shape->grid_width, best % shape->grid_width);
  std::printf("|cls| %.3f\n", cls_norm(meta->features));
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  Options options;
  if (!parse(argc, argv, &options)) {
    std::fprintf(stderr, "usage: %s MODEL [VIDEO] [--frames N] [--interval N] [--input-size S] [--heads N]\n", argv[0]);
    return 2;
  }
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(pipeline_description(options).c_str(), &error);
  if (!pipeline) {
    std::fprintf(stderr, "cannot build the pipeline: %s\n", error->message);
    return 1;
  }
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);

  int status = 0;
  for (int frame = 0; frame < options.frames; ++frame) {
    GstSample* sample = gst_app_sink_pull_sample(GST_APP_SINK(sink));
    if (!sample) break;  // EOS or error: the bus says which
    print_frame(gst_sample_get_buffer(sample));
    gst_sample_unref(sample);
  }
  GstBus* bus = gst_element_get_bus(pipeline);
  if (GstMessage* message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
    GError* err = nullptr;
    gst_message_parse_error(message, &err, nullptr);
    std::fprintf(stderr, "error from %s: %s\n", GST_OBJECT_NAME(message->src), err->message);
    g_error_free(err);
    gst_message_unref(message);
    status = 1;
  }
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  return status;
}
