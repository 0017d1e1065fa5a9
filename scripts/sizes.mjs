// Prints the UI bundles' sizes: raw, gzip -9 and brotli (quality 11), and
// what each kind of page loads in all: every page but the chat (tandem) and
// the chat frame (widget).
import { readFileSync } from "node:fs";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
const dir = process.argv[2] ?? "target/site/pkg";
const kb = (n) => (n / 1024).toFixed(1).padStart(8) + " KB";
const sizesOf = (f) => {
  const data = readFileSync(`${dir}/${f}`);
  return [data.length, gzipSync(data, { level: 9 }).length,
    brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length];
};
console.log("file".padEnd(22) + "raw".padStart(11) + "gzip".padStart(11) + "brotli".padStart(11));
for (const [name, files] of [["inbox and admin pages", ["tandem_bg.wasm", "tandem.js", "tandem.css"]],
                             ["chat frame", ["widget_bg.wasm", "widget.js", "tandem.css"]]]) {
  const total = [0, 0, 0];
  for (const f of files) {
    const sizes = sizesOf(f);
    sizes.forEach((s, i) => (total[i] += s));
    console.log(("  " + f).padEnd(22) + sizes.map(kb).join(""));
  }
  console.log(name.padEnd(22) + total.map(kb).join(""));
}
