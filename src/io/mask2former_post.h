// Mask2Former's post-processing on the CPU: its two outputs, class_queries_logits [1, Q, K+1]
// and masks_queries_logits [1, Q, h, w], become a semantic class map or panoptic segments.
//
// The semantics are transformers' Mask2FormerImageProcessor (post_process_semantic_segmentation,
// post_process_panoptic_segmentation, compute_segments, check_segment_validity,
// remove_low_and_no_objects), read in image_processing_mask2former.py / modular_mask2former.py:
//   - both first upsample the mask LOGITS bilinearly (align_corners=False) to a fixed 384 x 384
//     ("the preprocessed image size") and take the sigmoid there;
//   - semantic: softmax over the K+1 classes, the last ("no object") dropped, einsum
//     "qc,qhw->chw" at 384 x 384, then those class scores (not the logits) upsampled bilinearly
//     to the target size, argmax over classes;
//   - panoptic: score, label = max / argmax of the softmax over all K+1 classes (the no-object
//     class included); a query is kept when label != K and score > threshold; the kept sigmoid
//     probabilities are upsampled to the target size and multiplied by their scores IN PLACE, so
//     the owner of a pixel is the argmax of score x prob and a query's "original area" counts
//     pixels with score x prob >= mask_threshold; a segment survives when it owns pixels, its
//     original area is not empty and owned / original > overlap threshold; ids count from 1 in
//     query order; a label in `fuse_labels` reuses the id of its first surviving segment.
// Comparisons happen in float32 as torch does them on float32 tensors, except the overlap ratio,
// which transformers takes out with .item() and compares with a Python (double) threshold.
// The sigmoid is io/portable_sigmoid.h's 1 / (1 + exp(-x)) (libm's bits on all but a vanishing
// fraction of inputs), so the GPU version computes the same probabilities bit for bit.
#pragma once
#include <cstdint>
#include <set>
#include <vector>

#include "ir/tensor.h"

namespace kiln {

// transformers' fixed intermediate size for the mask logits.
inline constexpr int kMask2FormerResize = 384;

struct Mask2FormerShape {
  int queries = 0, classes = 0;  // classes: K, without the no-object class
  int height = 0, width = 0;     // of the mask logits
};
// Checks the pair (float32 [1, Q, K+1] and [1, Q, h, w], K >= 1, same Q): kInvalidArgument.
// The dims/dtype form serves device tensors; allow_f16 also takes float16 (the GPU's maps).
Mask2FormerShape mask2former_shape(const Tensor& class_logits, const Tensor& mask_logits);
Mask2FormerShape mask2former_shape(DType class_type, const Dims& class_dims, DType mask_type, const Dims& mask_dims,
                                   bool allow_f16);

// Where the maps are computed: `resize` is the intermediate square size (transformers: 384),
// target 0 x 0 leaves the map at resize x resize (transformers' target_sizes=None).
struct Mask2FormerSize {
  int resize = kMask2FormerResize;
  int target_height = 0, target_width = 0;
};

// kInvalidArgument unless resize >= 1 and the target is 0 x 0 or positive both ways.
void check_mask2former_size(const Mask2FormerSize& size);

struct LabelMap {
  int width = 0, height = 0;
  std::vector<int32_t> ids;  // height * width, row-major
};

// Class ids in 0..K-1.
LabelMap mask2former_semantic(const Tensor& class_logits, const Tensor& mask_logits,
                              const Mask2FormerSize& size = {});

struct PanopticOptions {
  float score_threshold = 0.5f;    // transformers' `threshold` default
  float mask_threshold = 0.5f;
  double overlap_threshold = 0.8;  // overlap_mask_area_threshold: a Python float in transformers
  std::set<int> fuse_labels;       // label_ids_to_fuse
};

struct PanopticSegment {
  int id = 0;          // 1.., as in the map
  int label = 0;       // class id, 0..K-1
  int query = 0;       // the query it came from
  float score = 0;     // max softmax probability of the query
  int64_t area = 0;    // pixels this query owns in the map
  bool fused = false;  // its label is in fuse_labels
};

struct Panoptic {
  LabelMap segments_map;  // segment ids; 0 where no segment (transformers: 0, or -1 everywhere
                          // when no query passes the score threshold)
  std::vector<PanopticSegment> segments;  // one per surviving query, in query order
};

Panoptic mask2former_panoptic(const Tensor& class_logits, const Tensor& mask_logits,
                              const PanopticOptions& options = {}, const Mask2FormerSize& size = {});

// torch.nn.functional.interpolate(mode="bilinear", align_corners=False) of `planes` row-major
// h x w float planes to height x width (float math, torch's source index and clamping).
std::vector<float> resize_planes_bilinear(const float* src, int planes, int h, int w, int height, int width);

// One axis of that resize: for every output index its two source indices and their weights. An
// output value is l0[y] * (l0[x] * r0[i0[x]] + l1[x] * r0[i1[x]]) + l1[y] * (the same on r1),
// r0 and r1 the source rows i0[y] and i1[y], each operation rounded in that order (the GPU's
// maps, runtime/cuda/post, repeat it with these taps).
struct BilinearTaps {
  std::vector<int> i0, i1;
  std::vector<float> l0, l1;
};
BilinearTaps bilinear_taps(int in, int out);

// The pieces of the two maps that the GPU version (runtime/cuda/post/mask2former_post_cuda.h)
// shares with this one, so both decide alike.
//
// softmax over each query's K+1 class logits with the no-object class dropped: [Q, K] row-major
// (class_logits float32 [1, Q, K+1]).
std::vector<float> mask2former_class_probs(const Tensor& class_logits);
// The queries panoptic keeps (best of all K+1 classes not no-object, its probability above the
// threshold), in query order, with that probability and class.
struct PanopticQueries {
  std::vector<int> kept;
  std::vector<float> scores;
  std::vector<int> labels;
};
PanopticQueries panoptic_queries(const Tensor& class_logits, float score_threshold);
// The segments of the kept queries from their pixel counts — owned: pixels whose largest score x
// probability is theirs; original: pixels where their score x probability >= mask threshold —
// and id_of[j], the map id of kept query j's pixels (0: no segment).
std::vector<PanopticSegment> panoptic_segments(const PanopticQueries& queries, const std::vector<int64_t>& owned,
                                               const std::vector<int64_t>& original, const PanopticOptions& options,
                                               std::vector<int32_t>& id_of);

}  // namespace kiln
