// Issue #11 items 7 and 8, issue #19 item 1: blank stored secrets are refused and secrets compare as exact bytes;
// failed attempts are throttled per (claimed id, source) and per source across instances, without ever refusing a
// valid credential; an unknown id and a wrong secret for a known id take the same path (no vault re-read).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import { basic, postForm } from "./support.js";
import { seedCallerIdentity } from "../../dev/sandbox/seed.js";


let env: BridgeEnvironment;
let handler: typeof import("../../functions/token.http.js").token;
let org1: string;

beforeAll(async () => {
  env = await startBridgeEnvironment({ orgs: 1 });
  const { tenant, dataverse, identities } = env.sandbox;
  org1 = dataverse[0]!.url;
  tenant.setSecret("caller-blank-secret", "   ");
  tenant.setSecret("caller-padded-secret", "s3cret-value ");
  const own = (name: string) => seedCallerIdentity(tenant, [dataverse[0]!.org], { displayName: name, roles: [] }).clientId;
  process.env.TOKEN_CALLERS = JSON.stringify([
    ...identities.tokenCallers,
    { id: "blank", name: "Blank", auth: "secret", secretName: "caller-blank-secret", dataverseAppId: own("Blank"), resources: [org1] },
    { id: "padded", name: "Padded", auth: "secret", secretName: "caller-padded-secret", dataverseAppId: own("Padded"), resources: [org1] },
  ]);
  ({ token: handler } = await import("../../functions/token.http.js"));
});
afterAll(async () => env?.stop());

const request = (id: string, secret: string, source: string) =>
  postForm(handler, { grant_type: "client_credentials", scope: `${org1}/.default` }, { authorization: basic(id, secret), "x-forwarded-for": `198.51.100.7, ${source}` });

describe("stored secrets", () => {
  it("a blank stored secret never lets an empty password in", async () => {
    const res = await request("blank", "", "192.0.2.1");
    expect(res.status).not.toBe(200);
    expect(res.body.access_token).toBeUndefined();
    expect(res.body.error).toBe("temporarily_unavailable");
  });

  it("compares exact bytes: no trimming of the stored value", async () => {
    expect((await request("padded", "s3cret-value", "192.0.2.2")).status).toBe(401);
    expect((await request("padded", "s3cret-value ", "192.0.2.2")).status).toBe(200);
  });
});

