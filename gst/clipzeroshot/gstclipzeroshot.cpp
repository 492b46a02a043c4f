// clipzeroshot: CLIP's own properties (texts, crop, top-k, thresholds), the
// model and the texts' lifetimes. Everything an inference element shares
// (model/device/precision, batching, cadence, start/stop, caps, events,
// LATENCY, the frames' path) is the base, GstDinoclipInference
// (gst/inference/). No maths and no model calls here: the shared CLIP
// instance (lib/runtime) runs image and text encodings on its worker thread;
// frames become requests and scores become metas/messages in
// clipzeroshot_inference.*; the texts (labels x templates, query) are
// re-encoded off the streaming thread by lib/tasks ZeroShotTextsWorker.
#include "clipzeroshot/gstclipzeroshot.h"

#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <string>

#include "clipzeroshot/clipzeroshot_inference.h"
#include "clipzeroshot/clipzeroshot_properties.h"
#include "core/error.h"
#include "inference/model_settings.h"
#include "runtime/clip_instance.h"
#include "tasks/video_index.h"
#include "tasks/label_spec.h"
#include "tasks/zeroshot_texts_worker.h"
#include "text/bpe_tokenizer.h"
#include "text/vocab_path.h"

GST_DEBUG_CATEGORY_STATIC(clip_zero_shot_debug);
#define GST_CAT_DEFAULT clip_zero_shot_debug

namespace {

using namespace dinoclip;
using namespace dinoclip::gst::clipzeroshot_props;
using dinoclip::gst::InferenceClient;
using dinoclip::gst::ModelSettings;

// clipzeroshot's own property values, as the user set them.
struct Settings {
  std::string vocab;  // "": find_vocab_file()'s search
  std::string labels;
  std::string labels_file;
  std::string templates = kDefaultTemplate;
  GstDinoclipClipzeroshotCrop crop = GST_DINOCLIP_CLIPZEROSHOT_CROP_CENTER;
  guint top_k = 5;
  gdouble unknown_threshold = 0.0;
  std::string query;
  gdouble query_threshold = kDefaultQueryThreshold;
  gdouble hysteresis = kDefaultHysteresis;

  dinoclip::gst::ClipFrameSettings frame() const {
    return {crop == GST_DINOCLIP_CLIPZEROSHOT_CROP_FULL ? ClipCrop::kFullFrame : ClipCrop::kCenter, top_k,
            unknown_threshold, query_threshold, hysteresis};
  }
};

struct Private {
  std::mutex settings_lock;
  Settings settings;
  std::shared_ptr<ZeroShotTextsWorker> texts;  // under settings_lock, for property changes while running
  guint64 texts_version = 0;  // under settings_lock: +1 per change of labels, labels-file, template or query
  std::atomic<guint64> text_encodings{0};
};

}  // namespace

struct _GstClipzeroshot {
  GstDinoclipInference parent;
  Private* priv;
};

G_DEFINE_TYPE(GstClipzeroshot, gst_clipzeroshot, GST_TYPE_DINOCLIP_INFERENCE)
GST_ELEMENT_REGISTER_DEFINE(clipzeroshot, "clipzeroshot", GST_RANK_NONE, GST_TYPE_CLIPZEROSHOT)

