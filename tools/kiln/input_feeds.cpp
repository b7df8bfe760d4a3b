#include "input_feeds.h"

#include <algorithm>
#include <chrono>

#include "cli.h"
#include "io/npy.h"
#include "io/random_tensor.h"

namespace kiln::cli {

InputFeeds parse_input_feeds(const std::vector<std::string>& inputs, const std::vector<std::string>& shapes) {
  InputFeeds f;
  f.import.input_shapes = parse_shapes(shapes);
  for (const auto& arg : inputs) {
    auto [name, value] = split_assignment(arg, "--input");
    if (f.feeds.count(name) || std::count(f.random.begin(), f.random.end(), name))
      fail(ErrorCode::kInvalidArgument, "--input " + name + " is given twice");
    if (value == "random") {
      f.random.push_back(name);
      continue;
    }
    Tensor t = read_npy(value);
    if (f.import.input_shapes.count(name) && f.import.input_shapes[name] != t.dims())
      fail(ErrorCode::kInvalidArgument, "--shape " + name + " disagrees with " + value + " (" +
                                            dims_to_string(t.dims()) + ")");
    f.import.input_shapes[name] = t.dims();
    f.feeds[name] = std::move(t);
  }
  return f;
}

void fill_random_inputs(const Graph& g, const std::vector<std::string>& names, uint64_t seed, TensorMap& feeds) {
  for (const auto& name : names) {
    if (!g.has_value(name) || std::find(g.inputs.begin(), g.inputs.end(), name) == g.inputs.end())
      fail(ErrorCode::kInvalidArgument, "the model has no input named '" + name + "'");
    const ValueType& t = g.value(name).type;
    if (!t.shape || !shape_known(*t.shape))
      fail(ErrorCode::kInvalidArgument, "input '" + name + "' has shape " + t.to_string() +
                                            "; give its dimensions with --shape " + name + "=...");
    feeds[name] = random_tensor_for_input(t.dtype, shape_dims(*t.shape), seed++);
  }
}

uint64_t seed_from_flag(int64_t flag) {
  return flag >= 0 ? uint64_t(flag) : uint64_t(std::chrono::system_clock::now().time_since_epoch().count());
}

}  // namespace kiln::cli
