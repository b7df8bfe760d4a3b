# Session 25 call 2 (kiln binary of main at 0eb62a3): where the B2 b8 fp16 engine's graph spends time between kernels: nsys kernel trace of `kiln bench` (graph nodes traced), gaps summed.
source .devcarry/unpack.sh
R=$OUT/c211; mkdir -p $R
N=$(command -v nsys || ls /usr/local/cuda*/bin/nsys /opt/nvidia/nsight-systems/*/bin/nsys 2>/dev/null | head -1); echo "nsys: $N"
n=seg_b2_b8
[ -f /tmp/$n/model.onnx ] || timeout 200 python3 tools/export/export_segformer.py --variant b2 --batch 8 --out /tmp/$n > $R/export.log 2>&1 || tail -3 $R/export.log
build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > $R/build.log 2>&1 || tail -3 $R/build.log
build/kiln bench /tmp/$n.kiln --iterations 100 --warmup 20 --json > $R/bench.json 2>/dev/null; python3 -c "import json;r=json.load(open('$R/bench.json'))['rows'][0]['gpu_ms'];print('bench median',r['median'])"
[ -n "$N" ] || exit 0
timeout 200 $N profile --cuda-graph-trace=node -t cuda -o /tmp/b8 --force-overwrite true build/kiln bench /tmp/$n.kiln --iterations 5 --warmup 2 > $R/nsys.log 2>&1; echo "nsys exit $?"
timeout 200 $N stats --report cuda_gpu_trace --format csv -o $R/trace /tmp/b8.nsys-rep > /dev/null 2>&1; echo "stats exit $?"; ls $R
python3 - $R <<'PY'
import csv,glob,sys
R=sys.argv[1]
f=glob.glob(R+'/trace*.csv')[0]
rows=list(csv.DictReader(open(f)))
ks=[r for r in rows if r.get('Name') and 'memcpy' not in r['Name'].lower() and 'memset' not in r['Name'].lower()]
st=[(int(r['Start (ns)']),int(r['Duration (ns)']),r['Name']) for r in ks]
st.sort()
# the last graph launch: split by gaps > 50 us
runs=[[st[0]]]
for a in st[1:]:
    p=runs[-1][-1]
    if a[0]-(p[0]+p[1])>50000: runs.append([a])
    else: runs[-1].append(a)
print('runs',len(runs),[len(r) for r in runs])
r=runs[-1]
busy=sum(d for _,d,_ in r); span=r[-1][0]+r[-1][1]-r[0][0]
gaps=[(r[i+1][0]-(r[i][0]+r[i][1]),r[i][2][:60],r[i+1][2][:60]) for i in range(len(r)-1)]
print('kernels',len(r),'span us',span/1e3,'busy us',busy/1e3,'gaps us',sum(g for g,_,_ in gaps)/1e3)
gaps.sort(reverse=True)
for g in gaps[:15]: print(round(g[0]/1e3,2),g[1],'->',g[2])
import statistics
print('median gap us',statistics.median([g for g,_,_ in gaps])/1e3)
PY
