// Bulk suffix rename (domain rename) of 500 users: a correct dry-run plan first, then the queued apply.
import { QueueClient } from "@azure/storage-queue";
import { InvocationContext } from "@azure/functions";
import { afterAll, beforeAll, expect, it } from "vitest";
import { callHandler, startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import type { DirectoryUser } from "../../dev/sandbox/directory.js";
import type { DataverseOrg } from "../../dev/sandbox/dataverse/index.js";
import { remapBulkHandler, remapBulkStatusHandler } from "../../functions/remap.http.js";
import { remapBulkWorker } from "../../functions/remap-bulk.queue.js";
import { QUEUES, TABLES } from "../../shared/state/storage.js";
import { testBridge } from "../support/test-bridge.js";
import { RemapJournal } from "../../shared/remap/journal.js";

const COUNT = 500;
const PLACEHOLDERS = ["remap.slot1@contoso.com", "remap.slot2@contoso.com", "remap.slot3@contoso.com", "remap.slot4@contoso.com"];
let env: BridgeEnvironment;
let org: DataverseOrg;
let token: string;
const people: DirectoryUser[] = [];
let ghost: string;
let dup: DirectoryUser;
let staleHolder: string;

beforeAll(async () => {
  env = await startBridgeEnvironment({ seed: { users: 0 }, env: { REMAP_PLACEHOLDER_USERS: PLACEHOLDERS.join(",") } });
  org = env.sandbox.dataverse[0]!.org;
  token = await env.sandbox.adminToken();
  const dir = env.sandbox.tenant.directory;
  for (const upn of PLACEHOLDERS) dir.addUser({ userPrincipalName: upn, accountEnabled: false });
  for (let i = 0; i < COUNT; i++) {
    const u = dir.addUser({ userPrincipalName: `user${String(i).padStart(3, "0")}@contoso.com`, givenName: "User", surname: String(i) });
    org.addSystemUser({ domainname: u.userPrincipalName, azureactivedirectoryobjectid: u.id, firstname: "User", lastname: String(i) });
    people.push(u);
  }
  // Two that must not go: one not renamed in the directory, one whose new name a stale record holds.
  const g = dir.addUser({ userPrincipalName: "ghost@contoso.com" });
  ghost = org.addSystemUser({ domainname: g.userPrincipalName, azureactivedirectoryobjectid: g.id }).systemuserid;
  dup = dir.addUser({ userPrincipalName: "dup@contoso.com" });
  org.addSystemUser({ domainname: dup.userPrincipalName, azureactivedirectoryobjectid: dup.id });
  staleHolder = org.addSystemUser({ domainname: "dup@fabrikam.com", azureactivedirectoryobjectid: null }).systemuserid;
  // The domain rename happens in the directory.
  for (const u of [...people, dup]) dir.updateUser(u.id, { userPrincipalName: u.userPrincipalName.replace("@contoso.com", "@fabrikam.com") });
}, 120_000);

afterAll(async () => {
  await env?.stop();
});

const auth = () => ({ authorization: `Bearer ${token}` });
const rule = { fromSuffix: "@contoso.com", toSuffix: "@fabrikam.com" };

async function drainQueue(): Promise<number> {
  const queue = new QueueClient(process.env.AzureWebJobsStorage!, QUEUES.remapBulk);
  await queue.createIfNotExists();
  const context = new InvocationContext({ invocationId: "bulk", functionName: "remapBulkWorker", logHandler: () => undefined });
  let handled = 0;
  for (let idle = 0; idle < 2;) {
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 2, visibilityTimeout: 300 });
    if (receivedMessageItems.length === 0) { idle++; continue; }
    idle = 0;
    // Two messages at a time: chunks contend for the four temporary accounts as parallel workers would.
    await Promise.all(receivedMessageItems.map(async (m) => {
      await remapBulkWorker(JSON.parse(Buffer.from(m.messageText, "base64").toString("utf8")), context);
      await queue.deleteMessage(m.messageId, m.popReceipt);
      handled++;
    }));
  }
  return handled;
}

