// A NetBIOS domain rename on an on-premises org: the bulk prefix rule plans CONTOSO\x → CONTOSOX\x for every
// user and applies each as the two-step remap (the platform refuses the direct rename: same AD account).
import { QueueClient } from "@azure/storage-queue";
import { InvocationContext } from "@azure/functions";
import { afterAll, beforeAll, expect, it } from "vitest";
import { adObjectGuid } from "../../dev/sandbox/directory.js";
import type { DataverseOrg } from "../../dev/sandbox/dataverse/index.js";
import { remapBulkHandler, remapBulkStatusHandler } from "../../functions/remap.http.js";
import { remapBulkWorker } from "../../functions/remap-bulk.queue.js";
import { QUEUES } from "../../shared/state/storage.js";
import { callHandler, startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";

let env: BridgeEnvironment;
let org: DataverseOrg;
let token: string;
let before: Map<string, { domainname: string; guid: string }>;

beforeAll(async () => {
  env = await startBridgeEnvironment({ seed: { users: 10 }, onPremisesOrgs: 1, env: { REMAP_PLACEHOLDER_USERS: "CONTOSOX\\remaptemp" } });
  org = env.sandbox.onPremises[0]!.org;
  token = await env.sandbox.adminToken();
  env.sandbox.tenant.directory.addUser({ userPrincipalName: "remap.temp@contoso.com", accountEnabled: false, onPremisesSamAccountName: "remaptemp", onPremisesDomainName: "contoso.local" });
  before = new Map([...org.users.values()].filter((r) => !r.applicationid).map((r) => [r.systemuserid, { domainname: r.domainname!, guid: r.activedirectoryguid! }]));
  // The AD domain's NetBIOS name changes; the operator updates DATAVERSE_ORGS to match.
  env.sandbox.onPremisesIdentities!.netbiosDomains["contoso.local"] = "CONTOSOX";
  const orgs = JSON.parse(process.env.DATAVERSE_ORGS!) as Array<{ netbiosDomains?: Record<string, string> }>;
  orgs[1]!.netbiosDomains = { "contoso.local": "CONTOSOX" };
  process.env.DATAVERSE_ORGS = JSON.stringify(orgs); // read when the handlers' bridge is built, at their first call
});
afterAll(async () => { await env?.stop(); });

const auth = () => ({ authorization: `Bearer ${token}` });
const rule = { fromPrefix: "CONTOSO\\", toPrefix: "CONTOSOX\\" };

async function drainQueue(): Promise<void> {
  const queue = new QueueClient(process.env.AzureWebJobsStorage!, QUEUES.remapBulk);
  await queue.createIfNotExists();
  const context = new InvocationContext({ invocationId: "bulk", functionName: "remapBulkWorker", logHandler: () => undefined });
  for (let idle = 0; idle < 2;) {
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 1, visibilityTimeout: 300 });
    if (receivedMessageItems.length === 0) { idle++; continue; }
    idle = 0;
    for (const m of receivedMessageItems) {
      await remapBulkWorker(JSON.parse(Buffer.from(m.messageText, "base64").toString("utf8")), context);
      await queue.deleteMessage(m.messageId, m.popReceipt);
    }
  }
}

it("plans the NetBIOS rename for every user of the on-premises org, writing nothing", async () => {
  expect(before.size).toBe(6);
  const writes = org.stats.writes;
  const res = await callHandler(remapBulkHandler, "/api/users/remap/bulk", { method: "POST", headers: auth(), body: { rule, dryRun: true, org: org.url } });
  expect(res.status).toBe(200);
  const plan = res.body.plan as Array<{ systemUserId: string; from: string; to: string; action: string; conflicts: unknown[] }>;
  const remaps = plan.filter((p) => p.action === "remap");
  expect(remaps.map((p) => p.systemUserId).sort()).toEqual([...before.keys()].sort());
  for (const p of remaps) {
    expect(p.from).toBe(before.get(p.systemUserId)!.domainname);
    expect(p.to).toBe(p.from.replace(/^CONTOSO\\/, "CONTOSOX\\"));
    expect(p.conflicts).toEqual([]);
  }
  // The bridge's own application user is never remapped.
  expect(plan.find((p) => p.from === "CONTOSO\\svc-identity-bridge")).toMatchObject({ action: "skip" });
  expect(org.stats.writes).toBe(writes);
});

it("applies it: each record moves to CONTOSOX\\sam through the temporary account, keeping its AD account", async () => {
  const target = [...before.keys()][0]!;
  expect(() => org.update(target, { domainname: before.get(target)!.domainname.replace("CONTOSO\\", "CONTOSOX\\") })).toThrow(/already exists/);
  const res = await callHandler(remapBulkHandler, "/api/users/remap/bulk", { method: "POST", headers: auth(), body: { rule, org: org.url } });
  expect(res.status).toBe(202);
  await drainQueue();
  const status = await callHandler(remapBulkStatusHandler, res.body.statusUrl, { headers: auth(), params: { jobId: res.body.jobId } });
  expect(status.body).toMatchObject({ state: "succeeded", counts: { succeeded: 6, failed: 0 } });
  for (const [id, was] of before) {
    const rec = org.get(id)!;
    expect(rec.domainname).toBe(was.domainname.replace("CONTOSO\\", "CONTOSOX\\"));
    expect(rec.activedirectoryguid).toBe(was.guid);
  }
  const temp = [...env.sandbox.tenant.directory.users.values()].find((u) => u.onPremisesSamAccountName === "remaptemp")!;
  expect([...org.users.values()].some((r) => r.activedirectoryguid === adObjectGuid(temp))).toBe(false);
});
