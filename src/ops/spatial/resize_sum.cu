// ResizeSum on the GPU: one pass that reads every input once per output tile and writes the
// NCHW output once.
//
// Floor: the bytes that must move. SegFormer-B2's decode head at 1024² in fp16 writes
// Y [B, 768, 256, 256] (100.7 MB a batch item) and reads stage 0's tokens at that resolution
// (100.7 MB) and stages 1-3 at 1/4, 1/16, 1/64 of it (25.2 + 6.3 + 1.6 MB): 234 MB a batch item,
// 78 µs at batch 1 and 0.625 ms at batch 8 at the H100's ~3.0 TB/s copy rate.
//
// Why the previous version (64 x 64-channel tiles, 256 threads, every input tap by tap) ran at
// ~35% of that: each block was a chain of dependent round trips (per input: taps, then data;
// then the store phase) with only 32 bytes of DRAM loads in flight per thread during one of
// them, so an SM averaged far below the ~16 KB in flight that Little's law asks for; and every
// output paid 4 loads, 16 conversions and ~28 fp32 instructions per upsampled input.
//
// Design. Persistent blocks of 512 threads (two per SM) walk the tiles: kResizeSumTileX = 128
// pixels of one output row x 128 bytes of channels (64 fp16 / 32 fp32), consecutive blocks on
// the next x tile, then channel tile, then row, so the blocks in flight read whole token rows
// and write 256-byte (fp16) runs of NCHW rows. Thread (q, pr) owns 16-byte channel chunk q of
// pixels pr and pr + 64. Each tile:
//  - Identity input (vec tokens at the output size with weights 1, 0: SegFormer's stage 0, half
//    the bytes read): a straight 16-byte copy-add. Its tile is copied to shared memory with
//    cp.async one tile ahead (two buffers; each thread reads back only its own chunks, so no
//    barrier), so a block keeps 16 KB of DRAM reads in flight through each tile without
//    holding registers for them (holding them in registers spilled).
//  - Staged inputs (vec tokens whose column taps never decrease, as every linear mode's): the
//    block first blends the two source rows of the tile's columns once per column (fp32, to
//    shared memory) and copies the tile's column taps beside them; the (column, chunk) items of
//    all staged inputs form one list, so a thread issues the loads of its (at most 2 for B2)
//    items together: one L2 round trip a tile for all staged inputs. After one barrier each
//    output reads its two blended columns from shared memory (2 x 16-byte reads a tap, no bank
//    conflicts: 8 threads of a quarter warp read one pixel's 128 contiguous bytes). A 2x
//    upsampled 128-pixel tile blends 65 columns instead of 128 x 2, so an output costs 3 fp32
//    instructions a staged input instead of ~7 plus 2 conversions.
//  - Other inputs (NCHW, channels not a multiple of 8 fp16 / 4 fp32, decreasing taps, or past
//    the shared memory budget) are read tap by tap from global memory as before (direct path).
//  - The finished tile (Relu, rounded to the storage type) goes through a 16 KB shared tile
//    [pixel][16-byte chunk], XOR-swizzled by pixel / (elements per chunk) (conflict-free both
//    ways, checked by enumerating the addresses), and out as 16-byte stores along x.
// Numerics, every path: per input, col = fma(wy1, X[iy1], wy0*X[iy0]) and
// acc += fma(wx1, col1, wx0*col0) in fp32 (pinned with __fmul_rn/__fmaf_rn so the paths agree
// bit for bit; the previous kernel left the same contraction to nvcc), inputs in input order; zero-weight taps are not read (they count 0). The
// identity's acc += X equals that sum exactly (1*x + 0*0 = x; acc starts at +0, never -0).
//
// Count (B2 fp16, per 8 channels of one output pixel): staged inputs 5 LDS.128 + 24 fp32 each,
// their column blends ~40 instructions per 8 channels of a column (0.93 columns an output over
// the three), identity 16, finish and transpose ~25: ~170 instructions, ~21 per output, so
// ~0.28 ms of issue at batch 8 on 132 SMs at ~1.75 GHz, under the 0.625 ms of memory.
// ptxas (sm_90a, CUDA 13.0): 64 registers fp16 and fp32 under __launch_bounds__(512, 2), no
// spills, 384 B static shared memory; dynamic for B2 fp16: 16 KB output tile + 32 KB identity
// buffers + 35 KB staged (65 + 33 + 17 columns of 256 B, 3 x 2 KB taps) = 83 KB, so 2 blocks
// (1024 threads) an SM, and 32 KB of identity reads in flight an SM for most of each tile.
// Prediction, unmeasured: ~80% of 3.0 TB/s: ~0.78 ms at batch 8, ~0.10 ms at batch 1 (its
// 6144 tiles make ~23 per block, so the uneven last round costs ~4%).
#include "ops/spatial/resize_sum_tile.cuh"
#include "runtime/cuda/resident_grid.cuh"

