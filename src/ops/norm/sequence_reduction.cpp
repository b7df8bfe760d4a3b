// SequenceReduction (sequence_reduction.h): type and shape inference, and the CPU reference — the
// four nodes the fused one replaced, run through their own references.
#include "ops/norm/sequence_reduction.h"

#include <string>

#include "ops/norm/layer_norm_patch_rows.h"
#include "ops/op_util.h"
#include "ops/registry.h"

namespace kiln::norm {
namespace {

const char* const kSlotNames[kSrInputs] = {"X", "S1", "B1", "Wr", "Br", "S2", "B2", "Wkv", "Bkv"};

std::string shape_text(const ValueType& t) { return t.shape ? shape_to_string(*t.shape) : std::string("rank unknown"); }

// The patch rows (output 1) of a LayerNormPatchRows step; run_cpu_reference returns output 0 only.
Tensor patch_rows_reference(const Node& step, std::vector<const Tensor*> inputs) {
  const OpSchema* schema = OpRegistry::instance().find(kKilnDomain, kLayerNormPatchRowsOp);
  KILN_ASSERT(schema && schema->cpu);
  KernelContext ctx{{step}, std::move(inputs)};
  return std::move(schema->cpu(ctx).at(1));
}

std::vector<ValueType> infer(const InferContext& ctx) {
  std::vector<ValueType> in;
  for (size_t i = 0; i < kSrInputs; ++i) in.push_back(ctx.type(i));
  return {sequence_reduction_type(ctx, in)};
}

std::vector<Tensor> cpu(const KernelContext& ctx) {
  std::vector<ValueType> types;
  for (size_t i = 0; i < kSrInputs; ++i) types.push_back({ctx.input(i).dtype(), shape_of(ctx.input(i).dims())});
  sequence_reduction_type(ctx, types);
  const Node& self = ctx.node;
  Node rows = reference_step(self, kLayerNormPatchRowsOp, true);
  rows.outputs = {"", "p"};  // Y unread: only the patch rows go on
  for (const char* a : {"height", "width", "patch"}) rows.attrs.set(a, ctx.attrs().get_int(a));
  rows.attrs.set("epsilon", ctx.attrs().get_float("epsilon", 1e-5f));
  const Node gemm = reference_step(self, "FusedMatMul", true);
  Node ln = reference_step(self, "LayerNormalization", false);
  ln.attrs.set("axis", int64_t(-1));
  ln.attrs.set("epsilon", ctx.attrs().get_float("epsilon2", 1e-5f));
  const auto in = [&](int slot) { return &ctx.input(size_t(slot)); };
  const Tensor p = patch_rows_reference(rows, {in(kSrX), in(kSrScale1), in(kSrShift1)});
  const Tensor r = run_cpu_reference(gemm, {&p, in(kSrW), in(kSrBias)});
  const Tensor l2 = run_cpu_reference(ln, {&r, in(kSrScale2), in(kSrShift2)});
  return {run_cpu_reference(gemm, {&l2, in(kSrWkv), in(kSrBkv)})};
}

}  // namespace

bool sequence_reduction_fits(DType x, int64_t channels, int64_t n2) {
  return x == DType::kF32 && (channels == 64 || channels == 128) && n2 == 2 * channels;
}

ValueType sequence_reduction_type(const OpContextBase& ctx, const std::vector<ValueType>& in) {
  KILN_ASSERT(in.size() == kSrInputs);
  const DType x = in[kSrX].dtype;
  if (x != DType::kF32 && x != DType::kF16)
    ctx.invalid(std::string("X is ") + dtype_name(x) + ", not float32 or float16");
  for (int i = kSrScale1; i < kSrInputs; ++i)
    if (in[size_t(i)].dtype != DType::kF16)
      ctx.invalid(std::string(kSlotNames[i]) + " is " + dtype_name(in[size_t(i)].dtype) + ", not float16");
  const PatchRowsGeometry g = patch_rows_geometry(ctx);
  for (const char* eps : {"epsilon", "epsilon2"})
    if (!(ctx.attrs().get_float(eps, 1e-5f) > 0.f)) ctx.invalid(std::string(eps) + " must be positive");
  // Wkv [C, N2] names both widths; the other weights are checked against them.
  const std::vector<int64_t> wkv = known_dims(in[kSrWkv]);
  if (wkv.size() != 2)
    ctx.invalid("Wkv must be a [channels, N2] tensor of known shape, got " + shape_text(in[kSrWkv]));
  const int64_t C = wkv[0], N2 = wkv[1], p = g.patch;
  const std::vector<std::vector<int64_t>> want = {{}, {C}, {C}, {p * p * C, C}, {C}, {C}, {C}, {C, N2}, {N2}};
  for (int i = kSrScale1; i < kSrInputs; ++i)
    if (known_dims(in[size_t(i)]) != want[size_t(i)])
      ctx.invalid(std::string(kSlotNames[i]) + " must be " + dims_to_string(want[size_t(i)]) + ", got " +
                  shape_text(in[size_t(i)]));
  const Dim windows((g.height / p) * (g.width / p));
  if (!in[kSrX].shape) return {DType::kF16, Shape{Dim(), windows, Dim(N2)}};
  const Shape& xs = *in[kSrX].shape;
  if (xs.size() != 3) ctx.invalid("X must be [batch, tokens, channels], got " + shape_to_string(xs));
  if (xs[1].known() && xs[1].value != g.height * g.width)
    ctx.invalid("X " + shape_to_string(xs) + " has " + std::to_string(xs[1].value) + " tokens, but height x width is " +
                std::to_string(g.height) + " x " + std::to_string(g.width));
  if (xs[2].known() && xs[2].value != C)
    ctx.invalid("X has " + std::to_string(xs[2].value) + " channels but Wkv is " + dims_to_string(wkv));
  return {DType::kF16, Shape{xs[0], windows, Dim(N2)}};
}

void register_sequence_reduction(OpRegistry& r) {
  r.add({.domain = kKilnDomain, .name = kSequenceReductionOp, .min_inputs = kSrInputs, .max_inputs = kSrInputs,
         .infer = infer, .cpu = cpu});
}

}  // namespace kiln::norm
