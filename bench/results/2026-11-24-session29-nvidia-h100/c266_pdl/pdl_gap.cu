// Measures the gap between dependent kernels in a CUDA graph, with and without programmatic
// dependent launch (PDL). Scratch, not part of kiln.
#include <cuda_runtime.h>
#include <cstdio>
#include <vector>
#include <algorithm>
#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("%s: %s\n", #x, cudaGetErrorString(e)); return 1; } } while (0)

__global__ void work(float* buf, long long spin, int pdl) {
  if (pdl) asm volatile("griddepcontrol.wait;" ::: "memory");
  long long t0 = clock64();
  float v = buf[blockIdx.x * blockDim.x + threadIdx.x];
  while (clock64() - t0 < spin) v = v * 0.999f + 1.0f;
  buf[blockIdx.x * blockDim.x + threadIdx.x] = v;
  if (pdl) asm volatile("griddepcontrol.launch_dependents;");
}
__global__ void work_early(float* buf, long long spin, int pdl) {
  if (pdl) asm volatile("griddepcontrol.launch_dependents;");
  if (pdl) asm volatile("griddepcontrol.wait;" ::: "memory");
  long long t0 = clock64();
  float v = buf[blockIdx.x * blockDim.x + threadIdx.x];
  while (clock64() - t0 < spin) v = v * 0.999f + 1.0f;
  buf[blockIdx.x * blockDim.x + threadIdx.x] = v;
}

int run(const char* name, void (*k)(float*, long long, int), int blocks, long long spin, int pdl, int n, float* buf) {
  cudaStream_t s; CK(cudaStreamCreate(&s));
  cudaGraph_t g; cudaGraphExec_t ge;
  CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  for (int i = 0; i < n; ++i) {
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = dim3(blocks); cfg.blockDim = dim3(256); cfg.stream = s;
    cudaLaunchAttribute at[1]; at[0].id = cudaLaunchAttributeProgrammaticStreamSerialization; at[0].val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = at; cfg.numAttrs = pdl ? 1 : 0;
    CK(cudaLaunchKernelEx(&cfg, k, buf, spin, pdl));
  }
  CK(cudaStreamEndCapture(s, &g));
  CK(cudaGraphInstantiate(&ge, g, 0));
  for (int w = 0; w < 3; ++w) CK(cudaGraphLaunch(ge, s));
  cudaEvent_t a, b; cudaEventCreate(&a); cudaEventCreate(&b);
  std::vector<float> ms;
  for (int r = 0; r < 20; ++r) { cudaEventRecord(a, s); CK(cudaGraphLaunch(ge, s)); cudaEventRecord(b, s); CK(cudaEventSynchronize(b)); float t; cudaEventElapsedTime(&t, a, b); ms.push_back(t); }
  std::sort(ms.begin(), ms.end());
  printf("%-10s blocks %4d spin %7lld pdl %d: %.2f us per kernel (median of 20 graphs of %d)\n", name, blocks, spin, pdl, ms[10] * 1000 / n, n);
  cudaGraphExecDestroy(ge); cudaGraphDestroy(g); cudaStreamDestroy(s);
  return 0;
}
#include <algorithm>
int main() {
  float* buf; CK(cudaMalloc(&buf, 4096 * 256 * 4)); CK(cudaMemset(buf, 0, 4096 * 256 * 4));
  for (long long spin : {0LL, 20000LL, 100000LL})
    for (int blocks : {132, 264, 200, 1056})
      for (int pdl : {0, 1}) { run("late", work, blocks, spin, pdl, 200, buf); run("early", work_early, blocks, spin, pdl, 200, buf); }
  return 0;
}
