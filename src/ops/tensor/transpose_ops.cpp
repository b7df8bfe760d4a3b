// Axis permutations: Transpose, and DepthToSpace/SpaceToDepth (a reshape, a 6-D transpose and
// a reshape back).
#include "ops/tensor/tensor_groups.h"
#include "ops/tensor/tensor_util.h"

namespace kiln::tensor_ops {
namespace {

std::vector<int> transpose_perm(const OpContextBase& ctx, int rank) {
  std::vector<int> perm;
  if (!ctx.attrs().has("perm")) {
    for (int i = rank - 1; i >= 0; --i) perm.push_back(i);
    return perm;
  }
  std::vector<int64_t> p = ctx.attrs().get_ints("perm");
  if (int(p.size()) != rank)
    ctx.invalid("perm has " + std::to_string(p.size()) + " entries for rank " + std::to_string(rank));
  std::vector<bool> seen(size_t(rank), false);
  for (int64_t v : p) {
    // Negative entries are not allowed by the spec; kiln accepts them like other axes.
    int a = normalize_axis(ctx, v, rank);
    if (seen[size_t(a)]) ctx.invalid("perm is not a permutation");
    seen[size_t(a)] = true;
    perm.push_back(a);
  }
  return perm;
}

std::vector<ValueType> transpose_infer(const InferContext& ctx) {
  const Shape* in = ctx.shape(0);
  if (!in) {
    if (ctx.attrs().has("perm"))
      return {{ctx.dtype(0), unknown_shape(ctx.attrs().get_ints("perm").size())}};
    return {{ctx.dtype(0), std::nullopt}};
  }
  std::vector<int> perm = transpose_perm(ctx, int(in->size()));
  Shape out;
  for (int p : perm) out.push_back((*in)[size_t(p)]);
  return {{ctx.dtype(0), out}};
}

std::vector<Tensor> transpose_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  return {permute(x, transpose_perm(ctx, x.rank()))};
}

int64_t block_size(const OpContextBase& ctx) {
  int64_t b = ctx.attrs().get_int("blocksize");
  if (b <= 0) ctx.invalid("blocksize must be positive, got " + std::to_string(b));
  return b;
}

bool depth_to_space_crd(const OpContextBase& ctx) {
  std::string mode = ctx.attrs().get_string("mode", "DCR");
  if (mode != "DCR" && mode != "CRD") ctx.invalid("mode must be DCR or CRD, got '" + mode + "'");
  return mode == "CRD";
}

Dim mul_dim(const Dim& d, int64_t k) { return d.known() ? Dim(d.value * k) : Dim(); }

std::vector<ValueType> depth_to_space_infer(const InferContext& ctx) {
  int64_t b = block_size(ctx);
  depth_to_space_crd(ctx);
  const Shape* in = ctx.shape(0);
  if (!in) return {{ctx.dtype(0), unknown_shape(4)}};
  if (in->size() != 4) ctx.invalid("input must be 4-D, got " + shape_to_string(*in));
  const Dim& c = (*in)[1];
  if (c.known() && c.value % (b * b) != 0)
    ctx.invalid("channels " + std::to_string(c.value) + " not divisible by blocksize^2");
  Dim oc = c.known() ? Dim(c.value / (b * b)) : Dim();
  return {{ctx.dtype(0), Shape{(*in)[0], oc, mul_dim((*in)[2], b), mul_dim((*in)[3], b)}}};
}

std::vector<Tensor> depth_to_space_cpu(const KernelContext& ctx) {
  int64_t b = block_size(ctx);
  bool crd = depth_to_space_crd(ctx);
  const Tensor& x = ctx.input(0);
  if (x.rank() != 4) ctx.invalid("input must be 4-D");
  int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  if (c % (b * b) != 0) ctx.invalid("channels not divisible by blocksize^2");
  int64_t oc = c / (b * b);
  Tensor y = crd ? permute(x.reshaped({n, oc, b, b, h, w}), {0, 1, 4, 2, 5, 3})
                 : permute(x.reshaped({n, b, b, oc, h, w}), {0, 3, 4, 1, 5, 2});
  return {y.reshaped({n, oc, h * b, w * b})};
}

std::vector<ValueType> space_to_depth_infer(const InferContext& ctx) {
  int64_t b = block_size(ctx);
  const Shape* in = ctx.shape(0);
  if (!in) return {{ctx.dtype(0), unknown_shape(4)}};
  if (in->size() != 4) ctx.invalid("input must be 4-D, got " + shape_to_string(*in));
  Shape out{(*in)[0], mul_dim((*in)[1], b * b), Dim(), Dim()};
  for (size_t i = 2; i < 4; ++i) {
    const Dim& d = (*in)[i];
    if (!d.known()) continue;
    if (d.value % b != 0) ctx.invalid("spatial dim " + std::to_string(d.value) + " not divisible by blocksize");
    out[i] = Dim(d.value / b);
  }
  return {{ctx.dtype(0), out}};
}

std::vector<Tensor> space_to_depth_cpu(const KernelContext& ctx) {
  int64_t b = block_size(ctx);
  const Tensor& x = ctx.input(0);
  if (x.rank() != 4) ctx.invalid("input must be 4-D");
  int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  if (h % b != 0 || w % b != 0) ctx.invalid("spatial dims not divisible by blocksize");
  Tensor y = permute(x.reshaped({n, c, h / b, b, w / b, b}), {0, 3, 5, 1, 2, 4});
  return {y.reshaped({n, c * b * b, h / b, w / b})};
}

}  // namespace

void register_transpose_ops(OpRegistry& r) {
  r.add({.domain = "", .name = "Transpose", .infer = transpose_infer, .cpu = transpose_cpu});
  r.add({.domain = "", .name = "DepthToSpace", .infer = depth_to_space_infer,
         .cpu = depth_to_space_cpu});
  r.add({.domain = "", .name = "SpaceToDepth", .infer = space_to_depth_infer,
         .cpu = space_to_depth_cpu});
}

}  // namespace kiln::tensor_ops
