// GstDinoclipInference: the abstract base of the inference elements
// (dinofeatures, clipzeroshot; DL Streamer's gva_base_inference in spirit).
// It owns what they share:
//   - the properties model, device, precision, the inference settings of
//     inference_properties.h (model-instance-id, batch-size, batch-timeout,
//     async-inference, inference-interval / interval, skip-late,
//     scale-method), the counter inferences, and where an element asks for
//     them threads and skipped-inferences; model-loading ones are refused with
//     a warning while the model is loaded;
//   - start/stop (the model's client and the InferenceDriver between them),
//     caps, the sink/src events, the LATENCY query and the submit/generate
//     path, each behind one exception fence;
//   - the pad templates (DINOCLIP_FRAME_FORMATS both ways, in place).
// inference/model_settings.h has the settings the base hands open() and the
// texts an element supplies. An element supplies its texts (what gst-inspect shows for the properties
// whose wording is the element's), open() (load its model, return its
// InferenceClient), and optionally close() and apply_frame_settings(). Its own
// properties chain up to the base in set/get_property's default branch.
//
// Threads: start and stop run while the streaming thread is out of the
// element (GstBaseTransform takes the sink pad's stream lock before stop());
// frames, caps and serialized sink events come on the streaming thread.
// FLUSH_START is not serialized: it comes on the seeking application's
// thread, concurrently with frames and with a PAUSED->READY stop(); FLUSH_STOP
// may also reach a deactivating pad. Both, QoS events and the counters (any
// thread) call into the client and the driver only under the base's running
// lock, which stop() takes before destroying them, so none of them can use a
// client that stop() is destroying. Properties may be set from any thread:
// a model-loading one is refused (warned) from the moment READY->PAUSED reads
// the settings until PAUSED->READY, so a value is never accepted then ignored.
#pragma once

#include <gst/base/gstbasetransform.h>

#include <memory>

namespace dinoclip::gst {
class InferenceClient;
struct InferenceElementTexts;
struct ModelSettings;
}  // namespace dinoclip::gst

G_BEGIN_DECLS

#define GST_TYPE_DINOCLIP_INFERENCE (gst_dinoclip_inference_get_type())
G_DECLARE_DERIVABLE_TYPE(GstDinoclipInference, gst_dinoclip_inference, GST, DINOCLIP_INFERENCE, GstBaseTransform)

G_END_DECLS

// C++ vfuncs: outside the C linkage block. No LibTorch in this header.
struct _GstDinoclipInferenceClass {
  GstBaseTransformClass parent_class;

  // READY->PAUSED, once 'model' is set: loads the model (and whatever else the
  // element needs) and returns the client that turns frames into requests and
  // results into metas; nullptr after posting an element error. Required.
  std::unique_ptr<dinoclip::gst::InferenceClient> (*open)(GstDinoclipInference* self,
                                                          const dinoclip::gst::ModelSettings& settings);
  // PAUSED->READY, before the client goes: drops the element's own references
  // to what open() made. Optional.
  void (*close)(GstDinoclipInference* self);
  // Streaming thread, before each frame: hands `client` (what open() returned)
  // the element's per-frame settings. Optional.
  void (*apply_frame_settings)(GstDinoclipInference* self, dinoclip::gst::InferenceClient* client);

  /*< private >*/
  const dinoclip::gst::InferenceElementTexts* texts;
  GstDebugCategory* debug;  // the element's: refused property changes are logged there
};

// From the element's class_init (after its debug category is initialised):
// installs the base's properties on the element with its texts, plus the
// `optional` ones (InferenceOptionalProperty bits). The element's own
// property ids must stay below 0x1000; its set/get_property chain up to the
// base's for the others.
void gst_dinoclip_inference_class_install_properties(GstDinoclipInferenceClass* klass,
                                                     const dinoclip::gst::InferenceElementTexts* texts, guint optional,
                                                     GstDebugCategory* category);

// Any thread: a snapshot of the base's settings.
dinoclip::gst::ModelSettings gst_dinoclip_inference_settings(GstDinoclipInference* self);

// Any thread, from the element's set_property for a model-loading property:
// TRUE (after a warning in the element's debug category and on the bus) while
// the model is loading (READY->PAUSED, after the settings were read) or
// loaded, so the change is not applied. An element's open() reads its own
// model-loading properties after this starts returning TRUE.
gboolean gst_dinoclip_inference_refuse_while_loaded(GstDinoclipInference* self, const char* property);
