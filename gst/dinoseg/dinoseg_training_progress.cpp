#include "dinoseg/dinoseg_training_progress.h"

#include <algorithm>
#include <cmath>

namespace dinoclip::gst {

void post_training_progress(GstElement* element, int iteration, int iterations, double loss) {
  const GstProgressType type = iteration <= 0            ? GST_PROGRESS_TYPE_START
                               : iteration >= iterations ? GST_PROGRESS_TYPE_COMPLETE
                                                         : GST_PROGRESS_TYPE_CONTINUE;
  gchar* text = iteration <= 0 ? g_strdup_printf("training the segmentation head: %d steps", iterations)
                               : g_strdup_printf("training step %d/%d, loss %.5f", iteration, iterations, loss);
  GstMessage* message = gst_message_new_progress(GST_OBJECT(element), type, kTrainingProgressCode, text);
  g_free(text);
  const gint percent = iterations > 0 ? gint(100LL * std::max(iteration, 0) / iterations) : 100;
  gst_structure_set(gst_message_writable_structure(message), "percent", G_TYPE_INT, percent, "iteration", G_TYPE_INT,
                    iteration, "iterations", G_TYPE_INT, iterations, "loss", G_TYPE_DOUBLE, loss, nullptr);
  gst_element_post_message(element, message);
}

}  // namespace dinoclip::gst
