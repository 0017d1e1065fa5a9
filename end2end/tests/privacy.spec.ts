import { test, expect } from "@playwright/test";
import { openWidget, signIn, watchErrors } from "./support";

test("an admin exports a visitor's data, erases the visitor, and sets how long conversations are kept", async ({ browser }) => {
  const admin = await (await browser.newContext({ acceptDownloads: true })).newPage();
  const errors: string[][] = [watchErrors(admin)];
  await signIn(admin);

  // A visitor asks, leaves an email, and is handed to the team.
  const visitor = await (await browser.newContext()).newPage();
  errors.push(watchErrors(visitor));
  const chat = await openWidget(visitor);
  await chat.getByLabel("Your message").fill("I want to talk to a person about my parcel for Grace Hopper");
  await chat.getByRole("button", { name: "Send" }).click();
  await expect(chat.locator(".handoff-banner")).toContainText("A person from the team will reply here");

  // The admin opens the conversation: export, then erase.
  const row = admin.locator(".conversation-row", { hasText: "Grace Hopper" }).first();
  await expect(row).toBeVisible();
  await row.click();
  const download = admin.waitForEvent("download");
  await admin.getByRole("link", { name: "Export visitor's data" }).click();
  const file = await download;
  expect(file.suggestedFilename()).toBe("tandem-visitor.json");
  const exported = JSON.parse(await (await file.createReadStream()).toArray().then((c) => Buffer.concat(c).toString()));
  expect(JSON.stringify(exported.conversations[0].events)).toContain("Grace Hopper");

  await admin.getByRole("button", { name: "Erase visitor…" }).click();
  await expect(admin.locator(".visitor-privacy [role=alert]")).toContainText("cannot be undone");
  await admin.screenshot({ path: "test-results/screenshots/privacy-erase.png" });
  await admin.getByRole("button", { name: "Erase", exact: true }).click();
  await expect(admin).toHaveURL(/\/inbox$/);
  await admin.reload();
  await expect(admin.locator(".conversation-row", { hasText: "Grace Hopper" })).toHaveCount(0);

  // Privacy: retention on by default (a year); set 90 days; the log shows it all.
  await admin.getByRole("link", { name: "Knowledge" }).click();
  await admin.getByRole("link", { name: "Privacy" }).click();
  await expect(admin).toHaveURL(/\/admin\/privacy$/);
  await expect(admin.locator("#retention-on")).toBeChecked();
  await expect(admin.locator("#retention-days")).toHaveValue("365");
  await admin.locator("#retention-days").fill("3");
  await admin.getByRole("button", { name: "Save" }).click();
  await expect(admin.getByRole("alert")).toContainText("between 7 and 3650 days");
  await admin.locator("#retention-days").fill("90");
  await admin.getByRole("button", { name: "Save" }).click();
  const log = admin.locator(".audit-log tbody tr");
  await expect(log.first()).toContainText("Retention changed");
  await expect(log.first()).toContainText("from: 365 days, to: 90 days");
  await expect(log.nth(1)).toContainText("Visitor erased");
  await expect(log.nth(1)).toContainText("1 conversation, 1 message");
  await expect(log.nth(2)).toContainText("Visitor's data exported");
  await expect(admin.locator(".audit-log")).not.toContainText("Grace Hopper");
  await admin.reload();
  await expect(admin.locator("#retention-days")).toHaveValue("90");
  await admin.screenshot({ path: "test-results/screenshots/privacy.png", fullPage: true });

  // The one refused save (a server function's refusal answers 400).
  const unexpected = errors.flat().filter((e) => !/admin\/privacy: Failed to load resource: .* status of 400/.test(e));
  expect(unexpected).toEqual([]);
});
