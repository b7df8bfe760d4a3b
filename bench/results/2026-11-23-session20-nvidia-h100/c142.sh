# Session 20 call 1: ResizeSumConv experiment (branch exp-rsc): which copies and which math bound the op.
# KILN_RSC_EXP bits: 1 = W/Wp chunks not re-fetched after the first two, 2 = banded rows likewise,
# 4 = no 1x1 conv product, 8 = no sum. Results are wrong for nonzero bits; only the times count.
source .devcarry/unpack.sh
R=$OUT/c142; mkdir -p $R
for e in 0 1 2 3 4 8 12 15; do
  echo "== KILN_RSC_EXP=$e"
  KILN_RSC_EXP=$e timeout 60 build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*ResizeSumConvBench*' 2>&1 | grep -E "median" 
done > $R/exp.txt 2>&1
cat $R/exp.txt
