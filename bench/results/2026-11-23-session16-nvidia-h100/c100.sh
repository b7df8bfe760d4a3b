# Session 16 call 10 (binaries of ab73ba3): bench/segformer.sh B2 at batch 1 again (c99's PyTorch times were far above earlier runs'), then batch 8, with the PyTorch peers.
set -o pipefail
source .devcarry/unpack.sh
R=$OUT; export R
export KILN_COMMIT=$(cat .devcarry/commit)
nproc > $R/host.txt; cat /proc/loadavg >> $R/host.txt; nvidia-smi --query-gpu=clocks.sm,clocks.max.sm,power.draw,temperature.gpu --format=csv >> $R/host.txt
SEGFORMER_BATCHES=1 SEGFORMER_WORK=/tmp/sw KILN=build/kiln timeout 200 env -u OUT bash bench/segformer.sh > $R/segformer_b1.log 2>&1; echo "segformer.sh b1 exit $?"; grep -E "^\| 1 " $R/segformer_b1.log | cut -c1-60
(cd bench/results && tar -cf $R/b1.tar $(date +%F)-segformer-b2-* && rm -rf $(date +%F)-segformer-b2-*)
SEGFORMER_BATCHES=8 SEGFORMER_WORK=/tmp/sw KILN=build/kiln timeout 380 env -u OUT bash bench/segformer.sh > $R/segformer_b8.log 2>&1; echo "segformer.sh b8 exit $?"; grep -E "^\| 8 " $R/segformer_b8.log | cut -c1-60
(cd bench/results && tar -cf $R/b8.tar $(date +%F)-segformer-b2-*)
