import { expect, type Page } from "@playwright/test";
import { adminPassword } from "../playwright.config";

// Collects console errors and uncaught exceptions (a broken hydration shows up here).
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(`${page.url()}: ${msg.text()}`);
  });
  page.on("pageerror", (err) => errors.push(`${page.url()}: ${err.message}`));
  return errors;
}

// Signs the demo admin in; the inbox is live (its socket open) when this returns.
export async function signIn(agent: Page) {
  await agent.goto("/login");
  await agent.getByLabel("Email").fill("admin@nimbus.example");
  await agent.getByLabel("Password").fill(adminPassword);
  await agent.getByRole("button", { name: "Sign in" }).click();
  await expect(agent).toHaveURL(/\/inbox$/);
  await expect(agent.locator(".live-status")).toHaveText("live");
}

// Opens the demo site's chat; it is hydrated and connected when this returns.
export async function openWidget(visitor: Page) {
  await visitor.goto("/demo/");
  await visitor.locator("#tandem-launcher").click();
  const chat = visitor.frameLocator("#tandem-frame");
  await expect(chat.getByText("AI assistant · answers from our help centre")).toBeVisible();
  return chat;
}

// Resolves every conversation waiting for a person (a signed-in agent's
// page), so that a later spec's visitor is the first in the queue.
export async function resolveWaiting(agent: Page) {
  await agent.goto("/inbox");
  const waiting = agent.locator('.queue-tab[data-queue="waiting"] .queue-count');
  await expect(waiting).toHaveText(/^\d+$/);
  const left = Number(await waiting.textContent());
  for (let n = left; n > 0; n--) {
    await agent.locator('[data-queue="waiting"]').click();
    await agent.locator(".conversation-row").first().click();
    await agent.getByRole("button", { name: "Resolve" }).click();
    await expect(waiting).toHaveText(String(n - 1));
  }
}
