#include "runtime/cuda/cuda_plan.h"

#include <algorithm>

#include "runtime/arena_plan.h"

namespace kiln {

CudaPlan::~CudaPlan() {
  if (exec) cudaGraphExecDestroy(exec);
}

void CudaPlan::lay_out(const std::vector<NodeTrace>& trace, CudaStream stream) {
  const Graph& g = *graph;
  const int n = int(g.nodes.size());
  // Each arena tensor is a block; aliases extend their root's life to their own last read.
  std::unordered_map<std::string, size_t> block_of;  // value → its root's block
  std::vector<ArenaBlock> blocks;
  std::vector<std::pair<int, int>> owner;  // per block: (node, output) or (-1, input index)
  auto value_bytes = [&](const std::string& name) {
    const ValueType& t = g.value(name).type;
    return size_t(numel_of(shape_dims(*t.shape))) * dtype_size(t.dtype);
  };
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    block_of[g.inputs[i]] = blocks.size();
    blocks.push_back({value_bytes(g.inputs[i]), 0, 0});
    owner.push_back({-1, int(i)});
  }
  std::vector<int> scratch_block(size_t(n), -1);
  for (int i = 0; i < n; ++i) {
    const Node& node = g.nodes[size_t(i)];
    for (const auto& in : node.inputs)
      if (auto it = block_of.find(in); !in.empty() && it != block_of.end())
        blocks[it->second].last = std::max(blocks[it->second].last, i);
    const NodeTrace& t = trace[size_t(i)];
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      if (node.outputs[o].empty()) continue;
      if (t.kinds[o] == OutputKind::kArena) {
        block_of[node.outputs[o]] = blocks.size();
        blocks.push_back({value_bytes(node.outputs[o]), i, i});
        owner.push_back({i, int(o)});
      } else if (t.kinds[o] == OutputKind::kAlias) {
        auto it = block_of.find(node.inputs[size_t(t.alias_of[o])]);
        if (it != block_of.end()) block_of[node.outputs[o]] = it->second;
      }
    }
    if (t.scratch_bytes) {
      scratch_block[size_t(i)] = int(blocks.size());
      blocks.push_back({t.scratch_bytes, i, i});
      owner.push_back({i, -1});
    }
  }
  for (const auto& out : g.outputs)
    if (auto it = block_of.find(out); it != block_of.end()) blocks[it->second].last = n;

  ArenaLayout layout = plan_arena(blocks, kDeviceAlignment);
  arena_bytes = layout.total;
  arena = std::make_shared<DeviceBuffer>(arena_bytes, stream);
  auto view = [&](size_t b, DType dt, Dims dims) {
    DeviceTensor v;
    v.dtype = dt;
    v.dims = std::move(dims);
    v.buffer = arena;
    v.offset = layout.offsets[b];
    return v;
  };
  outputs.assign(size_t(n), {});
  scratch.assign(size_t(n), {});
  for (int i = 0; i < n; ++i) outputs[size_t(i)].resize(g.nodes[size_t(i)].outputs.size());
  for (size_t b = 0; b < blocks.size(); ++b) {
    auto [node, index] = owner[b];
    if (node < 0) {
      const std::string& name = g.inputs[size_t(index)];
      const ValueType& t = g.value(name).type;
      input_slots[name] = view(b, t.dtype, shape_dims(*t.shape));
    } else if (index < 0) {
      scratch[size_t(node)] = view(b, DType::kU8, {int64_t(blocks[b].bytes)});
    } else {
      const ValueType& t = g.value(g.nodes[size_t(node)].outputs[size_t(index)]).type;
      outputs[size_t(node)][size_t(index)] = view(b, t.dtype, shape_dims(*t.shape));
    }
  }
  planned = true;
}

}  // namespace kiln
