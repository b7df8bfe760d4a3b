# Session 12 call 7 (841af17): bench/segformer.sh B2 1024² batch 8 with the PyTorch peers; SegFormer-B0 512² fp16 kiln time.
set -o pipefail
source .devcarry/unpack.sh
export KILN_COMMIT=$(cat .devcarry/commit)
SEGFORMER_BATCHES=8 KILN=build/kiln timeout 500 bash bench/segformer.sh 2>&1 | tail -8
R=/tmp/res; rm -rf $R; mkdir -p $R; export R
bash .devcarry/segbench.sh c46 "b0 1"
(cd /tmp && tar -cf $OUT/results.tar res) ; (cd $OUT && tar -cf seg.tar results && rm -rf results)
