// A sync that runs while a remap has a user's record on the temporary account (a live remap, or one cut off whose
// lease has not lapsed): the record is invisible under the user's object id, so the user looks new. Found by the
// chaos soak (seed 7): the run created a second record for the user, and the remap's step 2 was then refused
// (the new record held the user), leaving the old record stuck on the temporary account.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { DataverseOrg } from "../../dev/sandbox/dataverse/index.js";
import { remapUser } from "../../shared/remap/remap-user.js";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import { testBridge } from "../support/test-bridge.js";
import { recordsOf } from "./sync-helpers.js";

const PLACEHOLDER = "remap-temp-1@contoso.com";
let env: BridgeEnvironment;
let org: DataverseOrg;

beforeAll(async () => {
  env = await startBridgeEnvironment({ seed: { users: 0 }, env: { REMAP_PLACEHOLDER_USERS: PLACEHOLDER } });
  org = env.sandbox.dataverse[0]!.org;
  env.sandbox.tenant.directory.addUser({ userPrincipalName: PLACEHOLDER, accountEnabled: false });
});
afterAll(async () => {
  await env?.stop();
});

it("creates no second record for a user whose record a remap holds on the temporary account, and finishes later", async () => {
  const dir = env.sandbox.tenant.directory;
  const user = dir.addUser({ userPrincipalName: "mid.remap@contoso.com", givenName: "Mid", surname: "Remap" });
  const rec = org.addSystemUser({
    domainname: user.userPrincipalName,
    azureactivedirectoryobjectid: user.id,
    firstname: "Mid",
    lastname: "Remap",
  });
  const root = testBridge();
  const runOnce = async (mode: "full" | "incremental") => {
    const run = await root.syncRuns.start({ mode, trigger: "test" });
    return root.syncRuns.execute({ org: run.org, runId: run.runId });
  };
  expect((await runOnce("full")).state).toBe("succeeded");

  // The user is renamed and an admin's remap moves the record to the temporary account, then pauses there.
  dir.updateUser(user.id, { userPrincipalName: "mid.remap.renamed@contoso.com" });
  let resume!: () => void;
  const paused = new Promise<void>((r) => {
    resume = r;
  });
  let reached!: () => void;
  const onTemporary = new Promise<void>((r) => {
    reached = r;
  });
  const deps = root.remapDeps({
    hooks: {
      afterStep: async (step) => {
        if (step === "temporary") {
          reached();
          await paused;
        }
      },
    },
  });
  const remap = remapUser(
    { user: rec.systemuserid, newDomainName: "mid.remap.renamed@contoso.com", requestedBy: "test", source: "test" },
    deps,
  );
  await onTemporary;

  const during = await runOnce("incremental");
  expect(during.state).toBe("succeeded");
  expect(during.counts.created).toBe(0);
  expect(recordsOf(org, user.id)).toEqual([]); // the only record is on the temporary account
  expect(during.errors.map((e) => e.code)).toContain("remap_pending");

  resume();
  await remap;
  expect(recordsOf(org, user.id).map((r) => [r.systemuserid, r.domainname])).toEqual([[rec.systemuserid, "mid.remap.renamed@contoso.com"]]);
  // The held user was carried forward: the next run settles it with nothing left to write.
  const after = await runOnce("incremental");
  expect(after.counts).toMatchObject({ created: 0, failed: 0 });
  expect(recordsOf(org, user.id)).toHaveLength(1);
});

it("provision on demand holds the user's create back too while a remap has their record on the temporary account", async () => {
  const dir = env.sandbox.tenant.directory;
  const user = dir.addUser({ userPrincipalName: "ondemand.remap@contoso.com", givenName: "On", surname: "Demand" });
  const rec = org.addSystemUser({ domainname: user.userPrincipalName, azureactivedirectoryobjectid: user.id, firstname: "On", lastname: "Demand" });
  const root = testBridge();
  dir.updateUser(user.id, { userPrincipalName: "ondemand.remap.renamed@contoso.com" });
  let resume!: () => void;
  const paused = new Promise<void>((r) => { resume = r; });
  let reached!: () => void;
  const onTemporary = new Promise<void>((r) => { reached = r; });
  const deps = root.remapDeps({ hooks: { afterStep: async (step) => { if (step === "temporary") { reached(); await paused; } } } });
  const remap = remapUser({ user: rec.systemuserid, newDomainName: "ondemand.remap.renamed@contoso.com", requestedBy: "test", source: "test" }, deps);
  await onTemporary;

  const { syncOneUser } = await import("../../shared/sync/sync-one-user.js");
  const during = await syncOneUser(user.id, root.oneUser("test"));
  expect(during.orgs[0]!.change).toMatchObject({ action: "create", outcome: "failed", error: { code: "remap_pending" } });
  expect(recordsOf(org, user.id)).toEqual([]); // no second record: the only one is on the temporary account

  resume();
  await remap;
  const after = await syncOneUser(user.id, root.oneUser("test"));
  expect(after.orgs[0]!.change.action).toBe("unchanged");
  expect(recordsOf(org, user.id).map((r) => r.systemuserid)).toEqual([rec.systemuserid]);
});
