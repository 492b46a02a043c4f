#include "app/bus_error.h"

#include "core/error.h"

namespace dinoclip::gstapp {

std::string bus_error_text(GstMessage* message, bool name_source) {
  GError* error = nullptr;
  gchar* debug = nullptr;
  if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_WARNING) {
    gst_message_parse_warning(message, &error, &debug);
  } else {
    gst_message_parse_error(message, &error, &debug);
  }
  std::string text;
  if (name_source && GST_MESSAGE_SRC(message)) text = std::string(GST_OBJECT_NAME(GST_MESSAGE_SRC(message))) + ": ";
  text += error ? error->message : "unknown error";
  if (debug) text += std::string(" (") + debug + ")";
  g_clear_error(&error);
  g_free(debug);
  return text;
}

void throw_pending_bus_error(GstElement* element, const std::string& prefix, bool name_source) {
  GstBus* bus = gst_element_get_bus(element);
  GstMessage* message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  gst_object_unref(bus);
  if (!message) return;
  const std::string text = prefix + bus_error_text(message, name_source);
  gst_message_unref(message);
  throw Error(text);
}

}  // namespace dinoclip::gstapp
