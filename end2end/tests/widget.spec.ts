import { test, expect, type Page, type Browser, type FrameLocator } from "@playwright/test";
import { createHmac } from "node:crypto";
import { sitePort } from "../playwright.config";
import { signIn, watchErrors } from "./support";

// A shop on another origin (the fixture site's port) that pasted the script tag.
const shopOrigin = `http://127.0.0.1:${sitePort}`;
const shop = `${shopOrigin}/shop.html`;

// Typing into the form before it has hydrated is lost (hydration resets the
// field, and "Save" then saves the old list): so check the saved list from a
// fresh page, and type again until it is the one asked for.
async function setAllowedSites(admin: Page, origins: string) {
  await expect(async () => {
    await admin.goto("/admin/widget");
    await admin.locator("#allowed-origins").fill(origins);
    await admin.getByRole("button", { name: "Save widget settings" }).click();
    await expect(admin.getByRole("status").filter({ hasText: "Saved." })).toBeVisible({ timeout: 5_000 });
    await admin.goto("/admin/widget");
    await expect(admin.locator("#allowed-origins")).toHaveValue(origins, { timeout: 5_000 });
  }).toPass();
}

async function openOnShop(visitor: Page, url = shop): Promise<FrameLocator> {
  await visitor.goto(url);
  const launcher = visitor.locator("#tandem-launcher");
  await expect(launcher).toBeVisible();
  await launcher.click();
  const chat = visitor.frameLocator("#tandem-frame");
  await expect(chat.locator(".widget, .widget-refused")).toBeVisible();
  return chat;
}

async function newVisitor(browser: Browser, options = {}) {
  return (await browser.newContext(options)).newPage();
}

