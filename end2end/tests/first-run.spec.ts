import { expect, test } from "@playwright/test";
import { readFileSync } from "node:fs";
import { setupData, setupPort, sitePort } from "../playwright.config";
import { watchErrors } from "./support";

// A self-hoster's first hour on a production install (no demo, an empty
// database): the setup link Tandem printed, their business and admin
// account, training on their own site, the snippet pasted into their own
// page on another origin, and a visitor there answered from their pages.
test("from an empty database to a visitor answered on the team's own site", async ({ browser }) => {
  test.setTimeout(240_000);
  const base = `http://127.0.0.1:${setupPort}`;
  const owner = await browser.newPage({ baseURL: base });
  const errors = watchErrors(owner);

  // The home page says how to begin; there is no demo in production.
  await owner.goto("/");
  await expect(owner.getByRole("note")).toContainText("open the setup link Tandem printed");
  await expect(owner.getByText("Demo help centre")).toHaveCount(0);
  expect((await owner.request.get("/demo/")).status()).toBe(404);
  // Without the code, the page says where the link is.
  await owner.goto("/setup");
  await expect(owner.getByText("open the setup link it printed when it started")).toBeVisible();

  // The link from the terminal (kept in the data folder too).
  const link = readFileSync(`${setupData}/setup-url`, "utf8").trim();
  expect(link).toMatch(/\/setup\?code=[0-9a-f]{64}$/);
  await owner.goto(link);
  await owner.getByLabel("Business name").fill("Nimbus Outdoor");
  await owner.getByLabel("Your website or help centre").fill(`http://127.0.0.1:${sitePort}/index.html`);
  await owner.getByLabel("Language of the chat widget").selectOption("en");
  await owner.getByLabel("Time zone").fill("Europe/Berlin");
  await owner.getByLabel("Days").selectOption("every-day");
  await owner.getByLabel("Opens").fill("00:00");
  await owner.getByLabel("Closes").fill("23:59");
  await owner.getByLabel("Your name").fill("Olivia Owner");
  await owner.getByLabel("Email").fill("olivia@nimbus-outdoor.example");
  await owner.getByLabel("Password (at least 10 characters)").fill("olivia-password-1");
  await owner.screenshot({ path: "test-results/screenshots/first-run-setup.png", fullPage: true });
  await owner.getByRole("button", { name: "Create my workspace" }).click();

  // Signed in, on the getting-started page; the site is read meanwhile.
  await expect(owner).toHaveURL(/\/admin\/start$/);
  await expect(owner.getByRole("heading", { name: "Get started" })).toBeVisible();
  const training = owner.getByTestId("training");
  await expect(training).toContainText(`127.0.0.1:${sitePort}`);
  await expect(training).toContainText("✓", { timeout: 120_000 });
  const snippet = (await owner.getByTestId("snippet").textContent())!.trim();
  expect(snippet).toBe(`<script src="${base}/widget.js" data-workspace="nimbus-outdoor" async></script>`);
  await owner.screenshot({ path: "test-results/screenshots/first-run-start.png", fullPage: true });

  // The link is spent: a second visit is told the install is set up.
  const other = await browser.newPage({ baseURL: base });
  await other.goto(link);
  await expect(other.getByText("This Tandem is set up.")).toBeVisible();
  await other.close();

  // Invite a colleague from the same page.
  await owner.getByLabel("Email").fill("sam@nimbus-outdoor.example");
  await owner.getByRole("button", { name: "Invite" }).click();
  await expect(owner.getByRole("status")).toContainText("/invite/");

  // The team's own page, on another origin, with the snippet pasted in.
  const visitor = await browser.newPage();
  const visitorErrors = watchErrors(visitor);
  await visitor.goto(`http://127.0.0.1:${sitePort}/own-page.html?snippet=${encodeURIComponent(snippet)}`);
  await visitor.locator("#tandem-launcher").click();
  const chat = visitor.frameLocator("#tandem-frame");
  await chat.getByLabel("Your message").fill("How long does the lantern take to charge in the sun?");
  await chat.getByRole("button", { name: "Send" }).click();
  const answer = chat.locator('[data-kind="ai_answer"]').first();
  await expect(answer).toContainText("six hours", { timeout: 60_000 });
  await expect(answer.locator(".citations a").first()).toHaveAttribute("href", new RegExp(`127\\.0\\.0\\.1:${sitePort}/charging\\.html`));
  await visitor.screenshot({ path: "test-results/screenshots/first-run-visitor.png" });

  // The owner sees the conversation in their inbox.
  await owner.goto("/inbox");
  await owner.locator('[data-queue="ai"]').click();
  await expect(owner.locator(".conversation-row").first()).toBeVisible();
  expect(errors).toEqual([]);
  expect(visitorErrors).toEqual([]);
});
