# Session 28 call 15 (build/kiln of 756a91e, MixFFN's warpgroup index through a shuffle): bench/segformer.sh B2 at batch 8 with the PyTorch peers; c263 runs every GPU test on this machine with the tests binary of 756a91e and this build/kiln.
source .devcarry/unpack.sh
R=$OUT/c262; mkdir -p $R; export R
ls -la build/kiln || exit 3
export KILN_COMMIT=$(cat .devcarry/commit)
SEGFORMER_BATCHES=8 SEGFORMER_WORK=/tmp/sw KILN=build/kiln timeout 500 env -u OUT bash bench/segformer.sh > $R/segformer_b8.log 2>&1; echo "segformer.sh b8 exit $?"; grep -E "^\| 8 " $R/segformer_b8.log | cut -c1-160
(cd bench/results && tar -cf $R/b8.tar $(date +%F)-segformer-b2-*)
cd $OUT && tar czf c262.tgz c262 && rm -rf c262
