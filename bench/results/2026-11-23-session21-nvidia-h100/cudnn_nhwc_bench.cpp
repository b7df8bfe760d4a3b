// Times cuDNN's NHWC fp16 convolutions at SegFormer-B2's patch-embedding shapes (batch 8 and 1).
#include <cudnn.h>
#include <cuda_runtime.h>
#include <cstdio>
#include <vector>
#define CK(x) do { auto e = (x); if (e != 0) { std::printf("err %d at %d\n", int(e), __LINE__); return 1; } } while (0)
int run(cudnnHandle_t h, int n, int c, int hw, int k, int r, int s, int pad, int stride) {
  cudnnTensorDescriptor_t xd, yd; cudnnFilterDescriptor_t wd; cudnnConvolutionDescriptor_t cd;
  cudnnCreateTensorDescriptor(&xd); cudnnCreateTensorDescriptor(&yd); cudnnCreateFilterDescriptor(&wd); cudnnCreateConvolutionDescriptor(&cd);
  CK(cudnnSetTensor4dDescriptor(xd, CUDNN_TENSOR_NHWC, CUDNN_DATA_HALF, n, c, hw, hw));
  CK(cudnnSetFilter4dDescriptor(wd, CUDNN_DATA_HALF, CUDNN_TENSOR_NHWC, k, c, r, s));
  CK(cudnnSetConvolution2dDescriptor(cd, pad, pad, stride, stride, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  CK(cudnnSetConvolutionMathType(cd, CUDNN_TENSOR_OP_MATH));
  int on, oc, oh, ow; CK(cudnnGetConvolution2dForwardOutputDim(cd, xd, wd, &on, &oc, &oh, &ow));
  CK(cudnnSetTensor4dDescriptor(yd, CUDNN_TENSOR_NHWC, CUDNN_DATA_HALF, on, oc, oh, ow));
  void *x, *w, *y, *ws; size_t wsb = size_t(256) << 20;
  cudaMalloc(&x, size_t(n) * c * hw * hw * 2); cudaMalloc(&w, size_t(k) * c * r * s * 2); cudaMalloc(&y, size_t(on) * oc * oh * ow * 2); cudaMalloc(&ws, wsb);
  cudaMemset(x, 0, size_t(n) * c * hw * hw * 2); cudaMemset(w, 0, size_t(k) * c * r * s * 2);
  cudnnConvolutionFwdAlgoPerf_t perf[16]; int got = 0;
  CK(cudnnFindConvolutionForwardAlgorithmEx(h, xd, x, wd, w, cd, yd, y, 16, &got, perf, ws, wsb));
  float one = 1, zero = 0;
  for (int i = 0; i < got && i < 3; ++i) {
    if (perf[i].status != 0) continue;
    // Replayed from a CUDA graph of 50 calls, as engines run: no host cost between the kernels.
    cudaStream_t st; cudaStreamCreate(&st); cudnnSetStream(h, st);
    cudnnConvolutionForward(h, &one, xd, x, wd, w, cd, perf[i].algo, ws, wsb, &zero, yd, y);
    cudaStreamSynchronize(st);
    cudaGraph_t g; cudaGraphExec_t ge;
    CK(cudaStreamBeginCapture(st, cudaStreamCaptureModeGlobal));
    for (int rep = 0; rep < 50; ++rep) cudnnConvolutionForward(h, &one, xd, x, wd, w, cd, perf[i].algo, ws, wsb, &zero, yd, y);
    CK(cudaStreamEndCapture(st, &g));
    CK(cudaGraphInstantiate(&ge, g, 0));
    cudaGraphLaunch(ge, st); cudaStreamSynchronize(st);
    cudaEvent_t a, b; cudaEventCreate(&a); cudaEventCreate(&b);
    cudaEventRecord(a, st);
    cudaGraphLaunch(ge, st);
    cudaEventRecord(b, st); cudaEventSynchronize(b); float ms; cudaEventElapsedTime(&ms, a, b);
    cudnnSetStream(h, nullptr);
    std::printf("n%d c%d %dx%d -> k%d %dx%d (%dx%d s%d): algo %d  %.4f ms/iter (find %.4f)\n", n, c, hw, hw, k, oh, ow, r, s, stride, int(perf[i].algo), ms / 50, perf[i].time);
  }
  cudaFree(x); cudaFree(w); cudaFree(y); cudaFree(ws);
  return 0;
}
int main() {
  cudnnHandle_t h; cudnnCreate(&h);
  for (int n : {8, 1}) {
    run(h, n, 64, 256, 128, 3, 3, 1, 2);
    run(h, n, 128, 128, 320, 3, 3, 1, 2);
    run(h, n, 320, 64, 512, 3, 3, 1, 2);
  }
  return 0;
}
