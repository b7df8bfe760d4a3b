// Inference must never crash on unknown ranks or symbolic dims: every tensor-family op is
// inferred with inputs of unknown rank, then with symbolic dims, and must either succeed or
// report a model error (never an internal error or a crash).
#include "test_tensor_ref.h"

namespace kiln::test {
namespace {
using namespace tref;

struct OpInputs {
  const char* op;
  std::vector<DType> inputs;
  Attributes attrs;
  int outputs = 1;
  int opset_ = 17;
  int opset() const { return opset_; }
};

std::vector<OpInputs> all_ops() {
  const DType F = DType::kF32, I = DType::kI64;
  return {
      {"Reshape", {F, I}, {}}, {"Transpose", {F}, {}}, {"Concat", {F, F}, attrs({{"axis", int64_t(1)}})},
      {"Split", {F, I}, attrs({{"axis", int64_t(1)}}), 2}, {"Split", {F}, attrs({{"num_outputs", int64_t(3)}}), 3},
      {"Slice", {F, I, I, I, I}, {}}, {"Gather", {F, I}, attrs({{"axis", int64_t(1)}})}, {"GatherElements", {F, I}, {}},
      {"GatherND", {F, I}, {}}, {"ScatterElements", {F, I, F}, {}}, {"ScatterND", {F, I, F}, {}},
      {"Squeeze", {F, I}, {}}, {"Squeeze", {F}, {}}, {"Unsqueeze", {F, I}, {}}, {"Flatten", {F}, {}},
      {"Expand", {F, I}, {}}, {"Tile", {F, I}, {}}, {"Pad", {F, I}, {}}, {"Pad", {F, I, F, I}, {}},
      {"Shape", {F}, attrs({{"start", int64_t(1)}})}, {"Size", {F}, {}}, {"ConstantOfShape", {I}, {}},
      {"Identity", {F}, {}}, {"Dropout", {F}, {}, 2}, {"Range", {F, F, F}, {}}, {"Trilu", {F, I}, {}},
      {"DepthToSpace", {F}, attrs({{"blocksize", int64_t(2)}})}, {"SpaceToDepth", {F}, attrs({{"blocksize", int64_t(2)}})},
      {"NonZero", {F}, {}}, {"EyeLike", {F}, {}}, {"OneHot", {I, I, F}, {}},
  };
}

void expect_infers(const OpInputs& o, const std::function<std::optional<Shape>(size_t)>& shape_of_input) {
  std::vector<Value> in;
  for (size_t i = 0; i < o.inputs.size(); ++i) in.push_back(typed(o.inputs[i], shape_of_input(i)));
  try {
    auto t = infer(o.op, in, o.attrs, o.opset(), o.outputs);
    EXPECT_EQ(int(t.size()), o.outputs) << o.op;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidModel) << o.op << ": " << e.what();
  }
}

TEST(TensorInferRobust, UnknownRanks) {
  for (const OpInputs& o : all_ops())
    for (int opset : {13, 18}) {
      OpInputs c = o;
      c.opset_ = opset;
      expect_infers(c, [](size_t) { return std::nullopt; });
    }
}

TEST(TensorInferRobust, SymbolicDims) {
  for (const OpInputs& o : all_ops())
    for (int opset : {13, 18})
      for (size_t rank : {2, 4}) {
        OpInputs c = o;
        c.opset_ = opset;
        expect_infers(c, [&](size_t i) -> std::optional<Shape> {
          if (i == 0) {
            Shape s;
            for (size_t d = 0; d < rank; ++d) s.push_back(d % 2 ? sym("S") : Dim());
            return s;
          }
          return Shape{Dim()};  // index/shape inputs: 1-D of unknown length
        });
      }
}

}  // namespace
}  // namespace kiln::test