namespace {

Settings settings_snapshot(GstClipzeroshot* self) {
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  return self->priv->settings;
}

std::string trimmed(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  return first == std::string::npos ? "" : text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

// The texts the settings ask for; throws dinoclip::Error naming the property.
ZeroShotTextSpec text_spec(const Settings& settings) {
  if (!settings.labels.empty() && !settings.labels_file.empty()) {
    throw Error("both 'labels' and 'labels-file' are set: use one of them (clear the other with an empty string)");
  }
  ZeroShotTextSpec spec;
  if (!settings.labels_file.empty()) spec.labels = read_labels_file(settings.labels_file);
  if (!settings.labels.empty()) spec.labels = parse_labels(settings.labels);
  spec.templates = parse_templates(settings.templates);
  spec.query = trimmed(settings.query);
  if (spec.labels.empty() && spec.query.empty()) {
    throw Error(
        "no labels: set labels=\"a person;a cat;an empty room\" (separated by ';'), labels-file=FILE "
        "(one per line) or query=\"a person on a bicycle\"");
  }
  return spec;
}

// A text property changed while the element runs: re-encode off this thread.
// A bad value is a warning (the stream goes on with the current labels).
void request_texts(GstClipzeroshot* self) {
  std::shared_ptr<ZeroShotTextsWorker> worker;
  Settings settings;
  {
    std::lock_guard<std::mutex> lock(self->priv->settings_lock);
    worker = self->priv->texts;
    settings = self->priv->settings;
  }
  if (!worker) return;  // not running: start() reads the settings
  try {
    worker->request(text_spec(settings));
  } catch (const std::exception& e) {
    GST_ELEMENT_WARNING(self, LIBRARY, SETTINGS, ("New labels not applied, the previous ones stay: %s", e.what()),
                        (nullptr));
  }
}

std::string string_of(const GValue* value) { return g_value_get_string(value) ? g_value_get_string(value) : ""; }

void gst_clipzeroshot_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  auto* self = GST_CLIPZEROSHOT(object);
  bool texts_changed = false;
  {
    std::lock_guard<std::mutex> lock(self->priv->settings_lock);
    Settings& s = self->priv->settings;
    switch (prop_id) {
      case PROP_VOCAB:
        if (!gst_dinoclip_inference_refuse_while_loaded(GST_DINOCLIP_INFERENCE(self), "vocab")) {
          s.vocab = string_of(value);
        }
        break;
      case PROP_LABELS:
        s.labels = string_of(value);
        texts_changed = true;
        ++self->priv->texts_version;
        break;
      case PROP_LABELS_FILE:
        s.labels_file = string_of(value);
        texts_changed = true;
        ++self->priv->texts_version;
        break;
      case PROP_TEMPLATE:
        s.templates = g_value_get_string(value) ? g_value_get_string(value) : kDefaultTemplate;
        texts_changed = true;
        ++self->priv->texts_version;
        break;
      case PROP_QUERY:
        s.query = string_of(value);
        texts_changed = true;
        ++self->priv->texts_version;
        break;
      case PROP_CROP:
        s.crop = GstDinoclipClipzeroshotCrop(g_value_get_enum(value));
        break;
      case PROP_TOP_K:
        s.top_k = g_value_get_uint(value);
        break;
      case PROP_UNKNOWN_THRESHOLD:
        s.unknown_threshold = g_value_get_double(value);
        break;
      case PROP_QUERY_THRESHOLD:
        s.query_threshold = g_value_get_double(value);
        break;
      case PROP_HYSTERESIS:
        s.hysteresis = g_value_get_double(value);
        break;
      default:
        G_OBJECT_CLASS(gst_clipzeroshot_parent_class)->set_property(object, prop_id, value, pspec);
        break;
    }
  }
  if (texts_changed) request_texts(self);  // outside the lock: it may post a warning
  // Not running yet, or loading: open() compares texts_version once it has
  // published its worker and re-encodes if the texts changed meanwhile.
}

void gst_clipzeroshot_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  auto* self = GST_CLIPZEROSHOT(object);
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  const Settings& s = self->priv->settings;
  auto set_string = [value](const std::string& text) {
    g_value_set_string(value, text.empty() ? nullptr : text.c_str());
  };
  switch (prop_id) {
    case PROP_VOCAB:
      set_string(s.vocab);
      break;
    case PROP_LABELS:
      set_string(s.labels);
      break;
    case PROP_LABELS_FILE:
      set_string(s.labels_file);
      break;
    case PROP_TEMPLATE:
      set_string(s.templates);
      break;
    case PROP_QUERY:
      set_string(s.query);
      break;
    case PROP_CROP:
      g_value_set_enum(value, s.crop);
      break;
    case PROP_TOP_K:
      g_value_set_uint(value, s.top_k);
      break;
    case PROP_UNKNOWN_THRESHOLD:
      g_value_set_double(value, s.unknown_threshold);
      break;
    case PROP_QUERY_THRESHOLD:
      g_value_set_double(value, s.query_threshold);
      break;
    case PROP_HYSTERESIS:
      g_value_set_double(value, s.hysteresis);
      break;
    case PROP_TEXT_ENCODINGS:
      g_value_set_uint64(value, self->priv->text_encodings.load());
      break;
    default:
      G_OBJECT_CLASS(gst_clipzeroshot_parent_class)->get_property(object, prop_id, value, pspec);
      break;
  }
}

