import { readFileSync } from "node:fs";
import { test, expect, type Browser, type Page, type Frame } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { openWidget, resolveWaiting, signIn, watchErrors } from "./support";

// axe-core (WCAG 2.0 and 2.1, levels A and AA) on every page of Tandem, at a
// desktop width and on a 390px phone; a violation of impact serious or
// critical fails. (The first-run /setup page is not here yet.)
// Nothing waits forever: a missing element fails its step.
test.use({ actionTimeout: 30_000 });

const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
const SIZES = [
  { name: "desktop", viewport: { width: 1280, height: 800 } },
  { name: "phone", viewport: { width: 390, height: 844 } },
];
const DEMO_PAGES = [
  "", "account.html", "billing.html", "contact.html", "getting-started.html", "order-tracking.html",
  "password-reset.html", "pricing.html", "privacy.html", "refunds.html", "returns.html", "schedules.html",
  "shipping.html", "troubleshooting-app.html", "troubleshooting-wifi.html", "warranty.html",
];

type Found = { page: string; rule: string; impact: string; help: string; targets: string[] };

/** The serious and critical violations axe finds on what `page` shows now. */
async function audit(page: Page, name: string, found: Found[], include?: string) {
  let builder = new AxeBuilder({ page }).withTags(TAGS);
  if (include) builder = builder.include(include);
  const results = await builder.analyze();
  for (const v of results.violations) {
    if (v.impact !== "serious" && v.impact !== "critical") continue;
    found.push({
      page: name,
      rule: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.slice(0, 5).map((n) => `${n.target.join(" ")}${n.failureSummary ? ` — ${n.failureSummary.split("\n").slice(1).join(" ").trim()}` : ""}`),
    });
  }
  const file = name.replace(/[^a-z0-9]+/gi, "-").replace(/^-|-$/g, "");
  await page.screenshot({ path: `test-results/screenshots/a11y/${file}.png`, fullPage: true });
}

function report(found: Found[]): string {
  const byRule = new Map<string, number>();
  for (const f of found) byRule.set(f.rule, (byRule.get(f.rule) ?? 0) + 1);
  const summary = [...byRule].map(([rule, n]) => `${rule}: ${n} page(s)`).join("\n  ");
  const details = found
    .map((f) => `[${f.impact}] ${f.page} — ${f.rule}: ${f.help}\n      ${f.targets.join("\n      ")}`)
    .join("\n");
  return `${found.length} serious/critical violation(s) by rule:\n  ${summary}\n\n${details}`;
}

/** Sets up what the pages show: a conversation with an answer, a handoff,
 * a reply and a note; a review topic; a snippet; an invitation. */
