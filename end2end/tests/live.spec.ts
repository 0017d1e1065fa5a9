import { test, expect, type Page } from "@playwright/test";
import { openWidget, signIn, watchErrors } from "./support";

const count = (agent: Page, queue: string) => agent.locator(`.queue-tab[data-queue="${queue}"] .queue-count`);

test("the inbox follows a conversation live: queues, typing, claim, notes, replies, read receipts", async ({ browser }) => {
  const visitor = await (await browser.newContext()).newPage();
  const agent = await (await browser.newContext()).newPage();
  const errors = [visitor, agent].map(watchErrors);

  await signIn(agent);
  // The counts come over the socket; the Waiting count moves when a visitor escalates.
  await expect(count(agent, "waiting")).toHaveText(/^\d+$/);
  const waiting = Number(await count(agent, "waiting").textContent());
  const mine = Number(await count(agent, "mine").textContent());
  const chat = await openWidget(visitor);
  const question = "I want to talk to a person about order 4711";
  await chat.getByLabel("Your message").fill(question);
  await chat.getByRole("button", { name: "Send" }).click();
  await expect(chat.locator(".handoff-banner")).toBeVisible();
  await expect(count(agent, "waiting")).toHaveText(String(waiting + 1));
  const row = agent.locator(".conversation-row", { hasText: "order 4711" });
  await expect(row).toBeVisible();
  await expect(row).toContainText("asked for a person");
  await row.click();
  await expect(agent.locator('[data-kind="visitor_message"]')).toContainText(question);

  // Each side sees the other typing.
  await chat.getByLabel("Your message").pressSequentially("are you th");
  await expect(agent.locator(".typing")).toHaveText("The visitor is typing…");
  const composer = agent.getByLabel("Reply to the visitor");
  await composer.pressSequentially("Let me check");
  await expect(chat.locator(".typing")).toHaveText("Alex (demo admin) is typing…");

  // Claiming moves it from Waiting to Mine; the visitor sees who joined.
  await agent.getByRole("button", { name: "Claim" }).click();
  await expect(chat.locator('[data-kind="status_change"]').last()).toContainText("Alex (demo admin) from the team joined");
  await expect(count(agent, "mine")).toHaveText(String(mine + 1));
  await expect(count(agent, "waiting")).toHaveText(String(waiting));
  await expect(agent.locator(".conversation-status")).toHaveText("With an agent");

  // A private note stays with the team; the reply reaches the visitor, who reads it.
  await agent.getByRole("tab", { name: "Private note" }).click();
  const note = agent.getByLabel("Private note for the team");
  await note.fill("Courier says 4711 left the depot today");
  await agent.getByRole("button", { name: "Add note" }).click();
  await expect(agent.locator('[data-kind="note"]')).toContainText("left the depot");
  await agent.getByRole("tab", { name: "Reply" }).click();
  await composer.fill("Your order is on its way and arrives **tomorrow**.");
  await agent.getByRole("button", { name: "Send reply" }).click();
  await expect(chat.locator('[data-kind="human_reply"]')).toContainText("arrives tomorrow");
  await expect(chat.locator('[data-kind="human_reply"] strong')).toHaveText("tomorrow");
  await expect(agent.locator(".visitor-seen")).toHaveText("Seen by the visitor");
  await expect(chat.getByText("left the depot")).toHaveCount(0);
  await expect(chat.locator('[data-kind="note"]')).toHaveCount(0);
  await agent.screenshot({ path: "test-results/screenshots/inbox-live.png" });
  await visitor.screenshot({ path: "test-results/screenshots/widget-live.png" });

  // Resolve, then reopen.
  await agent.getByRole("button", { name: "Resolve" }).click();
  await expect(chat.locator('[data-kind="status_change"]').last()).toContainText("marked as resolved");
  await expect(agent.locator(".conversation-status")).toHaveText("Resolved");
  await expect(count(agent, "mine")).toHaveText(String(mine));
  await agent.getByRole("button", { name: "Reopen" }).click();
  await expect(agent.locator(".conversation-status")).toHaveText("With an agent");
  await expect(count(agent, "mine")).toHaveText(String(mine + 1));

  expect(errors.flat()).toEqual([]);
});

test("a visitor who loses the network gets everything once when it returns", async ({ browser }) => {
  const visitorContext = await browser.newContext();
  const visitor = await visitorContext.newPage();
  const agent = await (await browser.newContext()).newPage();
  const errors = [visitor, agent].map(watchErrors);

  await signIn(agent);
  const chat = await openWidget(visitor);
  await chat.getByLabel("Your message").fill("I want to talk to a person about lamp 8812");
  await chat.getByRole("button", { name: "Send" }).click();
  await expect(chat.locator(".handoff-banner")).toBeVisible();
  await agent.locator(".conversation-row", { hasText: "lamp 8812" }).click();
  await agent.getByRole("button", { name: "Claim" }).click();
  await expect(chat.locator('[data-kind="status_change"]').last()).toContainText("joined the conversation");

  // Offline: the widget says so; the visitor's message waits; the agent replies meanwhile.
  await visitorContext.setOffline(true);
  await expect(chat.getByText("Connecting…")).toBeVisible();
  await chat.getByLabel("Your message").fill("Written on the train, offline");
  await chat.getByRole("button", { name: "Send" }).click();
  await expect(chat.locator('[data-kind="pending"]')).toContainText("Sending…");
  await agent.getByLabel("Reply to the visitor").fill("Replied while you were offline");
  await agent.getByRole("button", { name: "Send reply" }).click();
  await expect(agent.locator('[data-kind="human_reply"]')).toContainText("while you were offline");
  await visitor.waitForTimeout(1500);
  await expect(chat.locator('[data-kind="human_reply"]')).toHaveCount(0);

  // Back online: the reply arrives, the message goes out, each exactly once.
  await visitorContext.setOffline(false);
  // Connected again: the header (the agent's, since they joined) names the team.
  await expect(chat.getByText("Nimbus Support · Team")).toBeVisible();
  await expect(chat.locator('[data-kind="human_reply"]')).toContainText("while you were offline");
  await expect(chat.locator('[data-kind="visitor_message"]', { hasText: "Written on the train" })).toHaveCount(1);
  await expect(chat.locator('[data-kind="pending"]')).toHaveCount(0);
  await expect(agent.locator('[data-kind="visitor_message"]', { hasText: "Written on the train" })).toHaveCount(1);
  await visitor.waitForTimeout(1000);
  await expect(chat.locator('[data-kind="human_reply"]')).toHaveCount(1);
  await expect(chat.locator('[data-kind="visitor_message"]')).toHaveCount(2);
  await visitor.screenshot({ path: "test-results/screenshots/widget-back-online.png" });

  // The browser logs the failed reconnection attempts while offline; nothing else.
  const unexpected = errors.flat().filter((e) => !/WebSocket connection to .* failed/.test(e));
  expect(unexpected).toEqual([]);
});
