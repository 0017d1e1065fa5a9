import { test, expect, type Browser, type Page } from "@playwright/test";
import { openWidget, signIn, watchErrors } from "./support";
import { adminPassword } from "../playwright.config";

const count = (agent: Page, queue: string) => agent.locator(`.queue-tab[data-queue="${queue}"] .queue-count`);

// An agent's browser whose desktop notifications are recorded (and allowed).
async function agentPage(browser: Browser) {
  const context = await browser.newContext();
  await context.addInitScript(() => {
    const shown: string[] = [];
    (window as any).notified = shown;
    class Recorded {
      static get permission() {
        return "granted";
      }
      static requestPermission() {
        return Promise.resolve("granted");
      }
      constructor(title: string) {
        shown.push(title);
      }
      close() {}
    }
    (window as any).Notification = Recorded;
  });
  return context.newPage();
}

test("a team's day in the inbox: invitation, live queue, claim, suggestion, canned reply, note, collision guard, shortcuts", async ({ browser }) => {
  const alex = await agentPage(browser);
  const sam = await agentPage(browser);
  const visitor = await (await browser.newContext()).newPage();
  const errors = [alex, sam, visitor].map(watchErrors);

  // The admin sets up the team: a canned reply, and an invitation for Sam.
  await signIn(alex);
  await alex.getByRole("link", { name: "Team" }).click();
  await expect(alex.getByRole("heading", { name: "Members" })).toBeVisible();
  await alex.locator('input[name="shortcut"]').fill("thanks");
  await alex.locator('textarea[name="canned-body"]').fill("Thanks for your patience, we are on it!");
  await alex.getByRole("button", { name: "Add canned reply" }).click();
  await expect(alex.locator(".canned", { hasText: "/thanks" })).toBeVisible();
  await alex.locator('input[name="invite-email"]').fill("sam@nimbus.example");
  await alex.getByRole("button", { name: "Create invitation link" }).click();
  await expect(alex.locator(".invite-link code")).toBeVisible();
  await expect(alex.getByText("Pending invitations")).toBeVisible();
  const link = (await alex.locator(".invite-link code").textContent())!;
  expect(link).toMatch(/\/invite\/[0-9a-f]{64}$/);
  await alex.screenshot({ path: "test-results/screenshots/team.png", fullPage: true });

  // Sam joins from the link and lands in the inbox.
  await sam.goto(link);
  await expect(sam.getByRole("heading", { name: /Join Nimbus Support/ })).toBeVisible();
  await sam.getByLabel("Your name").fill("Sam");
  await sam.getByLabel(/^Password/).fill("sam-password-123");
  await sam.getByRole("button", { name: "Join the team" }).click();
  await expect(sam).toHaveURL(/\/inbox$/);
  await expect(sam.locator(".live-status")).toHaveText("live");
  await sam.getByRole("button", { name: "Notifications off" }).click();

  // Alex turns notifications on; a visitor escalates; the queue moves live.
  await alex.getByRole("link", { name: "Inbox" }).click();
  await expect(alex.locator(".live-status")).toHaveText("live");
  await alex.getByRole("button", { name: "Notifications off" }).click();
  await expect(alex.locator(".notify-toggle")).toHaveText("Notifications on");
  await expect(count(alex, "waiting")).toHaveText(/^\d+$/);
  const waiting = Number(await count(alex, "waiting").textContent());
  const chat = await openWidget(visitor);
  await chat.getByLabel("Your message").fill("How long do refunds take for order 5150? I want to talk to a person");
  await chat.getByRole("button", { name: "Send" }).click();
  await expect(chat.locator(".handoff-banner")).toBeVisible();
  await expect(count(alex, "waiting")).toHaveText(String(waiting + 1));
  await expect.poll(() => alex.evaluate(() => (window as any).notified)).toContain("New escalation");
  await expect(alex).toHaveTitle(/^\(\d+\) Inbox/);
  const row = alex.locator(".conversation-row", { hasText: "order 5150" });
  await expect(row).toContainText("asked for a person");
  await expect(row.locator(".unread")).toBeVisible();

  // Search narrows the list (and finds nothing for words nobody wrote).
  await alex.keyboard.press("/");
  await alex.keyboard.type("no-such-words");
  await expect(alex.getByText("Nothing matches these filters.")).toBeVisible();
  await alex.getByLabel("Search conversations").fill("");
  await alex.keyboard.type("5150");
  await expect(alex.locator(".conversation-row")).toHaveCount(1);
  await expect(alex.locator(".conversation-row")).toContainText("order 5150");
  await alex.keyboard.press("Escape");

  // j opens it, c claims it: the summary packet says what the visitor wants.
  await alex.keyboard.press("j");
  await expect(alex.locator('[data-kind="visitor_message"]')).toContainText("order 5150");
  await expect(alex.locator(".summary-packet")).toContainText("How long do refunds take");
  await expect(alex.locator(".visitor-identity")).toContainText("not verified");
  await expect(alex.locator(".page-url")).toContainText("/demo/");
  await alex.keyboard.press("c");
  await expect(alex.locator(".conversation-status")).toHaveText("With an agent");
  await expect(chat.locator('[data-kind="status_change"]').last()).toContainText("Alex (demo admin) from the team joined");

  // Sam opens the same conversation: each sees the other; Sam cannot reply
  // without taking over.
  await sam.locator(".queue-tab[data-queue='open']").click();
  await sam.locator(".conversation-row", { hasText: "order 5150" }).click();
  await expect(sam.locator(".viewers")).toContainText("Alex (demo admin)");
  await expect(alex.locator(".viewers")).toContainText("Sam");
  await expect(sam.locator(".reply-blocked")).toContainText("Alex (demo admin) has this conversation. Take it over to reply");
  await expect(sam.getByRole("button", { name: "Send reply" })).toBeDisabled();
  await sam.screenshot({ path: "test-results/screenshots/inbox-collision.png" });

  // s: a suggested reply from the knowledge, with its sources, to edit.
  await alex.locator(".conversation-status").click();
  await alex.keyboard.press("s");
  await expect(alex.locator(".suggestion")).toContainText("Suggested from your knowledge");
  await expect(alex.locator(".suggestion .citations a").first()).toHaveAttribute("href", /refunds\.html/);
  const composer = alex.getByLabel("Reply to the visitor");
  await expect(composer).toHaveValue(/More in our help centre/);
  await alex.screenshot({ path: "test-results/screenshots/inbox-suggestion.png" });
  await composer.press("End");
  await composer.press("Control+End");
  await composer.pressSequentially("\n\nAlex");
  await composer.press("Control+Enter");
  const reply = chat.locator('[data-kind="human_reply"]').first();
  await expect(reply).toContainText("More in our help centre");
  await expect(reply.locator("a").first()).toHaveAttribute("href", /refunds\.html/);

  // A canned reply: type / and its shortcut, Enter takes it.
  await composer.fill("/tha");
  await expect(alex.locator(".canned-list")).toContainText("/thanks");
  await composer.press("Enter");
  await expect(composer).toHaveValue("Thanks for your patience, we are on it!");
  await composer.press("Control+Enter");
  await expect(chat.locator('[data-kind="human_reply"]').last()).toContainText("Thanks for your patience");

  // n: a private note; the visitor never sees it.
  await alex.locator(".conversation-status").click();
  await alex.keyboard.press("n");
  await alex.getByLabel("Private note for the team").fill("Refund 5150 approved by finance");
  await alex.getByLabel("Private note for the team").press("Control+Enter");
  await expect(alex.locator('[data-kind="note"]')).toContainText("approved by finance");
  await expect(sam.locator('[data-kind="note"]')).toContainText("approved by finance");

  // Sam takes over explicitly; now Alex is the one who must.
  await sam.getByRole("button", { name: "Take over from Alex (demo admin)" }).click();
  await expect(sam.locator(".holder")).toContainText("with Sam");
  await alex.getByRole("tab", { name: "Reply" }).click();
  await expect(alex.locator(".reply-blocked")).toContainText("Sam has this conversation");
  await sam.getByLabel("Reply to the visitor").fill("Sam here, taking this one.");
  await sam.getByRole("button", { name: "Send reply" }).click();
  await expect(chat.locator('[data-kind="human_reply"]').last()).toContainText("Sam here");
  // The note, written before that reply, never reached the visitor.
  await expect(chat.getByText("approved by finance")).toHaveCount(0);
  await expect(chat.locator('[data-kind="note"]')).toHaveCount(0);
  await alex.getByRole("button", { name: "Take over from Sam" }).click();
  await expect(alex.locator(".holder")).toContainText("with Alex");

  // a opens the assign menu; Sam gets it, in his "mine" at once.
  await expect(count(sam, "mine")).toHaveText("0");
  await alex.locator(".conversation-status").click();
  await alex.keyboard.press("a");
  await expect(alex.getByRole("menu", { name: "Assign" })).toBeVisible();
  await alex.getByRole("menuitem", { name: "Sam · online" }).click();
  await expect(alex.getByRole("menu")).toHaveCount(0);
  await expect(count(sam, "mine")).toHaveText("1");
  await expect(alex.locator('[data-kind="assigned"]').last()).toContainText("Alex (demo admin) assigned this to Sam");
  await expect.poll(() => sam.evaluate(() => (window as any).notified)).toContain("Assigned to you");

  // ? lists the shortcuts; e resolves; o reopens.
  await alex.locator(".conversation-status").click();
  await alex.keyboard.press("?");
  await expect(alex.getByRole("dialog", { name: "Keyboard shortcuts" })).toContainText("suggest a reply");
  await alex.screenshot({ path: "test-results/screenshots/inbox-shortcuts.png" });
  await alex.keyboard.press("Escape");
  await expect(alex.getByRole("dialog")).toHaveCount(0);
  await alex.keyboard.press("e");
  await expect(alex.locator(".conversation-status")).toHaveText("Resolved");
  await expect(chat.locator('[data-kind="status_change"]').last()).toContainText("marked as resolved");
  await alex.keyboard.press("o");
  await expect(alex.locator(".conversation-status")).toHaveText("With an agent");
  await alex.keyboard.press("e");
  await expect(alex.locator(".conversation-status")).toHaveText("Resolved");

  // The visitor writes again: back in the queue with its history, not the bot.
  await chat.getByLabel("Your message").fill("Sorry, one more thing about 5150");
  await chat.getByRole("button", { name: "Send" }).click();
  await expect(alex.locator(".conversation-status")).toHaveText("Waiting for a person");
  await expect(alex.locator(".handoff-reason")).toContainText("wrote again after it was resolved");
  await alex.locator(".queue-tab[data-queue='waiting']").click();
  await expect(alex.locator(".conversation-row", { hasText: "one more thing" })).toContainText("reopened");

  // Hand back to the AI: it answers the visitor's next question.
  await alex.getByRole("button", { name: "Hand back to the AI" }).click();
  await expect(alex.locator(".conversation-status")).toHaveText("AI handling");
  await chat.getByLabel("Your message").fill("how long do refunds take?");
  await chat.getByRole("button", { name: "Send" }).click();
  await expect(chat.locator('[data-kind="ai_answer"]').last()).toContainText("5 business days");
  await alex.screenshot({ path: "test-results/screenshots/inbox-day.png" });

  // Away, then signing out: offline for the team page.
  await sam.locator(".presence-toggle").click();
  await expect(sam.locator(".presence-toggle")).toHaveText(/Away/);
  const samsPresence = async () => {
    await alex.goto("/admin/team");
    return alex.locator('.member[data-email="sam@nimbus.example"] .presence').getAttribute("data-presence");
  };
  await expect.poll(samsPresence).toBe("away");
  // Away survives a reload of Sam's inbox.
  await sam.reload();
  await expect(sam.locator(".presence-toggle")).toHaveText(/Away/);
  await sam.getByRole("button", { name: "Sign out" }).click();
  await expect(sam).toHaveURL(/\/login$/);
  await expect.poll(samsPresence).toBe("offline");

  expect(errors.flat()).toEqual([]);
});

