/* A plugin claiming a name kiln already has (Relu in the default domain): refused. */
#include <string.h>

#include "kiln/op.h"

static int infer(const kiln_context* c, const kiln_value_type* in, int32_t ni, kiln_value_type* out, int32_t no) {
  out[0] = in[0];
  return 0;
}
static int cpu(const kiln_context* c, const kiln_tensor* in, int32_t ni, kiln_tensor* out, int32_t no, void* w) {
  return 0;
}

KILN_PLUGIN_EXPORT int kiln_register_ops(kiln_registrar* r) {
  kiln_op_descriptor op;
  memset(&op, 0, sizeof op);
  op.abi_version = KILN_OP_ABI_VERSION;
  op.domain = "";
  op.name = "Relu";
  op.since_version = 1;
  op.min_inputs = op.max_inputs = op.min_outputs = op.max_outputs = 1;
  op.infer = infer;
  op.cpu = cpu;
  return r->add_op(r, &op);
}
