import { test, expect, type Page, type WebSocketRoute } from "@playwright/test";
import { resolveWaiting, signIn, watchErrors } from "./support";

// Nothing waits forever: a missing element fails its step.
test.use({ actionTimeout: 30_000 });

/** A gate a test opens when it chooses. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

// Nothing a visitor types is lost: not before the chat has loaded (hydrated),
// not while its socket is still connecting, not while it reconnects. What is
// sent meanwhile shows as pending and goes out once the socket is open; the
// AI then answers it, and "typing…" shows from the acknowledgement until the
// AI's first word.
test("messages sent while the chat says Connecting… are queued, shown pending, delivered and answered", async ({ browser }) => {
  const context = await browser.newContext();
  // The chat's code arrives late (a slow phone), the socket later still.
  const code = gate();
  await context.route(/\/pkg\/widget_bg\.wasm/, async (route) => {
    await code.opened;
    await route.continue();
  });
  const sockets = [gate(), gate()];
  const tokens = gate();
  const pages: WebSocketRoute[] = [];
  await context.routeWebSocket(/\/ws\/visitor/, async (page) => {
    const n = pages.push(page) - 1;
    await sockets[Math.min(n, sockets.length - 1)].opened;
    const server = page.connectToServer();
    // The AI's first words wait until the test has seen "typing…".
    server.onMessage(async (message) => {
      if (typeof message === "string" && message.includes('"type":"ai_token"')) await tokens.opened;
      page.send(message);
    });
  });
  const visitor: Page = await context.newPage();
  const errors = watchErrors(visitor);
  await visitor.goto("/demo/");
  await visitor.locator("#tandem-launcher").click();
  const chat = visitor.frameLocator("#tandem-frame");
  const box = chat.getByLabel("Your message");

  // 1. Before the chat's code has loaded: typed and sent (the button, as a
  // visitor would), it is neither lost nor sent as a form.
  await expect(chat.getByText("Connecting…")).toBeVisible();
  await box.fill("how long do refunds take?");
  await chat.getByRole("button", { name: "Send" }).click();
  code.open();
  const pending = chat.locator('[data-kind="pending"]');
  await expect(pending).toContainText("how long do refunds take?");
  await expect(box).toHaveValue("");

  // 2. Loaded, still connecting: a second message waits in line behind it.
  await expect(chat.getByText("Connecting…")).toBeVisible();
  await box.fill("and do they go back to my card?");
  await box.press("Enter");
  await expect(pending).toHaveCount(2);
  await expect(pending.nth(1)).toContainText("back to my card");
  await expect(pending.first()).toContainText("Sending…");
  await visitor.screenshot({ path: "test-results/screenshots/widget-connecting.png" });

  // 3. The socket opens: both are delivered, in order, and the AI is shown
  // typing until its first word comes.
  sockets[0].open();
  const sent = chat.locator('[data-kind="visitor_message"]');
  await expect(sent).toHaveCount(2);
  await expect(sent.first()).toContainText("how long do refunds take?");
  await expect(sent.nth(1)).toContainText("back to my card");
  await expect(pending).toHaveCount(0);
  const typing = chat.locator(".ai-typing");
  await expect(typing).toBeVisible();
  await expect(typing).toHaveText("typing…");
  await visitor.screenshot({ path: "test-results/screenshots/widget-ai-typing.png" });
  tokens.open();
  // (The two are one burst: one answer, or a handoff, for both.)
  await expect(chat.locator('[data-kind="ai_answer"], [data-kind="ai_unsure"], [data-kind="status_change"]').first()).toBeVisible();
  await expect(typing).toHaveCount(0);

  // 4. The connection drops; what is sent while it reconnects goes out after.
  await expect.poll(() => pages.length).toBe(1);
  await pages[0].close();
  await expect(chat.getByText("Connecting…")).toBeVisible();
  await expect.poll(() => pages.length).toBe(2);
  await box.fill("Do you ship to Canada?");
  await box.press("Enter");
  await expect(pending).toContainText("Do you ship to Canada?");
  sockets[1].open();
  await expect(sent.last()).toContainText("Do you ship to Canada?");
  await expect(pending).toHaveCount(0);
  // Answered (or handed to the team): either way a reply to it comes.
  await expect(chat.locator('[data-kind="ai_answer"], [data-kind="ai_unsure"], [data-kind="status_change"]').last())
    .toBeVisible();
  await expect(async () => {
    const kinds = await chat.locator("[data-kind]").evaluateAll((els) => els.map((e) => e.getAttribute("data-kind")));
    const after = kinds.slice(kinds.lastIndexOf("visitor_message") + 1);
    expect(after.some((k) => ["ai_answer", "ai_unsure", "status_change"].includes(k!))).toBe(true);
  }).toPass();
  // Nothing left waiting for the specs after this one.
  const agent = await browser.newPage();
  await signIn(agent);
  await resolveWaiting(agent);
  // The browser logs nothing but the dropped connection.
  expect(errors.filter((e) => !/WebSocket/.test(e))).toEqual([]);
});
