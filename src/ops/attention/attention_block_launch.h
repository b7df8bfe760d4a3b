// kiln.AttentionBlock on the GPU (attention_block.h has the op): plain data for the launcher in
// attention_block_wgmma.cu, so nvcc never sees the op headers.
#pragma once
#include "ops/attention/attention_launch.h"

namespace kiln::attention {

// `attn` describes the attention in the middle as the Attention kernels take it — the packed K
// and V, nq = N tokens, nk, heads H (1 or 2), batch = B·H, d = dv = 64, scale; its q and o are
// unused. The rest are the projections and the stream, C = 64H channels: every pointer 16-byte
// aligned (the host checks); x, bo and y float32 when x_f32, else float16; the rest float16.
struct AttentionBlockParams {
  AttentionParams attn;
  const void* x = nullptr;      // [B, N, C]
  const void* scale = nullptr;  // LayerNorm's Scale and B [C]
  const void* shift = nullptr;
  const void* wq = nullptr;  // [C, C]
  const void* bq = nullptr;  // [C]
  const void* wo = nullptr;  // [C, C]
  const void* bo = nullptr;  // [C]
  void* y = nullptr;         // [B, N, C]
  bool x_f32 = true;
  float epsilon = 1e-5f;
};

// Whether the kernel runs here: a compute capability 9.0 GPU, and K and V as its TMA maps take
// them.
bool attention_block_runs(const AttentionBlockParams& p);
void launch_attention_block(const AttentionBlockParams& p, cudaStream_t stream);
// The kernel's L2 prefetch of the next block's X rows (on unless a test turns it off, to time
// both in one process).
void set_attention_block_prefetch(bool on);

}  // namespace kiln::attention
