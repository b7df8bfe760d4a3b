# Session 17 call 12 (binaries of c789cd1): ncu full sets + SASS stall samples at B2 b8 of ResizeSumConv and the final MixFFN kernels (stage 0 and 1), for the next session's work.
source .devcarry/unpack.sh
R=$OUT; n=seg_b2_b8
timeout 200 python3 tools/export/export_segformer.py --variant b2 --batch 8 --out /tmp/$n > /dev/null 2>&1
build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > /tmp/b.log 2>&1 || tail -3 /tmp/b.log
NCU=/usr/local/cuda/bin/ncu
timeout 200 $NCU --set full --import-source no -k regex:mix_ffn --launch-skip 2 -c 2 -o /tmp/m build/kiln bench /tmp/$n.kiln --iterations 1 --warmup 0 > /tmp/ncu.log 2>&1; echo "ncu mix exit $?"
timeout 200 $NCU --set full --import-source no -k regex:resize_sum_conv -c 1 -o /tmp/r build/kiln bench /tmp/$n.kiln --iterations 1 --warmup 0 > /tmp/ncu2.log 2>&1; echo "ncu rsc exit $?"
for k in m r; do
  $NCU -i /tmp/$k.ncu-rep --page details > $R/c114_${k}_details.txt 2>&1
  $NCU -i /tmp/$k.ncu-rep --page source --csv --print-source sass 2>&1 | gzip > $R/c114_${k}_sass.csv.gz
done
grep -E "Duration|Issue Slots Busy|Registers Per" $R/c114_*_details.txt
