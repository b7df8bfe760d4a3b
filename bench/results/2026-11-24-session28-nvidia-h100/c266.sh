# Session 28 call 19 (tests binary of the review mend: one matrix_rows in tensor_map.h for MixFFN's, TokenConv's and SequenceReduction's weight maps; ResizeSumConv's W/Wp maps made once for both kernels — host code only): the GPU tests of the four ops whose launch code moved, and the models'.
source .devcarry/unpack.sh
R=$OUT/c266; mkdir -p $R
T=build/tests/kiln_gpu_tests
export KILN_TEST_DIR=$PWD/tests
timeout 300 $T --gtest_filter='GpuResizeSum*:GpuMixFfn*:GpuTokenConv*:GpuSequenceReduction*:GpuSegformer*:GpuModel*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure" $R/tests.txt | head -20
