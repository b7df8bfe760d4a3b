// kiln.Attention: softmax(scale · Q Kᵀ [+ mask]) V in one op, put in the graph by
// passes/fuse_attention (or named by a model in the "kiln" domain).
//
//   inputs   Q [..., Nq, d], K [..., Nk, d], V [..., Nk, dv]   (same float dtype, equal leading
//            batch dims, no broadcasting between them)
//            mask (optional) broadcastable to [..., Nq, Nk]: bool (true = may attend) or Q's
//            dtype (added to the scaled scores). fuse_attention turns an exported
//            Where(b, -inf, 0) mask, true where masked, into Not(b) rather than a polarity
//            attribute: one meaning of bool here, and a Not over a bool mask costs little.
//   attr     scale (float; default 1/sqrt(d))
//            seq_first (4 ints for Q, K, V, output; default 0 0 0 0): 1 = that rank-4 tensor is
//            [B, S, H, D] (sequence before heads, as a linear projection's tokens reshaped)
//            instead of [B, H, S, D]; put in by passes/fold_attention_transposes so the head
//            split and merge need no Transpose copies. The mask always refers to [B, H, Nq, Nk].
//            packed_kv (int; default 0): 1 = input 1 is K and V as one [B, Nk, 2H, D] tensor —
//            heads [0, H) are K's, [H, 2H) V's, as one GEMM with W [C, 2C] writes them — and
//            input 2 is empty; needs seq_first K and V (and so dv = d). Put in by
//            passes/fuse_kv_projection so K and V take one projection launch instead of two.
//   output   [..., Nq, dv] ([B, Nq, H, dv] with seq_first[3]), Q's dtype
// A row whose every score is masked out is NaN, as Softmax over all -inf is.
#pragma once
#include <array>
#include <utility>
#include <vector>

#include "ops/op.h"

namespace kiln::attention {

std::vector<ValueType> attention_infer(const InferContext& ctx);
std::vector<Tensor> attention_cpu(const KernelContext& ctx);
// The scale attribute, or 1/sqrt(d) when absent.
float attention_scale(const OpContextBase& ctx, int64_t d);
// The seq_first attribute as four flags (Q, K, V, output); invalid unless 4 values of 0 or 1,
// and nonzero flags only with rank-4 tensors.
std::array<bool, 4> attention_seq_first(const OpContextBase& ctx, size_t rank);
// The packed_kv attribute: true for 1. Invalid unless 0 or 1, and unless V (input 2) is given
// exactly when unpacked and a packed node's seq_first flags K and V (the packed tensor's rank and
// even head count are checked where its shape is known: packed_kv_layout).
bool attention_packed_kv(const OpContextBase& ctx, bool v_given);
// Where K and V sit in a packed [B, Nk, 2H, D] input, as [B, H, Nk, D] views: K at element 0, V
// at v_offset = H·D, both with strides (outer, head, row) = (Nk·2H·D, D, 2H·D). The CPU
// reference copies them out by these, the CUDA kernels read them in place. Invalid unless rank 4
// and 2H even.
struct PackedKv {
  int64_t heads = 0, nk = 0, d = 0;
  int64_t outer = 0, head = 0, row = 0, v_offset = 0;  // elements
};
PackedKv packed_kv_layout(const OpContextBase& ctx, const Dims& kv);
// [B, S, H, D] <-> [B, H, S, D] dims (Shape or Dims): axes 1 and 2 swapped, the same map both ways.
template <class D> D swap_axes_1_2(D dims) {
  std::swap(dims[1], dims[2]);
  return dims;
}

}  // namespace kiln::attention
