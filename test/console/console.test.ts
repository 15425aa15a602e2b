// The admin console in a real browser (Debian's Chromium via playwright-core) against the sandbox: sign in
// with auth code + PKCE at the emulated Entra, read a dry run's plan and page through its 1,000+ changes,
// approve a halted run and watch it finish, look a user up, remap one. axe-core finds no serious or critical
// violation on any page; a screenshot of each page goes to test-artifacts/console/.
import { existsSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import { accessibilityViolations, CHROMIUM, screenshot, signIn, startConsoleHarness, type ConsoleHarness } from "./browser.js";
import { waitFor } from "../support/wait-for.js";

const USERS = 1_100;
let h: ConsoleHarness;
let context: BrowserContext;
let page: Page;
let admin: string;
const cspViolations: string[] = [];

beforeAll(async () => {
  h = await startConsoleHarness({ seed: { users: USERS, existingShare: 0.05 }, env: { SYNC_DISABLE_THRESHOLD: "3", REMAP_PLACEHOLDER_USERS: "remap.placeholder@contoso.com" } });
  admin = await h.env.sandbox.adminToken();
  context = await h.browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on("console", (message) => { if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text()); });
}, 120_000);
afterAll(async () => { await h?.stop(); });

async function api(path: string, init: RequestInit = {}): Promise<any> {
  const response = await fetch(`${h.base}${path}`, { ...init, headers: { authorization: `Bearer ${admin}`, "content-type": "application/json", ...init.headers } });
  return response.json();
}

async function runToEnd(body: object): Promise<any> {
  const { runId } = await api("/api/sync", { method: "POST", body: JSON.stringify(body) });
  return waitFor(async () => {
    const report = await api(`/api/sync/runs/${runId}?limit=1`);
    return ["queued", "running"].includes(report.state) ? undefined : report;
  }, 120_000, 250);
}

async function expectAccessible(name: string): Promise<void> {
  await screenshot(page, name);
  expect(await accessibilityViolations(page), name).toEqual([]);
}

