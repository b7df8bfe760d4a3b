# Session 18 call 6: where B2 b1's 1.8 ms go kernel by kernel (ncu durations of one graph replay, no launch gaps), and ncu (full set + SASS) of LayerNormPatchRows (stage 0) and ResizeSumConv at b8.
source .devcarry/unpack.sh
R=$OUT
for bs in 1 8; do n=seg_b2_b$bs
  timeout 200 python3 tools/export/export_segformer.py --variant b2 --batch $bs --out /tmp/$n > /dev/null 2>&1 || echo export failed
  build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > /tmp/b.log 2>&1 || tail -3 /tmp/b.log
done
timeout 200 /usr/local/cuda/bin/ncu --metrics gpu__time_duration.sum --csv build/kiln bench /tmp/seg_b2_b1.kiln --iterations 1 --warmup 1 > /tmp/durs.csv 2>/tmp/ncu_err.txt; echo "ncu durations exit $?"; tail -2 /tmp/ncu_err.txt
gzip -c /tmp/durs.csv > $R/c122_b1_durations.csv.gz
python3 - <<'PY'
import csv,collections
rows=[r for r in csv.reader(open('/tmp/durs.csv')) if len(r)>10]
h=rows[0]; ix={k:i for i,k in enumerate(h)}
d=[(r[ix['Kernel Name']], float(r[ix['Metric Value']].replace(',',''))) for r in rows[1:] if r[ix['Metric Name']]=='gpu__time_duration.sum']
print('kernels',len(d),'sum us',sum(v for _,v in d)/1e3 if d and 'nsecond' in rows[1][ix['Metric Unit']] else sum(v for _,v in d))
unit=rows[1][ix['Metric Unit']]; print('unit',unit)
agg=collections.defaultdict(lambda:[0,0.0])
for k,v in d: a=agg[k[:60]]; a[0]+=1; a[1]+=v
for k,(c,v) in sorted(agg.items(), key=lambda x:-x[1][1])[:25]: print(f'{v:10.1f} {c:4d} {k}')
PY
for k in "layer_norm_rows:1" "resize_sum_conv:0"; do name=${k%%:*}; skip=${k##*:}
  timeout 150 /usr/local/cuda/bin/ncu --set full --import-source no -k regex:$name --launch-skip $skip -c 1 -o /tmp/r_$name build/kiln bench /tmp/seg_b2_b8.kiln --iterations 1 --warmup 0 > /tmp/ncu_$name.log 2>&1; tail -1 /tmp/ncu_$name.log
  /usr/local/cuda/bin/ncu -i /tmp/r_$name.ncu-rep --page details > $R/c122_${name}_details.txt 2>&1
  /usr/local/cuda/bin/ncu -i /tmp/r_$name.ncu-rep --page source --csv --print-source sass 2>/dev/null | gzip > $R/c122_${name}_sass.csv.gz
  grep -E "^  [a-z_].*\(|Duration|DRAM Throughput|Issue Slots Busy|No Eligible|Achieved Occupancy|Registers Per" $R/c122_${name}_details.txt | head -9
done
