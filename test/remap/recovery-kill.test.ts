// A remap whose process is killed between step 1 and step 2 is finished by the recovery pass: the user
// ends on the new name, never on the temporary account.
import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import { TABLES } from "../../shared/state/storage.js";
import { recoverRemaps } from "../../shared/remap/recovery.js";
import { LeaseStore } from "../../shared/state/leases.js";
import { testBridge } from "../support/test-bridge.js";

/** This file's bridge, built after beforeAll set the environment up. */
let bridge: import("../../shared/bridge.js").Bridge | undefined;
const root = () => (bridge ??= testBridge());

let env: BridgeEnvironment;
let child: ChildProcess | undefined;

beforeAll(async () => {
  env = await startBridgeEnvironment({ seed: { users: 10, existingShare: 0.5 } });
});

afterAll(async () => {
  child?.kill("SIGKILL");
  await env?.stop();
});

function runChild(args: string[]): Promise<{ child: ChildProcess; operationId: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["--import", "tsx", "test/remap/support/remap-child.ts", ...args], { env: process.env, cwd: process.cwd(), stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /STEP1_JOURNALED (\S+)/.exec(out);
      if (m) resolve({ child: proc, operationId: m[1]! });
    });
    proc.stderr!.on("data", (d: Buffer) => { err += d.toString(); });
    proc.on("exit", (code) => reject(new Error(`child exited (${code}) before step 1: ${out}\n${err}`)));
  });
}

it("finishes a remap cut off between its steps", async () => {
  const org = env.sandbox.dataverse[0]!.org;
  const orgUrl = org.url.toLowerCase();
  const user = [...env.sandbox.tenant.directory.users.values()][0]!;
  const rec = org.findByObjectId(user.id)!;
  env.sandbox.tenant.directory.updateUser(user.id, { userPrincipalName: "renamed.user@contoso.com" });

  const started = await runChild([rec.systemuserid, "renamed.user@contoso.com"]);
  child = started.child;
  const exited = new Promise((resolve) => started.child.once("exit", resolve));
  started.child.kill("SIGKILL");
  await exited;

  // Killed on the temporary account, with an open journal entry.
  const open = await root().remapDeps().journal.openForUser(orgUrl, rec.systemuserid);
  expect(open.map((e) => e.operationId)).toEqual([started.operationId]);
  const placeholderObjectId = open[0]!.placeholderObjectId;
  expect(org.get(rec.systemuserid)!.azureactivedirectoryobjectid).toBe(placeholderObjectId);
  expect(org.get(rec.systemuserid)!.domainname).toBe(open[0]!.placeholder);

  // While the dead process's lease has not lapsed, the pass leaves the entry alone.
  const early = await recoverRemaps(root().remapDeps());
  expect(early).toMatchObject({ examined: 1, skipped: 1, succeeded: 0 });
  expect(org.get(rec.systemuserid)!.azureactivedirectoryobjectid).toBe(placeholderObjectId);

  // Once it has lapsed (a clock two lease-lengths ahead), the pass finishes step 2.
  const later = new LeaseStore(root().storage.tableOf(TABLES.leases), () => Date.now() + 5 * 60_000);
  const report = await recoverRemaps(root().remapDeps({ leases: later }));
  expect(report).toMatchObject({ examined: 1, succeeded: 1, stillOpen: 0 });
  const after = org.get(rec.systemuserid)!;
  expect(after.domainname).toBe("renamed.user@contoso.com");
  expect(after.azureactivedirectoryobjectid).toBe(user.id);
  expect(org.findByObjectId(placeholderObjectId)).toBeUndefined();
  const entry = await root().remapDeps().journal.get(orgUrl, started.operationId);
  expect(entry?.state).toBe("succeeded");
  expect(entry?.steps.map((s) => `${s.step}:${s.outcome}`)).toEqual(["temporary:ok", "target:ok", "verify:ok"]);
  expect(await root().remapDeps().journal.listOpen(orgUrl)).toEqual([]);
});

it("closes an entry cut off before step 1 took effect without touching the record", async () => {
  const org = env.sandbox.dataverse[0]!.org;
  const orgUrl = org.url.toLowerCase();
  const user = [...env.sandbox.tenant.directory.users.values()][1]!;
  const rec = org.findByObjectId(user.id)!;
  const journal = root().remapDeps().journal;
  const entry = await journal.create({
    operationId: "00000000-0000-4000-8000-000000000001", org: orgUrl, systemUserId: rec.systemuserid, from: rec.domainname, to: "x@contoso.com",
    originalObjectId: user.id, targetObjectId: "00000000-0000-4000-8000-0000000000aa", placeholder: "p@contoso.com", placeholderObjectId: "00000000-0000-4000-8000-0000000000bb",
    requestedBy: "test", source: "test", state: "step1", steps: [{ step: "temporary", domainName: "p@contoso.com", outcome: "started", at: new Date().toISOString() }],
  });
  const writes = org.stats.writes;
  const report = await recoverRemaps(root().remapDeps());
  expect(report).toMatchObject({ examined: 1, closed: 1 });
  expect((await journal.get(orgUrl, entry.operationId))?.state).toBe("not-started");
  expect(org.stats.writes).toBe(writes);
  expect(org.get(rec.systemuserid)!.domainname).toBe(user.userPrincipalName);
});
