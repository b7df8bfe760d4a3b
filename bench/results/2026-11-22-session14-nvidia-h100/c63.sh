# Session 14 call 4 (0cb55fc): SASS of the MixFFN kernel (C 64, fp32 stream): opcode histogram, whole listing kept.
source .devcarry/unpack.sh > /dev/null
R=/tmp/res; rm -rf $R; mkdir -p $R
/usr/local/cuda/bin/cuobjdump -sass build/kiln | awk '/Function : /{p=($0 ~ /mix_ffnILi64EfE/)} p' > $R/c63_sass_64f.txt
wc -l $R/c63_sass_64f.txt
grep -oE '/\*[0-9a-f]{4}\*/ +[^;]*;' $R/c63_sass_64f.txt | sed -E 's#/\*[0-9a-f]+\*/ +##; s/^@!?U?P[0-9T] +//' | awk '{print $1}' | sed 's/\..*//' | sort | uniq -c | sort -rn | head -40
(cd /tmp && tar -cf $OUT/results.tar res)
