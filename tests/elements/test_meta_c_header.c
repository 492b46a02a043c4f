/* The public meta headers are plain C (no C++, no LibTorch): compile them as
 * C and read a result back through the C API. Exit status 0 = pass. */
#include <gst/dinoclip/dinoclip-meta.h>

#include <stdio.h>

int main(void) {
  GstDinoclipFeaturesShape shape = {1, 2, 2, 1, 8, 16, 8};
  const gfloat tokens[6] = {1, 2, 3, 4, 5, 6};
  const gfloat attention[2] = {0.25f, 0.75f};
  GstDinoclipFeatures* features;
  GstBuffer* buffer;
  GstDinoclipFeaturesMeta* meta;
  int failures = 0;

  gst_init(NULL, NULL);
  features = gst_dinoclip_features_new(&shape, tokens, attention);
  buffer = gst_buffer_new();
  gst_buffer_add_dinoclip_features_meta(buffer, features, FALSE, 0);
  gst_dinoclip_features_unref(features);

  meta = gst_buffer_get_dinoclip_features_meta(buffer);
  if (meta == NULL || gst_dinoclip_features_get_patch_tokens(meta->features, NULL)[0] != 3.0f) failures++;
  if (meta == NULL || gst_dinoclip_features_get_head_attention(meta->features, 0)[1] != 0.75f) failures++;
  gst_buffer_unref(buffer);
  if (failures) fprintf(stderr, "C API read back wrong values (%d failures)\n", failures);
  return failures;
}
