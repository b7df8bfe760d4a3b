// LayerNormalization on the GPU: mean, then the mean of squared deviations (two passes over the
// row held in registers, fp32), then y = (x - mean) * rsqrtf(var + eps) * scale + bias. X may
// differ from Y (float32 vs float16, the mixed forms of layer_norm.cpp); Scale and B have Y's type.
//
// Rows up to 1024 elements (every transformer here: 32–1024 channels) take one kernel,
// layer_norm_rows: a group of L lanes (a power of two <= 32) per row, 32 / L rows per warp, each
// lane K vectors of V consecutive elements held in registers, the statistics reduced with
// shuffles inside the group, in a grid-stride loop over rows on a resident grid. The fast form
// takes V = 16 bytes of the wider type (8 fp16, 4 fp32 or mixed; the fp16 side of a mixed form
// moves 8 bytes), so every warp access covers consecutive bytes, and picks L and K to fill the
// group (fp16: 64 → 8×1, 128 → 16×1, 320 → 8×5, 512 → 32×2; mixed: 64 → 16×1, 320 → 16×5).
// Unaligned storage and widths that are not a multiple of V take the same kernel with V = 1 and
// a warp per row; longer rows take a block each.
//
// The floor is X read once and Y written once: SegFormer-B2 at 1024², batch 8, fp16 moves 134 MB
// at 524288×64 (45 µs at 3.0 TB/s), 67 MB at 131072×128, 21 MB at 32768×320 and 17 MB at
// 8192×512; the fp32 → fp16 form 1.5× that. Every sector of X and Y is moved once. Scale and B
// are re-read per row as 16-byte vectors: all groups of a warp read the same bytes (one L1
// wavefront, against 4 for X), where holding them in registers across rows cost 2× the
// registers (ptxas: 145 against 72 at 320 fp16; the compiler hoists their conversion to float)
// and so half the resident warps. A lane keeps 32–80 bytes of X in flight per round (two rows
// at once when K <= 2), and 48–72 registers leave 3–5 blocks of 256 per SM: ~5 MB in flight
// over 132 SMs, above the ~1.5 MB of reads that 1.5 TB/s needs at ~1 µs of DRAM latency. Left
// over: two shuffle reductions per row (3–5 steps) and the ramp of the short launches (≈7 µs).
//
// kiln.LayerNormPatchRows (layer_norm_patch_rows.h) takes the same kernels with a second
// destination: each normalized row is also stored at its PatchRowMap row (layer_norm_launch.h),
// which replaces the row gather that SegFormer's sequence reductions ran as a Transpose (a read
// and a write of Y). The row is in registers already, so the second store costs only its bytes;
// Y's own store is skipped when nothing reads Y. A template flag keeps LayerNormalization's
// kernels as they were (no map arithmetic, no extra registers).
#include <type_traits>
#include <utility>

#include "kiln/status.h"
#include "ops/norm/layer_norm_launch.h"
#include "runtime/cuda/resident_grid.cuh"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::norm {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxVecs = 8;  // vectors per lane on the fast path: 8 × 32 lanes × 4 fp32 = 1024

// y or rows_out may be nullptr (LayerNormalization: no rows_out; patch rows: Y unread).
template <class T, class U>
__global__ void layer_norm_block(const T* __restrict__ x, const U* __restrict__ scale, const U* __restrict__ bias,
                                 U* __restrict__ y, float* __restrict__ mean_out, float* __restrict__ inv_out,
                                 U* __restrict__ rows_out, PatchRowMap row_map, int64_t inner, float eps) {
  const int64_t row = blockIdx.x;
  const T* xr = x + row * inner;
  U* yr = y ? y + row * inner : nullptr;
  U* pr = rows_out ? rows_out + int64_t(row_map(uint32_t(row))) * inner : nullptr;
  float sum = 0.f;
  for (int64_t i = threadIdx.x; i < inner; i += blockDim.x) sum += cuda::load_f(xr, i);
  const float mean = cuda::block_reduce<false>(sum) / float(inner);
  float sq = 0.f;
  for (int64_t i = threadIdx.x; i < inner; i += blockDim.x) {
    float d = cuda::load_f(xr, i) - mean;
    sq += d * d;
  }
  const float inv = rsqrtf(cuda::block_reduce<false>(sq) / float(inner) + eps);
  for (int64_t i = threadIdx.x; i < inner; i += blockDim.x) {
    float v = (cuda::load_f(xr, i) - mean) * inv * cuda::load_f(scale, i);
    if (bias) v += cuda::load_f(bias, i);
    if (yr) cuda::store_f(yr, i, v);
    if (pr) cuda::store_f(pr, i, v);
  }
  if (threadIdx.x == 0) {
    if (mean_out) mean_out[row] = mean;
    if (inv_out) inv_out[row] = inv;
  }
}

