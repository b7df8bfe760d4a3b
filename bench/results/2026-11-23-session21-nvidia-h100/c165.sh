# Session 21 call 16 (kiln binary of d01a7df): SegFormer-B0 512² batch 1 fp16 (segbench.sh: export, build, bench, profile).
source .devcarry/unpack.sh
R=$OUT/c165; mkdir -p $R; export R
bash .devcarry/segbench.sh c165 "b0 1"
