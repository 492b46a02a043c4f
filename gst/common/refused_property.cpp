#include "common/refused_property.h"

#include <string>

namespace dinoclip::gst {
namespace {

struct PendingWarning {
  std::string text;
};

void post_warning(GstElement* element, gpointer data) {
  auto* pending = static_cast<PendingWarning*>(data);
  GError* error = g_error_new_literal(GST_CORE_ERROR, GST_CORE_ERROR_STATE_CHANGE, pending->text.c_str());
  gst_element_post_message(element, gst_message_new_warning(GST_OBJECT(element), error,
                                                            "the change was ignored; set it before starting"));
  g_error_free(error);
}

void free_pending(gpointer data) { delete static_cast<PendingWarning*>(data); }

}  // namespace

void warn_refused_property(GstElement* element, GstDebugCategory* category, const char* property,
                           const char* reason) {
  auto* pending = new PendingWarning{"'" + std::string(property) + "' was not changed: " + reason};
  GST_CAT_WARNING_OBJECT(category, element, "%s", pending->text.c_str());
  gst_element_call_async(element, post_warning, pending, free_pending);
}

}  // namespace dinoclip::gst
