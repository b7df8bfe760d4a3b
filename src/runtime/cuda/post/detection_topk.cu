// Detection top-k on the GPU: score keys, radix select or full bitonic sort, boxes gathered
// (detection_topk.h says how and why the keys order like the CPU reference).
#include <algorithm>

#include "io/portable_sigmoid.h"
#include "kiln/status.h"
#include "runtime/cuda/kernel_util.cuh"
#include "runtime/cuda/post/detection_topk.h"

namespace kiln::post {
namespace {

constexpr int kBlock = 1024;       // threads of the per-image and per-tile kernels
constexpr int kTile = 2 * kBlock;  // keys one block sorts in shared memory: a pair per thread
static_assert(kTile == kBlockTopK, "the block path sorts at most one tile");

__device__ __forceinline__ uint64_t make_key(uint32_t score_key, uint32_t index) {
  return (uint64_t(score_key) << 32) | uint64_t(0xffffffffu - index);
}

// The score whose score_order_key is k (NaN for the NaN key).
__device__ __forceinline__ float key_score(uint32_t k) {
  if (k == 0xffffffffu) return __uint_as_float(0x7fffffffu);
  return __uint_as_float((k & 0x80000000u) ? k & 0x7fffffffu : (0x7fffffffu - k) | 0x80000000u);
}

// The detection of one key: query and label from its index, its query's box in pixels with the
// CPU reference's operations in its order (box_to_pixels), each rounded to nearest.
template <class TB>
__device__ void write_record(uint64_t key, const TB* __restrict__ boxes, const float* __restrict__ scales, int64_t b,
                             int64_t queries, uint32_t classes, DetectionRecord* __restrict__ out) {
  const uint32_t index = 0xffffffffu - uint32_t(key);
  const uint32_t q = index / classes;
  const TB* box = boxes + (b * queries + q) * 4;
  const float cx = cuda::load_f(box, 0), cy = cuda::load_f(box, 1), w = cuda::load_f(box, 2), h = cuda::load_f(box, 3);
  const float sw = scales[2 * b], sh = scales[2 * b + 1];
  const float hw = __fmul_rn(0.5f, w), hh = __fmul_rn(0.5f, h);
  DetectionRecord r;
  r.query = int32_t(q);
  r.label = int32_t(index - q * classes);
  r.score = key_score(uint32_t(key >> 32));
  r.box[0] = __fmul_rn(__fsub_rn(cx, hw), sw);
  r.box[1] = __fmul_rn(__fsub_rn(cy, hh), sh);
  r.box[2] = __fmul_rn(__fadd_rn(cx, hw), sw);
  r.box[3] = __fmul_rn(__fadd_rn(cy, hh), sh);
  *out = r;
}

// Score keys of every logit: 32-bit score keys for the block path, or full 64-bit keys into
// rows of `row` keys per image (the sort path; the padding was zeroed first).
template <class T, bool kFull>
__global__ void score_keys_kernel(const T* __restrict__ logits, int64_t total, int64_t n, int64_t row, void* out) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const uint32_t key = score_order_key(portable_sigmoid(cuda::load_f(logits, i)));
    if constexpr (kFull) {
      const int64_t b = i / n, j = i - b * n;
      static_cast<uint64_t*>(out)[b * row + j] = make_key(key, uint32_t(j));
    } else {
      static_cast<uint32_t*>(out)[i] = key;
    }
  }
}

// The bitonic steps of sizes size_lo..size_hi (powers of two) whose strides lie inside the
// `count` keys s (a power of two <= kTile) in shared memory, with every thread of the block.
// `origin`: the position of s[0] in its image's sequence, which sets each pair's direction;
// the last size of a full sort is descending everywhere. Zero padding keys sink to the end.
__device__ void bitonic_steps(uint64_t* s, int count, int64_t origin, int64_t size_lo, int64_t size_hi) {
  for (int64_t size = size_lo; size <= size_hi; size <<= 1)
    for (int stride = int(size / 2 < count / 2 ? size / 2 : count / 2); stride > 0; stride >>= 1) {
      for (int t = threadIdx.x; t < count / 2; t += blockDim.x) {
        const int i = 2 * t - (t & (stride - 1)), j = i + stride;
        const bool descending = ((origin + i) & size) == 0;
        const uint64_t a = s[i], c = s[j];
        if ((a < c) == descending) s[i] = c, s[j] = a;
      }
      __syncthreads();
    }
}

