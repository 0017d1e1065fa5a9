import { test, expect } from "@playwright/test";
import { openWidget, signIn, watchErrors } from "./support";

test("an admin replays a stricter threshold, then adds a rule that the widget obeys", async ({ browser }) => {
  const admin = await (await browser.newContext()).newPage();
  const visitor = await (await browser.newContext()).newPage();
  const errors = [admin, visitor].map(watchErrors);

  // A past conversation the AI answered.
  let chat = await openWidget(visitor);
  await chat.getByLabel("Your message").fill("can I pay with PayPal?");
  await chat.getByRole("button", { name: "Send" }).click();
  await expect(chat.locator('[data-kind="ai_answer"]').first()).toBeVisible({ timeout: 30_000 });

  await signIn(admin);
  await admin.getByRole("link", { name: "Handoff policy" }).click();
  await expect(admin).toHaveURL(/\/admin\/policy$/);
  await expect(admin.getByRole("heading", { name: "Sensitive topics" })).toBeVisible();
  await expect(admin.getByRole("list", { name: "Sensitive categories" })).toContainText("billing dispute");

  // The target in words, and the trade Tandem measured on the demo content
  // (calibrated in the background once the demo site is crawled).
  await expect(admin.locator("#handoff-target")).toHaveValue("15");
  await expect(async () => {
    await admin.reload();
    await expect(admin.locator(".expected-trade")).toContainText("At this setting", { timeout: 5_000 });
  }).toPass({ timeout: 180_000 });
  await expect(admin.locator(".expected-trade")).toContainText("questions your content answers go to a person");
  await expect(admin.getByLabel("Your examples, one per line")).toBeVisible();
  await admin.screenshot({ path: "test-results/screenshots/policy-target.png", fullPage: true });

  // Replay: with a threshold of 0.99 the answered question would go to a person.
  await admin.getByText("Set the confidence threshold yourself").click();
  const threshold = admin.locator("#threshold");
  await threshold.evaluate((el: HTMLInputElement) => {
    el.value = "0.99";
    el.dispatchEvent(new Event("input", { bubbles: true }));
  });
  await admin.locator("#replay").click();
  await expect(admin.locator("#replay-summary")).toContainText("→");
  const changed = admin.getByRole("list", { name: "Changed decisions" }).locator(".replay-row", { hasText: "PayPal" }).first();
  await expect(changed).toContainText("answered");
  await expect(changed).toContainText("AI unsure");
  await admin.screenshot({ path: "test-results/screenshots/policy-replay.png", fullPage: true });

  // Nothing was saved by replaying: start again from the stored policy and add a rule.
  await admin.reload();
  await expect(admin.locator("#threshold")).not.toHaveValue("0.99");
  await admin.getByRole("button", { name: "Add rule" }).click();
  const rule = admin.getByRole("list", { name: "Rules" }).locator("li.rule").last();
  await rule.getByLabel("Rule name").fill("Coupons go to sales");
  await rule.getByLabel("Phrase or /regex/").fill("/\\bcoupons?\\b/");
  await rule.getByLabel("Then").selectOption("hand_off_to_team");
  await rule.getByLabel("Team").fill("sales");
  await admin.locator("#save-policy").click();
  await expect(admin.getByRole("status").filter({ hasText: "Saved." })).toBeVisible();
  await admin.screenshot({ path: "test-results/screenshots/policy-rule.png", fullPage: true });

  // The widget now hands coupon questions to the team, and the agent sees why.
  chat = visitor.frameLocator("#tandem-frame");
  await chat.getByLabel("Your message").fill("Do you have a coupon for my first lamp?");
  await chat.getByRole("button", { name: "Send" }).click();
  await expect(chat.locator('[data-kind="status_change"]').last()).toContainText("our team handles personally", { timeout: 30_000 });

  await admin.goto("/inbox");
  await admin.locator(".conversation-row", { hasText: "coupon" }).first().click();
  const why = admin.locator("details.decision").last();
  await why.locator("summary").click();
  await expect(why).toContainText("Coupons go to sales");
  await expect(why).toContainText("threshold");
  await admin.screenshot({ path: "test-results/screenshots/policy-why.png", fullPage: true });

  expect(errors.flat()).toEqual([]);
});
