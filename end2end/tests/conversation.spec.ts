import { test, expect } from "@playwright/test";
import { openWidget, signIn, watchErrors } from "./support";

test("a follow-up is answered with the turns before it, tables and steps read as lists", async ({ browser }) => {
  const visitor = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
  const errors = watchErrors(visitor);
  const chat = await openWidget(visitor);
  const ask = async (text: string, nth: number) => {
    await chat.getByLabel("Your message").fill(text);
    await chat.getByRole("button", { name: "Send" }).click();
    await expect(chat.locator('[data-kind="ai_answer"]')).toHaveCount(nth, { timeout: 30_000 });
    return chat.locator('[data-kind="ai_answer"]').nth(nth - 1);
  };
  await expect(await ask("what is the return window?", 1)).toContainText("30 days");
  await expect(await ask("and do I get the shipping cost back too?", 2)).toContainText("shipping cost");
  const price = await ask("how much is Nimbus Plus?", 3);
  await expect(price.locator("li strong", { hasText: "Nimbus Plus" })).toBeVisible();
  await expect(price.locator("li", { hasText: "Nimbus Plus" })).toContainText("Price: 4 euros per month");
  const steps = await ask("how do I return a lamp?", 4);
  await expect(steps.locator(".markdown li")).toHaveCount(4);
  await visitor.screenshot({ path: "test-results/screenshots/conversation-phone.png", fullPage: true });
  expect(errors).toEqual([]);
});

test("a workspace that chose the offer: the unsure AI says so, the conversation stays with it", async ({ browser }) => {
  const admin = await (await browser.newContext()).newPage();
  const visitor = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
  const errors = [admin, visitor].map(watchErrors);

  await signIn(admin);
  await admin.goto("/admin/policy");
  await expect(admin.getByRole("heading", { name: "What an unsure AI does" })).toBeVisible();
  await admin.getByLabel("What the AI does with a question it cannot answer reliably").selectOption("offer");
  await admin.locator("#save-policy").click();
  await expect(admin.getByRole("status").filter({ hasText: "Saved." })).toBeVisible();
  await admin.reload();
  await expect(admin.getByLabel("What the AI does with a question it cannot answer reliably")).toHaveValue("offer");

  const chat = await openWidget(visitor);
  await chat.getByLabel("Your message").fill("What is the capital of Mongolia?");
  await chat.getByRole("button", { name: "Send" }).click();
  const unsure = chat.locator('[data-kind="ai_unsure"]');
  await expect(unsure).toContainText("not sure", { timeout: 30_000 });
  await expect(unsure).toContainText("Talk to the team");
  await expect(chat.locator('[data-kind="status_change"]')).toHaveCount(0);
  await expect(unsure.getByRole("button", { name: "Talk to the team" })).toBeVisible();
  await visitor.screenshot({ path: "test-results/screenshots/unsure-offer-phone.png", fullPage: true });

  // The agent sees what the AI did, and why.
  // Not handed off: it is among the AI's conversations, not the waiting ones.
  await admin.goto("/inbox");
  await admin.locator('[data-queue="ai"]').click();
  await admin.locator(".conversation-row", { hasText: "Mongolia" }).first().click();
  await expect(admin.locator('[data-kind="ai_unsure"]')).toContainText("offered the team");
  await admin.screenshot({ path: "test-results/screenshots/unsure-offer-inbox.png", fullPage: true });

  // On a phone the inbox shows the list, then the conversation with a way back.
  const phone = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
  errors.push(watchErrors(phone));
  await signIn(phone);
  await phone.locator('[data-queue="ai"]').click();
  await phone.locator(".conversation-row", { hasText: "Mongolia" }).first().click();
  await expect(phone.locator('[data-kind="ai_unsure"]')).toBeVisible();
  await expect(phone.getByRole("navigation", { name: "Conversations" })).toBeHidden();
  expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await phone.screenshot({ path: "test-results/screenshots/inbox-phone-conversation.png", fullPage: true });
  await phone.locator(".back-to-list").click();
  await expect(phone.getByRole("navigation", { name: "Conversations" })).toBeVisible();
  await phone.screenshot({ path: "test-results/screenshots/inbox-phone-list.png", fullPage: true });

  // Back to the default for the other specs.
  await admin.goto("/admin/policy");
  await admin.getByLabel("What the AI does with a question it cannot answer reliably").selectOption("hand_off");
  await admin.locator("#save-policy").click();
  await expect(admin.getByRole("status").filter({ hasText: "Saved." })).toBeVisible();
  expect(errors.flat()).toEqual([]);
});
