// Registration hooks of the spatial family's ops, one per file.
#pragma once
#include "ops/registry.h"

namespace kiln::spatial {

void register_resize(OpRegistry& r);       // resize.cpp
void register_grid_sample(OpRegistry& r);  // grid_sample.cpp
void register_resize_sum(OpRegistry& r);   // resize_sum.cpp (kiln domain)
void register_resize_sum_conv(OpRegistry& r);  // resize_sum_conv.cpp (kiln domain)
void register_ms_deform_attn(OpRegistry& r);  // ms_deform_attn.cpp (kiln domain)

}  // namespace kiln::spatial
