#include <cstdio>
#include <cmath>
#include "ops/attention/attention_wgmma_loop.cuh"
__global__ void k(const float* x, float* y, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = kiln::attention::flash_wgmma::exp2_poly(x[i]); }
int main() { const int n = 1 << 20; float *x, *y; cudaMallocManaged(&x, n * 4); cudaMallocManaged(&y, n * 4);
  for (int i = 0; i < n; ++i) x[i] = -130.f + 140.f * i / n; x[0] = -INFINITY;
  k<<<n / 256, 256>>>(x, y, n); cudaDeviceSynchronize();
  double mx = 0; int bad = 0; for (int i = 0; i < n; ++i) { double r = std::exp2((double)std::fmax(x[i], -125.f)); double e = std::fabs(y[i] / r - 1); if (!(e < 1e-4)) ++bad; if (e > mx) mx = e; }
  printf("exp2_poly: max rel err %.3g over [-130, 10], %d over 1e-4, 2^-inf -> %g, %s\n", mx, bad, y[0], cudaGetErrorString(cudaGetLastError())); }
