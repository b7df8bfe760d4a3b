# Session 31 call 2 (build/kiln: 40016a7 + the CUDA Graph's side branches + an unsafe experiment switch, KILN_GRAPH_RAW_ONLY: data-flow edges only, the shared workspace and the arena's reuse ignored — timing only): the branch tests (c295's filter missed the parameterized suites); B2 b8/b1 benched serial / branched / raw-only in turn, with the graph's shape.
source .devcarry/unpack.sh
R=$OUT/c296; mkdir -p $R
build/tests/kiln_gpu_tests --gtest_filter='*GpuGraphBranches*:*GpuRuntime*' > $R/gpu_tests.txt 2>&1; echo "gpu tests rc $?"
grep -E "graph nodes|PASSED|FAILED|OK \]" $R/gpu_tests.txt | head -40
for cfg in "b2 8" "b2 1"; do set -- $cfg; v=$1; b=$2; n=seg_${v}_b$b
  [ -f /tmp/$n/model.onnx ] || timeout 200 python3 tools/export/export_segformer.py --variant $v --batch $b --out /tmp/$n > $R/${n}_export.log 2>&1 || tail -3 $R/${n}_export.log
  [ -f /tmp/$n.kiln ] || build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > $R/${n}_build.log 2>&1 || tail -3 $R/${n}_build.log
  it=100; [ $b = 1 ] && it=300
  for i in 1 2; do for mode in serial branched raw; do
    unset KILN_SERIAL_GRAPH KILN_GRAPH_RAW_ONLY
    [ $mode = serial ] && export KILN_SERIAL_GRAPH=1
    [ $mode = raw ] && export KILN_GRAPH_RAW_ONLY=1
    build/kiln bench /tmp/$n.kiln --iterations $it --warmup 20 --json > $R/${n}_${mode}_$i.json 2>/dev/null
    python3 -c "import json;r=json.load(open('$R/${n}_${mode}_$i.json'))['rows'][0];g=r['gpu_ms'];print('$n $mode $i median',round(g['median'],4),'p90',round(g['p90'],4),r.get('cuda_graph'))"
  done; done
  unset KILN_SERIAL_GRAPH KILN_GRAPH_RAW_ONLY
done