namespace kiln::spatial {
namespace {

using namespace resize_tile;

// Phase 2 tasks: one channel x 16 bytes of x each.
constexpr int kStoreTasks = kTx * kChunks / kThreads;
static_assert(kStoreTasks * kThreads == kTx * kChunks);

// Slot of chunk q in pixel row px of the output tile (rows are 128 B: all start at bank 0).
// A phase-2 warp reads one chunk from each of 32/V runs of V pixels at once: XOR by the run
// puts those on different banks.
template <class T>
__device__ __forceinline__ int slot(int q, int px) { return q ^ ((px / cuda::kVec16<T>) & (kChunks - 1)); }

// At most 64 registers: two blocks, 1024 threads per SM.
template <class T>
__global__ void __launch_bounds__(kThreads, 2) resize_sum_kernel(ResizeSumParams p, int x_tiles, int c_tiles, int tiles) {
  constexpr int V = cuda::kVec16<T>, kTileC = kChunks * V;
  extern __shared__ uint4 smem[];
  uint4(*tile)[kChunks] = reinterpret_cast<uint4(*)[kChunks]>(smem);  // finished values, storage type
  char* sm = reinterpret_cast<char*>(smem);
  const int C = p.channels;
  const int q = int(threadIdx.x % kChunks), pr = int(threadIdx.x / kChunks);
  __shared__ StageDesc tab[kResizeSumSlots];  // the staged inputs, in input order
  load_stage_table(p, tab);
  __syncthreads();  // the loop's first barrier comes after the first staging
  // The identity input's tiles, double-buffered: tile n + 1's copies are in flight while tile n
  // is summed.
  uint4* ident_buf = reinterpret_cast<uint4*>(sm + p.ident_off);
  constexpr int kIdentBuf = kTx * kChunks;  // uint4s a buffer
  if (p.ident >= 0 && int(blockIdx.x) < tiles)
    fetch_ident<T>(p, tile_of(int(blockIdx.x), x_tiles, c_tiles, p.height, kTileC), ident_buf);
  cp_async_commit();
  for (int t = int(blockIdx.x), n = 0; t < tiles; t += int(gridDim.x), ++n) {
    const int64_t tn = int64_t(t) + gridDim.x;  // the next tile (64-bit: tiles may near 2^31)
    // Its buffer was last read by this same thread, in the previous tile.
    if (p.ident >= 0 && tn < tiles)
      fetch_ident<T>(p, tile_of(int(tn), x_tiles, c_tiles, p.height, kTileC), ident_buf + ((n + 1) & 1) * kIdentBuf);
    cp_async_commit();
    const Tile tl = tile_of(t, x_tiles, c_tiles, p.height, kTileC);

    // Phase 1: stage, then sum in input order (tile n's identity copies: all but the newest
    // group, tile n + 1's).
    stage_tile<T>(p, tab, sm, tl);
    __syncthreads();
    float acc[kPix][V];
    sum_inputs<T, 1>(p, sm, tl, ident_buf + (n & 1) * kIdentBuf, acc);
#pragma unroll
    for (int k = 0; k < kPix; ++k) {
      float f[V];
#pragma unroll
      for (int e = 0; e < V; ++e) f[e] = p.relu && acc[k][e] < 0.f ? 0.f : acc[k][e];
      const int px = pr + k * kPixRows;
      tile[px][slot<T>(q, px)] = cuda::pack16<T>(f);
    }
    __syncthreads();

    // Phase 2: through the shared tile to NCHW.
    T* y = static_cast<T*>(p.y);
    const T* tv = reinterpret_cast<const T*>(&tile[0][0]);
#pragma unroll
    for (int k = 0; k < kStoreTasks; ++k) {
      // A warp: V consecutive channels of one chunk x 32/V consecutive runs of V pixels.
      const int task = int(threadIdx.x) + k * kThreads, lane = task % 32, grp = task / 32;
      const int cl = lane % V, xq = lane / V, cg = grp % kChunks, xg = grp / kChunks;
      const int xc = xg * (32 / V) + xq;  // which run of V pixels
      const int ch = tl.c0 + cg * V + cl, ox = tl.x0 + xc * V;
      if (ch >= C || ox >= p.width) continue;
      alignas(16) T v[V];
#pragma unroll
      for (int j = 0; j < V; ++j) v[j] = tv[(xc * V + j) * kTileC + slot<T>(cg, xc * V + j) * V + cl];
      T* dst = y + ((tl.b * C + ch) * p.height + tl.oy) * p.width + ox;
      if (p.vec_store && ox + V <= p.width) {
        *reinterpret_cast<uint4*>(dst) = *reinterpret_cast<const uint4*>(v);
      } else {
#pragma unroll
        for (int j = 0; j < V; ++j)
          if (ox + j < p.width) dst[j] = v[j];
      }
    }
    // The next tile's staging and tile writes come after its first barrier, which every thread
    // reaches only after this tile's reads of shared memory.
  }
  asm volatile("cp.async.wait_all;\n" ::: "memory");  // none left in flight at exit
}

template <class T>
void launch(const ResizeSumParams& p, int x_tiles, int c_tiles, int tiles, CudaStream stream) {
  auto kernel = resize_sum_kernel<T>;
  if (p.smem_bytes > 48 * 1024)
    CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, p.smem_bytes));
  const int64_t resident = cuda::resident_blocks(kernel, kThreads, size_t(p.smem_bytes));
  const unsigned grid = unsigned(tiles < resident ? tiles : resident);
  kernel<<<grid, kThreads, size_t(p.smem_bytes), stream>>>(p, x_tiles, c_tiles, tiles);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void launch_resize_sum(DType dt, const ResizeSumParams& p, CudaStream stream) {
  const int64_t elem = dt == DType::kF32 ? 4 : 2;
  const int x_tiles = (p.width + kTx - 1) / kTx;
  const int c_tiles = int((p.channels + resize_sum_tile_c(elem) - 1) / resize_sum_tile_c(elem));
  const int64_t tiles = resize_sum_tiles(elem, p.batch, p.channels, p.height, p.width);
  if (tiles == 0) return;
  if (dt == DType::kF32) launch<float>(p, x_tiles, c_tiles, int(tiles), stream);
  else if (dt == DType::kF16) launch<__half>(p, x_tiles, c_tiles, int(tiles), stream);
  else KILN_ASSERT(!"resize_sum dtype");
}

}  // namespace kiln::spatial