async function prepare(browser: Browser) {
  const admin = await (await browser.newContext()).newPage();
  await signIn(admin);
  // A conversation the AI answers and then hands off, which an agent answers.
  const visitor = await (await browser.newContext()).newPage();
  const chat = await openWidget(visitor);
  await chat.getByLabel("Your message").fill("how long do refunds take?");
  await chat.getByLabel("Your message").press("Enter");
  await expect(chat.locator('[data-kind="ai_answer"]').first()).toContainText("5 business days");
  await chat.getByLabel("Your message").fill("Can I pay for my lamp with bitcoin?");
  await chat.getByLabel("Your message").press("Enter");
  await expect(chat.locator('[data-kind="visitor_message"]')).toHaveCount(2);
  await expect(chat.locator('[data-kind="ai_answer"], [data-kind="ai_unsure"], [data-kind="status_change"]').nth(1)).toBeVisible();
  const ask = chat.locator("button.talk-to-team");
  if (await ask.isEnabled()) await ask.click();
  await expect(chat.locator(".handoff-banner")).toBeVisible();
  await admin.goto("/inbox");
  await admin.locator('[data-queue="waiting"]').click();
  // (Oldest first: on a fresh server, this visitor's.)
  await admin.locator(".conversation-row").first().click();
  await expect(admin).toHaveURL(/\/inbox\/[0-9a-f-]+$/);
  const conversation = new URL(admin.url()).pathname;
  await admin.getByRole("button", { name: "Claim" }).click();
  await admin.getByLabel("Reply to the visitor").fill("We take cards and PayPal, not bitcoin, sorry.");
  await admin.getByRole("button", { name: "Send reply" }).click();
  await expect(chat.locator('[data-kind="human_reply"]')).toBeVisible();
  await admin.getByRole("tab", { name: "Private note" }).click();
  await admin.getByLabel("Private note for the team").fill("Asked about crypto twice this week");
  await admin.getByRole("button", { name: "Add note" }).click();
  await expect(admin.locator('[data-kind="note"]')).toBeVisible();

  // A snippet, for a cited page Tandem serves itself (/kb/…).
  await admin.goto("/admin/knowledge");
  await expect(async () => {
    await admin.getByLabel("Question", { exact: true }).fill("Which colours does the a11y lamp come in?");
    await admin.getByLabel("Answer", { exact: true }).fill("The a11y lamp comes in teal and sand.");
    await admin.getByRole("button", { name: "Save snippet" }).click();
    await expect(admin.locator(".snippet", { hasText: "a11y lamp" })).toBeVisible({ timeout: 2_000 });
  }).toPass();
  const kb = await admin.locator(".snippet", { hasText: "a11y lamp" }).locator("a").first().getAttribute("href");
  const source = await admin.locator(".source", { hasText: "/demo/index.html" }).locator(".source-title").getAttribute("href");

  // An invitation link.
  await admin.goto("/admin/team");
  await expect(async () => {
    await admin.locator('input[name="invite-email"]').fill("axe@nimbus.example");
    await admin.getByRole("button", { name: "Create invitation link" }).click();
    await expect(admin.locator(".invite-link code")).toBeVisible({ timeout: 2_000 });
  }).toPass();
  const invite = new URL((await admin.locator(".invite-link code").textContent())!.trim()).pathname;

  // A review topic.
  await admin.goto("/admin/review");
  await expect(admin.locator("main h1")).toBeVisible();
  const topics = admin.locator("a.topic-name");
  const topicHref = (await topics.count()) ? await topics.first().getAttribute("href") : null;
  await admin.close();
  await visitor.close();
  return { conversation, kb: kb!, source: source!, invite, topic: topicHref };
}

