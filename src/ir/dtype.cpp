#include "ir/dtype.h"

#include <cmath>

#include "kiln/status.h"

namespace kiln {

float f16_to_float(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t man = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {  // subnormal: renormalize
      int e = -1;
      do {
        ++e;
        man <<= 1;
      } while ((man & 0x400) == 0);
      bits = sign | uint32_t(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | man << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | man << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t float_to_f16(float value) {
  uint32_t u;
  std::memcpy(&u, &value, 4);
  uint16_t sign = uint16_t((u >> 16) & 0x8000);
  uint32_t absu = u & 0x7fffffff;
  if (absu >= 0x7f800000) return sign | (absu > 0x7f800000 ? 0x7e00 : 0x7c00);  // nan / inf
  if (absu >= 0x477ff000) return sign | 0x7c00;  // rounds past 65504: overflow to inf
  if (absu < 0x38800000) {                       // below the smallest normal: subnormal or 0
    float a;
    std::memcpy(&a, &absu, 4);
    // 2^-24 is one subnormal step; rint rounds to nearest even.
    return sign | uint16_t(std::nearbyint(a * 16777216.0f));
  }
  uint32_t rounded = absu + 0xfff + ((absu >> 13) & 1);  // round to nearest even at bit 13
  return sign | uint16_t((rounded - (uint32_t(127 - 15) << 23)) >> 13);
}

uint16_t float_to_bf16(float value) {
  uint32_t u;
  std::memcpy(&u, &value, 4);
  if ((u & 0x7fffffff) > 0x7f800000) return uint16_t((u >> 16) | 0x40);  // keep nan quiet
  u += 0x7fff + ((u >> 16) & 1);
  return uint16_t(u >> 16);
}

size_t dtype_size(DType dt) {
  switch (dt) {
    case DType::kF64: case DType::kI64: return 8;
    case DType::kF32: case DType::kI32: return 4;
    case DType::kF16: case DType::kBF16: return 2;
    case DType::kI8: case DType::kU8: case DType::kBool: return 1;
    case DType::kUndefined: return 0;
  }
  return 0;
}

const char* dtype_name(DType dt) {
  switch (dt) {
    case DType::kF32: return "float32";
    case DType::kF16: return "float16";
    case DType::kBF16: return "bfloat16";
    case DType::kF64: return "float64";
    case DType::kI64: return "int64";
    case DType::kI32: return "int32";
    case DType::kI8: return "int8";
    case DType::kU8: return "uint8";
    case DType::kBool: return "bool";
    case DType::kUndefined: return "undefined";
  }
  return "undefined";
}

bool dtype_is_float(DType dt) {
  return dt == DType::kF32 || dt == DType::kF16 || dt == DType::kBF16 || dt == DType::kF64;
}
bool dtype_is_signed_int(DType dt) {
  return dt == DType::kI64 || dt == DType::kI32 || dt == DType::kI8;
}

// ONNX TensorProto.DataType values.
namespace onnx_code {
enum : int32_t {
  UNDEFINED = 0, FLOAT = 1, UINT8 = 2, INT8 = 3, UINT16 = 4, INT16 = 5, INT32 = 6, INT64 = 7,
  STRING = 8, BOOL = 9, FLOAT16 = 10, DOUBLE = 11, UINT32 = 12, UINT64 = 13, COMPLEX64 = 14,
  COMPLEX128 = 15, BFLOAT16 = 16,
};
}

DType dtype_from_onnx(int32_t t) {
  switch (t) {
    case onnx_code::FLOAT: return DType::kF32;
    case onnx_code::FLOAT16: return DType::kF16;
    case onnx_code::BFLOAT16: return DType::kBF16;
    case onnx_code::DOUBLE: return DType::kF64;
    case onnx_code::INT64: return DType::kI64;
    case onnx_code::INT32: return DType::kI32;
    case onnx_code::INT8: return DType::kI8;
    case onnx_code::UINT8: return DType::kU8;
    case onnx_code::BOOL: return DType::kBool;
    default: break;
  }
  fail(ErrorCode::kUnsupported, "element type " + onnx_type_name(t) +
                                    " is not supported (kiln supports float32/16, bfloat16, "
                                    "float64, int64/32/8, uint8, bool)");
}

int32_t dtype_to_onnx(DType dt) {
  switch (dt) {
    case DType::kF32: return onnx_code::FLOAT;
    case DType::kF16: return onnx_code::FLOAT16;
    case DType::kBF16: return onnx_code::BFLOAT16;
    case DType::kF64: return onnx_code::DOUBLE;
    case DType::kI64: return onnx_code::INT64;
    case DType::kI32: return onnx_code::INT32;
    case DType::kI8: return onnx_code::INT8;
    case DType::kU8: return onnx_code::UINT8;
    case DType::kBool: return onnx_code::BOOL;
    case DType::kUndefined: break;
  }
  return onnx_code::UNDEFINED;
}

std::string onnx_type_name(int32_t t) {
  static const char* names[] = {"UNDEFINED", "FLOAT",  "UINT8",     "INT8",      "UINT16",
                                "INT16",     "INT32",  "INT64",     "STRING",    "BOOL",
                                "FLOAT16",   "DOUBLE", "UINT32",    "UINT64",    "COMPLEX64",
                                "COMPLEX128", "BFLOAT16"};
  if (t >= 0 && t < int32_t(sizeof(names) / sizeof(names[0]))) return names[t];
  return "type code " + std::to_string(t);
}

}  // namespace kiln
