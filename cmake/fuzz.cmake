# libFuzzer targets (tests/fuzz/, tools/fuzz/run.sh, docs/RELIABILITY.md): built only with
# -DKILN_FUZZ=ON and clang. The CPU core is compiled a second time, as kiln_fuzz_core, with
# coverage and ASan+UBSan; no CUDA source joins it. With the option off nothing here exists.
option(KILN_FUZZ "Build the libFuzzer targets in tests/fuzz (clang only)" OFF)
if(KILN_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang" OR NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "KILN_FUZZ needs clang: configure with CC=clang CXX=clang++")
  endif()
  # UB aborts instead of printing and going on, so libFuzzer records it as a finding.
  set(KILN_FUZZ_FLAGS -O1 -g -fno-omit-frame-pointer -fno-sanitize-recover=all)

  set(KILN_FUZZ_CORE_SOURCES ${KILN_CORE_SOURCES})
  list(FILTER KILN_FUZZ_CORE_SOURCES EXCLUDE REGEX "(_cuda\\.cpp|\\.cu|/runtime/cuda/.*)$")
  add_library(kiln_fuzz_core STATIC ${KILN_FUZZ_CORE_SOURCES})  # stb_image_decoder.c among them
  target_include_directories(kiln_fuzz_core PUBLIC include src ${OPENBLAS_INCLUDE} ${STB_INCLUDE})
  target_compile_definitions(kiln_fuzz_core PUBLIC KILN_VERSION="${PROJECT_VERSION}")
  target_compile_options(kiln_fuzz_core PRIVATE ${KILN_FUZZ_FLAGS}
                         -fsanitize=fuzzer-no-link,address,undefined)
  target_compile_options(kiln_fuzz_core PRIVATE "$<$<COMPILE_LANGUAGE:C>:-w>")
  target_link_libraries(kiln_fuzz_core PUBLIC kiln_onnx_proto OpenMP::OpenMP_CXX ${OPENBLAS_LIB}
                        ${STB_LIB} nlohmann_json::nlohmann_json ZLIB::ZLIB ${CMAKE_DL_LIBS})

  file(GLOB KILN_FUZZ_TARGETS CONFIGURE_DEPENDS tests/fuzz/fuzz_*.cpp)
  foreach(src ${KILN_FUZZ_TARGETS})
    get_filename_component(name ${src} NAME_WE)
    add_executable(${name} ${src})
    target_compile_options(${name} PRIVATE ${KILN_FUZZ_FLAGS} -fsanitize=fuzzer,address,undefined)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(${name} PRIVATE kiln_fuzz_core)
    set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  endforeach()
  list(TRANSFORM KILN_FUZZ_TARGETS REPLACE ".*/(fuzz_[a-z_]+)\\.cpp$" "\\1")
  add_custom_target(kiln_fuzz_all DEPENDS ${KILN_FUZZ_TARGETS})
endif()
