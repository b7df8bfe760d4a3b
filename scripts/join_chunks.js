'use strict';
// Joins one resource of an @imgly/background-removal-data package from its chunks.
//   node join_chunks.js DIST_DIR RESOURCE OUT_FILE      e.g. dist /models/medium model.onnx
// DIST_DIR/resources.json maps each resource to { chunks: [{ hash, offsets: [begin, end] }],
// size }; every chunk is the file DIST_DIR/<hash>, and hash is its SHA-256. Each chunk's hash,
// length and place, and the total size, are checked before OUT_FILE is written. Exit 2 on any
// mismatch, naming the chunk.
const fs = require('fs');
const crypto = require('crypto');
const path = require('path');

function fail(msg) {
  console.error(`join_chunks: ${msg}`);
  process.exit(2);
}

const [dist, resource, out] = process.argv.slice(2);
if (!out) fail('usage: join_chunks.js DIST_DIR RESOURCE OUT_FILE');
let manifest;
try {
  manifest = JSON.parse(fs.readFileSync(path.join(dist, 'resources.json'), 'utf8'));
} catch (e) {
  fail(`cannot read ${dist}/resources.json: ${e.message}`);
}
const entry = manifest[resource];
if (!entry || !Array.isArray(entry.chunks)) fail(`${resource} is not in ${dist}/resources.json`);
const parts = [];
let at = 0;
for (const { hash, offsets } of entry.chunks) {
  const bytes = fs.readFileSync(path.join(dist, hash));
  const got = crypto.createHash('sha256').update(bytes).digest('hex');
  if (got !== hash) fail(`chunk ${hash}: SHA-256 is ${got}`);
  if (offsets[0] !== at || offsets[1] - offsets[0] !== bytes.length)
    fail(`chunk ${hash}: ${bytes.length} bytes at ${at}, the manifest says [${offsets}]`);
  parts.push(bytes);
  at += bytes.length;
}
if (entry.size !== undefined && at !== entry.size) fail(`${resource}: ${at} bytes, the manifest says ${entry.size}`);
fs.writeFileSync(out, Buffer.concat(parts));
console.error(`join_chunks: ${resource}: ${entry.chunks.length} chunks, ${at} bytes, SHA-256 of every chunk checked`);
