/* kiln's custom-op ABI: plain C, so a plugin built by another compiler (or in C) loads.
 *
 * A plugin is a shared library exporting
 *     int kiln_register_ops(kiln_registrar* registrar);
 * which calls registrar->add_op once per op and returns 0 (nonzero after registrar->error
 * refuses the whole library). Nothing crosses this boundary but C types: no exceptions, no
 * C++ objects, no ownership. kiln copies the descriptor's strings; the function pointers must
 * stay valid while the library is loaded (kiln never unloads it).
 *
 * Every callback returns 0 on success; on failure it calls ctx->error(ctx, message) and
 * returns nonzero, and kiln reports "<Op> '<node>': message". docs/PLUGINS.md has a walkthrough. */
#ifndef KILN_OP_H_
#define KILN_OP_H_
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever any struct below changes layout. kiln loads only its own version. */
#define KILN_OP_ABI_VERSION 1u
#define KILN_MAX_RANK 8

/* Element types: ONNX TensorProto codes. */
enum {
  KILN_FLOAT32 = 1, KILN_UINT8 = 2, KILN_INT8 = 3, KILN_INT32 = 6, KILN_INT64 = 7,
  KILN_BOOL = 9, KILN_FLOAT16 = 10, KILN_FLOAT64 = 11, KILN_BFLOAT16 = 16
};

/* A value's type during inference. rank -1: unknown rank; a dim of -1: unknown (symbolic). */
typedef struct kiln_value_type {
  int32_t dtype;
  int32_t rank;
  int64_t dims[KILN_MAX_RANK];
} kiln_value_type;

/* A dense row-major tensor at run time: host memory for cpu, device memory for cuda.
 * data is NULL for an omitted optional input. Outputs arrive allocated with the shapes infer
 * returned for the actual inputs. */
typedef struct kiln_tensor {
  int32_t dtype;
  int32_t rank;
  const int64_t* dims;
  void* data;
} kiln_tensor;

/* What kiln hands every callback: the node's opset for the op's domain, its attributes and
 * the error channel. Attribute getters return 1 and fill *value when present, else 0. */
typedef struct kiln_context kiln_context;
struct kiln_context {
  const void* impl; /* kiln's; opaque */
  int32_t opset;
  int (*attr_float)(const kiln_context* ctx, const char* name, float* value);
  int (*attr_int)(const kiln_context* ctx, const char* name, int64_t* value);
  void (*error)(const kiln_context* ctx, const char* message);
};

typedef struct kiln_op_descriptor {
  uint32_t abi_version; /* KILN_OP_ABI_VERSION: always the first field */
  const char* domain;   /* "" is ONNX's default domain */
  const char* name;
  int32_t since_version; /* the op's version in its domain; older opset imports are refused */
  int32_t min_inputs, max_inputs;   /* max -1: variadic */
  int32_t min_outputs, max_outputs;
  /* Output types from input types (required). */
  int (*infer)(const kiln_context* ctx, const kiln_value_type* inputs, int32_t num_inputs,
               kiln_value_type* outputs, int32_t num_outputs);
  /* The reference kernel (required). workspace: workspace_size bytes of host memory, or NULL. */
  int (*cpu)(const kiln_context* ctx, const kiln_tensor* inputs, int32_t num_inputs,
             kiln_tensor* outputs, int32_t num_outputs, void* workspace);
  /* Optional: the CUDA kernel, enqueued on stream (a cudaStream_t) with device pointers. */
  int (*cuda)(const kiln_context* ctx, const kiln_tensor* inputs, int32_t num_inputs,
              kiln_tensor* outputs, int32_t num_outputs, void* workspace, void* stream);
  /* Optional: scratch bytes a kernel needs for these inputs (NULL: none). */
  size_t (*workspace_size)(const kiln_context* ctx, const kiln_tensor* inputs, int32_t num_inputs);
} kiln_op_descriptor;

typedef struct kiln_registrar kiln_registrar;
struct kiln_registrar {
  uint32_t abi_version; /* the loading kiln's KILN_OP_ABI_VERSION */
  void* impl;           /* kiln's; opaque */
  int (*add_op)(kiln_registrar* registrar, const kiln_op_descriptor* op);
  void (*error)(kiln_registrar* registrar, const char* message);
};

typedef int (*kiln_register_ops_fn)(kiln_registrar* registrar);

#if defined(_WIN32)
#define KILN_PLUGIN_EXPORT __declspec(dllexport)
#else
#define KILN_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* The entry point a plugin defines. */
KILN_PLUGIN_EXPORT int kiln_register_ops(kiln_registrar* registrar);

#ifdef __cplusplus
}
#endif
#endif /* KILN_OP_H_ */
