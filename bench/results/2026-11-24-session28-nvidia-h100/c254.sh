# Session 28 call 7 (HEAD (MixFFN by TMA) tests binary, on c253's machine while it is warm): the DwConvMatMul op bench (two rounds inside), the A side of c253's.
source .devcarry/unpack.sh
R=$OUT/c254; mkdir -p $R; hostname > $R/host.txt
T=build/tests/kiln_gpu_tests
for round in 1; do
  timeout 100 $T --gtest_also_run_disabled_tests --gtest_filter='*DwConvMatMulBench*' 2>&1 | grep -E "median|Failure" | sed "s/^/head r$round: /" | tee -a $R/opbench.txt
done
