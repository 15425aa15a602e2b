// One online and one on-premises org side by side, end to end: the bridge gets the on-premises org's token from
// AD FS (openid-client over HTTPS), reads Graph with the on-premises attributes, and each org converges in its
// own identity form. A changed sAMAccountName is remapped on the on-premises org in two steps; the direct rename
// is refused by the emulator as the platform refuses it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adObjectGuid, type DirectoryUser } from "../../dev/sandbox/directory.js";
import type { DataverseOrg, SystemUserRecord } from "../../dev/sandbox/dataverse/index.js";
import type { SyncRuns } from "../../shared/sync/sync-runs.js";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import { expectConverged } from "../sync/sync-helpers.js";

let env: BridgeEnvironment;
let runs: SyncRuns;
let root: import("../../shared/bridge.js").Bridge;
let cloudOnly: DirectoryUser;
const domainHistory = new Map<string, string[]>();

beforeAll(async () => {
  env = await startBridgeEnvironment({
    seed: { users: 20 },
    onPremisesOrgs: 1,
    // The temporary account for both forms: a disabled AD account (never provisioned, never signs in).
    env: { SYNC_DISABLE_THRESHOLD: "50", REMAP_PLACEHOLDER_USERS: "remap.temp@contoso.com,CONTOSO\\remaptemp" },
  });
  const directory = env.sandbox.tenant.directory;
  directory.addUser({ userPrincipalName: "remap.temp@contoso.com", accountEnabled: false, onPremisesSamAccountName: "remaptemp", onPremisesDomainName: "contoso.local" });
  cloudOnly = directory.addUser({ userPrincipalName: "cloud.only@contoso.com", givenName: "Cloud", surname: "Only", accountEnabled: true });
  // Record every domainname the on-premises emulator accepts, to see the remap's steps.
  const org = onPrem();
  const update = org.update.bind(org);
  org.update = (id, changes, journal) => {
    const rec = update(id, changes, journal);
    if ("domainname" in changes) domainHistory.set(id, [...(domainHistory.get(id) ?? []), String(rec.domainname)]);
    return rec;
  };
  root = (await import("../support/test-bridge.js")).testBridge();
  runs = root.syncRuns;
});
afterAll(async () => { await env?.stop(); });

const online = () => env.sandbox.dataverse[0]!.org;
const onPrem = () => env.sandbox.onPremises[0]!.org;

async function runSync(org: DataverseOrg, mode?: "full" | "incremental") {
  const run = await runs.start({ trigger: "test", org: org.url, mode });
  const report = await runs.execute({ org: run.org, runId: run.runId });
  return { ...report, changes: (await runs.get(run.runId)).changes };
}

const adUsers = () => [...env.sandbox.tenant.directory.users.values()].filter((u) => u.state === "active" && u.onPremisesSyncEnabled === true);
const byGuid = (org: DataverseOrg, guid: string): SystemUserRecord[] => [...org.users.values()].filter((r) => r.activedirectoryguid === guid);

/** On-premises convergence, computed independently of the product: one record per enabled AD user, CONTOSO\sam. */
function expectOnPremisesConverged(): void {
  for (const user of adUsers()) {
    const records = byGuid(onPrem(), adObjectGuid(user)!);
    if (!user.accountEnabled) { for (const r of records) expect(r.isdisabled).toBe(true); continue; }
    expect(records, `${user.onPremisesSamAccountName} has one record`).toHaveLength(1);
    const r = records[0]!;
    expect({ domainname: r.domainname, firstname: r.firstname, lastname: r.lastname, jobtitle: r.jobtitle, isdisabled: r.isdisabled, azureactivedirectoryobjectid: r.azureactivedirectoryobjectid })
      .toEqual({ domainname: `CONTOSO\\${user.onPremisesSamAccountName}`, firstname: user.givenName, lastname: user.surname, jobtitle: user.jobTitle, isdisabled: false, azureactivedirectoryobjectid: null });
  }
  expect([...onPrem().users.values()].some((r) => r.firstname === "Cloud" && r.lastname === "Only")).toBe(false);
}