describe("failed client authentications", () => {
  beforeAll(async () => {
    // A fixed clock keeps every failure of a test in one counting window (no minute rollover mid-test).
    const { tokenHandler } = await import("../../functions/token.http.js");
    const { testBridge } = await import("../support/test-bridge.js");
    const frozen = Date.now();
    const root = testBridge({ tokens: { authFailures: { now: () => frozen } } });
    handler = tokenHandler(() => root);
  });

  it("an unknown id and a wrong secret for a known id cost the same: no vault read on either", async () => {
    const { clientId, secret } = env.sandbox.identities.secretCaller;
    expect((await request(clientId, secret, "192.0.2.3")).status).toBe(200); // warm the vault cache
    const name = env.sandbox.identities.secretCaller.secretName;
    const reads = env.sandbox.tenant.vaultReadCount(name);
    const wrong = await request(clientId, "wrong", "192.0.2.3");
    const unknown = await request("no-such-caller", "wrong", "192.0.2.3");
    expect([wrong.status, wrong.body.error]).toEqual([401, "invalid_client"]);
    expect([unknown.status, unknown.body.error, unknown.body.error_description]).toEqual([401, "invalid_client", wrong.body.error_description]);
    expect(env.sandbox.tenant.vaultReadCount(name)).toBe(reads);
  });

  it("never refuses the right secret: after 10 guesses from its source the caller is served; further guesses get 429", async () => {
    const { clientId, secret } = env.sandbox.identities.secretCaller;
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await request(clientId, `guess-${i}`, "203.0.113.9")).status);
    expect(statuses).toEqual(Array(10).fill(401));
    const served = await request(clientId, secret, "203.0.113.9");
    expect(served.status).toBe(200);
    expect(typeof served.body.access_token).toBe("string");
    const throttled = await request(clientId, "guess-10", "203.0.113.9");
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(throttled.body.access_token).toBeUndefined();
    expect((await request(clientId, "guess-11", "203.0.113.10")).status).toBe(401); // another source is counted on its own
  });

  it("throttles a source that probes many ids, yet serves a valid caller from it", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 31; i++) statuses.push((await request(`probe-${i}`, "x", "203.0.113.20")).status);
    expect(statuses.slice(0, 30)).toEqual(Array(30).fill(401));
    expect(statuses[30]).toBe(429);
    const { clientId, secret } = env.sandbox.identities.secretCaller;
    expect((await request(clientId, secret, "203.0.113.20")).status).toBe(200);
  });

  it("counts every refusal before authentication, those of unparsable requests too", async () => {
    const { callHandler } = await import("../support/bridge-env.js");
    const statuses: number[] = [];
    for (let i = 0; i < 31; i++) {
      const res = await callHandler(handler, "http://127.0.0.1:7071/api/token", { method: "POST", body: "{}", headers: { "content-type": "application/json", "x-forwarded-for": "203.0.113.40" } });
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 30)).toEqual(Array(30).fill(400));
    expect(statuses[30]).toBe(429);
    const { clientId, secret } = env.sandbox.identities.secretCaller;
    expect((await request(clientId, secret, "203.0.113.40")).status).toBe(200);
  });

  it("over the limit a failed attempt costs no storage: no counter write, one audit row for the whole flood", async () => {
    const { TABLES } = await import("../../shared/state/storage.js");
    const { storage } = (await import("../support/test-bridge.js")).testBridge();
    const { readAudit } = await import("../../shared/tokens/audit-query.js");
    const rows = async (table: string) => {
      if (table === TABLES.tokenAudit) return (await readAudit(await storage.table(table))).filter((r) => r.reason?.startsWith("auth_failures_throttled")).length;
      let n = 0;
      for await (const row of (await storage.table(table)).listEntities<{ count?: number }>()) n += Number(row.count);
      return n;
    };
    for (let i = 0; i < 10; i++) await request("flooded", "x", "203.0.113.30");
    const [counted, throttledRows] = [await rows(TABLES.authFailures), await rows(TABLES.tokenAudit)];
    const answers = [];
    for (let i = 0; i < 50; i++) answers.push((await request("flooded", "x", "203.0.113.30")).status);
    expect(answers).toEqual(Array(50).fill(429));
    expect(await rows(TABLES.authFailures)).toBe(counted);
    expect(await rows(TABLES.tokenAudit)).toBe(throttledRows + 1); // each refusal's audit write ends before its answer
  });

  it("counts across instances: a second instance throttles after its first failure once the global count is over", async () => {
    const { AuthFailureThrottle, TableFailureCounter } = await import("../../shared/http/auth-failures.js");
    const { TABLES } = await import("../../shared/state/storage.js");
    const { storage } = (await import("../support/test-bridge.js")).testBridge();
    const counter = () => new TableFailureCounter(() => storage.table(TABLES.authFailures));
    const frozen = Date.now();
    const a = new AuthFailureThrottle(counter(), () => frozen);
    const b = new AuthFailureThrottle(counter(), () => frozen);
    for (let i = 0; i < 10; i++) await a.recordFailure("erp", "198.51.100.50");
    expect(a.isThrottled("erp", "198.51.100.50")).toBe(true);
    expect(b.isThrottled("erp", "198.51.100.50")).toBe(false); // b has not seen a failure yet
    expect(await b.recordFailure("erp", "198.51.100.50")).toEqual({ throttled: false });
    expect(await b.recordFailure("erp", "198.51.100.50")).toMatchObject({ throttled: true, first: true });
    expect(await b.recordFailure("erp", "198.51.100.50")).toMatchObject({ throttled: true, first: false });
  });
});

describe("the request's source", () => {
  it("is the entry the trusted proxies wrote, never one the client chose", async () => {
    const { requestSource } = await import("../../shared/http/auth-failures.js");
    expect(requestSource("1.2.3.4, 203.0.113.5")).toBe("203.0.113.5"); // the client's own entry is to the left
    expect(requestSource("1.2.3.4, 203.0.113.5:51234")).toBe("203.0.113.5");
    expect(requestSource("[2001:db8::1]:443")).toBe("2001:db8::1");
    expect(requestSource("1.2.3.4, 203.0.113.5, 10.0.0.4", 2)).toBe("203.0.113.5"); // gateway, then App Service
    expect(requestSource("203.0.113.5", 2)).toBe("203.0.113.5");
    expect(requestSource(undefined)).toBe("direct");
  });

  it("TRUSTED_PROXY_HOPS is validated: 1 by default, a whole number from 1 to 10", async () => {
    const { settingsSchema } = await import("../../shared/config/schema.js");
    const hops = settingsSchema.shape.TRUSTED_PROXY_HOPS;
    expect(hops.parse(undefined)).toBe(1);
    expect(hops.parse("2")).toBe(2);
    for (const bad of ["0", "11", "1.5", "two", "-1"]) expect(hops.safeParse(bad).success, bad).toBe(false);
  });
});
