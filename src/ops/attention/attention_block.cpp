// AttentionBlock (attention_block.h): type and shape inference, and the CPU reference — the
// nodes the fused one replaced, run through their own references.
#include "ops/attention/attention_block.h"

#include <string>

#include "ops/attention/attention_ops.h"
#include "ops/op_util.h"
#include "ops/registry.h"

namespace kiln::attention {
namespace {

const char* const kSlotNames[kAbInputs] = {"X", "S", "Bn", "Wq", "Bq", "KV", "Wo", "Bo"};

std::vector<ValueType> infer(const InferContext& ctx) {
  std::vector<ValueType> in;
  for (size_t i = 0; i < kAbInputs; ++i) in.push_back(ctx.type(i));
  return {attention_block_type(ctx, in)};
}

std::vector<Tensor> cpu(const KernelContext& ctx) {
  std::vector<ValueType> types;
  for (size_t i = 0; i < kAbInputs; ++i) types.push_back({ctx.input(i).dtype(), shape_of(ctx.input(i).dims())});
  attention_block_type(ctx, types);
  const Node& self = ctx.node;
  const Tensor* x = &ctx.input(kAbX);
  const Dims& xd = x->dims();
  const Dims& kv = ctx.input(kAbKv).dims();
  Node ln = reference_step(self, "LayerNormalization", false);
  ln.attrs.set("axis", int64_t(-1));
  ln.attrs.set("epsilon", ctx.attrs().get_float("epsilon", 1e-5f));
  Node attn = reference_step(self, "Attention", true);
  attn.attrs.set("seq_first", std::vector<int64_t>{1, 1, 1, 1});
  attn.attrs.set("packed_kv", int64_t(1));
  attn.attrs.set("scale", attention_scale(ctx, kv[3]));
  const Node proj = reference_step(self, "FusedMatMul", true);
  const Tensor l = run_cpu_reference(ln, {x, &ctx.input(kAbScale), &ctx.input(kAbShift)});
  const Tensor q = run_cpu_reference(proj, {&l, &ctx.input(kAbWq), &ctx.input(kAbBq)});
  const Tensor q4 = q.reshaped({xd[0], xd[1], kv[2] / 2, kv[3]});  // [B, N, H, D]: seq_first
  const Tensor o = run_cpu_reference(attn, {&q4, &ctx.input(kAbKv), nullptr}).reshaped(xd);
  return {run_cpu_reference(proj, {&o, &ctx.input(kAbWo), &ctx.input(kAbBo), x})};
}

}  // namespace

bool attention_block_fits(int64_t channels, int64_t heads) { return (heads == 1 || heads == 2) && channels == 64 * heads; }

ValueType attention_block_type(const OpContextBase& ctx, const std::vector<ValueType>& in) {
  KILN_ASSERT(in.size() == kAbInputs);
  const DType x = in[kAbX].dtype;
  if (x != DType::kF32 && x != DType::kF16)
    ctx.invalid(std::string("X is ") + dtype_name(x) + ", not float32 or float16");
  for (int i = kAbScale; i < kAbInputs; ++i) {
    const DType want = i == kAbBo ? x : DType::kF16;
    if (in[size_t(i)].dtype != want)
      ctx.invalid(std::string(kSlotNames[i]) + " is " + dtype_name(in[size_t(i)].dtype) + ", not " + dtype_name(want) +
                  (i == kAbBo ? " (X's type)" : ""));
  }
  if (!(ctx.attrs().get_float("epsilon", 1e-5f) > 0.f)) ctx.invalid("epsilon must be positive");
  if (ctx.attrs().has("scale") && !(ctx.attrs().get_float("scale") > 0.f)) ctx.invalid("scale must be positive");
  if (!in[kAbX].shape) return {x, std::nullopt};
  const Shape& xs = *in[kAbX].shape;
  if (xs.size() != 3) ctx.invalid("X must be [batch, tokens, channels], got " + shape_to_string(xs));
  const std::vector<int64_t> kv = known_dims(in[kAbKv]);
  if (kv.size() != 4 || kv[2] % 2 != 0)
    ctx.invalid("KV must be a [batch, keys, 2·heads, head dims] tensor of known shape, got " +
                (in[kAbKv].shape ? shape_to_string(*in[kAbKv].shape) : std::string("rank unknown")));
  const int64_t C = kv[2] / 2 * kv[3];
  if (xs[2].known() && xs[2].value != C)
    ctx.invalid("X has " + std::to_string(xs[2].value) + " channels but KV " + dims_to_string(kv) + " holds " +
                std::to_string(C) + " a key");
  if (xs[0].known() && xs[0].value != kv[0])
    ctx.invalid("X's batch " + std::to_string(xs[0].value) + " differs from KV's " + std::to_string(kv[0]));
  const std::vector<std::vector<int64_t>> want = {{}, {C}, {C}, {C, C}, {C}, kv, {C, C}, {C}};
  for (int i = kAbScale; i < kAbInputs; ++i)
    if (known_dims(in[size_t(i)]) != want[size_t(i)])
      ctx.invalid(std::string(kSlotNames[i]) + " must be " + dims_to_string(want[size_t(i)]) + ", got " +
                  (in[size_t(i)].shape ? shape_to_string(*in[size_t(i)].shape) : std::string("rank unknown")));
  return {x, Shape{xs[0], xs[1], Dim(C)}};
}

void register_attention_block(OpRegistry& r) {
  r.add({.domain = kKilnDomain, .name = kAttentionBlockOp, .min_inputs = kAbInputs, .max_inputs = kAbInputs,
         .infer = infer, .cpu = cpu});
}

}  // namespace kiln::attention
