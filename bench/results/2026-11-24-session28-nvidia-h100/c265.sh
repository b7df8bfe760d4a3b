# Session 28 call 18 (decf093 tests binary, on c264's machine while it is warm): the MixFFN op bench (two rounds inside), the A side of c264's.
source .devcarry/unpack.sh
R=$OUT/c265; mkdir -p $R; hostname > $R/host.txt
T=build/tests/kiln_gpu_tests
for round in 1; do
  timeout 100 $T --gtest_also_run_disabled_tests --gtest_filter='*MixFfnBench*' 2>&1 | grep -E "prefetch on|Failure" | sed "s/^/head r$round: /" | tee -a $R/opbench.txt
done
