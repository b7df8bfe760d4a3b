// kiln.Remap's composed index map, as the CUDA kernel runs it (one output element → its source
// element or the fill) and as the CPU tests check it against the stage-by-stage reference.
// Plain data and one inline function, so nvcc and the host compiler share both.
//
// Output index i, row-major over factors[0..n): coordinate c_f per factor. A factor either moves
// the source offset directly (axis < 0: off += stride·c) or feeds a piecewise axis (v_a +=
// stride·c). A piecewise axis (pad, roll, the pieces of a Concat, a crop of merged dims) maps its
// coordinate v_a, starting at `offset`, through the first segment with v_a < end: a fill segment
// makes the element the fill value, any other gives u = start + step·(v_a − begin), a coordinate
// along the source dims the axis stands for, which its terms turn into an offset: Σ stride ·
// (u / div) [% mod when mod > 0] — one term for one source dim, one per dim where several
// were merged (Swin's window reverse: H = 7·window row + row in window).
#pragma once
#include <cstdint>

#ifdef __CUDACC__
#define KILN_REMAP_HD __host__ __device__ __forceinline__
#define KILN_REMAP_UNROLL _Pragma("unroll")
#else
#define KILN_REMAP_HD inline
#define KILN_REMAP_UNROLL
#endif

namespace kiln::tensor_ops {

constexpr int kRemapMaxFactors = 8, kRemapMaxAxes = 4, kRemapMaxSegments = 8, kRemapMaxTerms = 4;

struct RemapSegment {
  int64_t begin = 0, end = 0;  // [begin, end) of the axis coordinate
  int64_t start = 0, step = 0;  // u at begin, and per coordinate step
  int32_t fill = 0;
};

struct RemapTerm {
  int64_t div = 1, mod = 0, stride = 0;  // mod 0: none
};

struct RemapAxis {
  int64_t offset = 0;
  int32_t segments = 0, terms = 0;
  RemapSegment seg[kRemapMaxSegments];
  RemapTerm term[kRemapMaxTerms];
};

struct RemapProgram {
  int32_t factors = 0, axes = 0;
  int64_t size[kRemapMaxFactors] = {}, stride[kRemapMaxFactors] = {};
  int32_t axis[kRemapMaxFactors] = {};
  RemapAxis axis_map[kRemapMaxAxes];
  int64_t base = 0;   // source offset of output element 0 before the factors
  int64_t numel = 0;  // output elements
  bool index32 = false;  // every coordinate and offset fits in 31 bits
};

// The source offset of output element i, or false where the element is the fill value. I is
// int32_t when p.index32, else int64_t. Loops run to the fixed maxima so that nvcc unrolls them
// and keeps v in registers (an array indexed by p.axis[f] would live in local memory).
template <class I> KILN_REMAP_HD bool remap_source(const RemapProgram& p, I i, I* src) {
  I v[kRemapMaxAxes];
  KILN_REMAP_UNROLL
  for (int a = 0; a < kRemapMaxAxes; ++a) v[a] = a < p.axes ? I(p.axis_map[a].offset) : I(0);
  I off = I(p.base);
  KILN_REMAP_UNROLL
  for (int f = kRemapMaxFactors - 1; f >= 0; --f) {
    if (f >= p.factors) continue;
    const I n = I(p.size[f]);
    const I step = I(p.stride[f]) * (i % n);
    i /= n;
    const int32_t ax = p.axis[f];
    if (ax < 0) off += step;
    KILN_REMAP_UNROLL
    for (int a = 0; a < kRemapMaxAxes; ++a)
      if (ax == a) v[a] += step;
  }
  KILN_REMAP_UNROLL
  for (int a = 0; a < kRemapMaxAxes; ++a) {
    if (a >= p.axes) break;
    const RemapAxis& ax = p.axis_map[a];
    I u = 0;
    for (int s = 0; s < ax.segments; ++s) {
      const RemapSegment& g = ax.seg[s];
      if (v[a] >= I(g.end)) continue;
      if (g.fill) return false;
      u = I(g.start) + I(g.step) * (v[a] - I(g.begin));
      break;
    }
    for (int t = 0; t < ax.terms; ++t) {
      const RemapTerm& r = ax.term[t];
      I q = r.div == 1 ? u : u / I(r.div);
      if (r.mod) q %= I(r.mod);
      off += I(r.stride) * q;
    }
  }
  *src = off;
  return true;
}

}  // namespace kiln::tensor_ops
