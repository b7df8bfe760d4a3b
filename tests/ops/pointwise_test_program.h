// A kiln.Pointwise program written as a list of instructions, for the CPU and GPU tests of the op.
#pragma once
#include <string>
#include <vector>

#include "ir/attributes.h"

namespace kiln::test {

struct Ins {
  const char* op;
  std::vector<int64_t> args;  // value indices: inputs first, then earlier instructions
  int64_t param = 0;
};

// The op's attributes: ops, args (three per instruction, -1 unused), params, results.
inline Attributes program(const std::vector<Ins>& code, const std::vector<int64_t>& results) {
  std::vector<std::string> ops;
  std::vector<int64_t> args, params;
  for (const Ins& i : code) {
    ops.push_back(i.op);
    for (size_t k = 0; k < 3; ++k) args.push_back(k < i.args.size() ? i.args[k] : -1);
    params.push_back(i.param);
  }
  Attributes a;
  a.set("ops", ops);
  a.set("args", args);
  a.set("params", params);
  a.set("results", results);
  return a;
}

}  // namespace kiln::test
