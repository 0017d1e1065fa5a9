import { test, expect, type Frame, type Page, type Locator } from "@playwright/test";
import { watchErrors } from "./support";

// Nothing waits forever: a missing element fails its step.
test.use({ actionTimeout: 30_000 });

const PHONE = { width: 390, height: 844 };

/** The document is no wider than the screen (nothing scrolls sideways). */
async function fitsTheWidth(page: Page | Frame) {
  const widths = await page.evaluate(() => ({
    document: document.documentElement.scrollWidth,
    body: document.body.scrollWidth,
    viewport: window.innerWidth,
  }));
  expect(widths.document, JSON.stringify(widths)).toBeLessThanOrEqual(widths.viewport);
  expect(widths.body, JSON.stringify(widths)).toBeLessThanOrEqual(widths.viewport);
}

/** Wholly on screen (a frame's content: within the frame, itself on screen). */
async function onScreen(element: Locator) {
  const box = await element.boundingBox();
  expect(box, "rendered").not.toBeNull();
  expect(box!.x).toBeGreaterThanOrEqual(0);
  expect(box!.y).toBeGreaterThanOrEqual(0);
  expect(box!.x + box!.width).toBeLessThanOrEqual(PHONE.width);
  expect(box!.y + box!.height).toBeLessThanOrEqual(PHONE.height);
}

test("the demo site and its chat fit a 390px phone: no sideways scrolling, launcher, Send and Close on screen", async ({ browser }) => {
  const visitor = await (await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true })).newPage();
  const errors = watchErrors(visitor);
  for (const path of ["/demo/", "/demo/pricing.html", "/demo/refunds.html", "/demo/shipping.html", "/demo/troubleshooting-wifi.html"]) {
    await visitor.goto(path);
    await expect(visitor.locator("#tandem-launcher")).toBeVisible();
    await fitsTheWidth(visitor);
    await onScreen(visitor.locator("#tandem-launcher"));
  }
  await visitor.screenshot({ path: "test-results/screenshots/demo-phone.png", fullPage: true });

  await visitor.goto("/demo/");
  await visitor.locator("#tandem-launcher").click();
  const chat = visitor.frameLocator("#tandem-frame");
  await expect(chat.getByText("AI assistant · answers from our help centre")).toBeVisible();
  await fitsTheWidth(visitor);
  await onScreen(visitor.locator("#tandem-frame"));
  const send = chat.getByRole("button", { name: "Send" });
  const close = chat.getByRole("button", { name: "Close the chat" });
  await onScreen(send);
  await onScreen(close);
  await onScreen(chat.getByRole("button", { name: "Talk to the team" }));
  await onScreen(chat.getByLabel("Your message"));
  // The chat frame's own document fits too.
  await fitsTheWidth(visitor.frame({ url: /\/widget\?/ })!);

  // A long answer does not push Send or Close away.
  await chat.getByLabel("Your message").fill("how long do refunds take?");
  await send.click();
  await expect(chat.locator('[data-kind="ai_answer"], [data-kind="status_change"]').first()).toBeVisible();
  await onScreen(send);
  await onScreen(close);
  await visitor.screenshot({ path: "test-results/screenshots/demo-phone-chat.png" });
  await close.click();
  await expect(visitor.locator("#tandem-frame")).toBeHidden();
  await onScreen(visitor.locator("#tandem-launcher"));
  expect(errors).toEqual([]);
});