// V consecutive elements of T as floats and back: one or more 16-byte units, one 8-byte unit
// (the fp16 side of a mixed form), or V element accesses (V = 1). The launcher checked alignment.
template <class T, int V> using UnitOf = std::conditional_t<V * sizeof(T) % 16 == 0, uint4, uint2>;

template <class T, class Unit> __device__ __forceinline__ void unpack(const Unit& w, float* f) {
  constexpr int n = int(sizeof(Unit) / sizeof(T));
  if constexpr (std::is_same_v<T, __half>) {
    const __half2* h = reinterpret_cast<const __half2*>(&w);
#pragma unroll
    for (int i = 0; i < n / 2; ++i) {
      const float2 t = __half22float2(h[i]);
      f[2 * i] = t.x, f[2 * i + 1] = t.y;
    }
  } else {
    const float* e = reinterpret_cast<const float*>(&w);
#pragma unroll
    for (int i = 0; i < n; ++i) f[i] = e[i];
  }
}
template <class T, class Unit> __device__ __forceinline__ Unit pack(const float* f) {
  constexpr int n = int(sizeof(Unit) / sizeof(T));
  Unit w;
  if constexpr (std::is_same_v<T, __half>) {
    __half2* h = reinterpret_cast<__half2*>(&w);
#pragma unroll
    for (int i = 0; i < n / 2; ++i) h[i] = __floats2half2_rn(f[2 * i], f[2 * i + 1]);
  } else {
    float* e = reinterpret_cast<float*>(&w);
#pragma unroll
    for (int i = 0; i < n; ++i) e[i] = f[i];
  }
  return w;
}

template <class T, int V> __device__ __forceinline__ void load_floats(const T* p, float (&f)[V]) {
  if constexpr (V * sizeof(T) % 8 == 0) {
    using Unit = UnitOf<T, V>;
    constexpr int kPer = int(sizeof(Unit) / sizeof(T));
#pragma unroll
    for (int u = 0; u < V / kPer; ++u) unpack<T>(__ldg(reinterpret_cast<const Unit*>(p) + u), f + u * kPer);
  } else {
#pragma unroll
    for (int e = 0; e < V; ++e) f[e] = cuda::load_f(p, e);
  }
}
template <class T, int V> __device__ __forceinline__ void store_floats(T* p, const float (&f)[V]) {
  if constexpr (V * sizeof(T) % 8 == 0) {
    using Unit = UnitOf<T, V>;
    constexpr int kPer = int(sizeof(Unit) / sizeof(T));
#pragma unroll
    for (int u = 0; u < V / kPer; ++u) reinterpret_cast<Unit*>(p)[u] = pack<T, Unit>(f + u * kPer);
  } else {
#pragma unroll
    for (int e = 0; e < V; ++e) cuda::store_f(p, e, f[e]);
  }
}

// Sums R values per lane over aligned groups of `lanes` lanes (xor offsets stay in the group).
// Unrolled over the five possible steps with a uniform predicate: the rolled loop's compare and
// branch per step cost issue slots in this issue-bound kernel (c122).
template <int R> __device__ __forceinline__ void group_sum(float (&v)[R], int lanes) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    if (o < lanes)
#pragma unroll
      for (int r = 0; r < R; ++r) v[r] += __shfl_xor_sync(0xffffffffu, v[r], o);
}

