// A hand-written model naming kiln.Pointwise with a malformed program: `kiln run` refuses it as
// a user error (exit 2, one line naming the node and the problem), never a crash; a well-formed
// one runs.
#include <gtest/gtest.h>

#include "../unit/onnx_builder.h"
#include "cli_fixture.h"

namespace kiln {
namespace {

class CliPointwise : public test::CliTest {
 protected:
  void SetUp() override { make_dirs("pointwise"); }

  // x [4] → kiln.Pointwise(ops, args) → y.
  std::string model(const std::string& file, const std::vector<std::string>& ops, const std::vector<int64_t>& args) {
    test::ModelBuilder b;
    auto* imp = b.proto().add_opset_import();
    imp->set_domain("kiln");
    imp->set_version(1);
    b.input("x", DType::kF32, {4}).output("y", DType::kF32);
    onnx::NodeProto& n = b.node("Pointwise", {"x"}, {"y"});
    n.set_domain("kiln");
    n.set_name("pw");
    auto* a = n.add_attribute();
    a->set_name("ops");
    a->set_type(onnx::AttributeProto::STRINGS);
    for (const auto& o : ops) a->add_strings(o);
    test::set_ints_attr(n, "args", args);
    test::set_ints_attr(n, "params", std::vector<int64_t>(ops.size(), 0));
    test::set_ints_attr(n, "results", {int64_t(ops.size()) - 1});
    const std::string path = dir_ + "/" + file;
    b.save(path);
    return path;
  }
};

TEST_F(CliPointwise, MalformedProgramIsAUserError) {
  expect_user_error("run " + model("fwd.onnx", {"Exp"}, {3, -1, -1}) + " -i x=random -o " + out_,
                    "Pointwise 'pw': instruction 0 (Exp): operand 3 is neither an input nor an earlier result");
  expect_user_error("run " + model("op.onnx", {"Softmax"}, {0, -1, -1}) + " -i x=random -o " + out_,
                    "unknown op 'Softmax'");
  expect_user_error("run " + model("args.onnx", {"Exp"}, {0}) + " -i x=random -o " + out_, "'args' must hold 3");
  expect_user_error("run " + model("logic.onnx", {"Not"}, {0, -1, -1}) + " -i x=random -o " + out_,
                    "Not needs a bool operand");
}

TEST_F(CliPointwise, WellFormedProgramRuns) {
  const test::CliResult r = kiln("run " + model("ok.onnx", {"Neg", "Exp"}, {0, -1, -1, 1, -1, -1}) + " -i x=random -o " + out_);
  EXPECT_EQ(r.code, 0) << r.err;
}

}  // namespace
}  // namespace kiln
