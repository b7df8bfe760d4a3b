# The CUDA backend: enabled when nvcc is found (pass -DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc
# or have nvcc on PATH), off with -DKILN_CUDA=OFF. Targets sm_90a machine code plus compute_90 PTX
# for other GPUs; cudart is linked statically, cuBLASLt and cuDNN 9 dynamically from the toolkit
# (the GPU machine has them in its system library path). NVRTC (shared, from the same toolkit)
# compiles the generated elementwise kernels (ops/elementwise/pointwise_nvrtc.h) at build time.
option(KILN_CUDA "Build the CUDA backend when nvcc is found" ON)
set(KILN_WITH_CUDA OFF)
if(KILN_CUDA)
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(KILN_WITH_CUDA ON)
  else()
    message(STATUS "kiln: nvcc not found, building without the CUDA backend")
  endif()
endif()

if(KILN_WITH_CUDA)
  # Architectures are given as -gencode flags below (cmake 3.25 has no "90a" spelling).
  set(CMAKE_CUDA_ARCHITECTURES OFF)
  enable_language(CUDA)
  set(CMAKE_CUDA_STANDARD 17)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  set(CMAKE_CUDA_RUNTIME_LIBRARY Static)
  find_program(KILN_CCACHE ccache)
  if(KILN_CCACHE AND NOT CMAKE_CUDA_COMPILER_LAUNCHER)
    set(CMAKE_CUDA_COMPILER_LAUNCHER ${KILN_CCACHE})
  endif()
  set(CMAKE_CUDA_FLAGS
      "${CMAKE_CUDA_FLAGS} -gencode=arch=compute_90a,code=sm_90a -gencode=arch=compute_90,code=compute_90")
  find_package(CUDAToolkit REQUIRED)
  find_library(KILN_CUDNN_LIB NAMES cudnn libcudnn.so.9 HINTS ${CUDAToolkit_LIBRARY_DIR} REQUIRED)
  find_path(KILN_CUDNN_INCLUDE cudnn.h HINTS ${CUDAToolkit_INCLUDE_DIRS} REQUIRED)
  message(STATUS "kiln: CUDA backend on (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, cuDNN ${KILN_CUDNN_LIB})")
endif()

function(kiln_link_cuda target)
  target_compile_definitions(${target} PUBLIC KILN_WITH_CUDA=1)
  target_include_directories(${target} PUBLIC ${CUDAToolkit_INCLUDE_DIRS} ${KILN_CUDNN_INCLUDE})
  target_link_libraries(${target} PUBLIC CUDA::cudart_static CUDA::cublasLt CUDA::nvrtc ${KILN_CUDNN_LIB})
endfunction()
