import { test, expect } from "@playwright/test";
import { openWidget, resolveWaiting, signIn, watchErrors } from "./support";

// Nothing waits forever: a missing element fails its step.
test.use({ actionTimeout: 30_000 });

const QUESTION = "Ich möchte bitte mit einem Mitarbeiter sprechen, meine Lampe ist beschädigt angekommen.";

// What an agent picking up a handoff reads first: the queue row and the
// summary. They are about the question that came to the team, not about
// one the AI already answered; the language is the visitor's own.
test("the queue row and the summary show the visitor's unanswered question, the AI's try at it, who and which language", async ({ browser }) => {
  // An English browser, a visitor who writes German after an English question.
  const visitor = await (await browser.newContext({ locale: "en-US" })).newPage();
  const agent = await (await browser.newContext()).newPage();
  const errors = [visitor, agent].map(watchErrors);
  const chat = await openWidget(visitor);
  const box = chat.getByLabel("Your message");
  await box.fill("how long do refunds take?");
  await box.press("Enter");
  await expect(chat.locator('[data-kind="ai_answer"]').first()).toContainText("5 business days");
  await box.fill(QUESTION);
  await box.press("Enter");
  await expect(chat.locator('[data-kind="visitor_message"]')).toHaveCount(2);
  const banner = chat.locator(".handoff-banner");
  await expect(async () => {
    // To the team: by the AI, or by the visitor if the AI answered it.
    if (!(await banner.isVisible())) {
      const ask = chat.locator("button.talk-to-team");
      if (await ask.isEnabled()) await ask.click();
    }
    await expect(banner).toBeVisible({ timeout: 5_000 });
  }).toPass();

  await signIn(agent);
  await agent.locator('[data-queue="waiting"]').click();
  // The row: the visitor's own words, and who (no name or email: a short id).
  const row = agent.locator(".conversation-row", { hasText: "beschädigt angekommen" });
  await expect(row).toHaveCount(1);
  await expect(row.locator(".visitor")).toHaveText(/^Visitor [0-9a-f]{6}$/);
  await expect(row).not.toContainText("5 business days");
  await row.click();

  const summary = agent.locator(".summary-packet");
  await expect(summary.locator(".visitor-wants")).toContainText("beschädigt angekommen");
  await expect(summary.locator(".visitor-wants")).not.toContainText("refunds");
  // The AI's try at that question, not its earlier refund answer.
  await expect(summary.locator(".ai-tried")).not.toContainText(/refund/i);
  await expect(summary.locator(".ai-tried")).not.toHaveText("nothing yet");
  await expect(agent.locator(".visitor-identity")).toContainText("German");
  await expect(agent.locator(".visitor-identity")).not.toContainText("English");
  await agent.screenshot({ path: "test-results/screenshots/inbox-summary.png" });
  await resolveWaiting(agent);
  expect(errors.flat()).toEqual([]);
});
