import { test, expect } from "@playwright/test";
import { openWidget, resolveWaiting, signIn, watchErrors } from "./support";

// Nothing waits forever: a missing element fails its step.
test.use({ actionTimeout: 30_000 });

test("canned replies: the demo has some, a new one is there at once, the composer's picker lists and filters them by keyboard, deleting asks first", async ({ browser }) => {
  const context = await browser.newContext();
  const agent = await context.newPage();
  const admin = await context.newPage();
  const errors = [agent, admin].map(watchErrors);
  // A conversation to reply to.
  const visitor = await (await browser.newContext()).newPage();
  const chat = await openWidget(visitor);
  await chat.getByLabel("Your message").fill("I want to talk to a person about my canned tomatoes lamp");
  await chat.getByLabel("Your message").press("Enter");
  await expect(chat.locator(".handoff-banner")).toBeVisible();

  // The inbox is open before the admin adds a reply.
  await signIn(agent);
  await agent.locator('[data-queue="waiting"]').click();
  await agent.locator(".conversation-row", { hasText: "canned tomatoes" }).first().click();
  await expect(agent.getByLabel("Reply to the visitor")).toBeVisible();

  // The demo comes with a few; one added shows at once, without a reload.
  await admin.goto("/admin/team");
  await expect(admin.locator(".canned").first()).toBeVisible();
  expect(await admin.locator(".canned").count()).toBeGreaterThanOrEqual(3);
  await expect(async () => {
    await admin.locator('input[name="shortcut"]').fill("lamp-hello");
    await admin.locator('textarea[name="canned-body"]').fill("Hello from the lamp team!");
    await admin.getByRole("button", { name: "Add canned reply" }).click();
    await expect(admin.locator(".canned", { hasText: "/lamp-hello" })).toBeVisible({ timeout: 2_000 });
  }).toPass();

  // The composer's button opens a picker: every reply, the new one too, searchable.
  await agent.getByRole("button", { name: "Canned replies" }).click();
  const picker = agent.getByRole("dialog", { name: "Canned replies" });
  await expect(picker).toBeVisible();
  const search = picker.getByRole("combobox", { name: "Search canned replies" });
  await expect(search).toBeFocused();
  await expect(picker.getByRole("option")).toHaveCount(await admin.locator(".canned").count());
  await expect(picker.getByRole("option", { name: /lamp-hello/ })).toBeVisible();
  await search.fill("lamp team");
  await expect(picker.getByRole("option")).toHaveCount(1);
  await agent.screenshot({ path: "test-results/screenshots/canned-picker.png" });
  await search.press("ArrowDown");
  await search.press("Enter");
  await expect(picker).toBeHidden();
  const composer = agent.getByLabel("Reply to the visitor");
  await expect(composer).toHaveValue("Hello from the lamp team!");
  await expect(composer).toBeFocused();
  // Escape closes it without inserting anything.
  await agent.getByRole("button", { name: "Canned replies" }).click();
  await expect(picker).toBeVisible();
  await agent.keyboard.press("Escape");
  await expect(picker).toBeHidden();
  await expect(composer).toHaveValue("Hello from the lamp team!");

  // Deleting asks first; "Keep" keeps it, confirming removes it.
  const item = admin.locator(".canned", { hasText: "/lamp-hello" });
  await item.getByRole("button", { name: "Delete", exact: true }).click();
  const confirm = item.getByRole("group", { name: /Delete/ });
  await expect(confirm).toContainText("Delete /lamp-hello?");
  await confirm.getByRole("button", { name: "Keep" }).click();
  await expect(confirm).toHaveCount(0);
  await expect(item).toBeVisible();
  await item.getByRole("button", { name: "Delete", exact: true }).click();
  await expect(item.getByRole("button", { name: "Keep" })).toBeFocused();
  await item.getByRole("button", { name: "Yes, delete" }).click();
  await expect(admin.locator(".canned", { hasText: "/lamp-hello" })).toHaveCount(0);
  await resolveWaiting(agent);
  expect(errors.flat()).toEqual([]);
});

test("deleting a knowledge source asks first, and keeping it changes nothing", async ({ browser }) => {
  const admin = await (await browser.newContext()).newPage();
  const errors = watchErrors(admin);
  await signIn(admin);
  await admin.goto("/admin/knowledge");
  const demo = admin.locator(".source", { hasText: "/demo/index.html" });
  await expect(demo.locator(".job-status")).toHaveText("done");
  const counts = await demo.locator(".source-counts").textContent();
  await expect(async () => {
    await demo.getByRole("button", { name: "Delete", exact: true }).click();
    await expect(demo.getByRole("group", { name: /Delete/ })).toBeVisible({ timeout: 2_000 });
  }).toPass();
  const confirm = demo.getByRole("group", { name: /Delete/ });
  await expect(confirm).toContainText(/pages? and .* chunks? leave the knowledge/);
  await expect(confirm.getByRole("button", { name: "Keep" })).toBeFocused();
  await admin.screenshot({ path: "test-results/screenshots/knowledge-confirm.png" });
  await confirm.getByRole("button", { name: "Keep" }).click();
  await expect(confirm).toHaveCount(0);
  await admin.reload();
  await expect(demo.locator(".source-counts")).toHaveText(counts!);
  expect(errors).toEqual([]);
});

