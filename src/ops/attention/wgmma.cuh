// Hopper warpgroup MMAs (wgmma, sm_90a) for the attention and MixFFN kernels: shared-memory
// descriptors of 128-byte-swizzled tiles, the m64nNk16 fp16 → fp32 products with A from shared
// memory (SS) or registers (RS), and the fences and waits around them. Device code only; every
// function here compiles to nothing but a trap outside sm_90a (the compute_90 PTX this build
// also embeds), so callers dispatch to it only on a compute capability 9.0 GPU (cuda_hopper()).
//
// Tiles. Every operand tile is rows of 64 fp16 (128 bytes), rows r..r+7 forming one 1024-byte
// swizzle atom whose 16-byte chunk c of row r sits at chunk c ^ (r % 8) — the 128B swizzle the
// tensor cores undo from the address bits, so each tile starts 1024-byte aligned. The same bytes
// serve as a K-major operand (Q, K: the reduction runs along the row) and as an MN-major one (V,
// transposed on read: the reduction runs down the rows). In both forms consecutive 8-row atoms are
// 1024 bytes apart (the descriptor's stride offset); the leading offset would step between
// atoms along the row and is unused at 64 columns. Steps of 16 along the reduction move the
// start address: 32 bytes inside a K-major row, 2048 bytes (16 rows) down an MN-major tile.
//
// Fragments: the fp32 accumulator of an m64nN product gives thread (warp w of the warpgroup,
// lane 4g + t) the elements (16w + g + 8h, 8n + 2t + e) at index 4n + 2h + e — per 8 columns the
// m16n8 accumulator of mma.sync — and the register A operand of m64k16 is mma.sync's m16k16 A
// fragment of rows 16w..16w+15 (mma_f16.cuh), so P goes from S to A exactly as there.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace kiln::attention::wgmma {

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define KILN_WGMMA 1
#else
#define KILN_WGMMA 0
#endif

constexpr uint32_t kAtomBytes = 1024;  // 8 rows of 128 bytes

// The byte offset of element (row, col) in a swizzled tile of 64-column fp16 rows.
__host__ __device__ constexpr uint32_t swizzled(uint32_t row, uint32_t col) {
  return row * 128 + ((((col >> 3) ^ row) & 7) << 4) + (col & 7) * 2;
}

// The descriptor of a swizzled tile starting at shared address `smem` (1024-byte aligned for the
// tile, plus a multiple of 32 bytes inside a row for K steps).
__device__ __forceinline__ uint64_t descriptor(uint32_t smem) {
  constexpr uint64_t kStride = kAtomBytes >> 4, kLeading = 1, kSwizzle128 = 1;
  return uint64_t((smem & 0x3FFFF) >> 4) | (kLeading << 16) | (kStride << 32) | (kSwizzle128 << 62);
}

// This thread's warpgroup (threadIdx.x / 128) through a shuffle from lane 0: ptxas then knows the
// value is warp-uniform and can keep the descriptors made from it in uniform registers instead of
// moving each into them (R2UR) before every wgmma. A measured choice per kernel (op benches at B2
// b8, c258-c261): MixFFN stage 0 0.3554-0.3580 -> 0.3441-0.3466 ms, stage 1 unchanged; in the
// attention kernels 1-3% slower, in DwConvMatMul and TokenConv no change, so they keep
// threadIdx.x >> 7.
__device__ __forceinline__ int warpgroup_index() { return __shfl_sync(0xffffffffu, int(threadIdx.x >> 7), 0); }

// Orders this thread's earlier register writes (accumulators, A fragments) before the next
// wgmma reads or overwrites them.
__device__ __forceinline__ void fence() {
#if KILN_WGMMA
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void commit() {
#if KILN_WGMMA
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#endif
}
// Waits until at most N committed groups of this warpgroup are still running.
template <int N> __device__ __forceinline__ void wait() {
#if KILN_WGMMA
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
#endif
}

#define KILN_WGMMA_D32                                                                                           \
  "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, " \
  "%23, %24, %25, %26, %27, %28, %29, %30, %31}"
#define KILN_WGMMA_D32_OPERANDS(d)                                                                                \
  "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]),     \
      "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]),      \
      "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]),     \
      "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])

