# Session 28 call 10 (build/kiln of 3fc6740): ncu of stage 0's and stage 1's MixFFN (weights by TMA) in the B2 b8 fp16 engine — details and per-instruction SASS counts — for the next leads.
source .devcarry/unpack.sh
R=$OUT/c257; mkdir -p $R
n=seg_b2_b8
[ -f /tmp/$n/model.onnx ] || timeout 200 python3 tools/export/export_segformer.py --variant b2 --batch 8 --out /tmp/$n > $R/export.log 2>&1 || tail -3 $R/export.log
build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > $R/build.log 2>&1 || tail -3 $R/build.log
for s in 0:s0 3:s1; do skip=${s%%:*}; tag=${s##*:}
  timeout 150 /usr/local/cuda/bin/ncu --set full --import-source no -k regex:mix_ffn_wgmma --launch-skip $skip -c 1 -o /tmp/mf_$tag build/kiln bench /tmp/$n.kiln --iterations 1 --warmup 0 > /dev/null 2>&1; echo "ncu $tag exit $?"
  /usr/local/cuda/bin/ncu -i /tmp/mf_$tag.ncu-rep --page details > $R/mixffn_${tag}_details.txt 2>&1
  /usr/local/cuda/bin/ncu -i /tmp/mf_$tag.ncu-rep --page source --csv --print-source sass 2>/dev/null | gzip > $R/mixffn_${tag}_sass.csv.gz
  grep -E "Duration|Issue Slots Busy|Eligible Warps|Registers Per|Achieved Occupancy|Executed Instructions  |DRAM Throughput|Grid Size" $R/mixffn_${tag}_details.txt | head -9
done