/* ---- open / close: the model's and the texts' lifetimes ---- */

// Each step reports its own error; nullptr after one.
std::shared_ptr<const BpeTokenizer> load_tokenizer(GstClipzeroshot* self, const Settings& settings) {
  std::string path;
  try {
    path = find_vocab_file(settings.vocab);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND,
                      ("CLIP tokenizer vocabulary not found: set 'vocab' to bpe_simple_vocab_16e6.txt.gz"),
                      ("%s", e.what()));
    return nullptr;
  }
  try {
    return std::make_shared<const BpeTokenizer>(path);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, READ, ("Could not read the CLIP vocabulary \"%s\": %s", path.c_str(), e.what()),
                      (nullptr));
    return nullptr;
  }
}

// Runs on the worker thread after each background re-encoding.
ZeroShotTextsWorker::Listener texts_listener(GstClipzeroshot* self) {
  return [self](const std::shared_ptr<const ZeroShotTexts>& texts, const std::string& error) {
    if (!texts) {
      GST_ELEMENT_WARNING(self, LIBRARY, SETTINGS,
                          ("New labels not applied, the previous ones stay: %s", error.c_str()), (nullptr));
      return;
    }
    ++self->priv->text_encodings;
    GST_INFO_OBJECT(self, "now classifying against %zu label(s), query \"%s\"", texts->labels.size(),
                    texts->query.c_str());
  };
}

// Texts set while this loads (READY->PAUSED) are not lost: the last value
// wins, re-encoded by the worker once it is published.
std::unique_ptr<InferenceClient> gst_clipzeroshot_open(GstDinoclipInference* base, const ModelSettings& model) {
  auto* self = GST_CLIPZEROSHOT(base);
  Settings settings;
  guint64 texts_version = 0;
  {
    std::lock_guard<std::mutex> lock(self->priv->settings_lock);
    settings = self->priv->settings;
    texts_version = self->priv->texts_version;
  }
  ZeroShotTextSpec spec;
  try {
    spec = text_spec(settings);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("%s", e.what()), (nullptr));
    return nullptr;
  }
  std::shared_ptr<const BpeTokenizer> tokenizer = load_tokenizer(self, settings);
  if (!tokenizer) return nullptr;
  std::shared_ptr<runtime::ClipInstance> instance = dinoclip::gst::acquire_model_instance(
      base, model, runtime::ClipInstanceOptions{}, &runtime::acquire_clip_instance);
  if (!instance) return nullptr;
  std::shared_ptr<ZeroShotTextsWorker> texts;
  try {
    texts = std::make_shared<ZeroShotTextsWorker>(dinoclip::gst::texts_encoder(instance, tokenizer), spec,
                                                  texts_listener(self));
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("Could not encode the labels: %s", e.what()), (nullptr));
    return nullptr;
  }
  // Which model made the image embeddings the metas carry (one forward of a
  // fixed input): what a video index records to keep embedding spaces apart.
  std::string embedding_model;
  try {
    const std::string weights = dinoclip::index_weights_path(model.model);
    embedding_model = dinoclip::index_model_to_json(
        instance
            ->call(instance->new_client(),
                   [&weights](const ClipModel& clip) { return dinoclip::describe_index_model(clip, weights); })
            .get());
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, INIT, ("Could not describe the CLIP model: %s", e.what()), (nullptr));
    return nullptr;
  }
  GST_INFO_OBJECT(self, "using %s from %s (instance \"%s\"), %zu label(s)", instance->description().c_str(),
                  model.model.c_str(), model.inference.instance_id.c_str(), spec.labels.size());
  auto client = std::make_unique<dinoclip::gst::ClipInference>(GST_BASE_TRANSFORM(self), instance, texts,
                                                               model.inference, std::move(embedding_model));
  self->priv->text_encodings = 1;
  bool texts_changed_while_loading = false;
  {
    std::lock_guard<std::mutex> lock(self->priv->settings_lock);
    self->priv->texts = texts;
    texts_changed_while_loading = self->priv->texts_version != texts_version;
  }
  if (texts_changed_while_loading) {
    GST_INFO_OBJECT(self, "the texts changed while the model loaded: encoding the new ones");
    request_texts(self);
  }
  return client;
}

