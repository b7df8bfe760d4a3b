# Session 26 call 11 (build/kiln of c239 — d05dad4's code — still on the machine): bench/segformer.sh B2 at batch 8 with the PyTorch peers (accuracy and speed with fuse_dwconv_matmul firing).
ls -la build/kiln || exit 1
R=$OUT/c241; mkdir -p $R; export R
export KILN_COMMIT=$(cat .devcarry/commit)
SEGFORMER_BATCHES=8 SEGFORMER_WORK=/tmp/sw KILN=build/kiln timeout 400 env -u OUT bash bench/segformer.sh > $R/segformer_b8.log 2>&1; echo "segformer.sh b8 exit $?"; grep -E "^\| 8 " $R/segformer_b8.log | cut -c1-160
(cd bench/results && tar -cf $R/b8.tar $(date +%F)-segformer-b2-*)
cd $OUT && tar czf c241.tgz c241 && rm -rf c241
