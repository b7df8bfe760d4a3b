# Session 17 call 11 (binaries of c789cd1): bench/segformer.sh B2 at batch 1 once more on a fresh machine (c112's torch.compile b1, 10.93 ms, is far above c102's 7.31), with the host's CPU count, load and CPU model.
set -o pipefail
source .devcarry/unpack.sh
R=$OUT; export R
export KILN_COMMIT=$(cat .devcarry/commit)
(nproc; cat /proc/loadavg; grep -m1 "model name" /proc/cpuinfo; nvidia-smi --query-gpu=clocks.sm,clocks.max.sm,power.draw,temperature.gpu --format=csv) > $R/c113_host.txt
SEGFORMER_BATCHES=1 SEGFORMER_WORK=/tmp/sw KILN=build/kiln timeout 220 env -u OUT bash bench/segformer.sh > $R/c113_segformer_b1.log 2>&1; echo "segformer.sh b1 exit $?"; grep -E "^\| 1 " $R/c113_segformer_b1.log | cut -c1-70
(cd bench/results && tar -cf $R/b1.tar $(date +%F)-segformer-b2-*)
cat $R/c113_host.txt