// The client keeps its own reference to the texts worker: the last one goes
// with it (waiting for a re-encoding in progress) after this.
void gst_clipzeroshot_close(GstDinoclipInference* base) {
  auto* self = GST_CLIPZEROSHOT(base);
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  self->priv->texts.reset();
}

void gst_clipzeroshot_apply_frame_settings(GstDinoclipInference* base, InferenceClient* client) {
  static_cast<dinoclip::gst::ClipInference*>(client)->set_frame_settings(
      settings_snapshot(GST_CLIPZEROSHOT(base)).frame());
}

/* ---- GObject ---- */

void gst_clipzeroshot_finalize(GObject* object) {
  delete GST_CLIPZEROSHOT(object)->priv;
  G_OBJECT_CLASS(gst_clipzeroshot_parent_class)->finalize(object);
}

const dinoclip::gst::InferenceElementTexts kTexts = {
    "CLIP",
    "Path to OpenAI CLIP ViT weights: the released TorchScript archive (ViT-B-32.pt, ViT-B-16.pt, ViT-L-14.pt), "
    "a state_dict .pth or an OpenAI-layout .safetensors. Read in READY->PAUSED; a missing or non-CLIP file is an "
    "error then. No default: required",
    "OpenAI CLIP weights (ViT-B-32.pt, a state_dict .pth or .safetensors)",
    "OpenAI CLIP ViT weights, e.g. ViT-B-32.pt",
    "Compute precision: fp32 anywhere, tf32 (fp32 with TF32 tensor-core products) and fp16 on CUDA only, bf16 on CUDA or CPU; an unsupported choice is an error "
    "in READY->PAUSED. Scores are float32 whatever this is",
    "Frames classified since READY->PAUSED (read-only)",
};

}  // namespace

static void gst_clipzeroshot_class_init(GstClipzeroshotClass* klass) {
  auto* gobject_class = G_OBJECT_CLASS(klass);
  auto* element_class = GST_ELEMENT_CLASS(klass);
  auto* base_class = GST_DINOCLIP_INFERENCE_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(clip_zero_shot_debug, "clipzeroshot", 0, "CLIP zero-shot classification element");

  gobject_class->set_property = gst_clipzeroshot_set_property;
  gobject_class->get_property = gst_clipzeroshot_get_property;
  gobject_class->finalize = gst_clipzeroshot_finalize;
  dinoclip::gst::install_clipzeroshot_properties(gobject_class);
  gst_dinoclip_inference_class_install_properties(base_class, &kTexts, 0, clip_zero_shot_debug);

  gst_element_class_set_static_metadata(
      element_class, "CLIP zero-shot classification", "Filter/Analyzer/Video",
      "Labels video frames from free text with CLIP (no training): attaches GstDinoclipClassificationMeta, posts a "
      "'clipzeroshot' message per classified frame and 'clipzeroshot-query' events for a text query; the video "
      "passes through unchanged",
      "dinoclip contributors");
  gst_type_mark_as_plugin_api(GST_TYPE_DINOCLIP_CLIPZEROSHOT_CROP, GstPluginAPIFlags(0));

  base_class->open = gst_clipzeroshot_open;
  base_class->close = gst_clipzeroshot_close;
  base_class->apply_frame_settings = gst_clipzeroshot_apply_frame_settings;
}

static void gst_clipzeroshot_init(GstClipzeroshot* self) { self->priv = new Private; }
