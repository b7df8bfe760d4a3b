# Session 25 call 3 (kiln binary of main at 0eb62a3): the B2 b8 fp16 engine's kernels one by one under ncu (clocks not locked, gpu__time_duration only), to set their sum against the graph's time (the gaps between kernels).
source .devcarry/unpack.sh
R=$OUT/c212; mkdir -p $R
n=seg_b2_b8
[ -f /tmp/$n/model.onnx ] || timeout 200 python3 tools/export/export_segformer.py --variant b2 --batch 8 --out /tmp/$n > $R/export.log 2>&1 || tail -3 $R/export.log
[ -f /tmp/$n.kiln ] || build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > $R/build.log 2>&1 || tail -3 $R/build.log
timeout 400 /usr/local/cuda/bin/ncu --clock-control none --metrics gpu__time_duration.sum --csv build/kiln bench /tmp/$n.kiln --iterations 2 --warmup 1 > $R/ncu.csv 2> $R/ncu.err; echo "ncu exit $?"
python3 - $R <<'PY'
import csv,sys
R=sys.argv[1]
lines=open(R+'/ncu.csv').read().splitlines()
i=next(k for k,l in enumerate(lines) if l.startswith('"ID"'))
rows=list(csv.DictReader(lines[i:]))
d=[(r['Kernel Name'][:70],float(r['Metric Value']),r['Metric Unit']) for r in rows]
print('kernels',len(d),'units',set(u for _,_,u in d))
scale={'nsecond':1e-3,'usecond':1,'msecond':1e3}
us=[v*scale[u] for _,v,u in d]
print('total us',sum(us))
for k in (2,3,4):
  n=len(us)//k
  print('if',k,'runs: per run',n,'kernels, sums',[round(sum(us[j*n:(j+1)*n]),1) for j in range(k)])
PY
