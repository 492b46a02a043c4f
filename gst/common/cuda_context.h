// The CUDA context the elements share with GStreamer's CUDA elements: the
// GPU's primary context, the one LibTorch's runtime uses, wrapped as a
// GstCudaContext (1.22's gst_cuda_context_new makes a context of its own,
// whose memory LibTorch's kernels cannot read). An element answers the
// "gst.cuda.context" context query with it and posts it (HAVE_CONTEXT), so a
// decoder (nvh264dec) adopts it and its frames need no copy. Only in builds
// with GStreamer's CUDA library (DINOCLIP_WITH_GST_CUDA).
#pragma once

#include <gst/cuda/gstcudacontext.h>
#include <gst/gst.h>

namespace dinoclip::gst {

// The wrapped primary context of CUDA device `device`, one per device for the
// process (kept until exit; transfer none), made on first use; nullptr (after
// a debug log line) when CUDA memory is not usable here or the device is out of
// range. Retains the primary context (cuDevicePrimaryCtxRetain), so it is the
// same context whether LibTorch has initialised the device yet or not.
GstCudaContext* primary_cuda_context(int device);

// Whether `context` is that primary context (the same CUcontext).
bool is_primary_cuda_context(GstCudaContext* context);

// GstElement::query for a CONTEXT query of type "gst.cuda.context": TRUE after
// answering with the primary context of `device`; FALSE when `device` < 0 (no
// model on a GPU yet), CUDA memory is not usable, or the query is another kind.
gboolean answer_cuda_context_query(GstElement* element, GstQuery* query, int device);

// Posts the primary context of `device` (a HAVE_CONTEXT message; the pipeline
// then sets it on every element, a decoder included) and sets it on `element`.
// Nothing when `device` < 0 or CUDA memory is not usable.
void share_cuda_context(GstElement* element, int device);

// The buffer pool an element proposes upstream for CUDA frames on `device`:
// a GstCudaBufferPool on its primary context, configured for `caps` with at
// least `min_buffers`; nullptr when there is no primary context. Transfer full.
GstBufferPool* new_cuda_buffer_pool(int device, GstCaps* caps, guint min_buffers);

// Copies `bytes` from `source` memory of another context (`src`) into memory of
// the primary context of `device` (`dst`), on `stream` (a stream of that
// primary context; the copy is asynchronous on it): the one device-to-device
// copy a frame from a foreign context costs. Throws dinoclip::Error when the
// driver refuses.
void copy_from_foreign_context(CUdeviceptr dst, int device, CUdeviceptr src, GstCudaContext* source, size_t bytes,
                               CUstream stream);

}  // namespace dinoclip::gst
