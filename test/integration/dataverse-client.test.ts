// DataverseClient against the sandbox Dataverse emulator over HTTPS (loopback).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Tenant } from "../../dev/sandbox/tenant.js";
import { DataverseOrg, createDataverseHandler } from "../../dev/sandbox/dataverse/index.js";
import { startHttpsService, type RunningService } from "../../dev/sandbox/https-service.js";
import { testTls } from "../support/sandbox.js";
import { DataverseClient, type DataverseClientOptions } from "../../shared/dataverse/client.js";
import { isDataverseError } from "../../shared/dataverse/errors.js";
import { OrgThrottle } from "../../shared/dataverse/limiter.js";
import type { SystemUserWrite } from "../../shared/dataverse/types.js";
import { seeded } from "../support/seeded-random.js";

let tenant: Tenant;
let org: DataverseOrg;
let service: RunningService;
let clientId: string;
const scopes: string[] = [];


function client(options: Partial<DataverseClientOptions> = {}): DataverseClient {
  return new DataverseClient({
    orgUrl: org.url,
    getToken: async (scope) => {
      scopes.push(scope);
      return (await tenant.issueAccessToken({ clientId, audience: org.url })).token;
    },
    // Each test gets its own limiter, so one test's 429s do not slow the next.
    throttle: new OrgThrottle({ max: options.maxConcurrency ?? 8 }),
    ...options,
  });
}

const batchRequests = () => service.knobs.requests.filter((r) => r.method === "POST" && r.url.startsWith("/api/data/v9.2/$batch"));
const listRequests = () => service.knobs.requests.filter((r) => r.method === "GET" && r.url.startsWith("/api/data/v9.2/systemusers?"));

beforeAll(async () => {
  tenant = await Tenant.create();
  org = new DataverseOrg(tenant, "org1");
  service = await startHttpsService(testTls(), "dataverse-org1", createDataverseHandler(tenant, org));
  org.url = service.url;
  const app = tenant.registerApp({ displayName: "Identity Bridge", secrets: ["s"] });
  clientId = app.clientId;
  org.addSystemUser({ domainname: `${app.clientId}@sandbox`, firstname: "#", lastname: "Identity Bridge", applicationid: app.clientId, accessmode: 4 });
  // 12,000 rows in all (the paging test counts them; the others borrow disjoint slices).
  for (let i = 0; i < 11_999; i++) org.addSystemUser({ domainname: `bulk${i}@contoso.com`, firstname: "Bulk", lastname: String(i) });
});

afterAll(async () => {
  await service?.close();
});

beforeEach(() => {
  service.knobs.reset();
  org.throttle = null;
});

