// Prints the widget's figures on a third-party page in headless Chromium:
// bytes transferred for a first open (as served, by type), each asset's size
// under gzip and brotli as the server sends them, the time from navigation
// to the launcher being visible, and from the click to the chat being
// interactive (hydrated, connected, the message box usable). Medians of N
// runs, each in a fresh browser context (a first visit).
// Usage: node scripts/widget-bench.mjs SHOP_URL TANDEM_URL [RUNS]
import { chromium } from "@playwright/test";
import { request } from "node:http";

const [shop, tandem, runsArg] = process.argv.slice(2);
const runs = Number(runsArg ?? 7);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

// The body's size on the wire for one Accept-Encoding (not decompressed).
function wireSize(url, encoding) {
  return new Promise((resolve, reject) => {
    request(url, { headers: { "accept-encoding": encoding } }, (res) => {
      let n = 0;
      res.on("data", (c) => (n += c.length));
      res.on("end", () => resolve({ bytes: n, encoding: res.headers["content-encoding"] ?? "identity" }));
    }).on("error", reject).end();
  });
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
const launcherMs = [], interactiveMs = [], totalMs = [];
let transfer = null;
for (let i = 0; i < runs; i++) {
  const context = await browser.newContext();
  // Timed in the page itself: when the launcher enters the document, and
  // when the chat frame first reports itself connected.
  await context.addInitScript(() => {
    new MutationObserver((_, observer) => {
      if (document.getElementById("tandem-launcher")) {
        window.__launcherAt = performance.now();
        observer.disconnect();
      }
    }).observe(document, { childList: true, subtree: true });
  });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  const urls = new Map();
  const bytes = [];
  cdp.on("Network.responseReceived", (e) => urls.set(e.requestId, e.response.url));
  cdp.on("Network.loadingFinished", (e) => bytes.push([urls.get(e.requestId) ?? "", e.encodedDataLength]));
  await page.goto(shop, { waitUntil: "commit" });
  await page.locator("#tandem-launcher").waitFor({ state: "visible" });
  const launcherAt = await page.evaluate(() => window.__launcherAt);
  const clickAt = await page.evaluate(() => performance.now());
  await page.locator("#tandem-launcher").click();
  const chat = page.frameLocator("#tandem-frame");
  // Interactive: hydrated (the subtitle says connected only after the socket
  // opened, which only the WASM does) and the message box takes input.
  await chat.locator("header p", { hasText: "answers from our help centre" }).waitFor();
  await chat.locator("#tandem-message").fill("x");
  const readyAt = await page.evaluate(() => performance.now());
  launcherMs.push(launcherAt);
  interactiveMs.push(readyAt - clickAt);
  totalMs.push(readyAt);
  if (i === 0) {
    await page.waitForTimeout(300);
    const tandemBytes = bytes.filter(([u]) => u.startsWith(tandem));
    const sum = (pred) => tandemBytes.filter(([u]) => pred(u)).reduce((a, [, n]) => a + n, 0);
    transfer = {
      "launcher script (widget.js)": sum((u) => u.includes("/widget.js") && !u.includes("/pkg/")),
      "launcher config": sum((u) => u.includes("/widget/config")),
      "chat page (/widget)": sum((u) => u.includes("/widget?")),
      "chat JS (/pkg/widget.js)": sum((u) => u.includes("/pkg/widget.js")),
      "chat WASM (/pkg/widget_bg.wasm)": sum((u) => u.includes("/pkg/widget_bg.wasm")),
      "CSS (/pkg/tandem.css)": sum((u) => u.includes("/pkg/tandem.css")),
      "everything from Tandem": sum(() => true),
    };
  }
  await context.close();
}
await browser.close();

console.log(`widget on a third-party page, headless Chromium, first visit, median of ${runs}:`);
console.log(`  navigation → launcher visible:     ${median(launcherMs).toFixed(0)} ms`);
console.log(`  click → chat interactive:          ${median(interactiveMs).toFixed(0)} ms`);
console.log(`  navigation → chat interactive:     ${median(totalMs).toFixed(0)} ms (including the click)`);
console.log("transferred for a first open (as served, headers included):");
for (const [k, v] of Object.entries(transfer)) console.log(`  ${k.padEnd(34)} ${kb(v)}`);
console.log("as served, by Accept-Encoding (body only):");
for (const path of ["/widget.js", "/pkg/widget.js", "/pkg/widget_bg.wasm", "/pkg/tandem.css"]) {
  const gz = await wireSize(tandem + path, "gzip");
  const br = await wireSize(tandem + path, "br");
  const raw = await wireSize(tandem + path, "identity");
  console.log(`  ${path.padEnd(22)} raw ${kb(raw.bytes).padStart(9)}  gzip ${kb(gz.bytes).padStart(9)} (${gz.encoding})  brotli ${kb(br.bytes).padStart(9)} (${br.encoding})`);
}
