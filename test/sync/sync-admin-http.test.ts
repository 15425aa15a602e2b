// The sync admin endpoints through their HTTP adapters (functions/sync-admin.http.ts, functions/user-sync.http.ts):
// bearer-token checks, body validation, the run lifecycle answers and provision on demand.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callHandler, startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import { Tenant } from "../../dev/sandbox/tenant.js";
import { unsignedJwt } from "../tokens/support.js";
import { recordsOf } from "./sync-helpers.js";

type Handler = Parameters<typeof callHandler>[0];
let env: BridgeEnvironment;
let h: { startSync: Handler; getSyncRun: Handler; approveSyncRun: Handler; syncStatus: Handler; syncUserNow: Handler };
let admin: string;
const seen: string[] = [];

beforeAll(async () => {
  env = await startBridgeEnvironment({ seed: { users: 12, existingShare: 0.5 } });
  h = { ...(await import("../../functions/sync-admin.http.js")), ...(await import("../../functions/user-sync.http.js")) };
  admin = await env.sandbox.adminToken();
});
afterAll(async () => { await env?.stop(); });

/** Calls a handler and keeps the response text for the no-stack-trace check. */
async function call(handler: Handler, url: string, options: Parameters<typeof callHandler>[2] & { token?: string | null } = {}) {
  const { token = admin, ...rest } = options;
  const headers = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...rest.headers };
  const res = await callHandler(handler, url, { ...rest, headers });
  seen.push(res.text);
  return res;
}

const expectProblem = (res: { status: number; headers: Record<string, string>; body: any }, status: number) => {
  expect(res.status).toBe(status);
  expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, title: expect.any(String), detail: expect.any(String), type: expect.any(String) });
};

