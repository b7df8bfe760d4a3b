// Element types kiln tensors can hold, and conversions between them and ONNX's codes.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

namespace kiln {

enum class DType : uint8_t { kUndefined, kF32, kF16, kBF16, kF64, kI64, kI32, kI8, kU8, kBool };

// 16-bit floats are stored as bits; arithmetic on them goes through float.
struct f16 { uint16_t bits; };
struct bf16 { uint16_t bits; };

float f16_to_float(uint16_t bits);
uint16_t float_to_f16(float value);  // round to nearest even, overflow to inf
inline float bf16_to_float(uint16_t bits) {
  uint32_t u = uint32_t(bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint16_t float_to_bf16(float value);  // round to nearest even

size_t dtype_size(DType dt);
const char* dtype_name(DType dt);  // "float32", "float16", ...
bool dtype_is_float(DType dt);     // f32, f16, bf16, f64
bool dtype_is_signed_int(DType dt);

// ONNX TensorProto.DataType codes. Throws kUnsupported for codes kiln does not claim.
DType dtype_from_onnx(int32_t onnx_type);
int32_t dtype_to_onnx(DType dt);
std::string onnx_type_name(int32_t onnx_type);  // for error messages: "STRING", "UINT16", ...

template <class T> constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, float>) return DType::kF32;
  else if constexpr (std::is_same_v<T, double>) return DType::kF64;
  else if constexpr (std::is_same_v<T, f16>) return DType::kF16;
  else if constexpr (std::is_same_v<T, bf16>) return DType::kBF16;
  else if constexpr (std::is_same_v<T, int64_t>) return DType::kI64;
  else if constexpr (std::is_same_v<T, int32_t>) return DType::kI32;
  else if constexpr (std::is_same_v<T, int8_t>) return DType::kI8;
  else if constexpr (std::is_same_v<T, uint8_t>) return DType::kU8;
  else if constexpr (std::is_same_v<T, bool>) return DType::kBool;
  else static_assert(sizeof(T) == 0, "no kiln dtype for this C++ type");
}

template <class T> struct TypeTag { using type = T; };

// Calls fn(TypeTag<T>{}) with the C++ type of dt. Every dtype is listed, so a kernel that
// wants only some filters with `if constexpr` and reports the rest itself.
template <class Fn> decltype(auto) visit_dtype(DType dt, Fn&& fn) {
  switch (dt) {
    case DType::kF32: return fn(TypeTag<float>{});
    case DType::kF64: return fn(TypeTag<double>{});
    case DType::kF16: return fn(TypeTag<f16>{});
    case DType::kBF16: return fn(TypeTag<bf16>{});
    case DType::kI64: return fn(TypeTag<int64_t>{});
    case DType::kI32: return fn(TypeTag<int32_t>{});
    case DType::kI8: return fn(TypeTag<int8_t>{});
    case DType::kU8: return fn(TypeTag<uint8_t>{});
    case DType::kBool: return fn(TypeTag<bool>{});
    case DType::kUndefined: break;
  }
  return fn(TypeTag<void>{});
}

// Reads/writes one element as double (the reference backend's lingua franca for conversions).
template <class T> inline double to_double(T v) {
  if constexpr (std::is_same_v<T, f16>) return f16_to_float(v.bits);
  else if constexpr (std::is_same_v<T, bf16>) return bf16_to_float(v.bits);
  else return static_cast<double>(v);
}
template <class T> inline T from_double(double v) {
  if constexpr (std::is_same_v<T, f16>) return f16{float_to_f16(static_cast<float>(v))};
  else if constexpr (std::is_same_v<T, bf16>) return bf16{float_to_bf16(static_cast<float>(v))};
  else if constexpr (std::is_same_v<T, bool>) return v != 0.0;
  else return static_cast<T>(v);
}

}  // namespace kiln