test("the policy page shows phrases in plain words; patterns wait behind Advanced, read out in words", async ({ browser }) => {
  const admin = await (await browser.newContext()).newPage();
  const errors = watchErrors(admin);
  await signIn(admin);
  const legal = admin.locator(".category", { hasText: "legal" }).first();
  await expect(async () => {
    await admin.goto("/admin/policy");
    await legal.getByLabel("Words and phrases that always count").fill("anwalt\nsmall claims court");
    await legal.locator("summary", { hasText: "Advanced" }).click();
    await legal.getByLabel("Patterns (regular expressions)").fill("/\\b(lawyer|attorney)s?\\b/");
    await admin.getByRole("button", { name: "Save policy" }).click();
    await expect(admin.getByRole("status").filter({ hasText: "Saved." })).toBeVisible({ timeout: 5_000 });
  }).toPass();

  // A fresh page: words as words, the pattern read out, the expression itself hidden.
  await admin.goto("/admin/policy");
  await expect(legal.getByLabel("Words and phrases that always count")).toHaveValue("anwalt\nsmall claims court");
  await expect(legal.locator(".pattern-words")).toContainText("lawyer, lawyers, attorney, attorneys");
  await expect(legal.getByLabel("Patterns (regular expressions)")).toBeHidden();
  const shown = await admin.locator("main").evaluate((main) => {
    const texts: string[] = [];
    for (const el of main.querySelectorAll<HTMLElement>("*")) {
      if (!el.checkVisibility()) continue;
      if (el instanceof HTMLTextAreaElement || el instanceof HTMLInputElement) texts.push(el.value);
      else if (el.childElementCount === 0) texts.push(el.textContent ?? "");
    }
    return texts.join("\n");
  });
  expect(shown).not.toContain("\\b");
  await admin.screenshot({ path: "test-results/screenshots/policy-phrases.png", fullPage: true });

  // The expression is there for who opens Advanced; cleared again for other specs.
  await legal.locator("summary", { hasText: "Advanced" }).click();
  await expect(legal.getByLabel("Patterns (regular expressions)")).toHaveValue("/\\b(lawyer|attorney)s?\\b/");
  await legal.getByLabel("Patterns (regular expressions)").fill("");
  await legal.getByLabel("Words and phrases that always count").fill("");
  await admin.getByRole("button", { name: "Save policy" }).click();
  await expect(admin.getByRole("status").filter({ hasText: "Saved." })).toBeVisible();
  expect(errors).toEqual([]);
});

test("the widget page previews the look as it is edited and copies the snippet", async ({ browser }) => {
  const context = await browser.newContext();
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  const admin = await context.newPage();
  const errors = watchErrors(admin);
  await signIn(admin);
  await admin.goto("/admin/widget");
  const preview = admin.locator(".widget-preview");
  await expect(preview).toBeVisible();
  const launcher = preview.locator(".preview-launcher");
  await expect(async () => {
    await admin.locator("#brand-color").fill("#7c3aed");
    await admin.locator("#launcher-text").fill("Ask Nimbus");
    await admin.locator("#greeting").fill("Hello from the preview!");
    await expect(launcher).toHaveCSS("background-color", "rgb(124, 58, 237)", { timeout: 2_000 });
  }).toPass();
  await expect(launcher).toHaveText("Ask Nimbus");
  await expect(preview.locator(".preview-header")).toHaveCSS("background-color", "rgb(124, 58, 237)");
  await expect(preview).toContainText("Hello from the preview!");
  await admin.locator("#position").selectOption("left");
  await expect(preview.locator(".preview-launcher")).toHaveClass(/left/);
  await admin.screenshot({ path: "test-results/screenshots/widget-preview.png", fullPage: true });

  // Copy: the snippet on the clipboard, and "Copied" said where it was pressed.
  const copy = admin.getByRole("button", { name: "Copy", exact: true });
  await copy.click();
  await expect(admin.getByRole("button", { name: "Copied" })).toBeVisible();
  const pasted = await admin.evaluate(() => navigator.clipboard.readText());
  expect(pasted).toContain('data-workspace="demo"');
  expect(pasted).toContain("/widget.js");
  // Nothing was saved: a fresh page has the stored look.
  await admin.goto("/admin/widget");
  await expect(admin.locator("#launcher-text")).not.toHaveValue("Ask Nimbus");
  expect(errors).toEqual([]);
});

test("a pending invitation is listed as a link and can be revoked; the admin header leads to the account and signs out", async ({ browser }) => {
  const admin = await (await browser.newContext()).newPage();
  const errors = watchErrors(admin);
  await signIn(admin);
  await admin.goto("/admin/team");
  await admin.locator('input[name="invite-email"]').fill("lee@nimbus.example");
  await admin.getByRole("button", { name: "Create invitation link" }).click();
  const link = (await admin.locator(".invite-link code").textContent())!;
  // No email here: the page says why the link is shown.
  await expect(admin.getByText("Email is not set up (TANDEM_SMTP_URL)")).toBeVisible();
  const pending = admin.locator('.pending-invitation[data-email="lee@nimbus.example"]');
  await expect(pending).toContainText("link");
  await pending.getByRole("button", { name: "Revoke" }).click();
  await expect(admin.getByRole("group", { name: "Revoke the invitation for lee@nimbus.example?" })).toBeVisible();
  await admin.getByRole("button", { name: "Yes, revoke" }).click();
  await expect(pending).toHaveCount(0);
  // The revoked link no longer opens.
  const invitee = await (await browser.newContext()).newPage();
  await invitee.goto(link);
  await expect(invitee.getByRole("alert")).toContainText("no longer valid");

  // The header: the name leads to the account page; Sign out is there too.
  await admin.getByRole("navigation", { name: "Sections" }).getByRole("link", { name: "Alex (demo admin)" }).click();
  await expect(admin.getByRole("heading", { name: "Your account" })).toBeVisible();
  await admin.goto("/admin/team");
  await admin.getByRole("navigation", { name: "Sections" }).getByRole("button", { name: "Sign out" }).click();
  await expect(admin).toHaveURL(/\/login$/);
  expect(errors).toEqual([]);
});
