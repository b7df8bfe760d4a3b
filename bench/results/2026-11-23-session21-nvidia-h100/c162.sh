# Session 21 call 13: cuDNN's NHWC fp16 convolutions at B2's patch-embedding shapes (b8, b1), standalone (.devcarry/b.cpp), replayed from CUDA graphs of 50 calls.
R=$OUT/c162; mkdir -p $R
.devcarry/cudnnb > $R/cudnn.txt 2>&1; echo "exit $?"; cat $R/cudnn.txt
