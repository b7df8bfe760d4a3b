#include "ops/op_util.h"

#include "ops/registry.h"

#include <algorithm>
#include <thread>

namespace kiln {

int normalize_axis(const OpContextBase& ctx, int64_t axis, int rank) {
  int64_t r = std::max(rank, 0);
  if (axis < -r || axis >= r)
    ctx.invalid("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return int(axis < 0 ? axis + r : axis);
}

Shape broadcast_shapes(const OpContextBase& ctx, const Shape& a, const Shape& b) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    Dim da = i < rank - a.size() ? Dim(1) : a[i - (rank - a.size())];
    Dim db = i < rank - b.size() ? Dim(1) : b[i - (rank - b.size())];
    if (da.known() && db.known()) {
      if (da.value != db.value && da.value != 1 && db.value != 1)
        ctx.invalid("shapes " + shape_to_string(a) + " and " + shape_to_string(b) +
                    " cannot be broadcast");
      out[i] = da.value == 1 ? db : da;
    } else if (da.known() && da.value == 1) {
      out[i] = db;
    } else if (db.known() && db.value == 1) {
      out[i] = da;
    } else if (da == db) {
      out[i] = da;
    } else {
      out[i] = da.known() ? da : db.known() ? db : Dim();  // a known non-1 dim must win
    }
  }
  return out;
}

Dims broadcast_dims(const OpContextBase& ctx, const Dims& a, const Dims& b) {
  return shape_dims(broadcast_shapes(ctx, shape_of(a), shape_of(b)));
}

Dims contiguous_strides(const Dims& dims) {
  Dims s(dims.size());
  int64_t acc = 1;
  for (size_t i = dims.size(); i-- > 0;) {
    s[i] = acc;
    acc *= dims[i];
  }
  return s;
}

Dims broadcast_strides(const Dims& in, const Dims& out) {
  KILN_ASSERT(in.size() <= out.size());
  Dims s(out.size(), 0);
  Dims cs = contiguous_strides(in);
  size_t off = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) s[off + i] = in[i] == 1 ? 0 : cs[i];
  return s;
}

void parallel_for(int64_t n, int64_t min_chunk, const std::function<void(int64_t, int64_t)>& fn) {
  static const int threads = int(std::max(1u, std::thread::hardware_concurrency()));
  int64_t chunks = std::min<int64_t>(threads, n / std::max<int64_t>(min_chunk, 1));
  if (chunks <= 1) {
    if (n > 0) fn(0, n);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(int(chunks))
  for (int64_t c = 0; c < chunks; ++c) fn(n * c / chunks, n * (c + 1) / chunks);
}

std::optional<std::vector<int64_t>> constant_ints(const InferContext& ctx, size_t i) {
  const Tensor* t = ctx.constant(i);
  if (!t) return std::nullopt;
  return t->to_int64_vector();
}

Tensor run_cpu_reference(const Node& node, std::vector<const Tensor*> inputs) {
  const OpSchema* schema = OpRegistry::instance().find(node.domain, node.op_type);
  KILN_ASSERT(schema && schema->cpu);
  KernelContext ctx{{node}, std::move(inputs)};
  return std::move(schema->cpu(ctx).at(0));
}

Node reference_step(const Node& fused, const char* op, bool kiln_domain) {
  Node n;
  n.name = fused.name + "/" + op;
  n.op_type = op;
  n.domain = kiln_domain ? kKilnDomain : "";
  n.opset = kiln_domain ? 1 : 17;
  n.outputs = {"y"};
  return n;
}

std::vector<int64_t> known_dims(const ValueType& t) {
  if (!t.shape || !shape_known(*t.shape)) return {};
  return shape_dims(*t.shape);
}

}  // namespace kiln
