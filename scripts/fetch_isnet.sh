#!/usr/bin/env bash
# Fetches the pretrained ISNet (fp16 ONNX, "medium") from the npm package
# @imgly/background-removal-data into CACHE/models/isnet_fp16.onnx and prints its path.
# The package's dist/resources.json lists each model's chunks (named by their SHA-256) and
# total size; the chunks are checked and joined here. Idempotent: an existing, complete model
# is reused. The package is AGPL-3.0: it is fetched at run time and never committed.
# Usage: scripts/fetch_isnet.sh CACHE_DIR     Exit 2 when npm or the registry fails.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${1:?usage: fetch_isnet.sh CACHE_DIR}"
VERSION=1.4.5
MODEL="$CACHE/models/isnet_fp16.onnx"
STAMP="$MODEL.verified"  # holds the package version and size once the chunks checked out

if [ -f "$MODEL" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$VERSION $(stat -c %s "$MODEL")" ]; then
  echo "$MODEL"
  exit 0
fi
command -v npm >/dev/null || { echo "fetch_isnet: npm not found (run scripts/setup.sh)" >&2; exit 2; }
mkdir -p "$CACHE/models"
work="$(mktemp -d "$CACHE/fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "fetch_isnet: npm pack @imgly/background-removal-data@$VERSION (about 136 MB, AGPL-3.0; kept out of the repository)" >&2
if ! (cd "$work" && npm pack --silent --no-update-notifier "@imgly/background-removal-data@$VERSION" >/dev/null 2>"$work/npm.log"); then
  echo "fetch_isnet: npm pack failed: $(grep -m1 -iE 'error|ERR' "$work/npm.log" || tail -n1 "$work/npm.log")" >&2
  exit 2
fi
tar -xzf "$work"/imgly-background-removal-data-*.tgz -C "$work"
node "$here/join_chunks.js" "$work/package/dist" /models/medium "$MODEL.tmp"
mv "$MODEL.tmp" "$MODEL"
echo "$VERSION $(stat -c %s "$MODEL")" > "$STAMP"
echo "$MODEL"
