#include "runtime/cuda/tensor_map.h"

#include <cuda_runtime_api.h>
#include <cudaTypedefs.h>

#include <string>

#include "kiln/status.h"

namespace kiln::cuda {
namespace {

PFN_cuTensorMapEncodeTiled_v12000 encoder() {
  static const PFN_cuTensorMapEncodeTiled_v12000 fn = [] {
    void* f = nullptr;
    cudaDriverEntryPointQueryResult q{};
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &f, 12000, cudaEnableDefault, &q) != cudaSuccess ||
        q != cudaDriverEntryPointSuccess)
      f = nullptr;
    cudaGetLastError();
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(f);
  }();
  return fn;
}

bool aligned16(int64_t elements) { return elements % 8 == 0; }  // fp16

}  // namespace

bool tiled_rows_fit(const RowStack& s) {
  constexpr int64_t kMaxStride = int64_t(1) << 39;  // bytes < 2^40
  const bool strides = aligned16(s.row) && aligned16(s.head) && aligned16(s.outer) && s.row * 2 < kMaxStride &&
                       s.head * 2 < kMaxStride && s.outer * 2 < kMaxStride;
  const bool dims = s.width > 0 && s.rows > 0 && s.heads > 0 && s.outers > 0 && s.width <= (int64_t(1) << 32) &&
                    s.rows <= (int64_t(1) << 31) && s.heads <= (int64_t(1) << 31) && s.outers <= (int64_t(1) << 31);
  return strides && dims && (reinterpret_cast<uintptr_t>(s.base) & 15) == 0 && encoder() != nullptr;
}

CUtensorMap tiled_rows_map(const RowStack& s, int box_rows) {
  const bool head_inner = rows_head_inner(s);
  const cuuint64_t dims[4] = {cuuint64_t(s.width), cuuint64_t(head_inner ? s.heads : s.rows),
                              cuuint64_t(head_inner ? s.rows : s.heads), cuuint64_t(s.outers)};
  const cuuint64_t strides[3] = {cuuint64_t(2 * (head_inner ? s.head : s.row)),
                                 cuuint64_t(2 * (head_inner ? s.row : s.head)), cuuint64_t(2 * s.outer)};
  const cuuint32_t box[4] = {64, head_inner ? 1u : cuuint32_t(box_rows), head_inner ? cuuint32_t(box_rows) : 1u, 1};
  const cuuint32_t unit[4] = {1, 1, 1, 1};
  CUtensorMap map{};
  const CUresult r = encoder()(&map, CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 4, const_cast<void*>(s.base), dims, strides, box,
                               unit, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                               CU_TENSOR_MAP_L2_PROMOTION_L2_128B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS)
    fail(ErrorCode::kInternal, "internal error: cuTensorMapEncodeTiled refused a row stack (error " +
                                   std::to_string(int(r)) + ", width " + std::to_string(s.width) + ", rows " +
                                   std::to_string(s.rows) + ")");
  return map;
}

bool image_box_fits(const void* base, int elem, const int64_t (&nchw)[4], const uint32_t (&box)[3]) {
  if ((elem != 2 && elem != 4) || (reinterpret_cast<uintptr_t>(base) & 15) != 0 || encoder() == nullptr) return false;
  for (int64_t d : nchw)
    if (d <= 0 || d > (int64_t(1) << 31)) return false;
  for (uint32_t b : box)
    if (b == 0 || b > 256) return false;
  const int64_t row = nchw[3] * elem, image = row * nchw[2] * nchw[1];
  return row % 16 == 0 && box[0] * elem % 16 == 0 && box[2] <= nchw[1] && image < (int64_t(1) << 40);
}

CUtensorMap image_box_map(const void* base, int elem, const int64_t (&nchw)[4], const uint32_t (&box)[3]) {
  const cuuint64_t dims[4] = {cuuint64_t(nchw[3]), cuuint64_t(nchw[2]), cuuint64_t(nchw[1]), cuuint64_t(nchw[0])};
  const cuuint64_t row = cuuint64_t(nchw[3]) * elem;
  const cuuint64_t strides[3] = {row, row * dims[1], row * dims[1] * dims[2]};
  const cuuint32_t boxes[4] = {box[0], box[1], box[2], 1};
  const cuuint32_t unit[4] = {1, 1, 1, 1};
  CUtensorMap map{};
  const CUresult r = encoder()(&map, elem == 4 ? CU_TENSOR_MAP_DATA_TYPE_FLOAT32 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 4,
                               const_cast<void*>(base), dims, strides, boxes, unit, CU_TENSOR_MAP_INTERLEAVE_NONE,
                               CU_TENSOR_MAP_SWIZZLE_NONE, CU_TENSOR_MAP_L2_PROMOTION_L2_128B,
                               CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS)
    fail(ErrorCode::kInternal, "internal error: cuTensorMapEncodeTiled refused an image stack (error " +
                                   std::to_string(int(r)) + ")");
  return map;
}

