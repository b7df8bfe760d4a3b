# Session 22 call 15 (kiln binary of 78f872b): ncu of stage 0's MixFFN (mix_ffn_wgmma<64>) in the B2 b8 fp16 engine, for the next session's lead.
source .devcarry/unpack.sh
R=$OUT/c181; mkdir -p $R
n=seg_b2_b8
[ -f /tmp/$n/model.onnx ] || timeout 200 python3 tools/export/export_segformer.py --variant b2 --batch 8 --out /tmp/$n > $R/export.log 2>&1 || tail -3 $R/export.log
build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > $R/build.log 2>&1 || tail -3 $R/build.log
timeout 200 /usr/local/cuda/bin/ncu --set full --import-source no -k regex:mix_ffn_wgmma --launch-skip 0 -c 1 -o /tmp/mf build/kiln bench /tmp/$n.kiln --iterations 1 --warmup 0 > /dev/null 2>&1; echo "ncu mixffn exit $?"
/usr/local/cuda/bin/ncu -i /tmp/mf.ncu-rep --page details > $R/mixffn_s0_details.txt 2>&1
/usr/local/cuda/bin/ncu -i /tmp/mf.ncu-rep --page source --csv --print-source sass 2>/dev/null | gzip > $R/mixffn_s0_sass.csv.gz
grep -E "Duration|Issue Slots Busy|Eligible Warps|Registers Per|Achieved Occupancy|Compute \(SM\) Throughput|DRAM Throughput|Grid Size|Block Size" $R/mixffn_s0_details.txt | head -10