it("plans a 500-user suffix rename with its conflicts, writing nothing", async () => {
  const writes = org.stats.writes;
  const res = await callHandler(remapBulkHandler, "/api/users/remap/bulk", { method: "POST", headers: auth(), body: { rule, dryRun: true } });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ dryRun: true, state: "planned" });
  expect(res.body.statusUrl).toBe(`http://127.0.0.1:7071/api/users/remap/bulk/${res.body.jobId}`);
  const plan = res.body.plan as Array<{ user: string; systemUserId: string; from: string; to: string; action: string; conflicts: Array<{ code: string; systemUserId?: string }> }>;
  expect(plan).toHaveLength(COUNT + 2);
  const remaps = plan.filter((p) => p.action === "remap");
  expect(remaps).toHaveLength(COUNT);
  for (const p of remaps) {
    expect(p.to).toBe(p.from.replace("@contoso.com", "@fabrikam.com"));
    expect(p.conflicts).toEqual([]);
    expect(org.get(p.systemUserId)!.domainname).toBe(p.from);
  }
  expect(plan.find((p) => p.user === "ghost@contoso.com")).toMatchObject({ systemUserId: ghost, action: "skip", conflicts: [{ code: "not_in_directory" }] });
  expect(plan.find((p) => p.user === "dup@contoso.com")).toMatchObject({ action: "skip", conflicts: [{ code: "name_taken", systemUserId: staleHolder }] });
  expect(org.stats.writes).toBe(writes);

  // The plan stays at its status URL.
  const status = await callHandler(remapBulkStatusHandler, res.body.statusUrl, { headers: auth(), params: { jobId: res.body.jobId } });
  expect(status.status).toBe(200);
  expect(status.body.counts).toMatchObject({ total: COUNT + 2, remap: COUNT, skip: 2 });
});

it("applies it as queued work and reports each user's outcome", async () => {
  const res = await callHandler(remapBulkHandler, "/api/users/remap/bulk", { method: "POST", headers: auth(), body: { rule } });
  expect(res.status).toBe(202);
  expect(Object.keys(res.body).sort()).toEqual(["jobId", "statusUrl"]);
  // Nothing ran inside the request.
  expect(org.get(org.findByObjectId(people[0]!.id)!.systemuserid)!.domainname).toBe("user000@contoso.com");

  const before = await callHandler(remapBulkStatusHandler, res.body.statusUrl, { headers: auth(), params: { jobId: res.body.jobId } });
  expect(before.body.state).toBe("planning");

  expect(await drainQueue()).toBeGreaterThan(1);

  const status = await callHandler(remapBulkStatusHandler, res.body.statusUrl, { headers: auth(), params: { jobId: res.body.jobId } });
  expect(status.status).toBe(200);
  expect(status.body.state).toBe("succeeded");
  expect(status.body.counts).toMatchObject({ total: COUNT + 2, succeeded: COUNT, skipped: 2, failed: 0, pending: 0 });
  expect(status.body.finishedAt).toBeTruthy();
  for (const u of people) {
    const rec = org.findByObjectId(u.id)!;
    expect(rec.domainname).toBe(u.userPrincipalName);
    expect(rec.domainname!.endsWith("@fabrikam.com")).toBe(true);
  }
  for (const upn of PLACEHOLDERS) expect(org.findByObjectId(env.sandbox.tenant.directory.findByUpn(upn)!.id)).toBeUndefined();
  expect(org.findByDomainName("ghost@contoso.com")?.systemuserid).toBe(ghost);
  expect(await new RemapJournal(testBridge().storage.tableOf(TABLES.remapJournal)).listOpen()).toEqual([]);

  const missing = await callHandler(remapBulkStatusHandler, "/api/users/remap/bulk/x", { headers: auth(), params: { jobId: "00000000-0000-4000-8000-000000000000" } });
  expect(missing.status).toBe(404);
}, 300_000);

it("validates the body", async () => {
  const both = await callHandler(remapBulkHandler, "/api/users/remap/bulk", { method: "POST", headers: auth(), body: { rule, items: [{ user: "a", newDomainName: "b@c" }] } });
  expect(both.status).toBe(400);
  const neither = await callHandler(remapBulkHandler, "/api/users/remap/bulk", { method: "POST", headers: auth(), body: { dryRun: true } });
  expect(neither.status).toBe(400);
  const badRule = await callHandler(remapBulkHandler, "/api/users/remap/bulk", { method: "POST", headers: auth(), body: { rule: { fromSuffix: "@a" } } });
  expect(badRule.status).toBe(400);
});
