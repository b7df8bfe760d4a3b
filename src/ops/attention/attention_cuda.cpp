// Host side of kiln.Attention on the GPU: checks shapes, picks the kernel.
//   fp16, d and dv <= 128  → flash-attention on tensor cores (attention.cu)
//   fp32                   → scores materialized in scratch: cuBLASLt GEMM (scale as alpha),
//                            Softmax in place, cuBLASLt GEMM. fp32 has no tensor-core flash
//                            kernel here, and the CUDA-core one ran SegFormer-B2 at 33 ms
//                            against 25 ms unfused; up to kMaxScores bytes of scores
//   otherwise              → CUDA-core kernel with fp32 math (attention_generic.cu)
// With a mask (bool, or additive of Q's dtype; attention_mask_strides gives its broadcast
// strides) the scores are never materialized: fp16 with d, dv <= 128 takes the tensor-core
// kernel, everything else (fp32 included) the CUDA-core kernel; where their grid would leave
// SMs idle the keys are split across blocks and merged after (attention_split.h).
// Every path reads K and V through row strides, so a packed K/V input (packed_kv) costs no copy.
#include <algorithm>
#include <array>
#include <string>

#include "ops/attention/attention_cuda.h"
#include "ops/attention/attention_launch.h"
#include "ops/attention/attention_mask_strides.h"
#include "ops/attention/attention_ops.h"
#include "ops/attention/attention_split.h"
#include "ops/linear/linear_cuda.h"
#include "ops/reduce/reduce_cuda.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/cuda_kernel_context.h"
#include "runtime/cuda/gpu_arch.h"