describe.runIf(existsSync(CHROMIUM))("admin console in Chromium", () => {
  it("serves the console with a strict Content-Security-Policy", async () => {
    const response = await fetch(`${h.base}/api/console/`);
    const csp = response.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).toContain(`connect-src 'self' ${h.env.sandbox.entra.url}`);
    expect(await response.text()).not.toMatch(/<script>|<style>|style="/);
  });

  it("signs the admin in with Entra (authorization code + PKCE) and shows the overview", async () => {
    const authorize = await signIn(page, `${h.base}/api/console/`);
    expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
    await page.getByRole("heading", { name: "Organizations" }).waitFor();
    await page.getByText("Demo Admin").waitFor();
    expect(await page.locator("article.card").count()).toBe(1);
    await page.getByText("idle").first().waitFor();
    await expectAccessible("01-overview");
  });

  it("starts a dry run from the Runs page and reads its plan", async () => {
    await page.getByRole("link", { name: "Runs" }).click();
    await page.getByRole("heading", { name: "Start a run" }).waitFor();
    await expectAccessible("02-runs");
    await page.locator("#start-dry-run").check();
    await page.getByRole("button", { name: "Start" }).click();
    await page.getByRole("heading", { name: "Dry run plan" }).waitFor();
    await page.locator(".state-succeeded").waitFor({ timeout: 60_000 });
    const rows = page.locator("table").last().locator("tbody tr");
    expect(await rows.count()).toBe(50);
    // The plan lists each user's planned action (the seed holds both new users and stale records).
    expect(await rows.first().innerText()).toMatch(/\b(create|update)\b\s+planned/);
    expect(await page.locator("table").last().innerText()).toContain("→");
    // People first: each row names the user (display name, then logon); the ids are one click away.
    const firstUser = rows.first().locator("td").first();
    expect(await firstUser.locator(".person-name").innerText()).toMatch(/^[A-Z][A-Za-z'-]+ [A-Z][A-Za-z'-]+$/);
    expect(await firstUser.locator(".person-logon").innerText()).toMatch(/@contoso\.com$/);
    expect(await firstUser.locator("details.ids").getAttribute("open")).toBeNull();
    expect(await firstUser.locator("details.ids ul").isVisible()).toBe(false);
    await firstUser.locator("details.ids summary").click();
    expect(await firstUser.locator("details.ids ul").innerText()).toMatch(/Directory object: [0-9a-f-]{36}/);
    await expectAccessible("03-dry-run-plan");
  });

  it("pages through the run's 1,000+ changes", async () => {
    const position = page.locator("#page-position");
    const total = Number(/of (\d+)/.exec(await position.innerText())![1]);
    expect(total).toBeGreaterThanOrEqual(1_000);
    let pages = 1;
    const next = page.getByRole("button", { name: "Next page of changes" });
    while (await next.isEnabled()) {
      const before = await position.innerText();
      await next.click();
      await page.waitForFunction((text) => (globalThis as any).document.getElementById("page-position")?.textContent !== text, before);
      pages++;
    }
    expect(pages).toBe(Math.ceil(total / 50));
    expect(await position.innerText()).toBe(`${(pages - 1) * 50 + 1}–${total} of ${total}`);
    await screenshot(page, "04-last-page-of-changes");
  });

  it("filters the run's changes by action and person, and exports them as CSV", async () => {
    const runId = /runs\/([0-9a-f-]{36})/.exec(page.url())![1]!;
    const report = await api(`/api/sync/runs/${runId}?limit=1`);
    await page.getByLabel("Action").selectOption("update");
    await page.getByRole("button", { name: "Filter", exact: true }).click();
    await page.locator("#filter-result").waitFor();
    expect(await page.locator("#filter-result").innerText()).toBe(`${report.counts.updated} matching change${report.counts.updated === 1 ? "" : "s"}.`);
    for (const action of await page.locator("table").last().locator("tbody tr td:nth-child(2)").allInnerTexts()) expect(action).toBe("update");
    // One person, by part of their logon, over every page of the 1,000+ changes.
    const user = [...h.env.sandbox.tenant.directory.users.values()].find((u) => u.state === "active" && u.accountEnabled)!;
    await page.getByLabel("Action").selectOption("");
    await page.getByLabel("Person").fill(user.userPrincipalName.toUpperCase());
    await page.getByRole("button", { name: "Filter", exact: true }).click();
    await page.waitForFunction(() => (globalThis as any).document.getElementById("filter-result")?.textContent === "1 matching change.");
    expect(await page.locator("table").last().locator("tbody tr").innerText()).toContain(user.userPrincipalName);
    await expectAccessible("04b-filtered-changes");
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export CSV" }).click()]);
    expect(download.suggestedFilename()).toBe(`run-${runId}.csv`);
    const csv = readFileSync((await download.path())!, "utf8");
    const lines = csv.trimEnd().split("\r\n");
    expect(lines[0]).toBe("action,displayName,logon,outcome,reason,columns,access,accessOutcome,error,objectId,systemUserId");
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(`,${user.userPrincipalName},`);
    expect(lines[1]).toContain(user.id);
    // Cleared, the export holds every change of the run.
    await page.getByRole("button", { name: "Clear" }).click();
    await page.locator("#filter-result").waitFor({ state: "detached" });
    const [all] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export CSV" }).click()]);
    expect(readFileSync((await all.path())!, "utf8").trimEnd().split("\r\n")).toHaveLength(report.changesTotal + 1);
  });

  it("shows a halted run with its planned disables; Approve lets it finish", async () => {
    expect((await runToEnd({})).state).toBe("succeeded");
    const directory = h.env.sandbox.tenant.directory;
    const deleted = [...directory.users.values()].slice(0, 5);
    for (const user of deleted) directory.deleteUser(user.id);
    expect((await runToEnd({})).state).toBe("halted");
    await page.getByRole("link", { name: "Overview" }).click();
    await page.getByRole("heading", { name: "Halted run waiting for approval" }).waitFor();
    expect(await page.locator("section.card table tbody tr").count()).toBe(5);
    // The planned disables name the people (recorded at plan time: the users are gone from the directory).
    const planned = await page.locator("section.card table").innerText();
    for (const user of deleted) expect(planned).toContain(user.userPrincipalName);
    await expectAccessible("05-halted-run");
    await page.getByRole("button", { name: /^Approve 5 disables/ }).click();
    await page.locator("section.card .state-succeeded").waitFor({ timeout: 60_000 });
    expect(await page.locator("section.card").last().innerText()).toContain("disabled 5");
    await screenshot(page, "06-approved-run-finished");
  });

  it("looks a user up, directory beside Dataverse, and syncs them now", async () => {
    const user = [...h.env.sandbox.tenant.directory.users.values()].find((u) => u.state === "active")!;
    await page.getByRole("link", { name: "Users" }).click();
    await page.getByLabel("User principal name or object id").fill(user.userPrincipalName);
    await page.getByRole("button", { name: "Look up" }).click();
    await page.getByRole("heading", { name: user.userPrincipalName }).waitFor();
    expect(await page.locator("table").first().innerText()).toContain("domainname");
    await page.getByRole("button", { name: "Sync this user now" }).click();
    await page.getByText(/Synced:/).waitFor();
    await expectAccessible("07-users");
  });

  it("previews and applies a one-user remap", async () => {
    const directory = h.env.sandbox.tenant.directory;
    const user = [...directory.users.values()].filter((u) => u.state === "active").at(-1)!;
    const oldName = user.userPrincipalName;
    const newName = oldName.replace("@contoso.com", "@fabrikam.com");
    directory.updateUser(user.id, { userPrincipalName: newName });
    // The temporary name of the remap's first step: a directory account no Dataverse user holds.
    directory.addUser({ userPrincipalName: "remap.placeholder@contoso.com", displayName: "Remap placeholder", accountEnabled: true });
    await page.getByRole("link", { name: "Remap" }).click();
    await page.getByLabel("User", { exact: true }).fill(oldName);
    await page.getByLabel("New logon name").fill(newName);
    await page.getByRole("button", { name: "Preview" }).click();
    await page.getByRole("heading", { name: "Preview" }).waitFor({ timeout: 10_000 }).catch(async (error: unknown) => {
      throw new Error(`${(error as Error).message}\n${await page.locator("main").innerText()}`);
    });
    await page.getByRole("button", { name: "Remap", exact: true }).click();
    await page.getByRole("heading", { name: "Done" }).waitFor();
    const record = h.env.sandbox.dataverse[0]!.org;
    expect([...record.users.values()].some((r) => r.domainname === newName)).toBe(true);
    await expectAccessible("08-remap");
  });

  it("plans a bulk suffix remap, applies it and follows its progress", async () => {
    const directory = h.env.sandbox.tenant.directory;
    const targets = [...directory.users.values()].filter((u) => u.state === "active" && /09@contoso\.com$/.test(u.userPrincipalName));
    expect(targets.length).toBeGreaterThan(1);
    for (const user of targets) directory.updateUser(user.id, { userPrincipalName: user.userPrincipalName.replace("@contoso.com", "@fabrikam.com") });
    await page.getByLabel("From suffix").fill("09@contoso.com");
    await page.getByLabel("To suffix").fill("09@fabrikam.com");
    await page.getByRole("button", { name: "Plan" }).click();
    await page.getByRole("button", { name: "Apply this plan" }).waitFor();
    expect(await page.locator("table").last().locator("tbody tr").count()).toBe(targets.length);
    await screenshot(page, "08b-bulk-plan");
    await page.getByRole("button", { name: "Apply this plan" }).click();
    await page.locator("#bulk-progress .state-succeeded").waitFor({ timeout: 60_000 });
    const progress = page.getByRole("progressbar", { name: "Bulk remap progress" });
    expect(await progress.getAttribute("value")).toBe(String(targets.length));
    const names = new Set([...h.env.sandbox.dataverse[0]!.org.users.values()].map((r) => r.domainname));
    for (const user of targets) expect(names.has(directory.users.get(user.id)!.userPrincipalName)).toBe(true);
    await expectAccessible("08c-bulk-applied");
  });

  it("an account without the admin role is told so", async () => {
    const other = await h.browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 700 } });
    const reader = await other.newPage();
    await signIn(reader, `${h.base}/api/console/`, /Demo Reader/);
    await reader.getByRole("alert").waitFor();
    expect(await reader.getByRole("alert").innerText()).toContain("lacks the Bridge.Admin app role");
    await reader.screenshot({ path: "test-artifacts/console/12-no-admin-role.png" });
    await other.close();
  });

  it("callers and notifications pages; usable at phone width", async () => {
    await page.getByRole("link", { name: "Callers" }).click();
    await page.getByRole("heading", { name: "Callers" }).waitFor();
    await page.waitForFunction(() => !(globalThis as any).document.body.innerText.includes("Loading…"));
    // Each seeded caller acts as its own application user, shown with its roles from the sandbox Dataverse.
    await page.getByRole("cell", { name: "Reporting Reader" }).first().waitFor();
    expect(await page.getByRole("cell", { name: "present, enabled" }).count()).toBeGreaterThan(0);
    await expectAccessible("09-callers");
    await page.getByRole("link", { name: "Notifications" }).click();
    await page.getByText("Webhooks").waitFor();
    await expectAccessible("10-notifications");
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole("link", { name: "Overview" }).click();
    await page.getByRole("heading", { name: "Organizations" }).waitFor();
    expect(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")).toBe(true);
    await expectAccessible("11-overview-phone");
    expect(cspViolations).toEqual([]);
  });
});