test("wrong passwords are throttled and a password can be changed", async ({ browser }) => {
  const page = await (await browser.newContext()).newPage();
  const errors = watchErrors(page);
  await page.goto("/login");
  // Each attempt's answer is awaited: the fifth is still refused for the
  // password, the sixth for the throttle.
  const attempt = async (password: string) => {
    await page.getByLabel("Email").fill("nobody@nimbus.example");
    await page.getByLabel("Password").fill(password);
    const answered = page.waitForResponse((r) => r.url().includes("/api/login"));
    await page.getByRole("button", { name: "Sign in" }).click();
    return (await answered).status();
  };
  for (let i = 0; i < 5; i++) {
    expect(await attempt(`wrong-${i}`)).toBe(401);
    await expect(page.getByRole("alert")).toHaveText("Wrong email or password.");
  }
  expect(await attempt("wrong-5")).toBe(429);
  await expect(page.getByRole("alert")).toContainText("Too many failed sign-ins");

  // The admin changes their password (then changes it back for the other specs).
  await signIn(page);
  await page.getByRole("link", { name: "Alex (demo admin)", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Your account" })).toBeVisible();
  await expect(page.getByRole("region", { name: "Workspaces" })).toContainText("Nimbus Support");
  const change = async (current: string, next: string) => {
    await page.getByLabel("Current password").fill(current);
    await page.getByLabel(/^New password/).fill(next);
    await page.getByRole("button", { name: "Change password" }).click();
  };
  await change("not-the-password", "a-new-password-1");
  await expect(page.getByRole("alert")).toHaveText("Your current password is not right.");
  await change(adminPassword, "a-new-password-1");
  await expect(page.getByRole("status")).toContainText("Password changed");
  await page.screenshot({ path: "test-results/screenshots/account.png" });
  await page.goto("/inbox");
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("Email").fill("admin@nimbus.example");
  await page.getByLabel("Password").fill("a-new-password-1");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/inbox$/);
  await page.goto("/account");
  await change("a-new-password-1", adminPassword);
  await expect(page.getByRole("status")).toContainText("Password changed");

  const unexpected = errors.filter((e) => !/status of (401|429|400)/.test(e));
  expect(unexpected).toEqual([]);
});