// keep <= kTile: one block per image selects its keep largest keys and sorts them.
template <class TB>
__global__ void __launch_bounds__(kBlock)
    block_topk_kernel(const uint32_t* __restrict__ keys, int n, int keep, int tile, const TB* __restrict__ boxes,
                      const float* __restrict__ scales, int64_t queries, uint32_t classes,
                      DetectionRecord* __restrict__ out) {
  __shared__ uint32_t hist[256];
  __shared__ uint64_t cand[kTile];
  __shared__ int warp_counts[kBlock / 32];
  __shared__ uint32_t s_digit;
  __shared__ int s_above, s_greater;
  const int64_t b = blockIdx.x;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  keys += b * n;

  // Radix select of the keep-th largest score key T, 8 bits at a time from the top. Invariant:
  // 1 <= remaining <= the number of keys matching `prefix` under `mask`.
  uint32_t prefix = 0, mask = 0;
  int remaining = keep;
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int i = tid; i < 256; i += kBlock) hist[i] = 0;
    __syncthreads();
    // Scores cluster in a few top digits: a warp adds each of its digits once (per-key atomics on
    // one counter would serialize the whole image).
    for (int start = 0; start < n; start += kBlock) {
      const int i = start + tid;
      const uint32_t k = i < n ? keys[i] : 0u;
      const bool match = i < n && (k & mask) == prefix;
      const uint32_t digit = match ? (k >> shift) & 255u : 256u;
      const uint32_t same = __match_any_sync(0xffffffffu, digit);
      if (match && lane == __ffs(same) - 1) atomicAdd(&hist[digit], uint32_t(__popc(same)));
    }
    __syncthreads();
    if (warp == 0) {
      // Lane l sums digits 255 - 8l down to 248 - 8l; a scan over the lanes counts the keys above
      // each group, and the lane whose group holds the remaining-th key finds its digit.
      uint32_t sum = 0;
      for (int t = 0; t < 8; ++t) sum += hist[255 - 8 * lane - t];
      uint32_t incl = sum;
      for (int o = 1; o < 32; o <<= 1) {
        const uint32_t v = __shfl_up_sync(0xffffffffu, incl, o);
        if (lane >= o) incl += v;
      }
      uint32_t above = incl - sum;
      if (above < uint32_t(remaining) && uint32_t(remaining) <= incl)
        for (int t = 0; t < 8; ++t) {
          const int d = 255 - 8 * lane - t;
          if (above + hist[d] >= uint32_t(remaining)) {
            s_digit = uint32_t(d);
            s_above = int(above);
            break;
          }
          above += hist[d];
        }
    }
    __syncthreads();
    prefix |= s_digit << shift;
    mask |= 255u << shift;
    remaining -= s_above;
  }

  // Every key above T, and the `remaining` keys equal to T of lowest index (an ordered scan of
  // the equal ones, chunk by chunk).
  const uint32_t threshold = prefix;
  const int greater = keep - remaining;
  if (tid == 0) s_greater = 0;
  __syncthreads();
  int equal_before = 0;  // equal keys in earlier chunks: the same in every thread
  for (int start = 0; start < n; start += kBlock) {
    const int i = start + tid;
    const uint32_t k = i < n ? keys[i] : 0u;
    const bool gt = i < n && k > threshold, eq = i < n && k == threshold;
    if (gt) cand[atomicAdd(&s_greater, 1)] = make_key(k, uint32_t(i));
    const uint32_t ballot = __ballot_sync(0xffffffffu, eq);
    if (lane == 0) warp_counts[warp] = __popc(ballot);
    __syncthreads();
    int before = 0, chunk = 0;
    for (int w = 0; w < kBlock / 32; ++w) {
      const int c = warp_counts[w];
      before += w < warp ? c : 0;
      chunk += c;
    }
    if (eq) {
      const int rank = equal_before + before + __popc(ballot & ((1u << lane) - 1u));
      if (rank < remaining) cand[greater + rank] = make_key(k, uint32_t(i));
    }
    equal_before += chunk;
    __syncthreads();  // warp_counts is rewritten by the next chunk
  }

  for (int i = keep + tid; i < tile; i += kBlock) cand[i] = 0;
  __syncthreads();
  bitonic_steps(cand, tile, 0, 2, tile);
  for (int r = tid; r < keep; r += kBlock) write_record(cand[r], boxes, scales, b, queries, classes, out + b * keep + r);
}

// The sort path: one tile of every image's padded keys per block.
__global__ void __launch_bounds__(kBlock)
    tile_bitonic_kernel(uint64_t* __restrict__ keys, int64_t padded, int64_t size_lo, int64_t size_hi) {
  __shared__ uint64_t s[kTile];
  uint64_t* tile = keys + int64_t(blockIdx.x) * kTile;
  for (int i = threadIdx.x; i < kTile; i += kBlock) s[i] = tile[i];
  __syncthreads();
  bitonic_steps(s, kTile, int64_t(blockIdx.x) * kTile % padded, size_lo, size_hi);
  for (int i = threadIdx.x; i < kTile; i += kBlock) tile[i] = s[i];
}

