// kiln.ResizeSumConv's CPU reference against kiln.ResizeSum then Conv run as two nodes (the same
// bits, fp32, fp16 and fp16 with a float32 bias; projected, a kiln.FusedMatMul first), its
// one-line refusals of inconsistent inputs, and the checks the CUDA side shares
// (resize_sum_conv_layout, plan_resize_sum_conv).
#include <gtest/gtest.h>

#include "harness.h"
#include "ops/spatial/resize_sum_conv.h"

namespace kiln::test {
namespace {

struct In {
  int64_t h, w;
  bool tokens;
};

// Feature maps of [B, C] resized to H x W, then W [K, C, 1, 1] and B [K].
OpCall make_call(DType x, DType bias, int64_t b, int64_t c, int64_t k, int64_t H, int64_t W, const std::vector<In>& ins,
                 uint64_t seed) {
  OpCall call{spatial::kResizeSumConvOp};
  call.domain = kKilnDomain;
  std::vector<std::string> layouts, modes;
  std::vector<int64_t> hs, ws;
  for (const In& in : ins) {
    call.inputs.push_back(random_tensor(x, in.tokens ? Dims{b, in.h * in.w, c} : Dims{b, c, in.h, in.w}, seed++));
    layouts.push_back(in.tokens ? "tokens" : "nchw");
    modes.push_back(in.h == 1 ? "align_corners" : "half_pixel");
    hs.push_back(in.h), ws.push_back(in.w);
  }
  call.inputs.push_back(random_tensor(x, {k, c, 1, 1}, seed++, -0.3, 0.3));
  call.inputs.push_back(random_tensor(bias, {k}, seed++));
  call.attrs.set("height", H);
  call.attrs.set("width", W);
  call.attrs.set("layouts", layouts);
  call.attrs.set("coordinate_transformation_modes", modes);
  call.attrs.set("input_heights", hs);
  call.attrs.set("input_widths", ws);
  call.attrs.set("scales", std::vector<float>(2 * ins.size(), 0.f));
  call.attrs.set("activation", std::string("relu"));
  return call;
}

// The call in projected form: input p's tokens [b, N, c] become source tokens [b, N, cin], then
// Wp [cin, c] and Bp [c] follow B.
OpCall project(OpCall call, int p, int64_t cin, uint64_t seed) {
  Tensor& x = call.inputs[size_t(p)];
  const DType t = x.dtype();
  const int64_t c = x.dim(2);
  x = random_tensor(t, {x.dim(0), x.dim(1), cin}, seed);
  call.inputs.push_back(random_tensor(t, {cin, c}, seed + 1, -0.2, 0.2));
  call.inputs.push_back(random_tensor(t, {c}, seed + 2));
  call.attrs.set("projected_input", int64_t(p));
  return call;
}

// The nodes the fused one replaces, run one after the other.
Tensor unfused(const OpCall& call) {
  const int64_t p = call.attrs.get_int("projected_input", -1);
  const size_t n = call.inputs.size() - (p >= 0 ? 4 : 2);
  OpCall sum{spatial::kResizeSumOp};
  sum.domain = kKilnDomain;
  sum.attrs = call.attrs;
  sum.inputs.assign(call.inputs.begin(), call.inputs.begin() + std::ptrdiff_t(n));
  if (p >= 0) {
    OpCall mm{"FusedMatMul"};
    mm.domain = kKilnDomain;
    mm.inputs = {call.inputs[size_t(p)], call.inputs[n + 2], call.inputs[n + 3]};
    sum.inputs[size_t(p)] = run_op(mm).at(0);
  }
  OpCall conv{"Conv"};
  conv.inputs = {run_op(sum).at(0), call.inputs[n], call.inputs[n + 1]};
  return run_op(conv).at(0);
}

TEST(ResizeSumConvOp, ComputesResizeSumThenConv) {
  const std::vector<In> ins = {{7, 9, true}, {3, 4, false}, {2, 5, true}, {1, 1, false}};
  struct Case {
    DType x, bias;
    int64_t c, k;
  };
  for (const Case& t : {Case{DType::kF32, DType::kF32, 5, 3}, Case{DType::kF16, DType::kF16, 64, 19},
                        Case{DType::kF16, DType::kF32, 128, 150}}) {
    SCOPED_TRACE(std::string(dtype_name(t.x)) + " x, " + dtype_name(t.bias) + " bias, C " + std::to_string(t.c));
    const OpCall call = make_call(t.x, t.bias, 2, t.c, t.k, 7, 9, ins, 40);
    const Tensor y = run_op(call).at(0);
    EXPECT_EQ(y.dtype(), t.bias);
    expect_dims(y, {2, t.k, 7, 9});
    EXPECT_TRUE(y.same_bytes(unfused(call)));
  }
}

// Projected: the identity (or any token input) computed from its source tokens first.
TEST(ResizeSumConvOp, ProjectedComputesFusedMatMulFirst) {
  const std::vector<In> ins = {{2, 3, true}, {4, 5, false}, {7, 9, true}};
  struct Case {
    DType x, bias;
    int64_t c, cin, k;
    int p;
  };
  for (const Case& t : {Case{DType::kF16, DType::kF32, 128, 64, 19, 2}, Case{DType::kF16, DType::kF16, 64, 32, 7, 0},
                        Case{DType::kF32, DType::kF32, 5, 3, 4, 2}}) {
    SCOPED_TRACE(std::string(dtype_name(t.x)) + " x, C " + std::to_string(t.c) + ", input " + std::to_string(t.p));
    const OpCall call = project(make_call(t.x, t.bias, 2, t.c, t.k, 7, 9, ins, 60), t.p, t.cin, 90);
    const Tensor y = run_op(call).at(0);
    EXPECT_EQ(y.dtype(), t.bias);
    expect_dims(y, {2, t.k, 7, 9});
    EXPECT_TRUE(y.same_bytes(unfused(call)));
  }
}

TEST(ResizeSumConvOp, RefusesInconsistentInputsInOneLine) {
  const std::vector<In> ins = {{7, 9, true}, {3, 4, false}};
  auto invalid = [&](const char* why, const char* says, auto edit) {
    SCOPED_TRACE(why);
    OpCall call = make_call(DType::kF16, DType::kF32, 1, 4, 3, 7, 9, ins, 1);
    edit(call);
    expect_refused(call, ErrorCode::kInvalidModel, says, "ResizeSumConv 'test_ResizeSumConv': ");
  };
  invalid("W 3x3", "W must be [classes, channels, 1, 1]", [](OpCall& c) { c.inputs[2] = random_tensor(DType::kF16, {3, 4, 3, 3}, 9); });
  invalid("W 2-D", "W must be", [](OpCall& c) { c.inputs[2] = random_tensor(DType::kF16, {3, 4}, 9); });
  invalid("W's channels", "takes 5 channels", [](OpCall& c) { c.inputs[2] = random_tensor(DType::kF16, {3, 5, 1, 1}, 9); });
  invalid("B's length", "does not match W's 3 classes", [](OpCall& c) { c.inputs[3] = random_tensor(DType::kF32, {4}, 9); });
  invalid("B 2-D", "B must be 1-D", [](OpCall& c) { c.inputs[3] = random_tensor(DType::kF32, {1, 3}, 9); });
  invalid("too few inputs", "1 to 8 feature maps, then W and B, got 2 inputs",
          [](OpCall& c) { c.inputs.erase(c.inputs.begin(), c.inputs.begin() + 2); });
  invalid("too many inputs", "got 12 inputs", [](OpCall& c) { c.inputs.insert(c.inputs.begin(), 8, c.inputs[0]); });
  invalid("W float32", "W is float32, not X's float16", [](OpCall& c) { c.inputs[2] = random_tensor(DType::kF32, {3, 4, 1, 1}, 9); });
  invalid("B float64", "B is float64", [](OpCall& c) { c.inputs[3] = random_tensor(DType::kF64, {3}, 9); });
  invalid("X float64", "X_0 is float64", [](OpCall& c) { c.inputs[0] = random_tensor(DType::kF64, {1, 63, 4}, 9); });
  invalid("X_1 float32", "input 1 is float32", [](OpCall& c) { c.inputs[1] = random_tensor(DType::kF32, {1, 4, 3, 4}, 9); });
  invalid("feature maps' channels", "channel count", [](OpCall& c) { c.inputs[1] = random_tensor(DType::kF16, {1, 5, 3, 4}, 9); });
  invalid("ResizeSum's attributes", "activation", [](OpCall& c) { c.attrs.set("activation", std::string("gelu")); });

  // Projected input 0 (tokens [1, 63, 6] · Wp [6, 4] + Bp [4]): inputs t, x, W, B, Wp, Bp.
  auto projected = [&](const char* why, const char* says, auto edit) {
    invalid(why, says, [&](OpCall& c) {
      c = project(c, 0, 6, 30);
      edit(c);
    });
  };
  projected("Wp 3-D", "Wp must be 2-D [Cin, C]", [](OpCall& c) { c.inputs[4] = random_tensor(DType::kF16, {6, 4, 1}, 9); });
  projected("Wp's columns", "channel count", [](OpCall& c) {
    c.inputs[4] = random_tensor(DType::kF16, {6, 5}, 9);
    c.inputs[5] = random_tensor(DType::kF16, {5}, 9);
  });
  projected("Bp's length", "Bp 3 does not match Wp's 4 columns", [](OpCall& c) { c.inputs[5] = random_tensor(DType::kF16, {3}, 9); });
  projected("X_p's channels", "projected input 0 has 7 channels, Wp 6x4 takes 6",
            [](OpCall& c) { c.inputs[0] = random_tensor(DType::kF16, {1, 63, 7}, 9); });
  projected("Wp float32", "Wp is float32, not X's float16", [](OpCall& c) { c.inputs[4] = random_tensor(DType::kF32, {6, 4}, 9); });
  projected("Bp float32", "Bp is float32", [](OpCall& c) { c.inputs[5] = random_tensor(DType::kF32, {4}, 9); });
  projected("projected_input past the maps", "projected_input 2 is not -1 or a feature map (0 to 1)",
            [](OpCall& c) { c.attrs.set("projected_input", int64_t(2)); });
  projected("projected_input -2", "projected_input -2", [](OpCall& c) { c.attrs.set("projected_input", int64_t(-2)); });
  projected("projected NCHW input", "projected input 1 has layout 'nchw'", [](OpCall& c) { c.attrs.set("projected_input", int64_t(1)); });
  projected("Wp and Bp missing", "then W and B, Wp and Bp, got 4 inputs", [](OpCall& c) { c.inputs.resize(4); });
}

TEST(ResizeSumConvOp, Plan) {
  const OpCall call = make_call(DType::kF16, DType::kF32, 2, 64, 19, 7, 9, {{7, 9, true}, {3, 4, false}}, 1);
  Node node;
  node.name = "head";
  node.op_type = spatial::kResizeSumConvOp;
  node.domain = kKilnDomain;
  node.attrs = call.attrs;
  const OpContextBase ctx{node};
  std::vector<Dims> dims = {{2, 63, 64}, {2, 64, 3, 4}, {19, 64, 1, 1}, {19}};
  const spatial::ResizeSumPlan p = spatial::plan_resize_sum_conv(ctx, dims);
  EXPECT_EQ(p.batch, 2);
  EXPECT_EQ(p.channels, 64);
  EXPECT_EQ(p.height, 7);
  EXPECT_EQ(p.width, 9);
  EXPECT_TRUE(p.relu);
  ASSERT_EQ(p.inputs.size(), 2u);
  EXPECT_TRUE(p.inputs[0].tokens);
  dims[3] = {18};
  EXPECT_THROW(spatial::plan_resize_sum_conv(ctx, dims), Error);
  dims[3] = {19};
  dims[2] = {19, 32, 1, 1};
  EXPECT_THROW(spatial::plan_resize_sum_conv(ctx, dims), Error);

  // Types with unknown dims: what is known is checked, Y takes B's type and W's class count (and
  // ResizeSum's batch, which keeps only known dims).
  const ValueType y = spatial::resize_sum_conv_type(
      ctx, {{DType::kF16, Shape{Dim::symbolic("n"), Dim(63), Dim(64)}}, {DType::kF16, std::nullopt},
            {DType::kF16, Shape{Dim(19), Dim(), Dim(1), Dim(1)}}, {DType::kF32, Shape{Dim()}}});
  EXPECT_EQ(y.dtype, DType::kF32);
  ASSERT_TRUE(y.shape);
  EXPECT_EQ(shape_to_string(*y.shape), shape_to_string(Shape{Dim(), Dim(19), Dim(7), Dim(9)}));

  // Projected input 0: the plan reads X_0' [2, 63, 64] from X_0 [2, 63, 32] and Wp [32, 64].
  node.attrs.set("projected_input", int64_t(0));
  dims = {{2, 63, 32}, {2, 64, 3, 4}, {19, 64, 1, 1}, {19}, {32, 64}, {64}};
  EXPECT_EQ(spatial::plan_resize_sum_conv(ctx, dims).channels, 64);
  dims[5] = {63};
  EXPECT_THROW(spatial::plan_resize_sum_conv(ctx, dims), Error);
  dims[5] = {64};
  dims[0] = {2, 63, 31};
  EXPECT_THROW(spatial::plan_resize_sum_conv(ctx, dims), Error);
}

// The fp16 kernel's layout of a plan: SegFormer-B2's head at 1024² (8x, 4x, 2x and the identity,
// as exported) with each banded input's staged columns (its widest 64-pixel tile's) and the
// shared memory carve-up; then what it refuses, with the reason.
spatial::ResizeSumPlan plan_of(int64_t c, int64_t H, int64_t W, const std::vector<In>& ins) {
  const OpCall call = make_call(DType::kF16, DType::kF32, 1, c, 19, H, W, ins, 1);
  Node node;
  node.name = "head";
  node.attrs = call.attrs;
  std::vector<Dims> dims;
  for (const Tensor& t : call.inputs) dims.push_back(t.dims());
  return spatial::plan_resize_sum_conv(OpContextBase{node}, dims);
}

TEST(ResizeSumConvOp, KernelLayout) {
  const auto b2 = plan_of(768, 256, 256, {{32, 32, true}, {64, 64, true}, {128, 128, true}, {256, 256, true}});
  const auto l = spatial::resize_sum_conv_layout(b2, 19);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->ident, 3);
  ASSERT_EQ(l->banded, 3);
  EXPECT_EQ((std::vector<int>{l->input[0], l->input[1], l->input[2]}), (std::vector<int>{0, 1, 2}));
  // Spans 10, 18 and 34 columns, staged as whole 8-pixel swizzle atoms (one TMA box a row).
  EXPECT_EQ((std::vector<int>{l->cols[0], l->cols[1], l->cols[2]}), (std::vector<int>{16, 24, 40}));
  EXPECT_EQ((std::vector<int>{l->off[0], l->off[1], l->off[2]}), (std::vector<int>{0, 2 * 16 * 128, 2 * 40 * 128}));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(l->off[i] % 1024, 0);
  EXPECT_EQ(l->nt, 1);
  EXPECT_EQ(l->a_off, 2 * 64 * 128);  // after the identity's two buffers
  EXPECT_EQ(l->w_off, l->a_off + 64 * 128);
  EXPECT_EQ(l->stage_off, l->w_off + 2 * 32 * 128);
  EXPECT_EQ(l->stage_bytes, 2 * (16 + 24 + 40) * 128 + 16 * 128);  // and a window's padding
  EXPECT_EQ(l->smem_bytes, l->stage_off + 2 * l->stage_bytes + spatial::kRscAlignSlack);
  for (int64_t off : {l->a_off, l->w_off, l->stage_off, l->stage_bytes}) EXPECT_EQ(off % 1024, 0);
  EXPECT_EQ(spatial::resize_sum_conv_layout(b2, 150)->nt, 5);

