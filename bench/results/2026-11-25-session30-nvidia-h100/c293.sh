# Session 30 call 11 (the plugin library of 5c3c486's build, which c292 lacked on the machine; c292's tests binary and build/kiln left there): GpuPlugin.*.
source .devcarry/unpack.sh
R=$OUT/c293; mkdir -p $R
export KILN_TEST_DIR=$PWD/tests
ls -la build/tests/kiln_gpu_tests build/examples/plugins/scaled_swish/libkiln_scaled_swish.so
timeout 100 build/tests/kiln_gpu_tests --gtest_filter='GpuPlugin.*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure" $R/tests.txt | head