describe("online + on-premises orgs", () => {
  it("the sandbox describes both orgs in DATAVERSE_ORGS, the on-premises one with its AD FS application", () => {
    const orgs = JSON.parse(env.sandbox.env.DATAVERSE_ORGS!) as Array<Record<string, unknown>>;
    expect(orgs.map((o) => o.kind)).toEqual(["online", "onpremises"]);
    expect(orgs[1]).toMatchObject({ url: onPrem().url, authority: `${env.sandbox.adfs!.url}/adfs`, credentialSecretName: "bridge-adfs-credential", netbiosDomains: { "contoso.local": "CONTOSO" } });
  });

  it("one run per org converges both, each in its own identity form", async () => {
    const issuedBefore = env.sandbox.adfs!.emulator.issued;
    const onlineReport = await runSync(online());
    const onPremReport = await runSync(onPrem());
    expect(onlineReport).toMatchObject({ state: "succeeded", counts: { failed: 0 } });
    expect(onPremReport).toMatchObject({ state: "succeeded", counts: { failed: 0 } });
    expectConverged(env.sandbox, online());
    expectOnPremisesConverged();
    expect(onPremReport.counts.created).toBe(adUsers().filter((u) => u.accountEnabled).length - Math.floor(20 * 0.6));
    // The on-premises org was reached with an AD FS token, once for the whole run (cached).
    expect(env.sandbox.adfs!.emulator.issued - issuedBefore).toBe(1);
    expect(env.sandbox.onPremises[0]!.knobs.count((r) => r.url.startsWith("/api/data/v9.1/"))).toBeGreaterThan(0);
    expect(env.sandbox.onPremises[0]!.knobs.count((r) => r.url.startsWith("/api/data/v9.2/"))).toBe(0);
    // The cloud-only user exists online only.
    expect([...online().users.values()].filter((r) => r.azureactivedirectoryobjectid === cloudOnly.id.toLowerCase())).toHaveLength(1);
  });

  it("a second run writes nothing to the on-premises org", async () => {
    const writes = onPrem().stats.writes;
    const report = await runSync(onPrem());
    expect(report.counts).toMatchObject({ created: 0, updated: 0, disabled: 0, enabled: 0, remapped: 0, failed: 0 });
    expect(onPrem().stats.writes).toBe(writes);
  });

  it("a changed sAMAccountName is remapped on-premises through the temporary AD account; the direct rename is refused", async () => {
    const user = adUsers().find((u) => u.accountEnabled && u.onPremisesSamAccountName !== "remaptemp")!;
    const [record] = byGuid(onPrem(), adObjectGuid(user)!);
    const oldName = record!.domainname!;
    env.sandbox.tenant.directory.updateUser(user.id, { onPremisesSamAccountName: `${user.onPremisesSamAccountName}2` });
    const newName = `CONTOSO\\${user.onPremisesSamAccountName}`;

    // The platform's rule, over HTTPS with the bridge's own client and AD FS token: the new name's AD account is
    // the one the record already holds, so the direct rename is refused.
    await expect(root.dataverse.get(onPrem().url).updateSystemUser(record!.systemuserid, { domainname: newName }))
      .rejects.toThrow(/already exists as a Dynamics 365 user/);
    expect(record!.domainname).toBe(oldName);
    domainHistory.clear();

    const report = await runSync(onPrem());
    expect(report).toMatchObject({ state: "succeeded", counts: { remapped: 1, failed: 0 } });
    const after = onPrem().get(record!.systemuserid)!;
    expect(after.domainname).toBe(newName);
    expect(after.activedirectoryguid).toBe(adObjectGuid(user));
    expect(domainHistory.get(record!.systemuserid)).toEqual(["CONTOSO\\remaptemp", newName]);
    expect(report.changes.find((c) => c.action === "remap")).toMatchObject({ objectId: adObjectGuid(user), columns: [{ column: "domainname", old: oldName, new: newName }] });
    expectOnPremisesConverged();
    // The online org is untouched by the sAMAccountName change (its users are named by UPN).
    const onlineWrites = online().stats.writes;
    expect((await runSync(online())).counts).toMatchObject({ remapped: 0, updated: 0, failed: 0 });
    expect(online().stats.writes).toBe(onlineWrites);
  });

  it("a user who stops being synced from AD is disabled on-premises only", async () => {
    const user = adUsers().find((u) => u.accountEnabled && u.onPremisesSamAccountName !== "remaptemp")!;
    env.sandbox.tenant.directory.updateUser(user.id, { onPremisesSyncEnabled: false });
    const report = await runSync(onPrem());
    expect(report.counts).toMatchObject({ disabled: 1, failed: 0 });
    expect(byGuid(onPrem(), adObjectGuid(user)!)[0]!.isdisabled).toBe(true);
    expect((await runSync(online())).counts).toMatchObject({ disabled: 0 });
  });

  it("provision on demand creates a new AD user in both orgs, each in its own form; a cloud-only user online only", async () => {
    const { syncOneUser } = await import("../../shared/sync/sync-one-user.js");
    const directory = env.sandbox.tenant.directory;
    const hire = directory.addUser({ userPrincipalName: "new.hire@contoso.com", givenName: "New", surname: "Hire", onPremisesSamAccountName: "nhire", onPremisesDomainName: "contoso.local" });
    const result = await syncOneUser(hire.id, root.oneUser("test"));
    expect(result.orgs.map((o) => ("action" in o.change ? o.change.action : undefined))).toEqual(["create", "create"]);
    expect(online().findByObjectId(hire.id)?.domainname).toBe("new.hire@contoso.com");
    expect(byGuid(onPrem(), adObjectGuid(hire)!).map((r) => r.domainname)).toEqual(["CONTOSO\\nhire"]);

    const cloud = directory.addUser({ userPrincipalName: "cloud.two@contoso.com", givenName: "Cloud", surname: "Two" });
    const second = await syncOneUser(cloud.id, root.oneUser("test"));
    expect(second.orgs.map((o) => o.change.action)).toEqual(["create", "none"]);
  });

  it("a user whose source anchor is not a GUID is matched by domainname and kept by a full round", async () => {
    const user = adUsers().find((u) => u.accountEnabled && u.onPremisesSamAccountName !== "remaptemp" && byGuid(onPrem(), adObjectGuid(u)!).length === 1)!;
    const [record] = byGuid(onPrem(), adObjectGuid(user)!);
    // A custom source anchor (e.g. employeeID): the immutable id no longer carries the objectGUID.
    env.sandbox.tenant.directory.updateUser(user.id, { onPremisesImmutableId: Buffer.from("employee-42").toString("base64"), jobTitle: "Moved" });
    const report = await runSync(onPrem(), "full");
    expect(report.counts).toMatchObject({ updated: 1, disabled: 0, failed: 0 });
    expect(onPrem().get(record!.systemuserid)).toMatchObject({ isdisabled: false, jobtitle: "Moved", domainname: record!.domainname });
  });
});
