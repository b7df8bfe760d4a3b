# Session 30 call 2 (tests binary: c283's + the vectors' loads after the first copies): the op bench, then ncu of kiln.ReducedKeyValue at B2 stage 2 b8 and b1 (own split).
source .devcarry/unpack.sh
R=$OUT/c284; mkdir -p $R
T=build/tests/kiln_gpu_tests
export KILN_TEST_DIR=$PWD/tests
timeout 100 $T --gtest_also_run_disabled_tests --gtest_filter='*ReducedKeyValueBench*' 2>&1 | grep -E "ReducedKeyValue b|Failure" | tee $R/opbench.txt
timeout 300 ncu --kernel-name regex:reduced_key_value --launch-skip 5 --launch-count 1 --set full -o $R/rkv_b8 $T --gtest_also_run_disabled_tests --gtest_filter='*ReducedKeyValueBench*' > $R/ncu_b8.log 2>&1; echo "ncu exit $?"
ncu --import $R/rkv_b8.ncu-rep --page details --print-units base > $R/rkv_b8_details.txt 2>&1
grep -E "Duration|Elapsed Cycles|SM Frequency|Compute \(SM\) Throughput|Memory Throughput|DRAM Throughput|L2 Cache Throughput|L1/TEX Cache Throughput|Registers Per|Achieved Occupancy|Eligible Warps|Issued Warp|No Eligible|One or More|Active Warps Per|Warp Cycles Per Issued|Executed Ipc|L2 Hit Rate|Shared Memory" $R/rkv_b8_details.txt | head -40
ncu --import $R/rkv_b8.ncu-rep --page raw --csv --metrics smsp__pcsamp_warps_issue_stalled_barrier,smsp__pcsamp_warps_issue_stalled_long_scoreboard,smsp__pcsamp_warps_issue_stalled_wait,smsp__pcsamp_warps_issue_stalled_membar,smsp__pcsamp_warps_issue_stalled_math_pipe_throttle,smsp__pcsamp_warps_issue_stalled_sleeping,smsp__pcsamp_warps_issue_stalled_selected,smsp__pcsamp_warps_issue_stalled_lg_throttle,smsp__pcsamp_warps_issue_stalled_mio_throttle,smsp__pcsamp_warps_issue_stalled_short_scoreboard,smsp__pcsamp_warps_issue_stalled_dispatch_stall,smsp__pcsamp_warps_issue_stalled_misc,smsp__pcsamp_warps_issue_stalled_no_instructions,smsp__pcsamp_warps_issue_stalled_math,smsp__pcsamp_sample_count > $R/stalls.csv 2>&1; python3 - $R/stalls.csv <<'PY'
import csv,sys
rows=list(csv.reader(open(sys.argv[1])))
h=[i for i,r in enumerate(rows) if r and r[0]=='ID']
if h:
  hd=rows[h[0]]; v=rows[h[0]+2] if len(rows)>h[0]+2 else rows[h[0]+1]
  for k,x in zip(hd,v):
    if 'pcsamp' in k: print(k.replace('smsp__pcsamp_warps_issue_stalled_',''),x)
else: print(open(sys.argv[1]).read()[:2000])
PY
ncu --import $R/rkv_b8.ncu-rep --page source --csv --print-source sass > $R/rkv_b8_sass.csv 2>/dev/null; gzip -f $R/rkv_b8_sass.csv; ls -la $R