// One bitonic step with a stride of a tile or more, every image at once.
__global__ void global_bitonic_kernel(uint64_t* __restrict__ keys, int64_t pairs, int64_t padded, int64_t size,
                                      int64_t stride) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < pairs; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t img = t / (padded / 2), u = t - img * (padded / 2);
    const int64_t i = 2 * u - (u & (stride - 1)), j = i + stride;
    uint64_t* k = keys + img * padded;
    const bool descending = (i & size) == 0;
    const uint64_t a = k[i], c = k[j];
    if ((a < c) == descending) k[i] = c, k[j] = a;
  }
}

template <class TB>
__global__ void gather_kernel(const uint64_t* __restrict__ keys, int64_t padded, int64_t keep, int64_t total,
                              const TB* __restrict__ boxes, const float* __restrict__ scales, int64_t queries,
                              uint32_t classes, DetectionRecord* __restrict__ out) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < total; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t b = t / keep, r = t - b * keep;
    write_record(keys[b * padded + r], boxes, scales, b, queries, classes, out + t);
  }
}

int64_t pow2_at_least(int64_t v) {
  int64_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

// Keys per image on the sort path: a whole number of tiles.
int64_t padded_scores(const TopKProblem& p) { return std::max<int64_t>(pow2_at_least(p.queries * p.classes), kTile); }

template <class T, class TB>
void launch(const TopKProblem& p, void* scratch, CudaStream stream) {
  const int64_t n = p.queries * p.classes, total = p.batch * n;
  const T* logits = static_cast<const T*>(p.logits);
  const TB* boxes = static_cast<const TB*>(p.boxes);
  const uint32_t classes = uint32_t(p.classes);
  if (p.keep <= kBlockTopK) {
    score_keys_kernel<T, false><<<cuda::grid_for(total), cuda::kThreads, 0, stream>>>(logits, total, n, 0, scratch);
    CUDA_CHECK_LAUNCH();
    block_topk_kernel<TB><<<unsigned(p.batch), kBlock, 0, stream>>>(
        static_cast<const uint32_t*>(scratch), int(n), int(p.keep), int(pow2_at_least(p.keep)), boxes, p.scales,
        p.queries, classes, p.out);
    CUDA_CHECK_LAUNCH();
    return;
  }
  const int64_t padded = padded_scores(p);
  uint64_t* keys = static_cast<uint64_t*>(scratch);
  CUDA_CHECK(cudaMemsetAsync(keys, 0, size_t(p.batch * padded) * sizeof(uint64_t), stream));
  score_keys_kernel<T, true><<<cuda::grid_for(total), cuda::kThreads, 0, stream>>>(logits, total, n, padded, keys);
  CUDA_CHECK_LAUNCH();
  const unsigned tiles = unsigned(p.batch * padded / kTile);
  tile_bitonic_kernel<<<tiles, kBlock, 0, stream>>>(keys, padded, 2, kTile);
  CUDA_CHECK_LAUNCH();
  for (int64_t size = 2 * kTile; size <= padded; size <<= 1) {
    for (int64_t stride = size / 2; stride >= kTile; stride >>= 1) {
      global_bitonic_kernel<<<cuda::grid_for(p.batch * padded / 2), cuda::kThreads, 0, stream>>>(
          keys, p.batch * padded / 2, padded, size, stride);
      CUDA_CHECK_LAUNCH();
    }
    tile_bitonic_kernel<<<tiles, kBlock, 0, stream>>>(keys, padded, size, size);
    CUDA_CHECK_LAUNCH();
  }
  gather_kernel<TB><<<cuda::grid_for(p.batch * p.keep), cuda::kThreads, 0, stream>>>(
      keys, padded, p.keep, p.batch * p.keep, boxes, p.scales, p.queries, classes, p.out);
  CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_for_boxes(const TopKProblem& p, void* scratch, CudaStream stream) {
  if (p.boxes_type == DType::kF16) return launch<T, __half>(p, scratch, stream);
  return launch<T, float>(p, scratch, stream);
}

}  // namespace

size_t topk_scratch_bytes(const TopKProblem& p) {
  if (p.keep <= kBlockTopK) return align_device_bytes(size_t(p.batch * p.queries * p.classes) * sizeof(uint32_t));
  return align_device_bytes(size_t(p.batch * padded_scores(p)) * sizeof(uint64_t));
}

void launch_detection_topk(const TopKProblem& p, void* scratch, CudaStream stream) {
  const int64_t n = p.queries * p.classes;
  KILN_ASSERT(p.batch >= 1 && p.batch <= 0x7fffffff && n >= 1 && n <= kMaxTopKScores && p.keep >= 1 && p.keep <= n);
  KILN_ASSERT((p.logits_type == DType::kF32 || p.logits_type == DType::kF16) &&
              (p.boxes_type == DType::kF32 || p.boxes_type == DType::kF16));
  if (p.logits_type == DType::kF16) return launch_for_boxes<__half>(p, scratch, stream);
  return launch_for_boxes<float>(p, scratch, stream);
}

}  // namespace kiln::post
