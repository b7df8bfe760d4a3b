// ONNX TensorProto → kiln Tensor, including external data confined to the model's directory.
#pragma once
#include <string>

#include "ir/tensor.h"

namespace onnx {
class TensorProto;
}

namespace kiln {

// base_dir: the directory external data paths are resolved in (and must stay inside);
// empty means external data is not allowed. `what` names the tensor in errors.
Tensor tensor_from_proto(const onnx::TensorProto& proto, const std::string& base_dir,
                         const std::string& what);

// Reads a serialized TensorProto file (the ONNX test-data input_N.pb / output_N.pb).
Tensor read_tensor_pb(const std::string& path);

}  // namespace kiln
