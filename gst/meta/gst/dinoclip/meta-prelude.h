/* dinoclip meta library: export macro and shared tags.
 * Public, plain C: no LibTorch, no C++ in any header of this library. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#ifndef GST_DINOCLIP_API
#if defined(BUILDING_GST_DINOCLIP_META) && defined(__GNUC__)
#define GST_DINOCLIP_API __attribute__((visibility("default"))) extern
#else
#define GST_DINOCLIP_API extern
#endif
#endif

G_END_DECLS
