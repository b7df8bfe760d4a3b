# Session 21 call 5 (tests binary, same code as c153; c153's kiln left in build/): every GPU test, the SequenceReduction op bench, memcheck.
source .devcarry/unpack.sh
R=$OUT/c154; mkdir -p $R
ls -la build/kiln | cut -c1-60
timeout 330 build/tests/kiln_gpu_tests > /tmp/gpu_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED|tests ran" /tmp/gpu_tests.txt | head -12; gzip -c /tmp/gpu_tests.txt > $R/gpu_tests.txt.gz
timeout 100 build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*SequenceReductionBench*' > $R/bench.txt 2>&1; echo "bench exit $?"; grep "SequenceReduction b" $R/bench.txt
timeout 120 /usr/local/cuda/bin/compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuSequenceReduction.*' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; tail -1 $R/memcheck.txt
