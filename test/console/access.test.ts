// The console's access views in Chromium against the sandbox with ACCESS_RULES (the sandbox's two rules and one
// naming a missing team): the Access page lists each rule resolved with its ids and the problem with its fix; the
// Users page shows a rule-group member's unit, roles and teams beside what the rules would change; a dry run's
// report lists the access plan old → new. axe-core finds no serious or critical violation on any of them.
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { SANDBOX_ACCESS, SANDBOX_GROUPS, sandboxAccessRules } from "../../dev/sandbox/seed-access.js";
import { accessibilityViolations, CHROMIUM, screenshot, signIn, startConsoleHarness, type ConsoleHarness } from "./browser.js";

let h: ConsoleHarness;
let page: Page;
const { roles, teams, units } = SANDBOX_ACCESS;
const RULES = [...sandboxAccessRules(), { group: SANDBOX_GROUPS.sales.id, teams: ["No Such Team"] }];

beforeAll(async () => {
  h = await startConsoleHarness({ seed: { users: 20, existingShare: 1 }, env: { ACCESS_RULES: JSON.stringify(RULES) } });
  const context = await h.browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
}, 120_000);
afterAll(async () => { await h?.stop(); });

async function expectAccessible(name: string): Promise<void> {
  await screenshot(page, name);
  expect(await accessibilityViolations(page), name).toEqual([]);
}

describe.runIf(existsSync(CHROMIUM))("console: access", () => {
  it("the Access page: every rule resolved with its ids, or the problem with its fix", async () => {
    await signIn(page, `${h.base}/api/console/access`);
    await page.getByRole("link", { name: "Access" }).click();
    const section = page.getByRole("region", { name: `Access in ${h.env.sandbox.dataverse[0]!.url}` });
    await section.waitFor();
    const rows = section.locator("tbody tr");
    expect(await rows.count()).toBe(3);
    const sales = await rows.nth(0).innerText();
    expect(sales).toContain(`${SANDBOX_GROUPS.sales.displayName} (4)`);
    const salesUnit = [...h.env.sandbox.dataverse[0]!.org.access.units.values()].find((u) => u.name === units.sales)!;
    expect(sales).toContain(`${units.sales} ${salesUnit.businessunitid}`);
    expect(sales).toContain(roles.salesperson);
    expect(sales).toContain(teams.sales);
    expect(sales).toMatch(/\bok$/m);
    const broken = await rows.nth(2).innerText();
    expect(broken).toContain('team "No Such Team" does not exist; create an owner team with that name or fix the name');
    expect(broken).toContain("partial");
    expect(await section.innerText()).toContain("1 problem(s)");
    await expectAccessible("20-access");
  });

  it("the Users page: a member's access now beside what the rules would change", async () => {
    const member = h.env.sandbox.tenant.directory.users.get(h.env.sandbox.tenant.directory.membersOf(SANDBOX_GROUPS.service.id)[0]!)!;
    await page.getByRole("link", { name: "Users" }).click();
    await page.getByLabel("User principal name or object id").fill(member.userPrincipalName);
    await page.getByRole("button", { name: "Look up" }).click();
    const access = page.getByRole("region", { name: `Access in ${h.env.sandbox.dataverse[0]!.url}` });
    await access.waitFor();
    const text = await access.innerText();
    expect(text).toContain("Matches: ACCESS_RULES[1].");
    expect(text).toMatch(new RegExp(`business unit: .+ → ${units.service}`));
    expect(text).toContain(`+ ${teams.service}`);
    expect(text).toContain(`+ ${roles.customerService}`);
    await expectAccessible("21-user-access");
  });

  it("a dry run's report lists the access plan old → new", async () => {
    const org = h.env.sandbox.dataverse[0]!.org;
    const before = structuredClone({ writes: org.stats.writes, access: org.stats.access });
    await page.getByRole("link", { name: "Runs" }).click();
    await page.locator("#start-mode").selectOption("full");
    await page.locator("#start-dry-run").check();
    await page.getByRole("button", { name: "Start" }).click();
    await page.getByRole("heading", { name: "Dry run plan" }).waitFor();
    await page.locator(".state-succeeded").waitFor({ timeout: 60_000 });
    const accessRows = page.locator("table").last().locator("tbody tr").filter({ hasText: /business unit: / });
    // Every rule-group member (4 sales, 3 service) has a planned access change, on their own entry (an update) or alone.
    expect(await accessRows.count()).toBe(7);
    expect(await page.locator("table").last().locator("tbody tr").filter({ has: page.getByRole("cell", { name: "update", exact: true }), hasText: /business unit: / }).count()).toBeGreaterThan(0);
    for (const row of await accessRows.all()) expect(await row.innerText()).toMatch(/planned[\s\S]*business unit: .+ → (Sales|Service)\n\s*roles: \+ /);
    await expectAccessible("22-dry-run-access");
    // A dry run writes nothing.
    expect({ writes: org.stats.writes, access: org.stats.access }).toEqual(before);
  });
});
