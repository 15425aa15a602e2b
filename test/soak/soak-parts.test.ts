// The soak's own parts: the emulators' fault schedule (what it answers and what it records), the Retry-After
// check that must catch a client sending too early, the access and licence checks, the seeded randomness, and
// an on-disk Azurite's restart.
import { request } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TableClient } from "@azure/data-tables";
import {
  startHttpsService,
  sendJson,
  type InjectedFault,
  type RecordedRequest,
  type RunningService,
} from "../../dev/sandbox/https-service.js";
import { startAzurite } from "../../dev/sandbox/azurite.js";
import { INVARIANTS, insideRetryAfter, RETRY_AFTER_GRACE_MS, type InvariantContext } from "../../dev/soak/invariants.js";
import { Tenant } from "../../dev/sandbox/tenant.js";
import { DataverseOrg } from "../../dev/sandbox/dataverse/index.js";
import { DYNAMICS_SALES_SKU, SANDBOX_ACCESS, SANDBOX_GROUPS, sandboxAccessRules, seedAccess, seededAccessIds } from "../../dev/sandbox/seed-access.js";
import { Rng } from "../../dev/soak/random.js";
import { testTls } from "../support/tls.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

let service: RunningService;
let next: InjectedFault | null = null;

beforeAll(async () => {
  service = await startHttpsService(testTls(), "echo", (_req, res) => sendJson(res, 200, { ok: true }));
  service.knobs.schedule = () => next;
});
afterAll(() => service?.close());

function get(headers: Record<string, string> = {}): Promise<{ status: number; retryAfter?: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = request(`${service.url}/x`, { headers, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode!, retryAfter: res.headers["retry-after"] }));
    });
    req.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.end();
  });
}

