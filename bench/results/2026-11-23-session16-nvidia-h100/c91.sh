# Session 16 call 1: how much of B2 b1's time is gaps between kernels? PDL microbenchmark; kernel durations under ncu against graph replay.
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R; export R
.devcarry/pdl/pdl_gap > $R/c91_pdl_gap.txt 2>&1; cat $R/c91_pdl_gap.txt
n=seg_b2_b1; timeout 200 python3 tools/export/export_segformer.py --variant b2 --batch 1 --out /tmp/$n > /dev/null 2>&1
build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > $R/c91_${n}_build.log 2>&1 || tail -3 $R/c91_${n}_build.log
for g in "" "--no-cuda-graph"; do build/kiln bench /tmp/$n.kiln --iterations 200 --warmup 30 $g --json > $R/c91_${n}${g}.bench.json 2>/dev/null; python3 -c "import json;r=json.load(open('$R/c91_${n}${g}.bench.json'))['rows'][0]['gpu_ms'];print('$n $g median',round(r['median'],4),'p10',round(r.get('p10',0),4))"; done
timeout 240 /usr/local/cuda/bin/ncu --metrics gpu__time_duration.sum,launch__grid_size,launch__block_size,launch__registers_per_thread --cache-control none --clock-control none --csv --print-units base build/kiln bench /tmp/$n.kiln --iterations 2 --warmup 0 > $R/c91_ncu_b1.csv 2> $R/c91_ncu_b1.err; echo "ncu exit $?"; wc -l $R/c91_ncu_b1.csv
(cd /tmp && tar -cf $OUT/results.tar res)
