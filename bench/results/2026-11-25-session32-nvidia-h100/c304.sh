# Session 32 call 5 (c303's tests binary): ncu (--set full) of MixFFN's wgmma kernel in the op bench: C = 64 (two blocks an SM) and C = 128 (one block of 16 warps) — where their warps stall, barriers above all.
R=/tmp/c304; rm -rf $R; mkdir -p $R build/tests
xz -dc .devcarry/kiln_gpu_tests.xz > build/tests/kiln_gpu_tests; chmod +x build/tests/kiln_gpu_tests
T=build/tests/kiln_gpu_tests
export KILN_TEST_DIR=$PWD/tests
for c in 64 128; do
  timeout 240 ncu --kernel-name-base demangled --kernel-name "regex:mix_ffn_wgmma<[^,]*$c," --launch-skip 5 --launch-count 1 --set full -o $R/mix_c$c $T --gtest_also_run_disabled_tests --gtest_filter='*MixFfnBench*' > $R/ncu_c$c.log 2>&1; echo "ncu C $c exit $?"; tail -2 $R/ncu_c$c.log
  ncu --import $R/mix_c$c.ncu-rep --page details --print-units base > $R/mix_c${c}_details.txt 2>&1
  grep -E "Duration|SM Frequency|Compute \(SM\) Throughput|DRAM Throughput|Registers Per|Achieved Occupancy|Eligible Warps|Issued Warp|No Eligible|Active Warps Per|Warp Cycles Per Issued|Executed Ipc|Block Limit|Dynamic Shared" $R/mix_c${c}_details.txt | head -30
  ncu --import $R/mix_c$c.ncu-rep --page raw --csv --metrics smsp__pcsamp_warps_issue_stalled_barrier,smsp__pcsamp_warps_issue_stalled_long_scoreboard,smsp__pcsamp_warps_issue_stalled_wait,smsp__pcsamp_warps_issue_stalled_membar,smsp__pcsamp_warps_issue_stalled_math_pipe_throttle,smsp__pcsamp_warps_issue_stalled_sleeping,smsp__pcsamp_warps_issue_stalled_selected,smsp__pcsamp_warps_issue_stalled_lg_throttle,smsp__pcsamp_warps_issue_stalled_mio_throttle,smsp__pcsamp_warps_issue_stalled_short_scoreboard,smsp__pcsamp_warps_issue_stalled_dispatch_stall,smsp__pcsamp_warps_issue_stalled_misc,smsp__pcsamp_warps_issue_stalled_no_instructions,smsp__pcsamp_warps_issue_stalled_math,smsp__pcsamp_warps_issue_stalled_not_selected,smsp__pcsamp_warps_issue_stalled_tex_throttle,smsp__pcsamp_warps_issue_stalled_drain,smsp__pcsamp_warps_issue_stalled_branch_resolving,smsp__pcsamp_warps_issue_stalled_imc_miss,smsp__pcsamp_sample_count > $R/stalls_c$c.csv 2>&1
  python3 - $R/stalls_c$c.csv $c <<'PY'
import csv,sys
rows=list(csv.reader(open(sys.argv[1])))
h=[i for i,r in enumerate(rows) if r and r[0]=='ID']
if h:
  hd=rows[h[0]]; v=rows[-1]
  d={k.replace('smsp__pcsamp_warps_issue_stalled_',''):x for k,x in zip(hd,v) if 'pcsamp' in k}
  tot=float(d.get('smsp__pcsamp_sample_count','0').replace(',','') or 0)
  out=[]
  for k,x in d.items():
    try: out.append((float(x.replace(',','')),k))
    except: pass
  out.sort(reverse=True)
  print('C',sys.argv[2],'stall samples:',', '.join('%s %.1f%%'%(k,100*n/tot) for n,k in out if k!='smsp__pcsamp_sample_count' and tot>0))
else: print(open(sys.argv[1]).read()[:1500])
PY
  # (the report and its SASS source page were made here too; not kept in the repository, for size)
done
ls -la $R
(cd $R && tar -czf $OUT/c304.tgz . )
