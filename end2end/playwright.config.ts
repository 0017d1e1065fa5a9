import { defineConfig } from "@playwright/test";

// The spec runs against a real `tandem serve` (debug build) on its own fresh
// database, in Debian's Chromium. Never `npx playwright install`.
const port = Number(process.env.E2E_PORT ?? 3417);
// A third-party documentation site the knowledge spec crawls.
export const sitePort = port + 1;
// A production instance (no demo) on its own empty database, for the
// first-run spec; its setup link is kept in its data folder.
export const setupPort = port + 2;
export const setupData = "test-results/data-setup";
export const adminPassword = process.env.E2E_ADMIN_PASSWORD ?? "e2e-admin-password";

export default defineConfig({
  testDir: "./tests",
  timeout: 120_000,
  expect: { timeout: 20_000 },
  workers: 1,
  reporter: [["list"]],
  outputDir: "./test-results/artifacts",
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  webServer: [
    {
      command: `./serve.sh ${port}`,
      url: `http://127.0.0.1:${port}/readyz`,
      timeout: 240_000,
      reuseExistingServer: false,
      stdout: "pipe",
      stderr: "pipe",
      env: { E2E_ADMIN_PASSWORD: adminPassword },
    },
    {
      command: `./serve.sh ${setupPort} production ${sitePort}`,
      url: `http://127.0.0.1:${setupPort}/readyz`,
      timeout: 240_000,
      reuseExistingServer: false,
      stdout: "pipe",
      stderr: "pipe",
    },
    {
      command: `node fixtures/site-server.mjs ${sitePort} 1500 ${port}`,
      url: `http://127.0.0.1:${sitePort}/robots.txt`,
      timeout: 30_000,
      reuseExistingServer: false,
    },
  ],
});
