// `bridge access` and `bridge user <id>` against the sandbox through the local host: the sandbox's rules resolved
// with their ids, a rule naming a missing team shown with its fix (exit code 1), a user's access beside what the
// rules would change, and a dry run's access entries in `runs show`.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SANDBOX_ACCESS, SANDBOX_GROUPS, sandboxAccessRules } from "../../dev/sandbox/seed-access.js";
import type { BridgeEnvironment } from "../support/bridge-env.js";
import { startCliSandbox, type CliSandbox } from "../support/cli-sandbox.js";

let env: BridgeEnvironment;
const { roles, teams, units } = SANDBOX_ACCESS;
const RULES = [...sandboxAccessRules(), { group: SANDBOX_GROUPS.sales.id, teams: ["No Such Team"] }];

let cli: CliSandbox;
beforeAll(async () => {
  cli = await startCliSandbox({ seed: { users: 12, existingShare: 1 }, env: { ACCESS_RULES: JSON.stringify(RULES) } });
  ({ env } = cli);
});
afterAll(async () => {
  await cli?.stop();
});

const bridge = (...args: string[]) => cli.bridge(...args);

describe("bridge access and bridge user", () => {
  it("access: each rule resolved with its ids; the missing team named with its fix; exit code 1", async () => {
    const org = env.sandbox.dataverse[0]!;
    const text = await bridge("access");
    expect(text.code).toBe(1);
    expect(text.out).toContain(org.url);
    expect(text.out).toContain(`rule 0  ok  group: ${SANDBOX_GROUPS.sales.displayName} (4 direct members) [${SANDBOX_GROUPS.sales.id}]`);
    const salesUnit = [...org.org.access.units.values()].find((u) => u.name === units.sales)!;
    expect(text.out).toContain(`business unit: ${units.sales} [${salesUnit.businessunitid}]`);
    expect(text.out).toMatch(new RegExp(`roles: ${roles.salesperson} \\[[0-9a-f-]{36}\\]; ${roles.basicUser} \\[[0-9a-f-]{36}\\]`));
    expect(text.out).toMatch(/rule 2 {2}partial/);
    expect(text.out).toContain('No Such Team — PROBLEM: ACCESS_RULES[2]: team "No Such Team" does not exist; create an owner team with that name or fix the name');
    const json = JSON.parse((await bridge("--json", "access")).out);
    expect(json.orgs[0].rules).toHaveLength(3);
    expect(json.orgs[0].rules[1]).toMatchObject({ status: "ok", teams: [{ name: teams.service, id: expect.stringMatching(/^[0-9a-f-]{36}$/) }] });
  });

  it("user: the access held now beside what the rules would change, and after a run nothing", async () => {
    const salesMember = env.sandbox.tenant.directory.membersOf(SANDBOX_GROUPS.sales.id)[0]!;
    const upn = env.sandbox.tenant.directory.users.get(salesMember)!.userPrincipalName;
    const before = await bridge("user", upn);
    expect(before.code).toBe(0);
    expect(before.out).toContain("matches: rules 0, 2");
    expect(before.out).toMatch(new RegExp(`the rules would change: business unit: [^;]+ → ${units.sales}; roles: \\+(${roles.salesperson}|${roles.basicUser}), \\+(${roles.salesperson}|${roles.basicUser}); teams: \\+${teams.sales}`));
    const dry = await bridge("sync", "--dry-run", "--wait", "--mode", "full");
    // The member's own entry carries the access (an update with it, or access alone).
    expect(dry.out).toMatch(new RegExp(`(access ${salesMember}\\s+|update .*<${upn.replace(/\./g, "\\.")}>\\s+.*; access: )business unit: [^;]+ → ${units.sales}`));
    expect((await bridge("sync", "--wait", "--mode", "full")).out).toContain("succeeded");
    const after = JSON.parse((await bridge("--json", "user", upn)).out);
    expect(after.orgs[0].access).toMatchObject({ matchedRules: [0, 2], planned: null, current: { businessUnit: { name: units.sales } } });
    expect(after.orgs[0].access.current.roles.map((r: { name: string }) => r.name).sort()).toEqual([roles.basicUser, roles.salesperson]);
    expect((await bridge("user", upn)).out).toMatch(new RegExp(`teams: .*${teams.sales} \\[[0-9a-f-]{36}\\]`));
  });
});
