// The program a kiln.Pointwise node carries (pointwise.h): SSA instructions, each one ONNX
// elementwise op over the node's inputs and earlier results. Shared by the CPU reference, the
// CUDA source generator (pointwise_codegen.h) and the fusion pass that writes it
// (passes/fuse_elementwise).
//
// Attributes (one entry per instruction i, operands as value numbers: 0..num_inputs-1 are the
// node's inputs, num_inputs + j is instruction j's result, j < i):
//   ops     strings  the op: Add Sub Mul Div Pow Max Min, Equal Less Greater LessOrEqual
//                    GreaterOrEqual, And Or Xor Not IsNaN, Where, Cast, Relu Sigmoid Tanh Erf
//                    Gelu Exp Log Sqrt Reciprocal Neg Abs Floor Ceil Sin Cos
//   args     ints    3 per instruction: its operands, -1 past its arity
//   params   ints    Cast: the ONNX `to` type; Gelu: 1 for approximate tanh, else 0; others 0
//   results  ints    the instructions whose results are the node's outputs, in output order
// Value types are float32, float16 and bool, checked as ONNX checks the unfused op (binary
// arithmetic, comparisons and Where's branches take one type; Pow's exponent any float type).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ir/attributes.h"
#include "ir/dtype.h"

namespace kiln::ew {

inline constexpr const char* kPointwiseOp = "Pointwise";
inline constexpr int kPointwiseMaxInputs = 16;   // the CUDA kernel's parameter block holds this many
inline constexpr int kPointwiseMaxOutputs = 8;
inline constexpr int kPointwiseMaxInstructions = 1024;

enum class PwOp : uint8_t {
  kAdd, kSub, kMul, kDiv, kPow, kMax, kMin,
  kEqual, kLess, kGreater, kLessOrEqual, kGreaterOrEqual,
  kAnd, kOr, kXor, kNot, kIsNaN, kWhere, kCast,
  kRelu, kSigmoid, kTanh, kErf, kGelu, kExp, kLog, kSqrt, kReciprocal, kNeg, kAbs, kFloor, kCeil, kSin, kCos,
};

struct PwInstr {
  PwOp op;
  int32_t args[3] = {-1, -1, -1};
  int64_t param = 0;
  DType dtype = DType::kF32;  // the result's type
};

struct PwProgram {
  int num_inputs = 0;
  std::vector<DType> input_dtypes;
  std::vector<PwInstr> code;
  std::vector<int32_t> results;  // instruction indices

  DType value_dtype(int32_t v) const {
    return v < num_inputs ? input_dtypes[size_t(v)] : code[size_t(v - num_inputs)].dtype;
  }
};

// The ONNX name of op ("Add") and the op of an ONNX name (false when it has none here).
const char* pw_op_name(PwOp op);
bool pw_op_from_name(const std::string& name, PwOp* op);
int pw_arity(PwOp op);
// The value types a program may hold.
bool pw_value_dtype(DType dt);
// in's result type for operands of types t[0..arity), or kUndefined (with the reason in *why)
// when the op does not take them; reads in.op and in.param.
DType pw_result_dtype(const PwInstr& in, const DType t[3], std::string* why);

// Parses and checks the attributes against the node's input types. Every problem is an
// kInvalidModel error whose message is `what` + ": " + the reason (a hand-written file may say
// anything; nothing is assumed).
PwProgram parse_pw_program(const Attributes& attrs, const std::vector<DType>& input_dtypes, const std::string& what);
// The attributes for a program (its inputs' dtypes are not stored: the node's inputs carry them).
void write_pw_program(const PwProgram& p, Attributes& attrs);

}  // namespace kiln::ew
