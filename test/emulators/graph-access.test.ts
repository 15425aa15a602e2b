// Fidelity of the Graph emulator for access and licences, through Microsoft's JavaScript SDK: assignedLicenses
// (selectable, and a licence change is a user change for users/delta), member removals in groups/delta, and
// subscribedSkus.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@microsoft/microsoft-graph-client";
import { createGraphHandler } from "../../dev/sandbox/graph.js";
import { startHttpsService, type RunningService } from "../../dev/sandbox/https-service.js";
import { Tenant } from "../../dev/sandbox/tenant.js";
import { DYNAMICS_SALES_SKU } from "../../dev/sandbox/seed-access.js";
import { testTls } from "../support/sandbox.js";

type Json = Record<string, any>;

let tenant: Tenant;
let graph: RunningService;
let client: Client;

/** Follows nextLinks to the deltaLink. */
async function round(first: string): Promise<{ items: Json[]; deltaLink: string }> {
  const items: Json[] = [];
  let page = (await client.api(first).get()) as Json;
  for (;;) {
    items.push(...(page.value as Json[]));
    if (!page["@odata.nextLink"]) return { items, deltaLink: page["@odata.deltaLink"] as string };
    page = (await client.api(page["@odata.nextLink"] as string).get()) as Json;
  }
}

beforeAll(async () => {
  tenant = await Tenant.create();
  const { handler } = createGraphHandler(tenant, { baseUrl: () => graph.url });
  graph = await startHttpsService(testTls(), "graph", handler);
  const app = tenant.registerApp({ displayName: "Identity Bridge" });
  client = Client.initWithMiddleware({
    authProvider: { getAccessToken: async () => (await tenant.issueAccessToken({ clientId: app.clientId, audience: graph.url })).token },
    baseUrl: graph.url, defaultVersion: "v1.0", customHosts: new Set(["127.0.0.1"]),
  });
});

afterAll(async () => {
  await graph.close();
});

describe("licences", () => {
  it("returns assignedLicenses when selected, and a licence change shows the user in the next users/delta round", async () => {
    const dir = tenant.directory;
    const licensed = dir.addUser({ userPrincipalName: "lic1@contoso.com", assignedLicenses: [{ skuId: DYNAMICS_SALES_SKU, disabledPlans: [] }] });
    const bare = dir.addUser({ userPrincipalName: "lic2@contoso.com" });
    dir.addUser({ userPrincipalName: "lic3@contoso.com" });
    const got = (await client.api(`/users/${licensed.id}`).select("id,assignedLicenses").get()) as Json;
    expect(got.assignedLicenses).toEqual([{ skuId: DYNAMICS_SALES_SKU, disabledPlans: [] }]);

    const initial = await round("/users/delta?$select=userPrincipalName,assignedLicenses");
    expect(initial.items.find((u) => u.id === bare.id)).toMatchObject({ assignedLicenses: [] });
    expect(initial.items.find((u) => u.id === licensed.id)).toMatchObject({ assignedLicenses: [{ skuId: DYNAMICS_SALES_SKU }] });

    dir.assignLicense(bare.id, DYNAMICS_SALES_SKU, ["11111111-1111-1111-1111-111111111111"]);
    dir.removeLicense(licensed.id, DYNAMICS_SALES_SKU);
    const next = await round(initial.deltaLink);
    expect(next.items.map((u) => u.id).sort()).toEqual([bare.id, licensed.id].sort());
    expect(next.items.find((u) => u.id === bare.id)!.assignedLicenses).toEqual([{ skuId: DYNAMICS_SALES_SKU, disabledPlans: ["11111111-1111-1111-1111-111111111111"] }]);
    expect(next.items.find((u) => u.id === licensed.id)!.assignedLicenses).toEqual([]);
    expect((await round(next.deltaLink)).items).toEqual([]);
  });

  it("lists subscribed SKUs with their part number and consumed units", async () => {
    tenant.directory.addSubscribedSku("DYN365_ENTERPRISE_SALES", DYNAMICS_SALES_SKU, 25);
    const skus = (await client.api("/subscribedSkus").get()) as Json;
    const sales = (skus.value as Json[]).find((s) => s.skuId === DYNAMICS_SALES_SKU);
    const holders = [...tenant.directory.users.values()].filter((u) => u.assignedLicenses.some((l) => l.skuId === DYNAMICS_SALES_SKU)).length;
    expect(sales).toMatchObject({ skuPartNumber: "DYN365_ENTERPRISE_SALES", consumedUnits: holders, prepaidUnits: { enabled: 25 }, capabilityStatus: "Enabled" });
  });
});

describe("group membership changes", () => {
  it("reports added and removed direct members in groups/delta members@delta", async () => {
    const dir = tenant.directory;
    const group = dir.addGroup("Dynamics Test Group");
    const [a, b] = [dir.addUser({ userPrincipalName: "gm1@contoso.com" }), dir.addUser({ userPrincipalName: "gm2@contoso.com" })];
    dir.addGroupMember(group.id, a.id);
    dir.addGroupMember(group.id, b.id);
    const first = await round(`/groups/delta?$select=displayName,members&$filter=id eq '${group.id}'`);
    expect((first.items[0]!["members@delta"] as Json[]).map((m) => m.id).sort()).toEqual([a.id, b.id].sort());

    dir.removeGroupMember(group.id, a.id);
    const next = await round(first.deltaLink);
    expect(next.items).toHaveLength(1);
    expect(next.items[0]!["members@delta"]).toEqual([{ "@odata.type": "#microsoft.graph.user", id: a.id, "@removed": { reason: "deleted" } }]);
    expect(dir.membersOf(group.id)).toEqual([b.id]);
  });
});

describe("group member $count", () => {
  it("counts a group's direct user members as text/plain with ConsistencyLevel eventual, and refuses without it", async () => {
    const dir = tenant.directory;
    const group = dir.addGroup("Counted");
    const [a, b, c] = ["cnt1", "cnt2", "cnt3"].map((n) => dir.addUser({ userPrincipalName: `${n}@contoso.com` }));
    for (const user of [a!, b!, c!]) dir.addGroupMember(group.id, user.id);
    dir.removeGroupMember(group.id, c!.id);
    for (const path of [`/groups/${group.id}/members/$count`, `/groups/${group.id}/members/microsoft.graph.user/$count`]) {
      expect(String(await client.api(path).header("ConsistencyLevel", "eventual").get())).toBe("2");
    }
    await expect(client.api(`/groups/${group.id}/members/$count`).get()).rejects.toMatchObject({ statusCode: 400, code: "Request_BadRequest" });
  });
});