bool patch_token_fits(const PatchTokens& t) {
  if ((reinterpret_cast<uintptr_t>(t.base) & 15) != 0 || encoder() == nullptr) return false;
  // p ≥ 2 and W > p keep the dims' strides ascending, as the encoder wants them.
  if (t.batch <= 0 || t.height <= 0 || t.width <= t.patch || t.patch < 2 || t.channels <= 0 || t.channels % 32 != 0 ||
      t.height % t.patch != 0 || t.width % t.patch != 0)
    return false;
  const int64_t lines = t.channels / 32 * t.patch, rows = t.batch * (t.height / t.patch);
  const bool dims = lines <= (int64_t(1) << 31) && rows <= (int64_t(1) << 31) && t.width <= (int64_t(1) << 31);
  const bool box = t.channels / 32 <= 256 && t.box_w > 0 && t.box_w <= 256 && t.box_h > 0 && t.box_h <= 256;
  return dims && box && t.batch * t.height * t.width * t.channels * 4 < (int64_t(1) << 40);
}

CUtensorMap patch_token_map(const PatchTokens& t) {
  const int64_t p = t.patch, line = 128, tap = t.channels * 4;
  const cuuint64_t dims[5] = {32, cuuint64_t(t.channels / 32 * p), cuuint64_t(t.width / p), cuuint64_t(p),
                              cuuint64_t(t.batch * (t.height / p))};
  const cuuint64_t strides[4] = {cuuint64_t(line), cuuint64_t(p * tap), cuuint64_t(t.width * tap),
                                 cuuint64_t(p * t.width * tap)};
  const cuuint32_t box[5] = {32, cuuint32_t(t.channels / 32), t.box_w, 1, t.box_h};
  const cuuint32_t unit[5] = {1, 1, 1, 1, 1};
  CUtensorMap map{};
  const CUresult r = encoder()(&map, CU_TENSOR_MAP_DATA_TYPE_FLOAT32, 5, const_cast<void*>(t.base), dims, strides, box,
                               unit, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                               CU_TENSOR_MAP_L2_PROMOTION_L2_128B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS)
    fail(ErrorCode::kInternal, "internal error: cuTensorMapEncodeTiled refused patch tokens (error " +
                                   std::to_string(int(r)) + ", " + std::to_string(t.height) + "x" +
                                   std::to_string(t.width) + "x" + std::to_string(t.channels) + ", patch " +
                                   std::to_string(p) + ")");
  return map;
}

bool token_window_fits(const TokenWindows& t) {
  constexpr int64_t kMaxStride = int64_t(1) << 40, kMaxDim = int64_t(1) << 31;
  const bool strides = t.stride_w >= 1 && t.stride_w <= 8 && t.stride_h >= 1 && t.stride_h <= 8;
  const bool box = t.box_w >= 1 && t.box_h >= 1 && t.box_w * t.stride_w <= 256 && t.box_h * t.stride_h <= 256;
  const bool dims = t.channels > 0 && t.channels % 64 == 0 && t.width > 0 && t.height > 0 && t.batch > 0 &&
                    t.channels < kMaxDim && t.width < kMaxDim && t.height < kMaxDim && t.batch < kMaxDim &&
                    t.batch * t.height * t.width * t.channels * 2 < kMaxStride;
  return strides && box && dims && (reinterpret_cast<uintptr_t>(t.base) & 15) == 0 && encoder() != nullptr;
}

CUtensorMap token_window_map(const TokenWindows& t) {
  const cuuint64_t dims[4] = {cuuint64_t(t.channels), cuuint64_t(t.width), cuuint64_t(t.height),
                              cuuint64_t(t.batch)};
  const cuuint64_t strides[3] = {cuuint64_t(2 * t.channels), cuuint64_t(2 * t.channels * t.width),
                                 cuuint64_t(2 * t.channels * t.width * t.height)};
  const cuuint32_t box[4] = {64, t.box_w * t.stride_w, t.box_h * t.stride_h, 1};
  const cuuint32_t step[4] = {1, t.stride_w, t.stride_h, 1};
  CUtensorMap map{};
  const CUresult r = encoder()(&map, CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 4, const_cast<void*>(t.base), dims, strides, box,
                               step, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                               CU_TENSOR_MAP_L2_PROMOTION_L2_128B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS)
    fail(ErrorCode::kInternal, "internal error: cuTensorMapEncodeTiled refused token windows (error " +
                                   std::to_string(int(r)) + ", " + std::to_string(t.height) + "x" +
                                   std::to_string(t.width) + "x" + std::to_string(t.channels) + ", strides " +
                                   std::to_string(t.stride_h) + "x" + std::to_string(t.stride_w) + ")");
  return map;
}

}  // namespace kiln::cuda