// Rows of a.inner = n·V elements (V-element vectors, vector j of a row at j·V). A warp holds
// 32 >> log2_lanes groups; group g of a warp covers rows base + r·groups + g (r < R), so each
// access of the warp reads consecutive rows. Lane `sub` of a group owns vectors k·lanes + sub.
// kRows: row r is stored again at a.rows_out row a.row_map(r), and at y only when y is set.
template <class T, class U, int V, int K, int R, bool kRows>
__global__ void __launch_bounds__(kThreads) layer_norm_rows(LayerNormArgs a, int log2_lanes) {
  const T* __restrict__ x = static_cast<const T*>(a.x);
  U* __restrict__ y = static_cast<U*>(a.y);
  U* __restrict__ rows_out = static_cast<U*>(a.rows_out);
  // The element-wise form always takes a warp per row: constant offsets save ~2.5x registers.
  const int log2l = V == 1 ? 5 : log2_lanes;
  const int lanes = 1 << log2l, groups = 32 >> log2l;
  const int lane = threadIdx.x & 31, sub = lane & (lanes - 1), group = lane >> log2l;
  const int n = int(a.inner / V);
  const int64_t per_warp = int64_t(groups) * R;
  const int64_t warp = (int64_t(blockIdx.x) * kThreads + threadIdx.x) >> 5;
  const int64_t stride = (int64_t(gridDim.x) * kThreads >> 5) * per_warp;
  // base is the same for the whole warp, so every lane reaches the shuffles; rows past the end
  // compute on zeros and store nothing.
  for (int64_t base = warp * per_warp; base < a.rows; base += stride) {
    int64_t row[R];
    float v[R][K][V], sum[R], sq[R], mean[R], inv[R];
#pragma unroll
    for (int r = 0; r < R; ++r) {
      row[r] = base + r * groups + group;
      sum[r] = 0.f;
#pragma unroll
      for (int k = 0; k < K; ++k) {
        const int j = k * lanes + sub;
        if (row[r] < a.rows && j < n) load_floats<T, V>(x + row[r] * a.inner + j * V, v[r][k]);
        else
#pragma unroll
          for (int e = 0; e < V; ++e) v[r][k][e] = 0.f;
#pragma unroll
        for (int e = 0; e < V; ++e) sum[r] += v[r][k][e];
      }
    }
    group_sum<R>(sum, lanes);
#pragma unroll
    for (int r = 0; r < R; ++r) {
      mean[r] = sum[r] / float(a.inner);
      sq[r] = 0.f;
#pragma unroll
      for (int k = 0; k < K; ++k)
        if (k * lanes + sub < n)
#pragma unroll
          for (int e = 0; e < V; ++e) {
            const float d = v[r][k][e] - mean[r];
            sq[r] += d * d;
          }
    }
    group_sum<R>(sq, lanes);
#pragma unroll
    for (int r = 0; r < R; ++r) {
      inv[r] = rsqrtf(sq[r] / float(a.inner) + a.eps);
      if (row[r] >= a.rows) continue;
      int64_t out_row = 0;
      if constexpr (kRows) out_row = a.row_map(uint32_t(row[r]));
#pragma unroll
      for (int k = 0; k < K; ++k) {
        const int j = k * lanes + sub;
        if (j >= n) continue;
        float sc[V], bi[V], o[V];
        load_floats<U, V>(static_cast<const U*>(a.scale) + j * V, sc);
        if (a.bias) load_floats<U, V>(static_cast<const U*>(a.bias) + j * V, bi);
        else
#pragma unroll
          for (int e = 0; e < V; ++e) bi[e] = 0.f;
#pragma unroll
        for (int e = 0; e < V; ++e) o[e] = (v[r][k][e] - mean[r]) * inv[r] * sc[e] + bi[e];
        if (!kRows || y) store_floats<U, V>(y + row[r] * a.inner + j * V, o);
        if constexpr (kRows) store_floats<U, V>(rows_out + out_row * a.inner + j * V, o);
      }
      if (sub == 0) {
        if (a.mean) a.mean[row[r]] = mean[r];
        if (a.inv_std) a.inv_std[row[r]] = inv[r];
      }
    }
  }
}

// A resident grid, trimmed so every block runs the same number of loop rounds.
template <class T, class U, bool kRows, int V, int K>
void launch_rows(const LayerNormArgs& a, int log2_lanes, CudaStream stream) {
  constexpr int R = K <= 2 ? 2 : 1;  // short rows: two per group in flight
  const auto kernel = layer_norm_rows<T, U, V, K, R, kRows>;
  static const int64_t resident = cuda::resident_blocks(kernel, kThreads, 0);
  const int64_t rows_per_block = int64_t(kThreads / 32) * (32 >> log2_lanes) * R;
  const int64_t needed = (a.rows + rows_per_block - 1) / rows_per_block;
  const int64_t rounds = (needed + resident - 1) / resident;
  kernel<<<unsigned((needed + rounds - 1) / rounds), kThreads, 0, stream>>>(a, log2_lanes);
  CUDA_CHECK_LAUNCH();
}

