/* The CUDA half of the example plugin, callable from C. */
#ifndef SCALED_SWISH_H_
#define SCALED_SWISH_H_
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
/* Enqueues y = alpha * x * sigmoid(beta * x) on stream; NULL on success, else the CUDA error. */
const char* scaled_swish_cuda(const void* x, void* y, int64_t n, int is_half, float alpha, float beta,
                              void* stream);
#ifdef __cplusplus
}
#endif
#endif
