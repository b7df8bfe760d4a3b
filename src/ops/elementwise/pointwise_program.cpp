#include "ops/elementwise/pointwise_program.h"

#include "kiln/status.h"

namespace kiln::ew {
namespace {

struct OpInfo {
  PwOp op;
  const char* name;
  int arity;
};

constexpr OpInfo kOps[] = {
    {PwOp::kAdd, "Add", 2}, {PwOp::kSub, "Sub", 2}, {PwOp::kMul, "Mul", 2}, {PwOp::kDiv, "Div", 2},
    {PwOp::kPow, "Pow", 2}, {PwOp::kMax, "Max", 2}, {PwOp::kMin, "Min", 2},
    {PwOp::kEqual, "Equal", 2}, {PwOp::kLess, "Less", 2}, {PwOp::kGreater, "Greater", 2},
    {PwOp::kLessOrEqual, "LessOrEqual", 2}, {PwOp::kGreaterOrEqual, "GreaterOrEqual", 2},
    {PwOp::kAnd, "And", 2}, {PwOp::kOr, "Or", 2}, {PwOp::kXor, "Xor", 2}, {PwOp::kNot, "Not", 1},
    {PwOp::kIsNaN, "IsNaN", 1}, {PwOp::kWhere, "Where", 3}, {PwOp::kCast, "Cast", 1},
    {PwOp::kRelu, "Relu", 1}, {PwOp::kSigmoid, "Sigmoid", 1}, {PwOp::kTanh, "Tanh", 1}, {PwOp::kErf, "Erf", 1},
    {PwOp::kGelu, "Gelu", 1}, {PwOp::kExp, "Exp", 1}, {PwOp::kLog, "Log", 1}, {PwOp::kSqrt, "Sqrt", 1},
    {PwOp::kReciprocal, "Reciprocal", 1}, {PwOp::kNeg, "Neg", 1}, {PwOp::kAbs, "Abs", 1},
    {PwOp::kFloor, "Floor", 1}, {PwOp::kCeil, "Ceil", 1}, {PwOp::kSin, "Sin", 1}, {PwOp::kCos, "Cos", 1},
};

const OpInfo& info(PwOp op) {
  for (const auto& i : kOps)
    if (i.op == op) return i;
  fail(ErrorCode::kInternal, "Pointwise: op without a table entry");
}

bool is_float(DType dt) { return dt == DType::kF32 || dt == DType::kF16; }

// The result type of `in` given its operands' types, or a reason it has none.
DType result_dtype(const PwInstr& in, const DType* t, std::string* why) {
  const char* name = info(in.op).name;
  auto bad = [&](const std::string& m) {
    *why = std::string(name) + " " + m;
    return DType::kUndefined;
  };
  switch (in.op) {
    case PwOp::kAdd: case PwOp::kSub: case PwOp::kMul: case PwOp::kDiv: case PwOp::kMax: case PwOp::kMin:
      if (!is_float(t[0]) || t[1] != t[0]) return bad("needs two operands of one float type");
      return t[0];
    case PwOp::kPow:
      if (!is_float(t[0]) || !is_float(t[1])) return bad("needs float operands");
      return t[0];
    case PwOp::kEqual:
      if (t[1] != t[0]) return bad("needs two operands of one type");
      return DType::kBool;
    case PwOp::kLess: case PwOp::kGreater: case PwOp::kLessOrEqual: case PwOp::kGreaterOrEqual:
      if (!is_float(t[0]) || t[1] != t[0]) return bad("needs two operands of one float type");
      return DType::kBool;
    case PwOp::kAnd: case PwOp::kOr: case PwOp::kXor:
      if (t[0] != DType::kBool || t[1] != DType::kBool) return bad("needs bool operands");
      return DType::kBool;
    case PwOp::kNot:
      if (t[0] != DType::kBool) return bad("needs a bool operand");
      return DType::kBool;
    case PwOp::kIsNaN:
      if (!is_float(t[0])) return bad("needs a float operand");
      return DType::kBool;
    case PwOp::kWhere:
      if (t[0] != DType::kBool || t[2] != t[1]) return bad("needs a bool condition and two branches of one type");
      return t[1];
    case PwOp::kCast: {
      DType to = DType::kUndefined;
      try {
        to = dtype_from_onnx(int32_t(in.param));
      } catch (const Error&) {
      }
      if (in.param != int32_t(in.param) || !pw_value_dtype(to))
        return bad("to type " + std::to_string(in.param) + " is not float32, float16 or bool");
      return to;
    }
    default:
      if (!is_float(t[0])) return bad("needs a float operand");
      return t[0];
  }
}

}  // namespace

const char* pw_op_name(PwOp op) { return info(op).name; }
int pw_arity(PwOp op) { return info(op).arity; }

bool pw_op_from_name(const std::string& name, PwOp* op) {
  for (const auto& i : kOps)
    if (name == i.name) {
      *op = i.op;
      return true;
    }
  return false;
}

DType pw_result_dtype(const PwInstr& in, const DType t[3], std::string* why) { return result_dtype(in, t, why); }

bool pw_value_dtype(DType dt) { return dt == DType::kF32 || dt == DType::kF16 || dt == DType::kBool; }

PwProgram parse_pw_program(const Attributes& attrs, const std::vector<DType>& input_dtypes, const std::string& what) {
  auto bad = [&](const std::string& m) -> void { fail(ErrorCode::kInvalidModel, what + ": " + m); };
  for (const char* a : {"ops", "args", "params", "results"})
    if (!attrs.has(a)) bad(std::string("missing attribute '") + a + "'");
  const std::vector<std::string> ops = attrs.get_strings("ops");
  const std::vector<int64_t> args = attrs.get_ints("args"), params = attrs.get_ints("params"),
                             results = attrs.get_ints("results");
  if (ops.empty() || ops.size() > size_t(kPointwiseMaxInstructions))
    bad("'ops' must hold 1 to " + std::to_string(kPointwiseMaxInstructions) + " instructions, has " +
        std::to_string(ops.size()));
  if (args.size() != 3 * ops.size() || params.size() != ops.size())
    bad("'args' must hold 3 and 'params' 1 entry per instruction (" + std::to_string(ops.size()) + "), have " +
        std::to_string(args.size()) + " and " + std::to_string(params.size()));
  if (results.empty() || results.size() > size_t(kPointwiseMaxOutputs))
    bad("'results' must name 1 to " + std::to_string(kPointwiseMaxOutputs) + " instructions");
  if (input_dtypes.size() > size_t(kPointwiseMaxInputs))
    bad("at most " + std::to_string(kPointwiseMaxInputs) + " inputs, has " + std::to_string(input_dtypes.size()));

  PwProgram p;
  p.num_inputs = int(input_dtypes.size());
  p.input_dtypes = input_dtypes;
  for (size_t i = 0; i < input_dtypes.size(); ++i)
    if (!pw_value_dtype(input_dtypes[i]))
      bad("input " + std::to_string(i) + " is " + dtype_name(input_dtypes[i]) + "; values are float32, float16 or bool");
  for (size_t i = 0; i < ops.size(); ++i) {
    const std::string at = "instruction " + std::to_string(i) + " (" + ops[i] + ")";
    PwInstr in{};
    if (!pw_op_from_name(ops[i], &in.op)) bad("instruction " + std::to_string(i) + ": unknown op '" + ops[i] + "'");
    in.param = params[i];
    const int arity = pw_arity(in.op);
    DType t[3] = {};
    for (int k = 0; k < 3; ++k) {
      const int64_t a = args[3 * i + size_t(k)];
      if (k >= arity) {
        if (a != -1) bad(at + ": operand " + std::to_string(k) + " must be -1 (the op takes " + std::to_string(arity) + ")");
        continue;
      }
      if (a < 0 || a >= p.num_inputs + int64_t(i))
        bad(at + ": operand " + std::to_string(a) + " is neither an input nor an earlier result");
      in.args[k] = int32_t(a);
      t[k] = p.value_dtype(in.args[k]);
    }
    if (in.op != PwOp::kCast && !(in.op == PwOp::kGelu && (in.param == 0 || in.param == 1)) && in.param != 0)
      bad(at + ": param must be 0" + (in.op == PwOp::kGelu ? std::string(" or 1 (tanh)") : std::string()));
    std::string why;
    in.dtype = result_dtype(in, t, &why);
    if (in.dtype == DType::kUndefined) bad(at + ": " + why);
    p.code.push_back(in);
  }
  for (int64_t r : results) {
    if (r < 0 || r >= int64_t(ops.size())) bad("result " + std::to_string(r) + " is not an instruction");
    p.results.push_back(int32_t(r));
  }
  return p;
}

void write_pw_program(const PwProgram& p, Attributes& attrs) {
  std::vector<std::string> ops;
  std::vector<int64_t> args, params, results(p.results.begin(), p.results.end());
  for (const PwInstr& in : p.code) {
    ops.push_back(pw_op_name(in.op));
    for (int k = 0; k < 3; ++k) args.push_back(in.args[k]);
    params.push_back(in.param);
  }
  attrs.set("ops", ops);
  attrs.set("args", args);
  attrs.set("params", params);
  attrs.set("results", results);
}

}  // namespace kiln::ew
