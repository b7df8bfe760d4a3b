# Session 31 call 3 (tests binaries: "new" = 40016a7 + MixFFN's epilogue a token row at a time (EpilogueRow: bounds, Y's row offset and X's staged row once a token, B2 once a thread) + AttentionBlock's Bo once a thread; "old" = 40016a7): the GPU tests of both kernels, memcheck, and the op benches old/new in turn.
source .devcarry/unpack.sh
xz -dc .devcarry/gt_old.xz > build/tests/gt_old && chmod +x build/tests/gt_old
R=$OUT/c297; mkdir -p $R
N=build/tests/kiln_gpu_tests; O=build/tests/gt_old
export KILN_TEST_DIR=$PWD/tests
timeout 240 $N --gtest_filter='GpuMixFfn*:GpuAttentionBlock*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure" $R/tests.txt | head
for i in 1 2; do for v in old new; do B=$N; [ $v = old ] && B=$O
  timeout 120 $B --gtest_also_run_disabled_tests --gtest_filter='*MixFfnBench*' 2>&1 | grep -E "MixFFN b|Failure" > $R/mixffn_${v}_$i.txt; grep "prefetch on" $R/mixffn_${v}_$i.txt | sed "s/^/$v $i /"
  timeout 120 $B --gtest_also_run_disabled_tests --gtest_filter='*AttentionBlockPrefetchBench*' 2>&1 | grep -E "AttentionBlock|Failure" > $R/attnblock_${v}_$i.txt; grep -E " on" $R/attnblock_${v}_$i.txt | sed "s/^/$v $i /"
done; done
timeout 240 compute-sanitizer --tool memcheck $N --gtest_filter='GpuMixFfn.WgmmaKernelOnHopper:GpuMixFfn.OutputNormOnTheWgmmaKernel:GpuMixFfn.RaggedImages:GpuAttentionBlock.*' > $R/memcheck.txt 2>&1; echo "memcheck exit $?"; tail -1 $R/memcheck.txt
