// Mask2Former's semantic map and panoptic segments on the GPU: io/mask2former_post.h's
// mask2former_semantic and mask2former_panoptic on the model's outputs where they lie, in
// device memory (float32 or float16 each).
//
// The class logits ([1, Q, K+1], tens of KB) are copied to the host, where the CPU reference's
// own code takes their softmax and picks the panoptic queries. The mask logits stay on the
// device: resized to r x r and through io/portable_sigmoid.h (bit for bit the CPU's
// probabilities), then either multiplied into class scores by one fp32 cuBLASLt GEMM (never
// TF32) and arg-maxed at the target size, or, for panoptic, weighted, arg-maxed and counted
// per query. Only the label map and the per-query counts come back; both wait for the session's
// stream.
//   semantic: the CPU's map except where two classes' scores differ by less than the GEMMs'
//             rounding (cuBLASLt and OpenBLAS add the Q products in different orders).
//   panoptic: the CPU's segments and map exactly: no sum is reordered.
#pragma once
#include "io/mask2former_post.h"
#include "runtime/cuda/device_tensor.h"

namespace kiln {

class CudaSession;

// kInvalidArgument as the CPU versions (float16 allowed); kUnsupported beyond 65535 queries,
// 6144 panoptic queries kept, or maps of 2^31 pixels.
LabelMap mask2former_semantic_cuda(CudaSession& session, const DeviceTensor& class_logits,
                                   const DeviceTensor& mask_logits, const Mask2FormerSize& size = {});
Panoptic mask2former_panoptic_cuda(CudaSession& session, const DeviceTensor& class_logits,
                                   const DeviceTensor& mask_logits, const PanopticOptions& options = {},
                                   const Mask2FormerSize& size = {});

}  // namespace kiln
