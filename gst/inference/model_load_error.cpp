#include "inference/model_load_error.h"

namespace dinoclip::gst {

void post_model_load_error(GstElement* element, const char* kind, const std::string& path, const std::exception& error,
                           const char* expected, const std::string& device) {
  if (!g_file_test(path.c_str(), G_FILE_TEST_EXISTS)) {
    GST_ELEMENT_ERROR(element, RESOURCE, NOT_FOUND,
                      ("Could not load %s model \"%s\": no such file", kind, path.c_str()), ("%s", error.what()));
  } else if (std::string(error.what()).rfind("model-instance-id", 0) == 0) {
    GST_ELEMENT_ERROR(element, LIBRARY, SETTINGS, ("%s", error.what()), (nullptr));
  } else {
    const std::string expectation = expected && *expected ? std::string(" (expected ") + expected + ")" : "";
    GST_ELEMENT_ERROR(element, RESOURCE, READ,
                      ("Could not load %s model \"%s\"%s: %s", kind, path.c_str(), expectation.c_str(), error.what()),
                      ("device %s", device.c_str()));
  }
}

}  // namespace dinoclip::gst
