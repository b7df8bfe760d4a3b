#!/usr/bin/env bash
# Re-encodes tests/ort/fixtures/*/model.txtpb (ONNX protobuf text) into model.onnx, and writes
# the external weights of fixtures/external_data. Needs protoc and onnx.proto (Debian:
# protobuf-compiler, libonnx-dev). The encoded files are committed; run this after editing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
proto_dir=/usr/include/onnx
for src in "$here"/fixtures/*/model.txtpb; do
  protoc -I"$proto_dir" --encode=onnx.ModelProto "$proto_dir/onnx.proto" <"$src" >"${src%.txtpb}.onnx"
  echo "encoded ${src#"$here"/}"
done
# 16x16 float32, W[i][j] = ((i*16+j)*37 % 29)/29 - 0.5, little endian.
node -e "
  const w = new Float32Array(256).map((_, k) => ((k * 37) % 29) / 29 - 0.5);
  require('fs').writeFileSync(process.argv[1], Buffer.from(w.buffer));
" "$here/fixtures/external_data/model.onnx.data"