  EXPECT_EQ(l->projected, -1);
  EXPECT_EQ(l->wp_off, l->stage_off);  // nothing between W's buffers and the stage buffers

  // The identity projected from 64-channel tokens: Wp's two [64][64] chunk buffers come before
  // the stage buffers.
  const auto lp = spatial::resize_sum_conv_layout(b2, 19, 3, 64);
  ASSERT_TRUE(lp);
  EXPECT_EQ(lp->projected, 3);
  EXPECT_EQ(lp->ident, 3);
  EXPECT_EQ(lp->x0_off, lp->ident_off);
  EXPECT_EQ(lp->a_off, l->a_off);
  EXPECT_EQ(lp->w_off, l->w_off);
  EXPECT_EQ(lp->wp_off, l->stage_off);
  EXPECT_EQ(lp->stage_off, l->stage_off + 2 * 64 * 128);
  EXPECT_EQ(lp->smem_bytes, l->smem_bytes + 2 * 64 * 128);

  auto refused = [](const spatial::ResizeSumPlan& p, int64_t k, const std::string& word, int projected = -1,
                    int64_t cin = 0) {
    std::string why;
    EXPECT_FALSE(spatial::resize_sum_conv_layout(p, k, projected, cin, &why));
    EXPECT_NE(why.find(word), std::string::npos) << why;
  };
  refused(b2, 161, "outputs");
  refused(b2, 0, "outputs");
  refused(plan_of(96, 8, 8, {{4, 4, true}}), 19, "channels");
  refused(plan_of(64, 8, 8, {{4, 4, false}}), 19, "NCHW");
  refused(plan_of(64, 8, 20, {{4, 80, true}}), 19, "band");  // downsampled 4x along the width
  refused(plan_of(64, 8, 8, {{1, 1, true}, {2, 2, true}, {4, 4, true}, {4, 2, true}}), 19, "more than 3");
  refused(b2, 19, "32 channels", 3, 32);                  // the kernel projects one 64-channel chunk
  refused(b2, 19, "projected input 2 is not the identity", 2, 64);  // an upsampled input
  refused(plan_of(64, 8, 8, {{4, 4, true}}), 19, "projected input 0 is not the identity", 0, 64);  // no identity
  // Three inputs at the output size: the first is the identity, the other two are banded (65
  // columns a tile each), with the widest W buffers (160 classes): 138 KB, which fits.
  EXPECT_TRUE(spatial::resize_sum_conv_layout(plan_of(64, 4, 256, {{2, 128, true}, {4, 256, true}, {4, 256, true}, {4, 256, true}}), 160));
}

// The wgmma kernel's layout: B2's head as the model has it (projected, 19 classes): windows of
// 3 x 3, 4 x 4 and 6 x 6 source pixels an 8 x 8 tile (the 8x, 4x and 2x inputs), so pattern 0's
// k16 steps (1, 1 and 3); its carve-up (every buffer on a 1024-byte boundary: two 22 KB
// stages, 5 steps' weights in two [64][64] tiles, the source tokens) and 69 KB a block (three
// an SM); then the slots in step order, the wider pattern, and what it leaves to the mma.sync
// kernel.
TEST(ResizeSumConvOp, WgmmaKernelLayout) {
  const auto b2 = plan_of(768, 256, 256, {{32, 32, true}, {64, 64, true}, {128, 128, true}, {256, 256, true}});
  const auto lp = spatial::resize_sum_conv_layout(b2, 19, 3, 64);
  ASSERT_TRUE(lp);
  const auto w = spatial::resize_sum_conv_wgmma_layout(b2, *lp, 19);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->pattern, 0);
  EXPECT_EQ((std::vector<int>{w->input[0], w->input[1], w->input[2]}), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ((std::vector<int>{w->rows[0], w->rows[1], w->rows[2]}), (std::vector<int>{3, 4, 6}));
  EXPECT_EQ((std::vector<int>{w->cols[0], w->cols[1], w->cols[2]}), (std::vector<int>{3, 4, 6}));
  EXPECT_EQ((std::vector<int>{w->off[0], w->off[1], w->off[2]}), (std::vector<int>{0, 16 * 128, 32 * 128}));
  EXPECT_EQ(w->wp_off, 80 * 128);
  EXPECT_EQ(w->w_off, w->wp_off + 64 * 128);
  EXPECT_EQ(w->stage_bytes, w->w_off + 32 * 128);
  EXPECT_EQ(w->stage_bytes, 22 * 1024);
  EXPECT_EQ(w->wt_off, 2 * w->stage_bytes);
  EXPECT_EQ(w->wt_bytes, 2 * 64 * 128);  // 5 steps, 4 a [64][64] tile
  EXPECT_EQ(w->x0_off, w->wt_off + w->wt_bytes);
  EXPECT_EQ(w->smem_bytes, w->x0_off + 64 * 128 + spatial::kRscAlignSlack);
  EXPECT_EQ(w->smem_bytes, 69 * 1024);
  for (int64_t off : {int64_t(w->off[1]), int64_t(w->off[2]), w->wp_off, w->w_off, w->stage_bytes, w->wt_bytes})
    EXPECT_EQ(off % 1024, 0);

  // Not projected: the identity's chunk where Wp's would be, no source-token buffer; 32 classes.
  const auto l = spatial::resize_sum_conv_layout(b2, 19);
  const auto wi = spatial::resize_sum_conv_wgmma_layout(b2, *l, 32);
  ASSERT_TRUE(wi);
  EXPECT_EQ(wi->ident_off, 80 * 128);
  EXPECT_EQ(wi->w_off, wi->ident_off + 64 * 128);
  EXPECT_EQ(wi->smem_bytes, wi->x0_off + spatial::kRscAlignSlack);
  EXPECT_FALSE(spatial::resize_sum_conv_wgmma_layout(b2, *l, 33));  // past one m64n32 accumulator

  // Inputs in another order: the slots still take them fewest steps first.
  const auto swapped = plan_of(768, 256, 256, {{128, 128, true}, {64, 64, true}, {32, 32, true}, {256, 256, true}});
  const auto ws = spatial::resize_sum_conv_wgmma_layout(swapped, *spatial::resize_sum_conv_layout(swapped, 19), 19);
  ASSERT_TRUE(ws);
  EXPECT_EQ(ws->pattern, 0);
  EXPECT_EQ((std::vector<int>{ws->input[0], ws->input[1], ws->input[2]}), (std::vector<int>{1, 2, 0}));
  EXPECT_EQ((std::vector<int>{ws->rows[0], ws->rows[1], ws->rows[2]}), (std::vector<int>{4, 3, 6}));
  // Windows of 4 x 4, 5 x 5 and 6 x 6 pixels (4x, 2.5x and 2x): 1, 2 and 3 steps take the wider
  // pattern (2, 2, 4 steps); 6 x 6, 6 x 6 and 8 x 8 (3, 3 and 4 steps) fit neither.
  const auto wide = plan_of(64, 40, 40, {{10, 10, true}, {16, 16, true}, {20, 20, true}, {40, 40, true}});
  const auto ww = spatial::resize_sum_conv_wgmma_layout(wide, *spatial::resize_sum_conv_layout(wide, 1), 1);
  ASSERT_TRUE(ww);
  EXPECT_EQ(ww->pattern, 1);
  EXPECT_EQ((std::vector<int>{ww->rows[0], ww->rows[1], ww->rows[2]}), (std::vector<int>{4, 5, 6}));
  const auto big = plan_of(64, 40, 40, {{20, 20, true}, {24, 24, true}, {30, 30, true}, {40, 40, true}});
  EXPECT_FALSE(spatial::resize_sum_conv_wgmma_layout(big, *spatial::resize_sum_conv_layout(big, 19), 19));
  // A window past 64 columns (rsc_wgmma_layout's own check, before rows · cols).
  int rows[3] = {3, 4, 6}, cols[3] = {3, 4, 65};
  EXPECT_FALSE(spatial::rsc_wgmma_layout(*lp, rows, cols, 19));
  cols[2] = 6;
  EXPECT_TRUE(spatial::rsc_wgmma_layout(*lp, rows, cols, 19));
  // Two banded inputs; the identity alone.
  const auto two = plan_of(256, 8, 64, {{2, 16, true}, {4, 32, true}, {8, 64, true}});
  EXPECT_FALSE(spatial::resize_sum_conv_wgmma_layout(two, *spatial::resize_sum_conv_layout(two, 19), 19));
  const auto one = plan_of(256, 4, 8, {{4, 8, true}});
  EXPECT_FALSE(spatial::resize_sum_conv_wgmma_layout(one, *spatial::resize_sum_conv_layout(one, 19), 19));
}

}  // namespace
}  // namespace kiln::test