// launch_rows with K = vecs, one of Ks.
template <class T, class U, bool kRows, int V, int... Ks>
void launch_vecs(const LayerNormArgs& a, int log2_lanes, int vecs, CudaStream stream, std::integer_sequence<int, Ks...>) {
  ((vecs == Ks ? launch_rows<T, U, kRows, V, Ks>(a, log2_lanes, stream) : void()), ...);
}

// The group width for n vectors of up to kMaxVecs per lane: the fewest idle slots
// (lanes × vectors − n), then the most lanes (fewer registers per lane).
std::pair<int, int> pick_group(int64_t n) {
  int best_log2 = 5, best_vecs = int((n + 31) / 32);
  int64_t best_idle = 32 * best_vecs - n;
  for (int log2 = 4; log2 >= 0; --log2) {
    const int64_t lanes = 1 << log2, vecs = (n + lanes - 1) / lanes;
    if (vecs > kMaxVecs || lanes * vecs - n >= best_idle) continue;
    best_log2 = log2, best_vecs = int(vecs), best_idle = lanes * vecs - n;
  }
  return {best_log2, best_vecs};
}

template <class T, class U, bool kRows> void launch_form(const LayerNormArgs& a, CudaStream stream) {
  constexpr int V = cuda::kVec16<T> < cuda::kVec16<U> ? cuda::kVec16<T> : cuda::kVec16<U>;
  const auto fits = [](const void* p, size_t elem) { return reinterpret_cast<uintptr_t>(p) % (V * elem) == 0; };
  const bool aligned = fits(a.x, sizeof(T)) && (!a.y || fits(a.y, sizeof(U))) && fits(a.scale, sizeof(U)) &&
                       (!a.bias || fits(a.bias, sizeof(U))) && (!a.rows_out || fits(a.rows_out, sizeof(U)));
  if (a.inner <= 1024 && a.inner % V == 0 && aligned) {
    const auto [log2_lanes, vecs] = pick_group(a.inner / V);
    return launch_vecs<T, U, kRows, V>(a, log2_lanes, vecs, stream,
                                       std::integer_sequence<int, 1, 2, 3, 4, 5, 6, 7, 8>{});
  }
  if (a.inner <= 1024) {  // element accesses, a warp per row, 1–32 elements per lane
    int vecs = 1;
    while (32 * vecs < a.inner) vecs *= 2;
    return launch_vecs<T, U, kRows, 1>(a, 5, vecs, stream, std::integer_sequence<int, 1, 2, 4, 8, 16, 32>{});
  }
  layer_norm_block<T, U><<<unsigned(a.rows), 512, 0, stream>>>(
      static_cast<const T*>(a.x), static_cast<const U*>(a.scale), static_cast<const U*>(a.bias),
      static_cast<U*>(a.y), a.mean, a.inv_std, static_cast<U*>(a.rows_out), a.row_map, a.inner, a.eps);
  CUDA_CHECK_LAUNCH();
}

template <class T, class U> void launch(const LayerNormArgs& a, CudaStream stream) {
  if (a.rows_out) return launch_form<T, U, true>(a, stream);
  launch_form<T, U, false>(a, stream);
}

}  // namespace

void launch_layer_norm(DType x, DType y, const LayerNormArgs& a, CudaStream stream) {
  if (a.rows == 0 || a.inner == 0) return;
  KILN_ASSERT(a.rows <= 0x7fffffff);
  KILN_ASSERT(a.y || a.rows_out);
  if (a.rows_out) {  // the host checked these (layer_norm_patch_rows.cpp): whole pictures, whole windows
    const PatchRowMap& m = a.row_map;
    KILN_ASSERT(m.patch > 0 && m.height > 0 && m.width > 0 && m.height % m.patch == 0 && m.width % m.patch == 0);
    KILN_ASSERT(a.rows % (int64_t(m.height) * m.width) == 0);
  }
  if (x == DType::kF32 && y == DType::kF32) return launch<float, float>(a, stream);
  if (x == DType::kF16 && y == DType::kF16) return launch<__half, __half>(a, stream);
  if (x == DType::kF32 && y == DType::kF16) return launch<float, __half>(a, stream);
  if (x == DType::kF16 && y == DType::kF32) return launch<__half, float>(a, stream);
  KILN_ASSERT(!"layer norm dtype");
}

}  // namespace kiln::norm