describe("DataverseClient against the emulator", () => {
  it("pages through 12k users with pageSize 5000 in 3 requests, following nextLink unchanged", async () => {
    expect(org.users.size).toBe(12_000);
    const c = client({ pageSize: 5000 });
    const pages: number[] = [];
    const ids = new Set<string>();
    for await (const page of c.listSystemUsers(["domainname", "isdisabled"])) {
      pages.push(page.length);
      for (const u of page) {
        ids.add(u.systemuserid);
        expect(u.etag).toMatch(/^W\/"\d+"$/);
        expect(Object.keys(u).some((k) => k.startsWith("@"))).toBe(false);
      }
    }
    expect(pages).toEqual([5000, 5000, 2000]);
    expect(ids.size).toBe(12_000);
    expect(c.stats.byKind.list).toBe(3);
    const sent = listRequests();
    expect(sent).toHaveLength(3);
    expect(sent.every((r) => r.status === 200)).toBe(true);
    expect(sent[1]!.url).toMatch(/\$skiptoken=/);
    expect(scopes.every((s) => s === `${org.url}/.default`)).toBe(true);
  });

  it("applies 250 updates as one $batch by default, and as 3 with batchSize 100, results in input order", async () => {
    const targets = [...org.users.values()].filter((u) => !u.applicationid).slice(0, 250);
    const writes = (title: string): SystemUserWrite[] => targets.map((u, i) => ({ kind: "update", systemUserId: u.systemuserid, columns: { jobtitle: `${title} ${i}` } }));
    expect(await client().applyWrites(writes("First"))).toHaveLength(250);
    expect(batchRequests()).toHaveLength(1);
    const c = client({ batchSize: 100 });
    const results = await c.applyWrites(writes("Title"));
    expect(batchRequests()).toHaveLength(4);
    expect(c.stats.byKind.batch).toBe(3);
    expect(c.stats.batchedOperations).toBe(250);
    expect(results).toHaveLength(250);
    results.forEach((r, i) => {
      expect(r).toMatchObject({ ok: true, status: 204 });
      expect(org.get(targets[i]!.systemuserid)!.jobtitle).toBe(`Title ${i}`);
    });
  });

  it("a failing write reports its code while the others in the same batch succeed", async () => {
    const targets = [...org.users.values()].filter((u) => !u.applicationid).slice(300, 305);
    const writes: SystemUserWrite[] = targets.map((u, i) => ({
      kind: "update", systemUserId: u.systemuserid, columns: { jobtitle: i === 2 ? "x".repeat(101) : `Ok ${i}` },
    }));
    const results = await client().applyWrites(writes);
    expect(batchRequests()).toHaveLength(1);
    expect(results[2]).toMatchObject({ ok: false, status: 400, code: "0x80044331" });
    expect(results[2]!.message).toContain("jobtitle");
    for (const i of [0, 1, 3, 4]) {
      expect(results[i]).toMatchObject({ ok: true });
      expect(org.get(targets[i]!.systemuserid)!.jobtitle).toBe(`Ok ${i}`);
    }
    expect(org.get(targets[2]!.systemuserid)!.jobtitle).not.toBe("x".repeat(101));
  });

  it("converges under 30% 429 with Retry-After 1, never sending before Retry-After elapsed", async () => {
    org.random = seeded(7);
    org.throttle = { rate: 0.3, retryAfterSeconds: 1 };
    const targets = [...org.users.values()].filter((u) => !u.applicationid).slice(400, 440);
    const writes: SystemUserWrite[] = targets.map((u, i) => ({ kind: "update", systemUserId: u.systemuserid, columns: { jobtitle: `Throttled ${i}` } }));
    // One at a time, so every request after a 429 is that request's retry (or later work).
    const c = client({ batchSize: 5, maxConcurrency: 1 });
    const results = await c.applyWrites(writes);
    const found = await c.findSystemUsers("domainname", targets[0]!.domainname!, ["jobtitle"]);
    org.throttle = null;

    expect(results.every((r) => r.ok)).toBe(true);
    targets.forEach((u, i) => expect(org.get(u.systemuserid)!.jobtitle).toBe(`Throttled ${i}`));
    expect(found).toHaveLength(1);
    const log = service.knobs.requests;
    const throttled = log.filter((r) => r.status === 429);
    expect(throttled.length).toBeGreaterThan(0);
    expect(c.stats.throttled).toBe(throttled.length);
    expect(c.stats.requests).toBe(log.length);
    log.forEach((r, i) => {
      if (r.status === 429 && i + 1 < log.length) expect(log[i + 1]!.at - r.at).toBeGreaterThanOrEqual(1000);
    });
  }, 120_000);

  it("converges under 30% 429 with several batches in flight", async () => {
    org.random = seeded(11);
    org.throttle = { rate: 0.3, retryAfterSeconds: 1 };
    const targets = [...org.users.values()].filter((u) => !u.applicationid).slice(500, 540);
    const c = client({ batchSize: 4, maxConcurrency: 4 });
    const results = await c.applyWrites(targets.map((u, i) => ({ kind: "update", systemUserId: u.systemuserid, columns: { jobtitle: `Parallel ${i}` } })));
    org.throttle = null;
    expect(results.every((r) => r.ok)).toBe(true);
    targets.forEach((u, i) => expect(org.get(u.systemuserid)!.jobtitle).toBe(`Parallel ${i}`));
    expect(c.stats.throttled).toBeGreaterThan(0);
    expect(c.stats.requests).toBe(service.knobs.requests.length);
  }, 120_000);

  it("on 401 gets a fresh token once and retries", async () => {
    const calls: Array<boolean | undefined> = [];
    const c = new DataverseClient({
      orgUrl: org.url,
      throttle: new OrgThrottle(),
      getToken: async (_scope, o) => {
        calls.push(o?.forceRefresh);
        // The cached token has expired; a forced refresh gets a good one.
        return (await tenant.issueAccessToken({ clientId, audience: org.url, ...(o?.forceRefresh ? {} : { claims: { exp: Math.floor(Date.now() / 1000) - 600 } }) })).token;
      },
    });
    expect(await c.getSystemUser("00000000-0000-4000-8000-000000000002", ["domainname"])).toBeNull();
    expect(calls).toEqual([undefined, true]);
    expect(service.knobs.requests.map((r) => r.status)).toEqual([401, 404]);

    const never = new DataverseClient({ orgUrl: org.url, throttle: new OrgThrottle(), getToken: async () => "not-a-token" });
    const err = await never.getSystemUser("00000000-0000-4000-8000-000000000002", ["domainname"]).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "DataverseError", statusCode: 401 });
    expect((err as Error).message).not.toContain("not-a-token");
  });

  it("never runs more requests at once than x-ms-dop-hint", async () => {
    const saved = { dop: org.dopHint, limit: org.concurrencyLimit, ms: org.processingMs };
    Object.assign(org, { dopHint: 3, concurrencyLimit: 3, processingMs: 15 });
    try {
      const targets = [...org.users.values()].filter((u) => !u.applicationid).slice(600, 660);
      const c = client({ batchSize: 1, maxConcurrency: 16 });
      const results = await c.applyWrites(targets.map((u) => ({ kind: "update", systemUserId: u.systemuserid, columns: { jobtitle: "Dop" } })));
      expect(results.every((r) => r.ok)).toBe(true);
      // The emulator answers 429 0x80072326 past 3 concurrent requests: none may have been sent.
      expect(service.knobs.requests.filter((r) => r.status === 429)).toEqual([]);
      expect(service.knobs.requests).toHaveLength(60);
    } finally {
      Object.assign(org, { dopHint: saved.dop, concurrencyLimit: saved.limit, processingMs: saved.ms });
    }
  });

  it("finds o'brien by an escaped literal, and an injection attempt matches nobody", async () => {
    const obrien = org.addSystemUser({ domainname: "o'brien@contoso.com", firstname: "Pat", lastname: "O'Brien" });
    org.addSystemUser({ domainname: "obrien@contoso.com", firstname: "Decoy", lastname: "OBrien" });
    const c = client();
    const found = await c.findSystemUsers("domainname", "o'brien@contoso.com", ["domainname", "lastname"]);
    expect(found.map((u) => u.systemuserid)).toEqual([obrien.systemuserid]);
    expect(found[0]!.lastname).toBe("O'Brien");
    expect(await c.findSystemUsers("domainname", "x' or domainname ne 'y", ["domainname"])).toEqual([]);
    expect(await c.findSystemUsers("domainname", "a&b#c+d%e", ["domainname"])).toEqual([]);
  });

  it("finds by azureactivedirectoryobjectid and gets by id; absent → empty / null", async () => {
    const oid = "6f1c2d3e-4b5a-4c6d-8e7f-001122334455";
    const rec = org.addSystemUser({ domainname: "oid.user@contoso.com", azureactivedirectoryobjectid: oid });
    const c = client();
    expect((await c.findSystemUsers("azureactivedirectoryobjectid", oid.toUpperCase(), ["domainname"])).map((u) => u.systemuserid)).toEqual([rec.systemuserid]);
    expect(await c.findSystemUsers("azureactivedirectoryobjectid", "not-a-guid", ["domainname"])).toEqual([]);
    const got = await c.getSystemUser(rec.systemuserid, ["domainname", "isdisabled"]);
    expect(got).toMatchObject({ systemuserid: rec.systemuserid, domainname: "oid.user@contoso.com", isdisabled: false });
    expect(got!.etag).toBe(`W/"${rec.versionnumber}"`);
    expect(await c.getSystemUser("00000000-0000-4000-8000-000000000001", ["domainname"])).toBeNull();
  });

  it("updateSystemUser is update-only (404 for a missing row, none created) and honours the etag", async () => {
    const c = client();
    const missing = "00000000-0000-4000-8000-0000000000aa";
    const err = await c.updateSystemUser(missing, { jobtitle: "x" }).catch((e: unknown) => e);
    expect(isDataverseError(err)).toBe(true);
    expect(err).toMatchObject({ statusCode: 404, dataverseCode: "0x80040217", method: "PATCH" });
    expect(org.get(missing)).toBeUndefined();

    const rec = org.addSystemUser({ domainname: "etag.user@contoso.com" });
    const current = (await c.getSystemUser(rec.systemuserid, ["jobtitle"]))!;
    await c.updateSystemUser(rec.systemuserid, { jobtitle: "First" }, { etag: current.etag });
    expect(org.get(rec.systemuserid)!.jobtitle).toBe("First");
    await expect(c.updateSystemUser(rec.systemuserid, { jobtitle: "Second" }, { etag: current.etag })).rejects.toMatchObject({ statusCode: 412 });
    expect(org.get(rec.systemuserid)!.jobtitle).toBe("First");
  });

  it("stale etags and missing rows in a batch fail alone", async () => {
    const a = org.addSystemUser({ domainname: "batch.a@contoso.com" });
    const b = org.addSystemUser({ domainname: "batch.b@contoso.com" });
    const results = await client().applyWrites([
      { kind: "update", systemUserId: a.systemuserid, columns: { jobtitle: "A" }, etag: 'W/"1"' },
      { kind: "update", systemUserId: "00000000-0000-4000-8000-0000000000bb", columns: { jobtitle: "B" } },
      { kind: "update", systemUserId: b.systemuserid, columns: { jobtitle: "B" }, etag: `W/"${b.versionnumber}"` },
    ]);
    expect(results.map((r) => [r.ok, r.status])).toEqual([[false, 412], [false, 404], [true, 204]]);
    expect(org.get("00000000-0000-4000-8000-0000000000bb")).toBeUndefined();
    expect(org.get(b.systemuserid)!.jobtitle).toBe("B");
  });

  it("creates users bound to the root business unit (looked up once) and returns their ids", async () => {
    const users = [1, 2].map((i) => tenant.directory.addUser({ userPrincipalName: `new.user${i}@contoso.com`, givenName: "New", surname: `User${i}` }));
    const c = client();
    const results = await c.applyWrites(users.map((u) => ({ kind: "create", columns: { domainname: u.userPrincipalName, firstname: u.givenName, lastname: u.surname, internalemailaddress: u.userPrincipalName } })));
    expect(c.stats.byKind.lookup).toBe(1);
    for (const [i, r] of results.entries()) {
      expect(r).toMatchObject({ ok: true });
      const rec = org.get(r.systemUserId!)!;
      expect(rec.domainname).toBe(users[i]!.userPrincipalName);
      expect(rec._businessunitid_value).toBe(org.businessUnitId);
    }
  });

  it("creates with a configured business unit need no lookup", async () => {
    const u = tenant.directory.addUser({ userPrincipalName: "configured.bu@contoso.com", givenName: "Conf", surname: "Bu" });
    const c = client({ businessUnitId: org.businessUnitId });
    const [r] = await c.applyWrites([{ kind: "create", columns: { domainname: u.userPrincipalName, firstname: "Conf", lastname: "Bu" } }]);
    expect(r).toMatchObject({ ok: true });
    expect(org.get(r!.systemUserId!)!._businessunitid_value).toBe(org.businessUnitId);
    expect(c.stats.byKind.lookup).toBeUndefined();
  });
});
