# Session 14 call 10 (binaries in .devcarry/commit): the accuracy guard evaluated on the GPU — GpuInt8Cli tests (segformer_tiny, against the CPU reference's figures and the engine written).
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R; export R
timeout 200 build/tests/kiln_gpu_tests --gtest_filter='GpuInt8Cli*' > $R/c69_gpu_tests.txt 2>&1; echo "int8 cli tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED|guard gpu|int8 cli gpu|Failure" $R/c69_gpu_tests.txt | head -20
(cd /tmp && tar -cf $OUT/results.tar res)
