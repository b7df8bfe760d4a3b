// ONNX model file → kiln Graph. Checks structure, converts initializers and Constant nodes,
// resolves every op in the registry (an unknown op is an error naming op, node and opset),
// and sorts nodes topologically. Passes (shape inference, folding) run afterwards.
#pragma once
#include <map>
#include <string>

#include "ir/graph.h"

namespace kiln {

inline constexpr int kMinOpset = 13;
inline constexpr int kMaxOpset = 20;

struct ImportOptions {
  // Concrete shapes for graph inputs, overriding symbolic dims (--shape NAME=1x3x512x512).
  std::map<std::string, Dims> input_shapes;
};

Graph import_onnx_file(const std::string& path, const ImportOptions& options = {});
// bytes: a serialized ModelProto; base_dir: where external data may live.
Graph import_onnx_bytes(const std::string& bytes, const std::string& base_dir,
                        const std::string& what, const ImportOptions& options = {});

}  // namespace kiln
