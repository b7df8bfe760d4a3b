// Builds small ONNX models in tests, so every importer and CLI path can be exercised without
// fixture files.
#pragma once
#include <onnx.pb.h>

#include <string>
#include <vector>

#include "ir/tensor.h"

namespace kiln::test {

class ModelBuilder {
 public:
  explicit ModelBuilder(int opset = 17);

  // dims: -1 marks a symbolic dimension (named "d<i>").
  ModelBuilder& input(const std::string& name, DType dtype, const std::vector<int64_t>& dims);
  ModelBuilder& output(const std::string& name, DType dtype);
  ModelBuilder& initializer(const std::string& name, const Tensor& t);
  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs);

  onnx::ModelProto& proto() { return model_; }
  std::string bytes() const;
  void save(const std::string& path) const;

 private:
  onnx::ModelProto model_;
};

void set_int_attr(onnx::NodeProto& n, const std::string& name, int64_t v);
void set_ints_attr(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v);
onnx::TensorProto tensor_to_proto(const std::string& name, const Tensor& t);

// A fresh empty directory under the system temp dir.
std::string make_temp_dir(const std::string& tag);

}  // namespace kiln::test
