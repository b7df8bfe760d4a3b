// Device side of Mask2Former's maps on the GPU (mask2former_post_cuda.h): plain data and the
// launchers of mask2former_probs.cu and mask2former_maps.cu. Every bilinear value is
// io/mask2former_post.h's blend with its BilinearTaps, each float operation rounded to nearest in
// the CPU reference's order, so the GPU's probabilities equal the CPU's bit for bit.
#pragma once
#include <cstdint>

#include "ir/dtype.h"
#include "runtime/cuda/device_tensor.h"

namespace kiln::post {

// One axis of a BilinearTaps in device memory: n source index pairs and weights.
struct DeviceTaps {
  const int32_t* i0 = nullptr;
  const int32_t* i1 = nullptr;
  const float* l0 = nullptr;
  const float* l1 = nullptr;
};

// probs[j] (out_h x out_w, float32) = portable_sigmoid(bilinear(mask_logits plane q_j)), where
// q_j = queries[j] (device int32) or j when queries is null; planes of h x w, float32 or float16.
// count <= 65535, out_h * out_w < 2^31.
void launch_mask_probs(DType mask_type, const void* mask_logits, int h, int w, const int32_t* queries, int count,
                       DeviceTaps ty, DeviceTaps tx, int out_h, int out_w, float* probs, CudaStream stream);

// labels[y, x] = the first c < classes with the largest scores[c] at (y, x), the planes r x r:
// blended through the taps to height x width, or read as they are when `resample` is false
// (height = width = r).
void launch_class_argmax(const float* scores, int classes, int r, bool resample, DeviceTaps ty, DeviceTaps tx,
                         int height, int width, int32_t* labels, CudaStream stream);

// Panoptic ownership: per pixel, v_j = probs[j] at it (blended as above) × weights[j] for the
// kept queries j < kept; owner = the first j with the largest v_j, owned[owner] += 1, and
// original[j] += (v_j >= mask_threshold). owned and original are zeroed by the caller.
constexpr int kMaxPanopticQueries = 6144;  // two shared-memory counters each, 48 KB
void launch_panoptic_owners(const float* probs, const float* weights, int kept, int r, bool resample, DeviceTaps ty,
                            DeviceTaps tx, int height, int width, float mask_threshold, int32_t* owner,
                            unsigned long long* owned, unsigned long long* original, CudaStream stream);

// ids[i] = id_of[owner[i]].
void launch_owner_ids(const int32_t* owner, const int32_t* id_of, int64_t n, int32_t* ids, CudaStream stream);

}  // namespace kiln::post
