# Session 14 call 6 (binaries of 746c964, the MixFFN kernel as benched in c64): every GPU test; bench/segformer.sh B2 at batch 1 and batch 8 with the PyTorch peers (kiln fp32/fp16, eager fp32/fp16, torch.compile fp16; accuracy against PyTorch fp32).
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R; export R
timeout 120 build/tests/kiln_gpu_tests > $R/c65_gpu_tests.txt 2>&1; echo "gpu tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED" $R/c65_gpu_tests.txt | head -10
export KILN_COMMIT=$(cat .devcarry/commit)
for b in 1 8; do
  SEGFORMER_BATCHES=$b SEGFORMER_WORK=/tmp/sw KILN=build/kiln timeout 230 env -u OUT bash bench/segformer.sh > $R/segformer_b$b.log 2>&1; echo "segformer.sh b$b exit $?"; grep -E "^\| $b " $R/segformer_b$b.log | head -8
  mkdir -p $R/b$b && cp -r bench/results/$(date +%F)-segformer-b2-* $R/b$b/ 2>/dev/null; rm -rf bench/results/$(date +%F)-segformer-b2-*
done
(cd /tmp && tar -cf $OUT/results.tar res)
