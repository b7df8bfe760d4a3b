// The 3x3 depthwise conv on the tensor cores, for the MixFFN kernels (mix_ffn_tile.cuh). A row of
// 16 output tokens times 8 channels is the bias plus, for each of the 9 taps, the 16 input tokens
// under the tap (one ldmatrix at the tap's shift) times diag(the tap's 8 weights): one mma
// m16n8k8 a tap, fp32 sums. The diagonal B wastes 7 of 8 products, but the tensor pipe has room
// where the CUDA cores had none: the fp32 form (a sliding 3x3 window of half2) issued 9 FMAs, 3
// conversions and 1.5 shared loads a value (c63), beside the activation's dozen.
#pragma once
#include <cuda_fp16.h>

#include <cstdint>

#include "ops/attention/mma_f16.cuh"

namespace kiln::conv::dw {

// Row k of diag(w)'s 8 x 8 block as mma m16n8k8's B fragment holds it: the lane (g = lane / 4,
// t = lane % 4) holds rows 2t and 2t + 1 of column g; u is the weight of channel g, nonzero only
// where the row is g.
__device__ __forceinline__ uint32_t diag_fragment(uint32_t u) {
  const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  return g == 2 * t ? u : g == 2 * t + 1 ? u << 16 : 0u;
}

// A warp's 16 channels c0 + [0, 16) of one chunk, kept in registers across rows: each tap's two
// B fragments (n8 halves) and the biases of the lane's accumulator columns.
struct DiagTaps {
  uint32_t b[9][2];
  float2 bias[2];

  // taps: the chunk's [channels][9] halves; bias_vec: its [channels].
  __device__ __forceinline__ void load(const __half* taps, const __half* bias_vec, int c0) {
    const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
#pragma unroll
    for (int n = 0; n < 2; ++n) {
#pragma unroll
      for (int i = 0; i < 9; ++i) b[i][n] = diag_fragment(__half_as_ushort(taps[(c0 + 8 * n + g) * 9 + i]));
      bias[n] = __half22float2(*reinterpret_cast<const __half2*>(bias_vec + c0 + 8 * n + 2 * t));
    }
  }
};

// acc[r][n] (mma's C fragment: rows g and g + 8, columns 2t, 2t + 1 of the n-th 8 channels) = bias
// + the conv of output row r of R consecutive ones. row(i, j): the lane's ldmatrix row address
// for input row i (of the R + 2 the rows' taps cover), column j — input token (l % 16) + j of
// that row, channels c0 + 8 (l / 16) for lane l, so that the four matrices are the A fragments
// (a0, a1) of the two n8 halves. Each input row's three column shifts are loaded once for the
// (up to three) output rows whose taps reach it: 3 (R + 2) ldmatrix instead of 9 R (row by row,
// the conv's HMMAs held 12.7% of stage 0's stall samples waiting on their loads, c181).
template <int R, class Row>
__device__ __forceinline__ void conv_rows(const DiagTaps& w, float (&acc)[R][2][4], Row row) {
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int n = 0; n < 2; ++n) acc[r][n][0] = acc[r][n][2] = w.bias[n].x, acc[r][n][1] = acc[r][n][3] = w.bias[n].y;
#pragma unroll
  for (int i = 0; i < R + 2; ++i)
#pragma unroll
    for (int j = 0; j < 3; ++j) {
      uint32_t a[4];
      attention::ldmatrix_x4(a, row(i, j));
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const int tap = i - r;  // the tap row of input row i for output row r
        if (tap < 0 || tap > 2) continue;
        attention::mma1688(acc[r][0], a[0], a[1], w.b[tap * 3 + j][0]);
        attention::mma1688(acc[r][1], a[2], a[3], w.b[tap * 3 + j][1]);
      }
    }
}

}  // namespace kiln::conv::dw