describe("authentication", () => {
  it("401 with WWW-Authenticate: Bearer without a token", async () => {
    const res = await call(h.syncStatus, "/api/sync/status", { token: null });
    expectProblem(res, 401);
    expect(res.headers["www-authenticate"]).toMatch(/^Bearer\b/);
  });

  it("401 for a wrong audience, an expired token, an unknown signing key and alg none", async () => {
    const { tenant, identities } = env.sandbox;
    const now = Math.floor(Date.now() / 1000);
    const base = { clientId: identities.adminApp.clientId, audience: identities.apiAudience, roles: ["Bridge.Admin"] };
    const good = await tenant.issueAccessToken(base);
    const claims = JSON.parse(Buffer.from(good.token.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;
    const bad: Array<[string, string]> = [
      ["wrong audience", (await tenant.issueAccessToken({ ...base, audience: "api://someone-else" })).token],
      ["expired", (await tenant.issueAccessToken({ ...base, claims: { exp: now - 600, nbf: now - 4000, iat: now - 4000 } })).token],
      ["unknown key", (await tenant.issueAccessToken({ ...base, key: await Tenant.newSigningKey() })).token],
      ["alg none", unsignedJwt(claims)],
    ];
    for (const [name, token] of bad) {
      const res = await call(h.syncStatus, "/api/sync/status", { token });
      expect(res.status, name).toBe(401);
      expect(res.headers["www-authenticate"], name).toMatch(/^Bearer\b/);
    }
    expect((await call(h.syncStatus, "/api/sync/status", { token: good.token })).status).toBe(200);
  });

  it("401 for ID-token-shaped tokens carrying the admin role, whatever the audience (access tokens only)", async () => {
    const { tenant, identities } = env.sandbox;
    const base = { clientId: identities.adminApp.clientId, audience: identities.apiAudience, roles: ["Bridge.Admin"] };
    const idToken = { azp: undefined, appid: undefined, azpacr: undefined, idtyp: undefined };
    const shapes: Array<[string, Record<string, unknown>]> = [
      ["v2 ID token with nonce", { ...idToken, nonce: "n-0S6_WzA2Mj" }],
      ["v2 ID token without nonce", idToken],
      ["v1 ID token", { ...idToken, ver: "1.0" }],
      ["access-token claims plus a nonce", { nonce: "abc" }],
    ];
    for (const [name, claims] of shapes) {
      const { token } = await tenant.issueAccessToken({ ...base, claims });
      const res = await call(h.syncStatus, "/api/sync/status", { token });
      expect(res.status, name).toBe(401);
      expect(res.body.detail, name).toContain("not an access token");
    }
    const v1Access = await tenant.issueAccessToken({ ...base, claims: { azp: undefined, idtyp: undefined, ver: "1.0", scp: undefined } });
    expect((await call(h.syncStatus, "/api/sync/status", { token: v1Access.token })).status).toBe(200);
  });

  it("403 for a valid token without the admin role", async () => {
    const token = await env.sandbox.adminToken({ roles: [] });
    expectProblem(await call(h.startSync, "/api/sync", { method: "POST", token }), 403);
    expectProblem(await call(h.syncUserNow, "/api/users/x/sync", { method: "POST", token, params: { objectIdOrUpn: "x" } }), 403);
  });
});

describe("POST /api/sync bodies", () => {
  it("400 naming an unknown field, 400 for malformed JSON, 413 over 1 MiB", async () => {
    const unknown = await call(h.startSync, "/api/sync", { method: "POST", body: { mode: "full", colour: "blue" } });
    expectProblem(unknown, 400);
    expect(unknown.body.detail).toContain("colour");
    const wrongType = await call(h.startSync, "/api/sync", { method: "POST", body: { dryRun: "yes" } });
    expectProblem(wrongType, 400);
    expect(wrongType.body.detail).toContain("dryRun");
    expectProblem(await call(h.startSync, "/api/sync", { method: "POST", body: '{"mode": "full"', headers: { "content-type": "application/json" } }), 400);
    const big = Buffer.from(JSON.stringify({ org: "x".repeat(1024 * 1024) }));
    expectProblem(await call(h.startSync, "/api/sync", { method: "POST", body: big, headers: { "content-type": "application/json" } }), 413);
  });
});

describe("run lifecycle", () => {
  let runId: string;

  it("202 with runId and statusUrl; a second start answers 409 naming the running run", async () => {
    const res = await call(h.startSync, "/api/sync", { method: "POST", body: {} });
    expect(res.status).toBe(202);
    runId = res.body.runId;
    expect(runId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.statusUrl).toBe(`http://127.0.0.1:7071/api/sync/runs/${runId}`);

    const second = await call(h.startSync, "/api/sync", { method: "POST", body: { dryRun: true } });
    expectProblem(second, 409);
    expect(second.body.runId).toBe(runId);
    expect(second.body.detail).toContain("in progress");

    const status = await call(h.syncStatus, "/api/sync/status");
    expect(status.body.orgs[0]).toMatchObject({ state: "running" });
  });

  it("GET the run report once the worker has run it", async () => {
    const root = (await import("../support/test-bridge.js")).testBridge();
  const syncRuns = () => root.syncRuns;
    await syncRuns().execute({ org: env.sandbox.dataverse[0]!.url, runId });
    const res = await call(h.getSyncRun, `/api/sync/runs/${runId}`, { params: { runId } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      runId, org: env.sandbox.dataverse[0]!.url.toLowerCase(), mode: "full", dryRun: false, state: "succeeded",
      startedAt: expect.any(String), finishedAt: expect.any(String),
      counts: { scanned: 12, created: 6, updated: expect.any(Number), disabled: 0, enabled: 0, remapped: 0, unchanged: expect.any(Number), skipped: 0, failed: 0 },
      changes: expect.any(Array), errors: [],
    });
    expect(res.body.changes.filter((c: { action: string }) => c.action === "create")).toHaveLength(6);
    expect(res.body.changes[0]).toMatchObject({ action: expect.any(String), columns: expect.any(Array) });
    expectProblem(await call(h.getSyncRun, "/api/sync/runs/00000000-0000-4000-8000-000000000000", { params: { runId: "00000000-0000-4000-8000-000000000000" } }), 404);
  });

  it("pages the change list: offset/limit, changesTotal and a link to the next page", async () => {
    const all = (await call(h.getSyncRun, `/api/sync/runs/${runId}`, { params: { runId } })).body;
    expect(all.changesTotal).toBe(all.changes.length);
    expect(all.changesTotal).toBeGreaterThan(3);
    const first = await call(h.getSyncRun, `http://evil.example/api/sync/runs/${runId}`, { params: { runId }, query: { limit: "3" }, headers: { host: "evil.example" } });
    expect(first.body.changes).toEqual(all.changes.slice(0, 3));
    const next = new URL(first.body.changesNext);
    expect(next.origin).toBe("http://127.0.0.1:7071"); // PUBLIC_BASE_URL (here its local default), never the Host header
    expect(next.searchParams.get("offset")).toBe("3");
    const second = await call(h.getSyncRun, `/api/sync/runs/${runId}`, { params: { runId }, query: Object.fromEntries(next.searchParams) });
    expect(second.body.changes).toEqual(all.changes.slice(3, 6));
    const last = await call(h.getSyncRun, `/api/sync/runs/${runId}`, { params: { runId }, query: { offset: String(all.changesTotal - 1) } });
    expect(last.body.changes).toHaveLength(1);
    expect(last.body.changesNext).toBeUndefined();
    expectProblem(await call(h.getSyncRun, `/api/sync/runs/${runId}`, { params: { runId }, query: { limit: "0" } }), 400);
  });

  it("GET status: per org state, last run and outcome, cursor age, next scheduled run", async () => {
    const res = await call(h.syncStatus, "/api/sync/status");
    expect(res.status).toBe(200);
    expect(res.body.orgs).toHaveLength(1);
    expect(res.body.orgs[0]).toMatchObject({
      org: env.sandbox.dataverse[0]!.url.toLowerCase(), state: "idle", lastRunId: runId, lastOutcome: "succeeded",
      cursorAgeSeconds: expect.any(Number), nextScheduledRun: expect.any(String),
    });
    expect(Date.parse(res.body.orgs[0].nextScheduledRun)).toBeGreaterThan(Date.now());
  });

  it("approve on a run that is not halted answers 409", async () => {
    const res = await call(h.approveSyncRun, `/api/sync/runs/${runId}/approve`, { method: "POST", params: { runId } });
    expectProblem(res, 409);
  });
});

describe("POST /api/users/{objectIdOrUpn}/sync", () => {
  it("creates a new directory user in Dataverse and returns what changed", async () => {
    const user = env.sandbox.tenant.directory.addUser({ userPrincipalName: "new.hire@contoso.com", givenName: "New", surname: "Hire", mail: "new.hire@contoso.com", jobTitle: "Intern" });
    const upn = user.userPrincipalName;
    const res = await call(h.syncUserNow, `/api/users/${encodeURIComponent(upn)}/sync`, { method: "POST", params: { objectIdOrUpn: upn } });
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ id: user.id, userPrincipalName: upn, found: true });
    expect(res.body.orgs).toHaveLength(1);
    expect(res.body.orgs[0].change).toMatchObject({ action: "create", outcome: "applied" });
    expect(res.body.orgs[0].change.columns).toEqual(expect.arrayContaining([{ column: "jobtitle", old: null, new: "Intern" }]));
    const records = recordsOf(env.sandbox.dataverse[0]!.org, user.id);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ domainname: upn, firstname: "New", lastname: "Hire", jobtitle: "Intern", isdisabled: false });

    const again = await call(h.syncUserNow, `/api/users/${user.id}/sync`, { method: "POST", params: { objectIdOrUpn: user.id } });
    expect(again.body.orgs[0].change).toEqual({ action: "unchanged" });
  });

  it("400 for a key that is neither a GUID nor UPN-shaped; Graph is never called", async () => {
    const graph = env.sandbox.graph.knobs;
    const before = graph.requests.length;
    const keys = ["delta()", "me", "x", "../groups", "a@b", "user@contoso.com/manager", "user@contoso.com?x=1", "00000000-0000-4000-8000-00000000000", "@contoso.com", "a b@contoso.com", "x".repeat(300) + "@contoso.com", "\ud800@contoso.com", "CONTOSO\\jdoe"];
    for (const key of keys) {
      const res = await call(h.syncUserNow, "/api/users/key/sync", { method: "POST", params: { objectIdOrUpn: key } });
      expectProblem(res, 400);
    }
    expect(graph.requests.slice(before)).toEqual([]);
  });

  it("404 for a UPN the directory does not know", async () => {
    const res = await call(h.syncUserNow, "/api/users/nobody%40contoso.com/sync", { method: "POST", params: { objectIdOrUpn: "nobody@contoso.com" } });
    expectProblem(res, 404);
    expect(recordsOf(env.sandbox.dataverse[0]!.org, "nobody@contoso.com")).toHaveLength(0);
  });
});

it("no response carried a stack trace", () => {
  expect(seen.length).toBeGreaterThan(15);
  for (const text of seen) expect(text).not.toMatch(/\n\s+at |node:internal|\.[jt]s:\d+:\d+/);
});
