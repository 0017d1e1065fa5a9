// Prints the UI bundle's sizes: raw, gzip -9 and brotli (quality 11), as served.
import { readFileSync } from "node:fs";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
const dir = process.argv[2] ?? "target/site/pkg";
const files = ["tandem_bg.wasm", "tandem.js", "tandem.css"];
const kb = (n) => (n / 1024).toFixed(1).padStart(8) + " KB";
console.log("file".padEnd(16) + "raw".padStart(11) + "gzip".padStart(11) + "brotli".padStart(11));
let total = [0, 0, 0];
for (const f of files) {
  const data = readFileSync(`${dir}/${f}`);
  const sizes = [data.length, gzipSync(data, { level: 9 }).length,
    brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length];
  sizes.forEach((s, i) => (total[i] += s));
  console.log(f.padEnd(16) + sizes.map(kb).join(""));
}
console.log("total".padEnd(16) + total.map(kb).join(""));
