# Session 17 call 6: ncu full set + SASS samples of the wgmma attention at B2 b1 (stage 2: 160 blocks x 16 key tiles; stage 3: 256 split blocks x 4 tiles), to find the ~12 us per-wave fixed cost.
source .devcarry/unpack.sh
R=$OUT; n=seg_b2_b1
timeout 200 python3 tools/export/export_segformer.py --variant b2 --batch 1 --out /tmp/$n > /dev/null 2>&1
build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > /tmp/b.log 2>&1 || tail -3 /tmp/b.log
NCU=/usr/local/cuda/bin/ncu
# launches of attention_f16_wgmma in order: 3 stage 0, 4 stage 1, 6 stage 2, 3 stage 3 -> skip 7 (first stage 2), then skip to stage 3
timeout 200 $NCU --set full --import-source no -k regex:attention_f16_wgmma --launch-skip 7 -c 1 -o /tmp/a2 build/kiln bench /tmp/$n.kiln --iterations 1 --warmup 0 > /tmp/ncu.log 2>&1; echo "ncu2 exit $?"
timeout 200 $NCU --set full --import-source no -k regex:attention_f16_wgmma --launch-skip 13 -c 1 -o /tmp/a3 build/kiln bench /tmp/$n.kiln --iterations 1 --warmup 0 > /tmp/ncu3.log 2>&1; echo "ncu3 exit $?"
for a in a2 a3; do
  $NCU -i /tmp/$a.ncu-rep --page details > $R/c108_attn_${a}_details.txt 2>&1
  $NCU -i /tmp/$a.ncu-rep --page source --csv --print-source sass 2>&1 | gzip > $R/c108_attn_${a}_sass.csv.gz
done
grep -E "attention_f16|Duration|Issue Slots Busy|Eligible Warps|Achieved Active|Registers Per" $R/c108_attn_a*_details.txt
