import { test, expect, type Browser } from "@playwright/test";
import { openWidget, signIn, watchErrors } from "./support";

const REPLY = "Yes: we engrave up to 20 characters on the lamp's base for $15. Choose Engraving at checkout.";

/** A new visitor asks `question` in the widget; returns the page and chat. */
async function visitorAsks(browser: Browser, question: string, errors: string[][]) {
  const page = await (await browser.newContext()).newPage();
  errors.push(watchErrors(page));
  const chat = await openWidget(page);
  await chat.getByLabel("Your message").fill(question);
  await chat.getByRole("button", { name: "Send" }).click();
  return { page, chat };
}

test("an admin finds a gap in the escalations, fixes it from its topic, re-tests, and the widget then answers citing the fix", async ({ browser }) => {
  const admin = await (await browser.newContext()).newPage();
  const errors: string[][] = [watchErrors(admin)];
  await signIn(admin);

  // 1. Two visitors ask what the help centre does not say: both go to the team.
  const first = await visitorAsks(browser, "Can you engrave my name on the lamp?", errors);
  await expect(first.chat.locator(".handoff-banner")).toContainText("A person from the team will reply here");
  const second = await visitorAsks(browser, "Do you offer engraving on lamps?", errors);
  await expect(second.chat.locator(".handoff-banner")).toContainText("A person from the team will reply here");

  // The team answers the first one from the inbox.
  const row = admin.locator(".conversation-row", { hasText: "engrave my name" }).first();
  await expect(row).toBeVisible();
  await row.click();
  await admin.getByLabel("Reply to the visitor").fill(REPLY);
  await admin.getByRole("button", { name: "Send reply" }).click();
  await expect(first.chat.locator('[data-kind="human_reply"]')).toContainText("20 characters");

  // 2. Review: the two questions are one topic, the AI was unsure, with what it retrieved.
  await admin.goto("/inbox");
  await admin.getByRole("link", { name: "Knowledge" }).click();
  await admin.getByRole("link", { name: "Review", exact: true }).click();
  await expect(admin).toHaveURL(/\/admin\/review$/);
  const topic = admin.locator(".topic", { hasText: "engrav" });
  await expect(topic).toHaveCount(1);
  await expect(topic).toContainText("2 escalations · 2 conversations");
  await expect(topic.locator(".reasons")).toContainText("unsure 2");
  await expect(topic.locator(".passages li").first()).toContainText(/0\.\d\d/);
  // What it says agrees with what it lists: passages were found, none close enough.
  await expect(topic.locator(".nothing-found")).toHaveText(
    "The closest passages, listed below, were not close enough for the AI to answer from.");
  await expect(topic.locator(".trend")).toHaveAttribute("aria-label", /, 2$/);
  await admin.screenshot({ path: "test-results/screenshots/review.png", fullPage: true });

  // 3. The topic: its conversations and the team's answer; the snippet starts from it.
  await topic.locator(".topic-name").click();
  await expect(admin).toHaveURL(/\/admin\/review\/[0-9a-f-]+\?days=30$/);
  await expect(admin.locator(".escalation")).toHaveCount(2);
  await expect(admin.locator(".escalation .reply")).toContainText("20 characters");
  await expect(admin.locator(".escalation a", { hasText: "Open conversation" }).first()).toHaveAttribute("href", /^\/inbox\/[0-9a-f-]+$/);
  const answer = admin.getByLabel("Answer (from an agent's reply; edit it)");
  await expect(answer).toHaveValue(REPLY);
  await admin.getByLabel("Question", { exact: true }).fill("Do you engrave lamps?");
  await answer.fill(REPLY + " Engraving adds two days to delivery.");

  // Before the fix, a re-test still hands both off.
  await admin.getByRole("button", { name: "Re-test" }).click();
  await expect(admin.locator(".retest [role=status]")).toHaveText("Answered by the AI: 0 of 2 before → 0 of 2 now.");

  // 4. The fix, then the re-test: handed off → answered, citing the new snippet.
  await admin.getByRole("button", { name: "Save snippet" }).click();
  await expect(admin.getByRole("status").filter({ hasText: "Snippet saved" })).toBeVisible();
  await expect(admin.locator(".fixes")).toContainText("Snippet “Do you engrave lamps?” written");
  await admin.getByRole("button", { name: "Re-test" }).click();
  await expect(admin.locator(".retest [role=status]")).toHaveText("Answered by the AI: 0 of 2 before → 2 of 2 now.");
  const rows = admin.locator(".retest-row");
  await expect(rows).toHaveCount(2);
  for (const r of await rows.all()) {
    await expect(r.locator(".before")).toContainText("handed off (unsure");
    await expect(r.locator(".after")).toContainText("answered");
    await expect(r.locator(".after .citations")).toContainText("Do you engrave lamps?");
  }
  await admin.screenshot({ path: "test-results/screenshots/review-topic.png", fullPage: true });

  // 5. A new visitor asking it now gets the AI's answer, citing the snippet.
  const third = await visitorAsks(browser, "Is engraving possible on the lamp?", errors);
  const fixed = third.chat.locator('[data-kind="ai_answer"]').first();
  await expect(fixed).toContainText("20 characters", { timeout: 30_000 });
  await expect(fixed.locator(".citations a").first()).toHaveAttribute("href", /\/kb\/demo\/snippets\/[0-9a-f-]+$/);
  await third.page.screenshot({ path: "test-results/screenshots/review-widget.png" });

  // 6. The dashboard: its figures, server-drawn charts, and the topic after its fix.
  await admin.getByRole("link", { name: "Dashboard" }).click();
  await expect(admin).toHaveURL(/\/admin\/dashboard$/);
  await expect(admin.locator(".chart svg")).toHaveCount(5);
  await expect(admin.locator(".figure", { hasText: "Handed off" })).toContainText("%");
  await expect(admin.locator(".chart", { hasText: "Conversations per day" }).locator("svg rect").first()).toBeVisible();
  const perTopic = admin.locator(".chart", { hasText: "before and after its last fix" });
  await expect(perTopic.locator("svg")).toContainText(/engrav.*— before/);
  // Before: the two escalations (and any earlier question as close to them); since: the answered one.
  await expect(perTopic.locator("svg")).toContainText(/100 % of [2-9]/);
  await expect(perTopic.locator("svg")).toContainText("0 % of 1");
  await admin.screenshot({ path: "test-results/screenshots/dashboard.png", fullPage: true });
  const csv = await admin.request.get("/admin/export/conversations.csv?days=30");
  expect(csv.status()).toBe(200);
  const lines = (await csv.text()).trim().split("\r\n");
  expect(lines[0]).toContain("conversation_id,started_at,status,outcome");
  expect(lines.filter((l) => l.includes(",handed_off,")).length).toBeGreaterThanOrEqual(2);


  // 7. "Always a person": the topic becomes an admin rule, shown on the policy page.
  await admin.goBack();
  await expect(admin).toHaveURL(/\/admin\/review\/[0-9a-f-]+/);
  await admin.getByRole("button", { name: "Mark as always a person" }).click();
  await expect(admin.getByRole("status").filter({ hasText: "Rule “Always a person:" })).toBeVisible();
  await admin.getByRole("link", { name: "See the policy" }).click();
  const rule = admin.getByRole("list", { name: "Rules" }).locator("li.rule").last();
  await expect(rule.getByLabel("Rule name")).toHaveValue(/^Always a person: .*engrav/);
  await expect(rule.getByLabel("Questions, one per line")).toHaveValue(/engrav[\s\S]*engrav/);
  await admin.screenshot({ path: "test-results/screenshots/review-rule.png", fullPage: true });

  expect(errors.flat()).toEqual([]);
});
