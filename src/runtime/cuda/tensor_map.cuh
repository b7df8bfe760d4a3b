// Device side of tensor_map.h: mbarriers and the 4-D bulk tensor copy (TMA) into shared memory,
// for sm_90a code only (the compute_90 PTX this build also embeds traps, as wgmma.cuh does):
// callers dispatch to them only on a compute capability 9.0 GPU.
#pragma once
#include <cuda.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace kiln::cuda::tma {

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define KILN_TMA 1
#else
#define KILN_TMA 0
#endif

__device__ __forceinline__ void mbarrier_init(uint32_t bar, uint32_t arrivals) {
#if KILN_TMA
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(arrivals) : "memory");
#else
  __trap();
#endif
}

// Makes initialized mbarriers visible to the async proxy (the copies that complete them).
__device__ __forceinline__ void fence_barrier_init() {
#if KILN_TMA
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
#endif
}

// Orders this thread's earlier generic-proxy accesses to shared memory (loads, stores, ldmatrix,
// cp.async once waited for) before its later async-proxy ones (the copies it issues next, wgmma's
// operand reads).
__device__ __forceinline__ void fence_proxy_async() {
#if KILN_TMA
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}

// A hint: `bytes` (a multiple of 16, 16-byte aligned) of global memory from `at` fetched into L2,
// tracked by nothing and waited for by no one.
__device__ __forceinline__ void prefetch_l2(const void* at, uint32_t bytes) {
#if KILN_TMA
  asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;\n" ::"l"(at), "r"(bytes) : "memory");
#endif
}

// One arrival that also expects `bytes` of copies to complete the phase.
__device__ __forceinline__ void arrive_expect_tx(uint32_t bar, uint32_t bytes) {
#if KILN_TMA
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
#else
  __trap();
#endif
}

// Waits until the phase with this parity has completed.
__device__ __forceinline__ void wait_parity(uint32_t bar, uint32_t parity) {
#if KILN_TMA
  asm volatile(
      "{\n.reg .pred done;\nwait_%=:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
      "@!done bra wait_%=;\n}\n" ::"r"(bar),
      "r"(parity)
      : "memory");
#else
  __trap();
#endif
}

// A warp's lane 0, done with a TMA stage, counts itself in the stage's release count (in shared
// memory, never reset); true for the last of the block's `warps` warps, which may refill the
// stage. The fence orders the warp's reads of the stage before the refill's copy.
__device__ __forceinline__ bool last_release(unsigned* count, unsigned warps) {
  __threadfence_block();
  return atomicAdd(count, 1u) % warps == warps - 1;
}

// The box of `map` at coordinates (c0, c1, c2, c3) into shared memory at dst (1024-byte aligned
// for the 128-byte swizzle), completing `bytes` of bar's expected transactions.
__device__ __forceinline__ void load_4d(uint32_t dst, const CUtensorMap* map, uint32_t bar, int c0, int c1, int c2,
                                        int c3) {
#if KILN_TMA
  asm volatile(
      "cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%3, %4, %5, %6}], "
      "[%2];\n" ::"r"(dst),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(bar), "r"(c0), "r"(c1), "r"(c2), "r"(c3)
      : "memory");
#else
  __trap();
#endif
}

// The same with five coordinates (tensor_map.h's patch_token_map).
__device__ __forceinline__ void load_5d(uint32_t dst, const CUtensorMap* map, uint32_t bar, int c0, int c1, int c2,
                                        int c3, int c4) {
#if KILN_TMA
  asm volatile(
      "cp.async.bulk.tensor.5d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%3, %4, %5, %6, "
      "%7}], [%2];\n" ::"r"(dst),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(bar), "r"(c0), "r"(c1), "r"(c2), "r"(c3), "r"(c4)
      : "memory");
#else
  __trap();
#endif
}

}  // namespace kiln::cuda::tma