// d (+)= A·B, m64n64k16: A K-major and B K-major in shared memory. accumulate 0 ignores d's
// old value.
__device__ __forceinline__ void mma_ss(float (&d)[32], uint64_t a, uint64_t b, int accumulate) {
#if KILN_WGMMA
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 " KILN_WGMMA_D32 ", %32, %33, p, 1, 1, 0, 0;\n}\n"
      : KILN_WGMMA_D32_OPERANDS(d)
      : "l"(a), "l"(b), "r"(accumulate));
#else
  __trap();
#endif
}

// d (+)= A·B, m64n64k16: A in registers (four fp16 pairs), B MN-major in shared memory.
__device__ __forceinline__ void mma_rs_bt(float (&d)[32], const uint32_t (&a)[4], uint64_t b, int accumulate) {
#if KILN_WGMMA
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 " KILN_WGMMA_D32 ", {%32, %33, %34, %35}, %36, p, 1, 1, 1;\n}\n"
      : KILN_WGMMA_D32_OPERANDS(d)
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(accumulate));
#else
  __trap();
#endif
}

// d (+)= A·B, m64nNk16 for N = 16, 32 or 64: A K-major and B MN-major in shared memory (the
// MixFFN kernel's weights, [K][N] row-major as the graph stores them). N below 64 reads columns
// [n0, n0 + N) of a 64-column tile: the descriptor starts 2·n0 bytes into the rows, inside the
// first 128 bytes, so the swizzle's base offset stays 0.
template <int N> __device__ __forceinline__ void mma_ss_bt(float (&d)[N / 2], uint64_t a, uint64_t b, int accumulate);

template <> __device__ __forceinline__ void mma_ss_bt<64>(float (&d)[32], uint64_t a, uint64_t b, int accumulate) {
#if KILN_WGMMA
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 " KILN_WGMMA_D32 ", %32, %33, p, 1, 1, 0, 1;\n}\n"
      : KILN_WGMMA_D32_OPERANDS(d)
      : "l"(a), "l"(b), "r"(accumulate));
#else
  __trap();
#endif
}

template <> __device__ __forceinline__ void mma_ss_bt<32>(float (&d)[16], uint64_t a, uint64_t b, int accumulate) {
#if KILN_WGMMA
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %18, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n32k16.f32.f16.f16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15}, %16, %17, p, 1, 1, 0, 1;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]),
        "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15])
      : "l"(a), "l"(b), "r"(accumulate));
#else
  __trap();
#endif
}

template <> __device__ __forceinline__ void mma_ss_bt<16>(float (&d)[8], uint64_t a, uint64_t b, int accumulate) {
#if KILN_WGMMA
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %10, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n16k16.f32.f16.f16 {%0, %1, %2, %3, %4, %5, %6, %7}, %8, %9, p, 1, 1, 0, 1;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7])
      : "l"(a), "l"(b), "r"(accumulate));
#else
  __trap();
#endif
}

// d (+)= A·B, m64n32k16: A in registers, B K-major in shared memory (ResizeSumConv's classifier,
// W [classes][channels] as the graph stores it).
__device__ __forceinline__ void mma_rs_n32(float (&d)[16], const uint32_t (&a)[4], uint64_t b, int accumulate) {
#if KILN_WGMMA
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %21, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n32k16.f32.f16.f16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15}, {%16, %17, %18, %19}, %20, p, 1, 1, 0;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]),
        "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(accumulate));
#else
  __trap();
#endif
}

#undef KILN_WGMMA_D32
#undef KILN_WGMMA_D32_OPERANDS

// Keeps the compiler from moving registers a running wgmma reads or writes.
template <int N> __device__ __forceinline__ void pin(float (&r)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+f"(r[i])::"memory");
}

}  // namespace kiln::attention::wgmma
