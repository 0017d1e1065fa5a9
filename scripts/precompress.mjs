// Writes FILE.br (brotli, quality 11) and FILE.gz (gzip -9) next to each
// .wasm, .js and .css in DIR, for the server to send as they are.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
const dir = process.argv[2] ?? "target/site/pkg";
for (const f of readdirSync(dir).filter((f) => /\.(wasm|js|css)$/.test(f))) {
  const data = readFileSync(`${dir}/${f}`);
  writeFileSync(`${dir}/${f}.br`, brotliCompressSync(data, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
  }));
  writeFileSync(`${dir}/${f}.gz`, gzipSync(data, { level: 9 }));
}
