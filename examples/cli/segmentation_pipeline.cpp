#include "segmentation_pipeline.h"

#include <gst/dinoclip/segmentation-meta.h>

#include <cstring>

#include "app/sample_image.h"
#include "core/error.h"

namespace dinoclip::cli {
namespace {

Image copy_classes(GstBuffer* buffer, int64_t index) {
  const GstDinoclipSegmentationMeta* meta = gst_buffer_get_dinoclip_segmentation_meta(buffer);
  if (!meta || !meta->segmentation) {
    throw Error("frame " + std::to_string(index) +
                " came out of the pipeline without a segmentation (is dinoseg in it?)");
  }
  const GstDinoclipSegmentation* segmentation = meta->segmentation;
  Image classes(int(gst_dinoclip_segmentation_get_width(segmentation)),
                int(gst_dinoclip_segmentation_get_height(segmentation)), 1);
  std::memcpy(classes.pixels.data(), gst_dinoclip_segmentation_get_class_map(segmentation), classes.pixels.size());
  return classes;
}

}  // namespace

SegmentationPipeline::SegmentationPipeline(const LaunchArgs& args) {
  gstapp::require_dinoclip_elements({"dinofeatures", "dinoseg"});
  runner_ = std::make_unique<gstapp::PipelineRunner>(args);
}

bool SegmentationPipeline::next(SegmentedFrame& frame) {
  const gstapp::SamplePtr sample = runner_->next_sample();
  if (!sample) return false;
  frame.index = next_index_++;
  GstBuffer* buffer = gst_sample_get_buffer(sample.get());
  frame.pts_ns = GST_BUFFER_PTS_IS_VALID(buffer) ? int64_t(GST_BUFFER_PTS(buffer)) : -1;
  if (!gstapp::copy_sample_rgb(sample.get(), &frame.rgb)) {
    throw Error("the pipeline's appsink delivered a frame that is not readable RGB video");
  }
  frame.classes = copy_classes(buffer, frame.index);
  runner_->drain_bus();
  return true;
}

}  // namespace dinoclip::cli
