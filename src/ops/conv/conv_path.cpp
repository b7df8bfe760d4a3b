#include "ops/conv/conv_path.h"

namespace kiln::conv {

const char* conv_path_name(ConvPath p) {
  switch (p) {
    case ConvPath::kPointwise: return "pointwise";
    case ConvPath::kDepthwise: return "depthwise";
    case ConvPath::kPatchify: return "patchify";
    case ConvPath::kCudnn: return "cudnn";
  }
  return "?";
}

ConvPath conv_path(const std::vector<Axis>& axes, int64_t group, int64_t c_in, int64_t c_out) {
  bool pointwise = group == 1, patchify = group == 1;
  for (const Axis& a : axes) {
    const bool unpadded = a.pb == 0 && a.pe == 0;
    pointwise = pointwise && a.k == 1 && a.s == 1 && unpadded;
    // Dilation does not matter for a one-tap axis; otherwise windows must tile the input.
    patchify = patchify && a.k == a.s && unpadded && (a.d == 1 || a.k == 1);
  }
  if (pointwise) return ConvPath::kPointwise;
  // A 1-channel groups-1 conv is depthwise too; the direct kernel beats cuDNN there as well.
  if (group == c_in && c_out == c_in) return ConvPath::kDepthwise;
  if (patchify) return ConvPath::kPatchify;
  return ConvPath::kCudnn;
}

}  // namespace kiln::conv
