# Session 14 call 14 (binaries in .devcarry/commit: a test-only review mend): GpuInt8Cli.
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R
timeout 150 build/tests/kiln_gpu_tests --gtest_filter='GpuInt8Cli*' > $R/c73_gpu_tests.txt 2>&1; echo "int8 cli tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED|guard gpu|int8 cli gpu" $R/c73_gpu_tests.txt | head -12
(cd /tmp && tar -cf $OUT/results.tar res)
