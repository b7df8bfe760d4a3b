# Session 28 call 3 (main's f803d56 tests binary, on c249's machine while it is warm): the attention op benches twice, the A side of c249's.
source .devcarry/unpack.sh
R=$OUT/c250; mkdir -p $R; hostname > $R/host.txt
T=build/tests/kiln_gpu_tests
for round in 1 2; do
  timeout 100 $T --gtest_also_run_disabled_tests --gtest_filter='*AttentionBlockBench*:*AttentionWgmmaBench*' 2>&1 | grep -E "slack 8 |Failure" | sed "s/^/main r$round: /" | tee -a $R/opbench.txt
done