namespace kiln::attention {
namespace {

constexpr int64_t kMaxScores = int64_t(1) << 30;

// softmax(scale Q K^T) V with the scores in the node's scratch: strided-batched GEMMs over the
// heads of one outer item at a time (one call for contiguous tensors, where the outer items
// line up as more heads).
void attention_materialized(CudaKernelContext& ctx, const AttentionParams& p, DType dt) {
  DeviceTensor s = ctx.scratch(dt, {p.batch, p.nq, p.nk});
  const size_t es = dtype_size(dt);
  const auto contiguous = [&](const RowStrides& r) { return r.outer == p.heads * r.head; };
  const bool one_call = contiguous(p.sq) && contiguous(p.sk) && contiguous(p.sv) && contiguous(p.so);
  const int64_t per_call = one_call ? p.batch : p.heads;
  for (int64_t b = 0; b < p.batch; b += per_call) {
    const auto at = [&](const void* base, const RowStrides& r) {
      return static_cast<const char*>(base) + r.at(b, p.heads, 0) * int64_t(es);
    };
    char* scores = static_cast<char*>(s.data()) + b * p.nq * p.nk * int64_t(es);
    linear::GemmCall g;
    g.dtype = dt;
    g.trans_b = true;
    g.m = p.nq, g.n = p.nk, g.k = p.d;
    g.a = at(p.q, p.sq), g.lda = p.sq.row, g.stride_a = p.sq.head;
    g.b = at(p.k, p.sk), g.ldb = p.sk.row, g.stride_b = p.sk.head;
    g.c = scores, g.ldc = p.nk, g.stride_c = int64_t(p.nq) * p.nk;
    g.batch = per_call;
    g.alpha = p.scale;
    linear::gemm_lt(ctx.session, g);
    reduce::launch_softmax(dt, false, scores, scores, per_call * p.nq, p.nk, 1, ctx.stream());
    linear::GemmCall o;
    o.dtype = dt;
    o.m = p.nq, o.n = p.dv, o.k = p.nk;
    o.a = scores, o.lda = p.nk, o.stride_a = int64_t(p.nq) * p.nk;
    o.b = at(p.v, p.sv), o.ldb = p.sv.row, o.stride_b = p.sv.head;
    o.c = const_cast<char*>(at(p.o, p.so)), o.ldc = p.so.row, o.stride_c = p.so.head;
    o.batch = per_call;
    linear::gemm_lt(ctx.session, o);
  }
  ctx.library = "cuBLASLt+kiln";
}

// Where the rows of a [..., H, S, D] tensor (or [B, S, H, D] when seq_first) sit.
RowStrides row_strides(const Dims& dims, bool seq_first) {
  const int r = int(dims.size());
  const int64_t width = dims[size_t(r - 1)];
  if (seq_first) return {dims[1] * dims[2] * width, width, dims[2] * width};  // [B, S, H, D]
  const int64_t rows = dims[size_t(r - 2)], heads = r >= 3 ? dims[size_t(r - 3)] : 1;
  return {heads * rows * width, rows * width, width};
}

// K and V as the kernels read them: their [..., H, S, D] views, bases and row strides. A packed
// input (packed_kv = 1) [B, Nk, 2H, D] is read in place where packed_kv_layout puts K and V;
// with D % 8 == 0 every base and stride stays a multiple of 8 elements, so the fp16 kernels'
// 16-byte loads (flash::vector_loads) still apply.
struct KvOperands {
  const void *k = nullptr, *v = nullptr;
  Dims kd, vd;
  RowStrides sk, sv;
  DType dtype = DType::kUndefined;
};

KvOperands kv_operands(CudaKernelContext& ctx, int rank, const std::array<bool, 4>& seq_first) {
  KvOperands o;
  const DeviceTensor& k = ctx.input(1);
  o.dtype = k.dtype;
  if (attention_packed_kv(ctx, ctx.has_input(2))) {
    const PackedKv l = packed_kv_layout(ctx, k.dims);
    if (rank != 4) ctx.invalid("packed_kv = 1 needs rank-4 Q, K and V");
    o.k = k.data();
    o.v = static_cast<const char*>(k.data()) + l.v_offset * int64_t(dtype_size(k.dtype));
    o.kd = o.vd = {k.dims[0], l.heads, l.nk, l.d};
    o.sk = o.sv = {l.outer, l.head, l.row};
    return o;
  }
  const DeviceTensor& v = ctx.input(2);
  if (k.rank() != rank || v.rank() != rank) ctx.invalid("Q, K and V must have the same rank >= 2");
  if (v.dtype != k.dtype) ctx.invalid("Q, K and V dtypes differ");
  o.k = k.data(), o.v = v.data();
  o.kd = seq_first[1] ? swap_axes_1_2(k.dims) : k.dims;
  o.vd = seq_first[2] ? swap_axes_1_2(v.dims) : v.dims;
  o.sk = row_strides(k.dims, seq_first[1]);
  o.sv = row_strides(v.dims, seq_first[2]);
  return o;
}

// Splits p's keys where its grid of `rows`-row blocks is small, with the partial rows in scratch;
// returns that scratch, which the caller holds until the kernels are launched (on the plan's
// first run it is its own allocation, freed with the tensor).
DeviceTensor split_keys(CudaKernelContext& ctx, AttentionParams& p, int64_t rows) {
  const int64_t blocks = (p.nq + rows - 1) / rows * std::min<int64_t>(p.batch, 65535);
  const KeySplit s = choose_key_split(blocks, p.nk, cuda_sm_count());
  const int64_t floats = int64_t(s.splits) * p.batch * p.nq * (p.dv + 2);
  if (s.splits <= 1 || floats * int64_t(sizeof(float)) > kMaxScores) return {};
  p.splits = s.splits;
  p.split_keys = s.split_keys;
  DeviceTensor partial = ctx.scratch(DType::kF32, {floats});
  p.partial = static_cast<float*>(partial.data());
  return partial;
}

// The mask input as the kernels read it, over the scores [..., H, Nq, Nk] (always the
// [B, H, S, D] view: seq_first does not apply to the mask).
MaskParams mask_params(CudaKernelContext& ctx, const Dims& scores, DType qt) {
  const DeviceTensor& m = ctx.input(3);
  if (m.dtype != DType::kBool && m.dtype != qt)
    ctx.invalid(std::string("mask must be bool or ") + dtype_name(qt) + " like Q, got " + dtype_name(m.dtype));
  if (m.rank() > int(scores.size())) ctx.invalid("mask has a higher rank than the scores");
  const std::optional<MaskStrides> st = mask_strides(m.dims, scores);
  if (!st) {
    for (int i = 0; i < m.rank(); ++i) {
      const int64_t want = scores[scores.size() - size_t(m.rank()) + size_t(i)];
      if (m.dims[size_t(i)] != 1 && m.dims[size_t(i)] != want)
        ctx.invalid("mask " + dims_to_string(m.dims) + " does not broadcast to the scores " + dims_to_string(scores));
    }
    ctx.unsupported("mask " + dims_to_string(m.dims) + " broadcasts along some but not all of the batch dims before "
                    "the heads of the scores " + dims_to_string(scores) + "; expand it to those dims");
  }
  MaskParams p;
  p.data = m.data();
  p.kind = m.dtype == DType::kBool ? MaskKind::kBool : MaskKind::kAdditive;
  p.outer = st->outer, p.head = st->head, p.row = st->row, p.col = st->col;
  return p;
}

}  // namespace

void attention_cuda(CudaKernelContext& ctx) {
  ctx.require_dtype(0, {DType::kF32, DType::kF16});
  const DeviceTensor& q = ctx.input(0);
  const int r = q.rank();
  if (r < 2) ctx.invalid("Q, K and V must have the same rank >= 2");
  const auto seq_first = attention_seq_first(ctx, size_t(r));
  const KvOperands kv = kv_operands(ctx, r, seq_first);
  // The [..., H, S, D] views of the inputs.
  const Dims qd = seq_first[0] ? swap_axes_1_2(q.dims) : q.dims, &kd = kv.kd, &vd = kv.vd;
  for (int i = 0; i + 2 < r; ++i)
    if (kd[size_t(i)] != qd[size_t(i)] || vd[size_t(i)] != qd[size_t(i)]) ctx.invalid("batch dims of Q, K and V differ");
  if (kv.dtype != q.dtype) ctx.invalid("Q, K and V dtypes differ");
  const int64_t nq = qd[size_t(r - 2)], d = qd[size_t(r - 1)], nk = kd[size_t(r - 2)], dv = vd[size_t(r - 1)];
  if (kd[size_t(r - 1)] != d || vd[size_t(r - 2)] != nk) ctx.invalid("Q, K, V shapes do not fit");
  if (nq > 0x7fffffff || nk > 0x7fffffff || d > 0x7fffffff || dv > 0x7fffffff)
    ctx.unsupported("sequence lengths and head dims beyond 2^31 are not supported");
  if (nk == 0 && nq * dv * numel_of(Dims(qd.begin(), qd.end() - 2)) > 0)
    ctx.unsupported("attention over zero keys has no defined value");
  MaskParams mask;
  if (ctx.has_input(3)) {
    Dims scores = qd;
    scores.back() = nk;
    mask = mask_params(ctx, scores, q.dtype);
  }
  DeviceTensor& o = ctx.alloc_output(0);
  if (o.numel() == 0) return;
  AttentionParams p;
  p.q = q.data();
  p.k = kv.k;
  p.v = kv.v;
  p.o = o.data();
  p.batch = o.numel() / (nq * dv);
  p.heads = r >= 3 ? qd[size_t(r - 3)] : 1;
  p.sq = row_strides(q.dims, seq_first[0]);
  p.sk = kv.sk;
  p.sv = kv.sv;
  p.so = row_strides(o.dims, seq_first[3]);
  p.nq = int(nq);
  p.nk = int(nk);
  p.d = int(d);
  p.dv = int(dv);
  p.scale = attention_scale(ctx, d);
  p.mask = mask;
  const bool f16 = q.dtype == DType::kF16, masked = p.mask.kind != MaskKind::kNone;
  const bool tensor_cores = f16 && d <= 128 && dv <= 128;
  if (!tensor_cores && !f16 && !masked && p.batch * nq * nk * int64_t(sizeof(float)) <= kMaxScores &&
      p.batch <= 0x7fffffff)
    return attention_materialized(ctx, p, q.dtype);
  if (!tensor_cores && attention_generic_smem(p.d, p.dv) > 200 * 1024)
    ctx.unsupported("head dims d " + std::to_string(d) + ", dv " + std::to_string(dv) +
                    " are too wide for the CUDA attention kernel (its tiles exceed shared memory)");
  // Masked launches split on every kernel; unmasked ones only on the wgmma kernel, whose blocks
  // walk keys fast enough for the merge to pay (the mma.sync kernels' did not: c42, session 12).
  DeviceTensor partial;
  if (masked) partial = split_keys(ctx, p, tensor_cores ? kF16BlockRows : kGenericBlockRows);
  else if (tensor_cores && attention_f16_wgmma_fits(p)) partial = split_keys(ctx, p, kWgmmaBlockRows);
  if (tensor_cores) launch_attention_f16(p, ctx.stream());
  else launch_attention_generic(p, f16, ctx.stream());
  if (p.splits > 1) launch_attention_combine(p, f16, ctx.stream());
}

}  // namespace kiln::attention
