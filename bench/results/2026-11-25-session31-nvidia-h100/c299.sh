# Session 31 call 5 (build/kiln of 807ed9b, the session's final code): bench/segformer.sh B2 at batch 8 with the PyTorch peers; c298 ran every GPU test beside this build.
source .devcarry/unpack.sh
R=$OUT/c299; mkdir -p $R; export R
ls -la build/kiln || exit 3
export KILN_COMMIT=$(cat .devcarry/commit)
SEGFORMER_BATCHES=8 SEGFORMER_WORK=/tmp/sw KILN=build/kiln timeout 540 env -u OUT bash bench/segformer.sh > $R/segformer_b8.log 2>&1; echo "segformer.sh b8 exit $?"; grep -E "^\| 8 " $R/segformer_b8.log | cut -c1-220
(cd bench/results && tar -cf $R/b8.tar $(date +%F)-segformer-b2-*)
