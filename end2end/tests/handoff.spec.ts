import { test, expect, type Page, type Frame } from "@playwright/test";
import { openWidget, signIn, watchErrors } from "./support";

function widgetFrame(visitor: Page): Frame {
  const frame = visitor.frames().find((f) => f.url().includes("/widget?"));
  if (!frame) throw new Error("widget frame not found");
  return frame;
}

test("a visitor's question is answered with citations, handed off, and answered live by an agent", async ({ browser }) => {
  const visitor = await (await browser.newContext()).newPage();
  const agent = await (await browser.newContext()).newPage();
  const errors = [...[visitor, agent].map(watchErrors)];

  await signIn(agent);
  const chat = await openWidget(visitor);

  // 1. Ask; the answer streams in, grounded and cited.
  await widgetFrame(visitor).evaluate(() => {
    (window as any).sawDraft = false;
    new MutationObserver(() => {
      if (document.querySelector('[data-kind="ai_draft"]')) (window as any).sawDraft = true;
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  await chat.getByLabel("Your message").fill("how long do refunds take?");
  await chat.getByRole("button", { name: "Send" }).click();
  const answer = chat.locator('[data-kind="ai_answer"]').first();
  await expect(answer).toContainText("5 business days");
  expect(await widgetFrame(visitor).evaluate(() => (window as any).sawDraft)).toBe(true);
  const citation = answer.locator(".citations a").first();
  await expect(citation).toHaveAttribute("href", /\/demo\/refunds\.html#refund-timing$/);
  await expect(answer.locator("a.citation-ref").first()).toHaveText("[1]");
  const cited = await visitor.request.get((await citation.getAttribute("href"))!);
  expect(cited.status()).toBe(200);
  expect(await cited.text()).toContain("5 business days");

  // 2. The always-visible control hands off; the widget says a person will reply.
  await chat.getByRole("button", { name: "Talk to the team" }).click();
  await expect(chat.locator(".handoff-banner")).toContainText("A person from the team will reply here");
  await expect(chat.getByRole("button", { name: "Team notified" })).toBeDisabled();

  // 3. The agent's inbox shows it live, with the thread, sources and the reason.
  const row = agent.locator(".conversation-row", { hasText: "Waiting for a person" }).first();
  await expect(row).toBeVisible();
  await expect(row).toContainText("asked for a person");
  await row.click();
  await expect(agent.locator(".handoff-reason")).toContainText("Talk to the team");
  await expect(agent.locator('[data-kind="visitor_message"]')).toContainText("how long do refunds take?");
  const agentAnswer = agent.locator('[data-kind="ai_answer"]').first();
  await expect(agentAnswer).toContainText("5 business days");
  await expect(agentAnswer.locator(".citations a").first()).toHaveAttribute("href", /refunds\.html/);
  await expect(agentAnswer).toContainText(/confidence \d\.\d\d/);

  // 4. The agent's reply appears live in the widget, in the same thread.
  await agent.getByLabel("Reply to the visitor").fill("Hi, Alex here. I checked: your refund was issued today.");
  await agent.getByRole("button", { name: "Send reply" }).click();
  await expect(chat.locator('[data-kind="human_reply"]')).toContainText("your refund was issued today");
  await expect(chat.locator('[data-kind="human_reply"]')).toContainText("Alex (demo admin)");
  // A person is here: the header names them, no "Team notified" is left.
  await expect(chat.locator(".agent-name")).toHaveText("Alex (demo admin)");
  await expect(chat.locator("button.talk-to-team")).toHaveCount(0);

  await visitor.screenshot({ path: "test-results/screenshots/visitor.png" });
  await agent.screenshot({ path: "test-results/screenshots/agent.png" });

  // Reloading either page shows the same thread, once.
  await visitor.reload();
  await visitor.locator("#tandem-launcher").click();
  const again = visitor.frameLocator("#tandem-frame");
  await expect(again.locator('[data-kind="human_reply"]')).toContainText("your refund was issued today");
  await expect(again.locator('[data-kind="visitor_message"]')).toHaveCount(1);
  await expect(again.locator('[data-kind="ai_answer"]')).toHaveCount(1);
  await agent.reload();
  await expect(agent.locator('[data-kind="human_reply"]')).toContainText("your refund was issued today");
  await expect(agent.locator('[data-kind="ai_answer"]')).toHaveCount(1);

  await visitor.screenshot({ path: "test-results/screenshots/visitor-reloaded.png" });
  expect(errors.flat()).toEqual([]);
});

test("writing 'I want to talk to a person' hands off too, and hostile text stays text", async ({ browser }) => {
  const visitor = await (await browser.newContext()).newPage();
  const errors = watchErrors(visitor);
  visitor.on("dialog", (dialog) => {
    errors.push(`a script ran: ${dialog.message()}`);
    void dialog.dismiss();
  });
  const chat = await openWidget(visitor);
  await chat.getByLabel("Your message").fill("I want to talk to a person");
  await chat.getByRole("button", { name: "Send" }).click();
  await expect(chat.locator(".handoff-banner")).toContainText("A person from the team will reply here");
  await expect(chat.locator('[data-kind="ai_answer"]')).toHaveCount(0);

  const hostile = `<img src=x onerror="alert('xss')"><script>alert('xss')</script>`;
  await chat.getByLabel("Your message").fill(hostile);
  await chat.getByRole("button", { name: "Send" }).click();
  await expect(chat.locator('[data-kind="visitor_message"]').nth(1)).toContainText(hostile);
  await expect(chat.locator('[data-kind="visitor_message"] img, [data-kind="visitor_message"] script')).toHaveCount(0);
  await visitor.screenshot({ path: "test-results/screenshots/visitor-typed-handoff.png" });
  expect(errors).toEqual([]);
});

test("on a phone the chat fills the screen and closes from inside", async ({ browser }) => {
  const phone = await (await browser.newContext({ viewport: { width: 390, height: 760 } })).newPage();
  const errors = watchErrors(phone);
  const chat = await openWidget(phone);
  const frame = phone.locator("#tandem-frame");
  const box = (await frame.boundingBox())!;
  expect(box.width).toBe(390);
  expect(box.height).toBe(760);
  await phone.screenshot({ path: "test-results/screenshots/phone.png" });
  await chat.getByRole("button", { name: "Close the chat" }).click();
  await expect(frame).toBeHidden();
  await expect(phone.locator("#tandem-launcher")).toHaveText("Chat with us");
  await expect(phone.locator("#tandem-launcher")).toBeFocused();
  expect(errors).toEqual([]);
});
