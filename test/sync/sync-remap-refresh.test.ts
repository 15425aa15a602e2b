// After a remap during sync (issue #11 item 11): the platform refreshes names and mail from the directory once a
// domainname changes, so the sync re-reads the record before writing its other columns — no no-op PATCH.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DataverseOrg } from "../../dev/sandbox/dataverse/index.js";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import { recordsOf } from "./sync-helpers.js";

const PLACEHOLDERS = ["remap-temp-1@contoso.com", "remap-temp-2@contoso.com"];
let env: BridgeEnvironment;
let org: DataverseOrg;
/** Every update the org received, with what it changed, and whether it changed anything at all. */
const updates: Array<{ id: string; changes: Record<string, unknown>; noop: boolean }> = [];

beforeAll(async () => {
  env = await startBridgeEnvironment({ seed: { users: 0 }, env: { REMAP_PLACEHOLDER_USERS: PLACEHOLDERS.join(",") } });
  org = env.sandbox.dataverse[0]!.org;
  for (const upn of PLACEHOLDERS) env.sandbox.tenant.directory.addUser({ userPrincipalName: upn, accountEnabled: false });
  const update = org.update.bind(org);
  org.update = (id, changes, journal) => {
    const before = org.users.get(id);
    const noop = before !== undefined && Object.entries(changes).every(([column, value]) =>
      String((before as unknown as Record<string, unknown>)[column] ?? "").toLowerCase() === String(value ?? "").toLowerCase());
    updates.push({ id, changes: { ...changes }, noop });
    return update(id, changes, journal);
  };
});
afterAll(async () => { await env?.stop(); });

describe("remap during sync", () => {
  it("the emulator refreshes names and mail from the directory when a domainname changes", () => {
    const dir = env.sandbox.tenant.directory;
    const u = dir.addUser({ userPrincipalName: "probe@contoso.com", givenName: "Pro", surname: "Be", mail: "probe@contoso.com" });
    const rec = org.addSystemUser({ domainname: u.userPrincipalName, firstname: "Pro", lastname: "Be" });
    dir.updateUser(u.id, { userPrincipalName: "probe@fabrikam.com", mail: "probe@fabrikam.com", surname: "Bee" });
    org.update(rec.systemuserid, { domainname: "probe@fabrikam.com" });
    expect(org.users.get(rec.systemuserid)).toMatchObject({ domainname: "probe@fabrikam.com", internalemailaddress: "probe@fabrikam.com", lastname: "Bee", azureactivedirectoryobjectid: u.id });
  });

  it("a UPN change whose mail follows it: remapped, and no PATCH re-sends what the platform already set", async () => {
    const root = (await import("../support/test-bridge.js")).testBridge();
  const syncRuns = () => root.syncRuns;
    const runs = syncRuns();
    const dir = env.sandbox.tenant.directory;
    const ann = dir.addUser({ userPrincipalName: "ann@contoso.com", givenName: "Ann", surname: "Lee", mail: "ann@contoso.com", jobTitle: "Clerk" });
    const first = await runs.start({ trigger: "test", mode: "full" });
    expect((await runs.execute({ org: first.org, runId: first.runId })).state).toBe("succeeded");
    const [record] = recordsOf(org, ann.id);
    expect(record).toMatchObject({ domainname: "ann@contoso.com", internalemailaddress: "ann@contoso.com" });

    dir.updateUser(ann.id, { userPrincipalName: "ann@fabrikam.com", mail: "ann@fabrikam.com", jobTitle: "Manager" });
    updates.length = 0;
    const second = await runs.start({ trigger: "test" });
    const report = await runs.execute({ org: second.org, runId: second.runId });
    expect(report).toMatchObject({ state: "succeeded", counts: expect.objectContaining({ remapped: 1, failed: 0 }) });
    expect(recordsOf(org, ann.id)[0]).toMatchObject({ domainname: "ann@fabrikam.com", internalemailaddress: "ann@fabrikam.com", jobtitle: "Manager" });
    const mine = updates.filter((u) => u.id === record!.systemuserid);
    expect(mine.filter((u) => u.noop)).toEqual([]);
    // The title still had to be written, and was; the mail was not sent again.
    const afterRemap = mine.slice(mine.findIndex((u) => u.changes.domainname === "ann@fabrikam.com") + 1);
    expect(afterRemap.map((u) => u.changes)).toEqual([{ jobtitle: "Manager" }]);
  });

  it("the sync never sends a read-only column (the platform would ignore it)", () => {
    expect(org.stats.ignoredColumns).toEqual({});
  });
});
