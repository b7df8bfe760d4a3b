// Throughput of ex2.approx.f32 vs ex2.approx.f16x2 on this GPU: elements per clock per SM.
#include <cstdio>
#include <cstdint>
#include <cuda_runtime.h>
constexpr int kIters = 4096;
__global__ void f32(float* out, float seed) {
  float a[8];
  for (int i = 0; i < 8; ++i) a[i] = seed * (threadIdx.x + i) * 1e-9f;
  long long t0 = clock64();
  for (int k = 0; k < kIters; ++k)
#pragma unroll
    for (int i = 0; i < 8; ++i) asm volatile("ex2.approx.ftz.f32 %0, %0;" : "+f"(a[i]));
  long long t1 = clock64();
  float s = 0; for (int i = 0; i < 8; ++i) s += a[i];
  out[blockIdx.x * blockDim.x + threadIdx.x] = s;
  if (threadIdx.x == 0 && blockIdx.x == 0) out[0] = float(t1 - t0);
}
__global__ void h2(float* out, float seed) {
  uint32_t a[8];
  for (int i = 0; i < 8; ++i) a[i] = 0x3c003c00u ^ (threadIdx.x + i);
  long long t0 = clock64();
  for (int k = 0; k < kIters; ++k)
#pragma unroll
    for (int i = 0; i < 8; ++i) asm volatile("ex2.approx.f16x2 %0, %0;" : "+r"(a[i]));
  long long t1 = clock64();
  uint32_t s = 0; for (int i = 0; i < 8; ++i) s ^= a[i];
  out[blockIdx.x * blockDim.x + threadIdx.x] = float(s & 0xff);
  if (threadIdx.x == 0 && blockIdx.x == 0) out[0] = float(t1 - t0);
}
int main() {
  int sms; cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0);
  int clk; cudaDeviceGetAttribute(&clk, cudaDevAttrClockRate, 0);
  float* out; cudaMalloc(&out, sizeof(float) * sms * 4 * 1024);
  const int blocks = sms * 4, threads = 512;
  cudaEvent_t e0, e1; cudaEventCreate(&e0); cudaEventCreate(&e1);
  for (int v = 0; v < 2; ++v) for (int rep = 0; rep < 3; ++rep) {
    cudaEventRecord(e0);
    if (v == 0) f32<<<blocks, threads>>>(out, 1.f); else h2<<<blocks, threads>>>(out, 1.f);
    cudaEventRecord(e1); cudaEventSynchronize(e1);
    float ms; cudaEventElapsedTime(&ms, e0, e1);
    float cyc; cudaMemcpy(&cyc, out, 4, cudaMemcpyDeviceToHost);
    double elems = double(blocks) * threads * kIters * 8 * (v ? 2 : 1);
    double instrs = double(blocks) * threads * kIters * 8;
    printf("%s: %.3f ms, %.1f Gelem/s, %.2f elem/clk/SM, %.2f instr/clk/SM (block0 %.0f cycles; clock %d MHz)\n",
           v ? "ex2.approx.f16x2" : "ex2.approx.ftz.f32", ms, elems / ms * 1e-6, elems / (ms * 1e-3) / (clk * 1e3) / sms,
           instrs / (ms * 1e-3) / (clk * 1e3) / sms, cyc, clk / 1000);
  }
  printf("%s\n", cudaGetErrorString(cudaGetLastError()));
}