test("axe finds no serious or critical WCAG 2.1 AA violation on any page, at desktop width and on a phone", async ({ browser }) => {
  test.setTimeout(600_000);
  const paths = await prepare(browser);
  const found: Found[] = [];
  const pageErrors: string[] = [];
  for (const size of SIZES) {
    // Signed out: the home page, sign-in, an invitation, a missing page.
    const anonymous = await (await browser.newContext({ viewport: size.viewport })).newPage();
    const errors = watchErrors(anonymous);
    for (const [name, path] of [["home", "/"], ["login", "/login"], ["invitation", paths.invite], ["not found", "/no-such-page"]]) {
      await anonymous.goto(path);
      await anonymous.waitForLoadState("networkidle");
      await audit(anonymous, `${size.name} ${name}`, found);
    }
    // The demo site, every page, and its chat.
    for (const page of DEMO_PAGES) {
      await anonymous.goto(`/demo/${page}`);
      await audit(anonymous, `${size.name} demo ${page || "index"}`, found);
    }
    const chat = await openWidget(anonymous);
    await audit(anonymous, `${size.name} widget open`, found);
    await chat.getByLabel("Your message").fill("how long do refunds take?");
    await chat.getByLabel("Your message").press("Enter");
    await expect(chat.locator('[data-kind="ai_answer"]').first()).toContainText("5 business days");
    await chat.locator('[data-kind="ai_answer"]').first().getByRole("button", { name: "Helpful", exact: true }).click();
    await chat.getByRole("button", { name: "Talk to the team" }).click();
    await expect(chat.locator(".handoff-banner")).toBeVisible();
    await audit(anonymous, `${size.name} widget answered and waiting`, found);
    await anonymous.goto(paths.kb);
    await audit(anonymous, `${size.name} cited snippet page`, found);
    // The first-run page, with the setup link the server keeps.
    const setupLink = readFileSync("test-results/data/setup-url", "utf8").trim();
    await anonymous.goto(setupLink);
    await expect(anonymous.getByRole("button", { name: "Create my workspace" })).toBeVisible();
    await audit(anonymous, `${size.name} first-run setup`, found);

    // Signed in: the inbox and every admin page.
    const admin = await (await browser.newContext({ viewport: size.viewport })).newPage();
    errors.push(...watchErrors(admin));
    await signIn(admin);
    await audit(admin, `${size.name} inbox list`, found);
    await admin.goto(paths.conversation);
    await expect(admin.locator('[data-kind="human_reply"]')).toBeVisible();
    await admin.waitForLoadState("networkidle");
    await audit(admin, `${size.name} inbox conversation`, found);
    const pages = [
      "/account", "/admin/start", "/admin/team", "/admin/knowledge", paths.source, "/admin/policy", "/admin/review",
      ...(paths.topic ? [paths.topic] : []), "/admin/dashboard", "/admin/privacy", "/admin/widget",
    ];
    for (const path of pages) {
      await admin.goto(path);
      await admin.waitForLoadState("networkidle");
      await expect(admin.locator("main").first()).toBeVisible();
      await audit(admin, `${size.name} ${path}`, found);
    }
    await anonymous.context().close();
    await admin.context().close();
    // (The missing page's 404 is what it should answer.)
    pageErrors.push(...errors.filter((e) => !e.includes("/no-such-page: Failed to load resource")));
  }
  // Nothing left waiting for the specs after this one.
  const agent = await (await browser.newContext()).newPage();
  await signIn(agent);
  await resolveWaiting(agent);
  console.log(found.length ? report(found) : "axe: no serious or critical violations");
  expect(found, report(found)).toEqual([]);
  expect(pageErrors).toEqual([]);
});

/** What focus looks like on the element that has it now (in `frame`). */
async function focusShows(frame: Page | Frame): Promise<string | null> {
  return frame.evaluate(() => {
    let el = document.activeElement as HTMLElement | null;
    if (!el || el === document.body || el.tagName === "IFRAME") return null;
    const style = getComputedStyle(el);
    const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 1;
    const ring = style.boxShadow !== "none" && style.boxShadow !== "";
    if (outline || ring) return null;
    const name = el.getAttribute("aria-label") || el.id || (el.textContent ?? "").trim().slice(0, 30) || el.tagName;
    return `${el.tagName.toLowerCase()} “${name}”`;
  });
}

/** Tabs through the page; the controls that show no focus indicator. */
async function unringed(page: Page, frame: Page | Frame = page, presses = 40): Promise<string[]> {
  const missing = new Set<string>();
  for (let i = 0; i < presses; i++) {
    await page.keyboard.press("Tab");
    const m = await focusShows(frame);
    if (m) missing.add(m);
  }
  return [...missing];
}

test("every input and button shows where the keyboard focus is", async ({ browser }) => {
  const page = await (await browser.newContext()).newPage();
  const missing: string[] = [];
  await page.goto("/login");
  await page.waitForLoadState("networkidle");
  missing.push(...(await unringed(page, page, 6)).map((m) => `/login: ${m}`));
  await signIn(page);
  for (const path of ["/admin/policy", "/admin/widget", "/admin/team", "/admin/knowledge", "/admin/privacy"]) {
    await page.goto(path);
    await page.waitForLoadState("networkidle");
    missing.push(...(await unringed(page)).map((m) => `${path}: ${m}`));
  }
  // The chat: focus lands in the message box; then through its controls.
  const visitor = await (await browser.newContext()).newPage();
  await openWidget(visitor);
  const frame = visitor.frame({ url: /\/widget\?/ })!;
  const first = await focusShows(frame);
  if (first) missing.push(`widget: ${first}`);
  missing.push(...(await unringed(visitor, frame, 8)).map((m) => `widget: ${m}`));
  expect(missing).toEqual([]);
});