test("a site owner pastes the script tag: ask, cite, rate, hand off outside hours, leave an email, reload keeps it all", async ({ browser }) => {
  const admin = await (await browser.newContext()).newPage();
  const visitor = await newVisitor(browser);
  const errors = [admin, visitor].map(watchErrors);
  await signIn(admin);

  // The admin sets the look, allows the shop, and closes today (a holiday).
  // (Filled before the page hydrates, a form saves what it had: typed
  // again until a fresh page shows the saved look.)
  await expect(async () => {
    await admin.goto("/admin/widget");
    await expect(admin.locator(".embed-snippet")).toContainText('data-workspace="demo"');
    await expect(admin.locator(".embed-snippet")).toContainText("/widget.js");
    await admin.locator("#brand-color").fill("#1d4ed8");
    await admin.locator("#allowed-origins").fill(shopOrigin);
    await admin.getByRole("button", { name: "Save widget settings" }).click();
    await expect(admin.getByRole("status").filter({ hasText: "Saved." })).toBeVisible({ timeout: 5_000 });
    await admin.goto("/admin/widget");
    await expect(admin.locator("#brand-color")).toHaveValue("#1d4ed8", { timeout: 5_000 });
    await expect(admin.locator("#allowed-origins")).toHaveValue(shopOrigin, { timeout: 5_000 });
  }).toPass();
  await admin.screenshot({ path: "test-results/screenshots/widget-setup.png", fullPage: true });
  await admin.goto("/admin/policy");
  await admin.getByLabel("Set support hours").check();
  await admin.locator("#holidays").fill(new Date().toISOString().slice(0, 10));
  await admin.getByRole("button", { name: "Save policy" }).click();
  await expect(admin.getByRole("status").filter({ hasText: "Saved." })).toBeVisible();

  // Nothing of Tandem's is stored before the visitor opens the chat.
  await visitor.goto(shop);
  const launcher = visitor.locator("#tandem-launcher");
  await expect(launcher).toHaveText("Chat with us");
  await expect(launcher).toHaveCSS("background-color", "rgb(29, 78, 216)");
  expect(await visitor.context().cookies()).toEqual([]);
  await expect(visitor.locator("#tandem-frame")).toHaveCount(0);

  await launcher.click();
  await expect(launcher).toHaveAttribute("aria-expanded", "true");
  const chat = visitor.frameLocator("#tandem-frame");
  await expect(chat.getByText("AI assistant · answers from our help centre")).toBeVisible();
  await expect(chat.getByRole("button", { name: "Talk to the team" })).toBeVisible();

  // Ask: a streamed answer with a citation chip to the page and section.
  await chat.getByLabel("Your message").fill("how long do refunds take?");
  await chat.getByRole("button", { name: "Send" }).click();
  const answer = chat.locator('[data-kind="ai_answer"]').first();
  await expect(answer).toContainText("5 business days");
  await expect(answer.locator(".citations a").first()).toHaveAttribute("href", /\/demo\/refunds\.html#refund-timing$/);
  await answer.getByRole("button", { name: "Helpful", exact: true }).click();
  await expect(answer.getByRole("button", { name: "Helpful", exact: true })).toHaveAttribute("aria-pressed", "true");
  await expect(answer).toContainText("Thanks for the feedback.");

  // Hand off outside support hours: when the team is back, and an email form.
  await chat.getByRole("button", { name: "Talk to the team" }).click();
  const banner = chat.locator(".handoff-banner");
  await expect(banner).toContainText("The team is away and back");
  await expect(banner).toContainText("You can keep asking the AI meanwhile.");
  await chat.getByLabel("Your email").fill("ada@example.com");
  await chat.getByRole("button", { name: "Notify me" }).click();
  await expect(chat.locator('[data-kind="email_left"]')).toContainText("We'll email you at ada@example.com");
  await expect(chat.locator(".email-form")).toHaveCount(0);
  await visitor.screenshot({ path: "test-results/screenshots/widget-on-shop.png" });

  // The team sees the email in the thread.
  await admin.goto("/inbox");
  await admin.locator(".conversation-row", { hasText: "ada@example.com" }).click();
  await expect(admin.locator('[data-kind="email_left"]')).toContainText("ada@example.com");

  // A reload (another page of the shop) keeps the thread, the rating and the email.
  await visitor.goto(`${shop}?page=2`);
  await visitor.locator("#tandem-launcher").click();
  const again = visitor.frameLocator("#tandem-frame");
  await expect(again.locator('[data-kind="visitor_message"]').first()).toContainText("how long do refunds take?");
  await expect(again.locator('[data-kind="ai_answer"]').first().getByRole("button", { name: "Helpful", exact: true }))
    .toHaveAttribute("aria-pressed", "true");
  await expect(again.locator('[data-kind="email_left"]')).toBeVisible();

  // While the chat is closed, a person's reply shows as unread on the launcher.
  await visitor.locator("#tandem-launcher").click();
  await expect(visitor.locator("#tandem-frame")).toBeHidden();
  await admin.getByRole("button", { name: "Claim" }).click();
  await admin.getByLabel("Reply to the visitor").fill("Hi, Alex here: your refund left today.");
  await admin.getByRole("button", { name: "Send reply" }).click();
  await expect(visitor.locator("#tandem-unread")).toHaveText("1");
  expect(await visitor.evaluate(() => (window as any).tandemEvents)).toContainEqual(["unread", 1]);
  await visitor.locator("#tandem-launcher").click();
  await expect(visitor.locator("#tandem-unread")).toBeHidden();
  expect(await visitor.evaluate(() => (window as any).tandemEvents)).toContainEqual(["unread", 0]);
  // The person's name and avatar, in the header and by the reply.
  await expect(again.locator(".agent-name")).toContainText("Alex");
  await expect(again.locator('[data-kind="human_reply"] .avatar')).toBeVisible();
  await visitor.screenshot({ path: "test-results/screenshots/widget-agent-joined.png" });

  // On the next page the chat loads hidden: a reply there is unread at once,
  // and what was already seen is not.
  await visitor.goto(`${shop}?page=3`);
  await expect(visitor.locator("#tandem-frame")).toBeHidden();
  await expect(visitor.locator("#tandem-frame")).toHaveCount(1);
  await admin.getByLabel("Reply to the visitor").fill("One more thing: the lamp ships Monday.");
  await admin.getByRole("button", { name: "Send reply" }).click();
  await expect(visitor.locator("#tandem-unread")).toHaveText("1");
  await expect(visitor.locator("#tandem-launcher")).toHaveAttribute("aria-label", "Chat with us, 1 unread");

  // Back to no support hours for whatever runs next.
  await admin.goto("/admin/policy");
  await admin.getByLabel("Set support hours").uncheck();
  await admin.getByRole("button", { name: "Save policy" }).click();
  await expect(admin.getByRole("status").filter({ hasText: "Saved." })).toBeVisible();
  expect(errors.flat()).toEqual([]);
});

test("a site not on the list gets no launcher, and a forged identity gets no chat", async ({ browser }) => {
  const admin = await (await browser.newContext()).newPage();
  await signIn(admin);
  await setAllowedSites(admin, "https://elsewhere.example");

  const visitor = await newVisitor(browser);
  const warnings: string[] = [];
  visitor.on("console", (m) => warnings.push(m.text()));
  await visitor.goto(shop);
  await expect.poll(() => warnings.join("\n")).toContain("This chat is not enabled on this website.");
  await expect(visitor.locator("#tandem-launcher")).toHaveCount(0);
  // Framed on the shop anyway, the browser refuses it (frame-ancestors).
  const forcedUrl = `http://127.0.0.1:${sitePort - 1}/widget?workspace=demo&host=${encodeURIComponent(shopOrigin)}`;
  await visitor.evaluate((src) => {
    const frame = document.createElement("iframe");
    frame.src = src;
    document.body.appendChild(frame);
  }, forcedUrl);
  await expect.poll(() => visitor.frames().map((f) => f.url()).join(" ")).toContain("chrome-error://");
  expect(visitor.frames().some((f) => f.url().includes("/widget?"))).toBe(false);
  // The frame itself refuses to show the chat for the shop.
  await visitor.goto(`/widget?workspace=demo&host=${encodeURIComponent(shopOrigin)}`);
  await expect(visitor.getByRole("alert")).toHaveText("This chat is not enabled on this website.");
  await expect(visitor.locator("#tandem-message")).toHaveCount(0);

  await setAllowedSites(admin, shopOrigin);
  await admin.getByRole("button", { name: "Show" }).click();
  const secret = (await admin.locator(".identity-secret").textContent())!.trim();
  expect(secret).toMatch(/^[0-9a-f]{64}$/);

  // Signed by someone who does not know the secret: refused.
  const forged = await newVisitor(browser);
  const refused = await openOnShop(forged, `${shop}?user=user-7&hash=${createHmac("sha256", "guess").update("user-7").digest("hex")}`);
  await expect(refused.getByRole("alert")).toContainText("could not verify who you are");
  await expect(refused.locator("#tandem-message")).toHaveCount(0);

  // Signed with the secret: the chat opens and the team sees a verified user.
  const signed = await newVisitor(browser);
  // Signed over the id, email and name (as the shop's page gives them), so
  // the team sees all three as verified.
  const hash = createHmac("sha256", secret).update("user-7\nada@example.com\nAda Lovelace").digest("hex");
  const chat = await openOnShop(signed, `${shop}?user=user-7&hash=${hash}`);
  await chat.getByLabel("Your message").fill("Hello from a signed-in customer");
  await chat.getByRole("button", { name: "Send" }).click();
  await expect(chat.locator('[data-kind="visitor_message"]')).toContainText("Hello from a signed-in customer");
  await expect(chat.locator('[data-kind="pending"]')).toHaveCount(0);
  // The team sees who it is, verified.
  await admin.goto("/inbox");
  const row = admin.locator(".conversation-row", { hasText: "Ada Lovelace" });
  await expect(async () => {
    // Handed off or answered by the AI, depending on what the AI made of it.
    for (const queue of ["waiting", "ai"]) {
      await admin.locator(`[data-queue="${queue}"]`).click();
      if (await row.count()) return;
    }
    throw new Error("not listed yet");
  }).toPass();
  await expect(row.first()).toContainText("verified");
});

test("on a phone, by keyboard alone, in the visitor's language", async ({ browser }) => {
  const visitor = await newVisitor(browser, {
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
    locale: "de-DE",
  });
  const errors = watchErrors(visitor);
  await visitor.goto(shop);
  const launcher = visitor.locator("#tandem-launcher");
  await expect(launcher).toHaveText("Chatte mit uns");

  // Keyboard: focus the launcher, open with Enter, type where focus lands.
  await launcher.focus();
  await visitor.keyboard.press("Enter");
  const chat = visitor.frameLocator("#tandem-frame");
  const box = chat.getByRole("textbox", { name: "Deine Nachricht" });
  await expect(box).toBeFocused();
  await expect(chat.getByRole("log", { name: "Gespräch" })).toBeVisible();
  await expect(chat.getByRole("button", { name: "Mit dem Team sprechen" })).toBeVisible();
  const frame = await visitor.locator("#tandem-frame").boundingBox();
  expect(frame).toEqual({ x: 0, y: 0, width: 390, height: 844 });

  await visitor.keyboard.type("Wie lange dauert eine Rückerstattung? refunds");
  await visitor.keyboard.press("Enter");
  await expect(chat.locator('[data-kind="visitor_message"]')).toContainText("Rückerstattung");
  await expect(chat.locator('[data-kind="ai_answer"], [data-kind="status_change"]').first()).toBeVisible();
  await visitor.screenshot({ path: "test-results/screenshots/widget-phone-de.png" });

  // Escape closes the chat and gives focus back to the launcher.
  await box.focus();
  await visitor.keyboard.press("Escape");
  await expect(visitor.locator("#tandem-frame")).toBeHidden();
  await expect(launcher).toBeFocused();
  await expect(launcher).toHaveAttribute("aria-expanded", "false");
  expect(errors).toEqual([]);
});
