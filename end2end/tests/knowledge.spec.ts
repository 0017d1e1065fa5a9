import { test, expect, type Page } from "@playwright/test";
import { adminPassword, sitePort } from "../playwright.config";
import { watchErrors } from "./support";

/** A small, valid PDF with one line of text per page (Helvetica). */
function pdf(pages: string[]): Buffer {
  const objects: string[] = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    `<< /Type /Pages /Kids [${pages.map((_, i) => `${4 + 2 * i} 0 R`).join(" ")}] /Count ${pages.length} >>`,
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  ];
  pages.forEach((text, i) => {
    objects.push(
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${5 + 2 * i} 0 R >>`,
    );
    const stream = `BT /F1 12 Tf 72 720 Td (${text.replace(/[\\()]/g, (c) => "\\" + c)}) Tj ET`;
    objects.push(`<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`);
  });
  let out = "%PDF-1.4\n";
  const offsets: number[] = [];
  objects.forEach((object, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) out += `${String(offset).padStart(10, "0")} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, "latin1");
}

async function ask(chat: ReturnType<Page["frameLocator"]>, question: string, index: number) {
  await chat.getByLabel("Your message").fill(question);
  await chat.getByRole("button", { name: "Send" }).click();
  const answer = chat.locator('[data-kind="ai_answer"]').nth(index);
  await expect(answer).toBeVisible({ timeout: 30_000 });
  return answer;
}

test("an admin trains the AI on a website, a PDF and a snippet, and the widget cites all three", async ({ browser }) => {
  const admin = await (await browser.newContext()).newPage();
  const visitor = await (await browser.newContext()).newPage();
  const errors = [admin, visitor].map(watchErrors);

  await admin.goto("/login");
  await admin.getByLabel("Email").fill("admin@nimbus.example");
  await admin.getByLabel("Password").fill(adminPassword);
  await admin.getByRole("button", { name: "Sign in" }).click();
  await expect(admin).toHaveURL(/\/inbox$/);
  await admin.getByRole("link", { name: "Knowledge" }).click();
  await expect(admin).toHaveURL(/\/admin\/knowledge$/);
  // The demo site the server trained on at start-up is listed, done.
  const demo = admin.locator(".source", { hasText: "/demo/index.html" });
  await expect(demo.locator(".job-status")).toHaveText("done");

  // 1. A website: the crawl's progress shows live, then its outcome.
  const site = `http://127.0.0.1:${sitePort}/index.html`;
  await expect(async () => {
    await admin.getByLabel("Start URL or sitemap").fill(site);
    await admin.getByRole("button", { name: "Crawl website" }).click();
    await expect(admin.locator(".source", { hasText: site })).toBeVisible({ timeout: 2_000 });
  }).toPass();
  const card = admin.locator(".source", { hasText: site });
  await expect(card.getByRole("progressbar")).toBeVisible();
  await expect(card.locator(".job-status")).toHaveText("running");
  await admin.screenshot({ path: "test-results/screenshots/knowledge-crawling.png" });
  await expect(card.locator(".job-status")).toHaveText("done", { timeout: 60_000 });
  await expect(card.getByRole("progressbar")).toHaveCount(0);
  await expect(card.locator(".job-summary")).toContainText("4 / 4 pages");
  await expect(card.locator(".source-counts")).toContainText("3 pages");

  // Its pages and chunks, and what was not indexed and why.
  await card.locator(".source-title").click();
  await expect(admin.getByRole("heading", { name: "Indexed pages" })).toBeVisible();
  await expect(admin.locator(".issues")).toContainText("disallowed by robots.txt");
  await admin.locator(".pages summary", { hasText: "Solar charging" }).click();
  const chunk = admin.locator(".chunk", { hasText: "six hours of direct sunlight" });
  await expect(chunk.locator("a")).toHaveText("Solar charging › Charge time");
  await expect(chunk.locator("a")).toHaveAttribute("href", /charging\.html#charge-time$/);
  await admin.screenshot({ path: "test-results/screenshots/knowledge-source.png", fullPage: true });
  await admin.getByRole("link", { name: "← All sources" }).click();

  // 2. A PDF upload (a plain form post: it works before hydration too).
  await admin.locator("#file-input").setInputFiles({
    name: "outdoor-installation.pdf",
    mimeType: "application/pdf",
    buffer: pdf([
      "Installation. Mount the wall bracket with the four 6 mm screws supplied in the box.",
      "Cleaning. Wipe the solar panel with a damp cloth once a month.",
    ]),
  });
  await admin.getByRole("button", { name: "Upload" }).click();
  await expect(admin.getByRole("status")).toContainText("outdoor-installation.pdf uploaded; indexing started");
  const file = admin.locator(".source", { hasText: "outdoor-installation.pdf" });
  await expect(file.locator(".job-status")).toHaveText("done", { timeout: 60_000 });
  await expect(file.locator(".source-counts")).toContainText("1 page · 2 chunks");

  // A file Tandem cannot read is refused with a clear message.
  await admin.locator("#file-input").setInputFiles({ name: "setup.exe", mimeType: "application/octet-stream", buffer: Buffer.from("MZ") });
  await admin.getByRole("button", { name: "Upload" }).click();
  await expect(admin.getByRole("alert")).toContainText("Tandem reads Markdown (.md), HTML (.html), plain text (.txt) and PDF (.pdf) files");

  // 3. An answer snippet, indexed as it is saved.
  await expect(async () => {
    await admin.getByLabel("Question", { exact: true }).fill("Do you offer a student discount?");
    await admin.getByLabel("Answer", { exact: true }).fill("Yes. Students get 20% off any Nimbus lamp with a valid student card.");
    await admin.getByRole("button", { name: "Save snippet" }).click();
    await expect(admin.locator(".snippet", { hasText: "student discount" })).toBeVisible({ timeout: 2_000 });
  }).toPass();
  await expect(admin.getByLabel("Question", { exact: true })).toHaveValue("");
  await admin.screenshot({ path: "test-results/screenshots/knowledge.png", fullPage: true });

  // The widget answers from all three, citing each.
  await visitor.goto("/demo/");
  await visitor.locator("#tandem-launcher").click();
  const chat = visitor.frameLocator("#tandem-frame");
  await expect(chat.getByText("AI assistant · answers from our help centre")).toBeVisible();

  const fromSite = await ask(chat, "How long does the outdoor lantern take to charge in direct sunlight?", 0);
  await expect(fromSite).toContainText("six hours");
  await expect(fromSite.locator(".citations a").first()).toHaveAttribute("href", `http://127.0.0.1:${sitePort}/charging.html#charge-time`);

  const fromPdf = await ask(chat, "Which screws do I need to mount the wall bracket?", 1);
  await expect(fromPdf).toContainText("6 mm screws");
  await expect(fromPdf.locator(".citations a").first()).toHaveAttribute("href", /\/kb\/demo\/files\/[0-9a-f-]+\/outdoor-installation\.pdf#page=1$/);

  const fromSnippet = await ask(chat, "Is there a student discount?", 2);
  await expect(fromSnippet).toContainText("20% off");
  const snippetLink = fromSnippet.locator(".citations a").first();
  await expect(snippetLink).toHaveAttribute("href", /\/kb\/demo\/snippets\/[0-9a-f-]+$/);
  await visitor.screenshot({ path: "test-results/screenshots/widget-new-knowledge.png" });

  // The cited snippet and PDF pages serve their content.
  const snippetPage = await visitor.context().newPage();
  await snippetPage.goto((await snippetLink.getAttribute("href"))!);
  await expect(snippetPage.getByRole("heading", { name: "Do you offer a student discount?" })).toBeVisible();
  const pdfResponse = await visitor.request.get((await fromPdf.locator(".citations a").first().getAttribute("href"))!);
  expect(pdfResponse.headers()["content-type"]).toBe("application/pdf");

  expect(errors.flat()).toEqual([]);
});