describe("ServiceKnobs.schedule", () => {
  it("answers a scheduled status with its Retry-After and records both, per caller", async () => {
    next = { kind: "status", status: 429, retryAfterSeconds: 2 };
    expect(await get({ authorization: "Bearer a" })).toEqual({ status: 429, retryAfter: "2" });
    const record = service.knobs.requests.at(-1)!;
    expect(record).toMatchObject({ status: 429, retryAfterSeconds: 2, injected: "status" });
    next = null;
    expect(await get({ authorization: "Bearer b" })).toMatchObject({ status: 200 });
    const other = service.knobs.requests.at(-1)!;
    expect(other.retryAfterSeconds).toBeUndefined();
    expect(other.caller).toMatch(/^[0-9a-f]{12}$/);
    expect(other.caller).not.toBe(record.caller);
  });

  it("drops the connection on a reset and answers late when slow", async () => {
    next = { kind: "reset" };
    expect(await get()).toEqual({ error: "ECONNRESET" });
    next = { kind: "slow", delayMs: 300 };
    const started = Date.now();
    expect(await get()).toMatchObject({ status: 200 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    next = null;
  });
});

describe("the Retry-After invariant", () => {
  const at = 1_000_000;
  const throttled: RecordedRequest = {
    method: "POST",
    url: "/$batch",
    at,
    answeredAt: at + 10,
    status: 429,
    retryAfterSeconds: 2,
    caller: "a",
  };
  it("flags a request from the same client inside the window, and only that", () => {
    const early: RecordedRequest = { method: "GET", url: "/systemusers", at: at + 10 + RETRY_AFTER_GRACE_MS + 100, caller: "a" };
    const otherClient: RecordedRequest = { ...early, caller: "b" };
    const inFlight: RecordedRequest = { ...early, at: at + 20 };
    const afterWindow: RecordedRequest = { ...early, at: at + 10 + 2_000 };
    expect(insideRetryAfter("Dataverse", [throttled, otherClient, inFlight, afterWindow], (r) => r.caller)).toEqual([]);
    const problems = insideRetryAfter("Dataverse", [throttled, early], (r) => r.caller);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain("within the 2 s Retry-After");
  });
});

describe("the access and licence checks", () => {
  const check = (name: string, world: unknown) =>
    INVARIANTS.find((i) => i.name === name)!.check({ world, quietRun: undefined } as unknown as InvariantContext);

  it("want a rule-group member in the rule's unit with exactly its managed roles and teams, whatever else they hold", async () => {
    const tenant = await Tenant.create();
    const org = new DataverseOrg(tenant, "soak");
    seedAccess(tenant, [org], []);
    const world = { sandbox: { tenant }, org, accessRules: sandboxAccessRules(), licenceSkus: [DYNAMICS_SALES_SKU], placeholders: [] };
    const user = tenant.directory.addUser({ userPrincipalName: "person0001@contoso.com", assignedLicenses: [{ skuId: DYNAMICS_SALES_SKU, disabledPlans: [] }] });
    tenant.directory.addGroupMember(SANDBOX_GROUPS.sales.id, user.id);
    const record = org.addSystemUser({ domainname: user.userPrincipalName, azureactivedirectoryobjectid: user.id });
    const name = "Dataverse access matches the rules";
    expect(await check(name, world)).toEqual([
      expect.stringMatching(/^person0001@contoso.com \(Dynamics Sales\): unit is .*, expected Sales; managed roles are \[\], expected \[basic user, salesperson\]; managed teams are \[\], expected \[sales team\]$/),
    ]);
    const ids = seededAccessIds(org);
    org.setFields(record.systemuserid, { _businessunitid_value: ids.units[SANDBOX_ACCESS.units.sales]! });
    org.assignRoles(record.systemuserid, [SANDBOX_ACCESS.roles.salesperson, SANDBOX_ACCESS.roles.basicUser, "Auditor"]);
    org.addTeamMembers(ids.teams[SANDBOX_ACCESS.teams.sales]!, [record.systemuserid]);
    expect(await check(name, world)).toEqual([]);
    // Left the group: the managed roles and team must go (the unit and the unmanaged role may stay).
    tenant.directory.removeGroupMember(SANDBOX_GROUPS.sales.id, user.id);
    expect(await check(name, world)).toEqual([expect.stringContaining("(no rule group): managed roles are [basic user, salesperson], expected []; managed teams are [sales team], expected []")]);
    // Unlicensed: out of scope, so an enabled record is a violation of the mapping, and access is not checked.
    tenant.directory.removeLicense(user.id, DYNAMICS_SALES_SKU);
    expect(await check(name, world)).toEqual([]);
    expect(await check("Dataverse matches the directory", world)).toEqual([expect.stringContaining("unlicensed): record")]);
  });
});

describe("the soak's randomness", () => {
  it("repeats for a seed, and streams are independent of each other's use", () => {
    const a = new Rng(42);
    const b = new Rng(42);
    expect(Array.from({ length: 5 }, () => a.int(0, 1000))).toEqual(Array.from({ length: 5 }, () => b.int(0, 1000)));
    const s1 = new Rng(42).stream("faults");
    const other = new Rng(42);
    other.stream("churn").float();
    expect(other.stream("faults").float()).toBe(s1.float());
    expect(
      new Rng(7).weighted([
        { weight: 0, v: "never" },
        { weight: 1, v: "always" },
      ]).v,
    ).toBe("always");
  });
});

describe("Azurite with a location", () => {
  it("keeps its data across a restart, as a storage outage does", async () => {
    const location = mkdtempSync(join(tmpdir(), "soak-azurite-test-"));
    const azurite = await startAzurite({ location });
    try {
      const table = TableClient.fromConnectionString(azurite.connectionString, "Survives", {
        allowInsecureConnection: true,
        retryOptions: { maxRetries: 0 },
      });
      await table.createTable();
      await table.createEntity({ partitionKey: "p", rowKey: "r", value: 1 });
      await azurite.stop();
      await expect(
        table.getEntity("p", "r", { requestOptions: { timeout: 2_000 } }).then(
          () => "answered",
          () => "refused",
        ),
      ).resolves.toBe("refused");
      await azurite.restart();
      expect((await table.getEntity<{ value: number }>("p", "r")).value).toBe(1);
    } finally {
      await azurite.stop();
      rmSync(location, { recursive: true, force: true });
    }
  });
});
