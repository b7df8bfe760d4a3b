// Registration entry points of the conv family's files (register.cpp calls them all).
#pragma once
#include "ops/registry.h"

namespace kiln::conv {

void register_conv(OpRegistry& r);            // Conv
void register_conv_transpose(OpRegistry& r);  // ConvTranspose
void register_pools(OpRegistry& r);           // MaxPool, AveragePool, LpPool
void register_global_pools(OpRegistry& r);    // GlobalAveragePool, GlobalMaxPool, GlobalLpPool
void register_depthwise_nhwc(OpRegistry& r);  // DepthwiseConvNHWC (kiln domain)

}  // namespace kiln::conv
