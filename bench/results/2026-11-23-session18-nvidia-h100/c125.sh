# Session 18 call 9 (binaries of 2895349, as c124): bench/segformer.sh B2 at batch 8 with the PyTorch peers (c124's b8 hit its 230 s limit during the fp16 build), then SegFormer-B0 512² b1 and the B2 b8 profile for the ten-layer table.
set -o pipefail
source .devcarry/unpack.sh
R=$OUT; export R
export KILN_COMMIT=$(cat .devcarry/commit)
SEGFORMER_BATCHES=8 SEGFORMER_WORK=/tmp/sw KILN=build/kiln timeout 400 env -u OUT bash bench/segformer.sh > $R/c125_segformer_b8.log 2>&1; echo "segformer.sh b8 exit $?"; grep -E "^\| 8 " $R/c125_segformer_b8.log | cut -c1-70
(cd bench/results && tar -cf $R/b8.tar $(date +%F)-segformer-b2-*)
bash .devcarry/segbench.sh c125 "b0 1" 2>&1 | head -3
E=$(ls /tmp/sw/*fp16.kiln | grep b8 | head -1); echo "engine $E"
build/kiln profile $E --iterations 10 --json > $R/c125_profile_b2_b8.json 2>/dev/null; build/kiln profile $E --iterations 10 --top 40 > $R/c125_profile_b2_b8.txt 2>&1; head -1 $R/c125_profile_b2_b8.txt
