// Fidelity tests of the Graph emulator, driven with Microsoft's own JavaScript SDK
// (@microsoft/microsoft-graph-client): paging, OData filters, delta rounds, token expiry and resets,
// group member deltas, subscriptions with the validation handshake, notifications, and 429 retry.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, GraphError, PageIterator, RetryHandlerOptions, type PageCollection } from "@microsoft/microsoft-graph-client";
import { createGraphHandler, GraphEmulator } from "../../dev/sandbox/graph.js";
import { startHttpsService, type RunningService } from "../../dev/sandbox/https-service.js";
import { Tenant, type AppRegistration } from "../../dev/sandbox/tenant.js";
import type { DirectoryUser } from "../../dev/sandbox/directory.js";
import { ensureSandboxTls } from "../../dev/sandbox/tls.js";

// Same as testTls() in test/support/sandbox.ts, without importing the whole sandbox (and every other emulator).
function testTls() {
  const dir = process.env.SANDBOX_TLS_DIR;
  if (!dir) throw new Error("SANDBOX_TLS_DIR is not set: run the tests through vitest");
  return ensureSandboxTls(dir);
}

type Json = Record<string, any>;

let tenant: Tenant;
let graph: RunningService;
let emulator: GraphEmulator;
let app: AppRegistration;
let client: Client;
const users: DirectoryUser[] = [];

function newClient(): Client {
  return Client.initWithMiddleware({
    authProvider: { getAccessToken: async () => (await tenant.issueAccessToken({ clientId: app.clientId, audience: graph.url })).token },
    baseUrl: graph.url,
    defaultVersion: "v1.0",
    customHosts: new Set(["127.0.0.1"]),
  });
}

async function graphError(promise: Promise<unknown>): Promise<GraphError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(GraphError);
    return err as GraphError;
  }
  throw new Error("expected the request to fail");
}

/** Follows nextLinks to the deltaLink, checking each link's shape on the way. */
async function runDelta(first: string, maxPageSize?: number): Promise<{ items: Json[]; deltaLink: string; pages: number }> {
  const items: Json[] = [];
  let url = first;
  for (let pages = 1; ; pages++) {
    const request = client.api(url);
    if (maxPageSize) request.header("Prefer", `odata.maxpagesize=${maxPageSize}`);
    const page = (await request.get()) as Json;
    items.push(...(page.value as Json[]));
    if (page["@odata.nextLink"]) {
      expect(page["@odata.deltaLink"]).toBeUndefined();
      expect(page["@odata.nextLink"]).toContain("$skiptoken=");
      url = page["@odata.nextLink"];
      continue;
    }
    expect(page["@odata.deltaLink"]).toContain("$deltatoken=");
    return { items, deltaLink: page["@odata.deltaLink"], pages };
  }
}

const activeIds = () => [...tenant.directory.users.values()].filter((u) => u.state === "active").map((u) => u.id).sort();

beforeAll(async () => {
  tenant = await Tenant.create();
  tenant.authorityUrl = "https://login.sandbox.test";
  app = tenant.registerApp({ displayName: "Graph reader" });
  let url = "";
  const created = createGraphHandler(tenant, { baseUrl: () => url });
  emulator = created.emulator;
  graph = await startHttpsService(testTls(), "graph", created.handler);
  url = graph.url;
  for (let i = 0; i < 25; i++) {
    users.push(tenant.directory.addUser({
      userPrincipalName: `user${String(i).padStart(2, "0")}@contoso.com`,
      displayName: `User ${i}`, givenName: "User", surname: String(i), jobTitle: "Engineer", accountEnabled: true,
    }));
  }
  users.push(tenant.directory.addUser({ userPrincipalName: "o'brien@contoso.com", displayName: "Pat O'Brien", mail: "o'brien@contoso.com" }));
  client = newClient();
});

afterAll(async () => {
  emulator.close();
  await graph.close();
});

describe("authentication", () => {
  it("answers a Graph-shaped 401 without a token, with a foreign audience or a foreign tenant", async () => {
    const res = await fetch(`${graph.url}/v1.0/users`);
    expect(res.status).toBe(401);
    const body = (await res.json()) as Json;
    expect(body.error.code).toBe("InvalidAuthenticationToken");
    expect(body.error.innerError["request-id"]).toEqual(expect.any(String));
    expect(body.error.innerError.date).toEqual(expect.any(String));

    const wrongAud = await tenant.issueAccessToken({ clientId: app.clientId, audience: "https://vault.azure.net" });
    const res2 = await fetch(`${graph.url}/v1.0/users`, { headers: { authorization: `Bearer ${wrongAud.token}` } });
    expect(res2.status).toBe(401);
    const wrongTid = await tenant.issueAccessToken({ clientId: app.clientId, audience: graph.url, claims: { tid: "other" } });
    const res3 = await fetch(`${graph.url}/v1.0/users`, { headers: { authorization: `Bearer ${wrongTid.token}` } });
    expect(res3.status).toBe(401);

    const graphAud = await tenant.issueAccessToken({ clientId: app.clientId, audience: "https://graph.microsoft.com" });
    const ok = await fetch(`${graph.url}/v1.0/users?$top=1`, { headers: { authorization: `Bearer ${graphAud.token}` } });
    expect(ok.status).toBe(200);
  });
});

describe("users", () => {
  it("pages the whole directory with PageIterator and leaves deleted users out", async () => {
    const gone = tenant.directory.addUser({ userPrincipalName: "temp.deleted@contoso.com" });
    tenant.directory.deleteUser(gone.id);
    const seen: Json[] = [];
    const first = (await client.api("/users").select(["id", "userPrincipalName", "accountEnabled"]).top(7).get()) as PageCollection;
    expect(first["@odata.nextLink"]).toContain("$skiptoken=");
    const iterator = new PageIterator(client, first, (u) => { seen.push(u as Json); return true; });
    await iterator.iterate();
    expect(seen.map((u) => u.id).sort()).toEqual(activeIds());
    expect(seen.some((u) => u.id === gone.id)).toBe(false);
    expect(Object.keys(seen[0]!).sort()).toEqual(["accountEnabled", "id", "userPrincipalName"]);
  });

  it("finds a UPN with an apostrophe by OData-escaped $filter, by path and by key syntax", async () => {
    const obrien = users[users.length - 1]!;
    const byFilter = (await client.api("/users").filter("userPrincipalName eq 'o''brien@contoso.com'").select("id,displayName").get()) as Json;
    expect(byFilter.value).toEqual([{ id: obrien.id, displayName: "Pat O'Brien" }]);
    const byPath = (await client.api(`/users/${encodeURIComponent("o'brien@contoso.com")}`).get()) as Json;
    expect(byPath.id).toBe(obrien.id);
    const byKey = (await client.api(`/users('o''brien@contoso.com')`).select("id").get()) as Json;
    expect(byKey.id).toBe(obrien.id);
    const byId = (await client.api(`/users/${obrien.id}`).select("userPrincipalName,accountEnabled").get()) as Json;
    expect(byId).toMatchObject({ userPrincipalName: "o'brien@contoso.com", accountEnabled: true });
  });

  it("supports startswith and id in (...), and rejects unknown properties", async () => {
    const starts = (await client.api("/users").filter("startswith(userPrincipalName,'user1')").select("userPrincipalName").get()) as Json;
    expect(starts.value.map((u: Json) => u.userPrincipalName).sort()).toEqual(
      ["user10", "user11", "user12", "user13", "user14", "user15", "user16", "user17", "user18", "user19"].map((a) => `${a}@contoso.com`));
    const ids = [users[0]!.id, users[3]!.id];
    const byIds = (await client.api("/users").filter(`id in ('${ids[0]}','${ids[1]}')`).select("id").get()) as Json;
    expect(byIds.value.map((u: Json) => u.id).sort()).toEqual([...ids].sort());
    const bad = await graphError(client.api("/users").select("nope").get());
    expect(bad.statusCode).toBe(400);
  });

  it("answers 404 Request_ResourceNotFound for unknown and soft-deleted users", async () => {
    const missing = await graphError(client.api("/users/nobody@contoso.com").get());
    expect(missing.statusCode).toBe(404);
    expect(missing.code).toBe("Request_ResourceNotFound");
    const victim = tenant.directory.addUser({ userPrincipalName: "soon.gone@contoso.com" });
    tenant.directory.deleteUser(victim.id);
    expect((await graphError(client.api(`/users/${victim.id}`).get())).code).toBe("Request_ResourceNotFound");
  });
});

describe("JSON batching", () => {
  it("answers up to 20 user reads in one $batch, each with its own status, and refuses a 21st", async () => {
    const ids = users.slice(0, 16).map((u) => u.id);
    const requests = [
      { id: "a", method: "GET", url: `/users?$filter=id in (${ids.slice(0, 15).map((id) => `'${id}'`).join(",")})&$select=id,userPrincipalName` },
      { id: "b", method: "GET", url: `/users?$filter=id in (${ids.map((id) => `'${id}'`).join(",")})` },
      { id: "c", method: "GET", url: `/users/${users[0]!.id}?$select=id` },
      { id: "d", method: "GET", url: "/groups" },
    ];
    const answer = (await client.api("/$batch").post({ requests })) as Json;
    const byId = new Map((answer.responses as Json[]).map((r) => [r.id, r]));
    expect(byId.get("a")!.status).toBe(200);
    expect((byId.get("a")!.body.value as Json[]).map((u) => u.id).sort()).toEqual(ids.slice(0, 15).sort());
    expect(byId.get("b")).toMatchObject({ status: 400, body: { error: { code: "Request_UnsupportedQuery" } } }); // 16 values in an `in`
    expect(byId.get("c")).toMatchObject({ status: 200, body: { id: users[0]!.id } });
    expect(byId.get("d")!.status).toBe(400);
    const tooMany = Array.from({ length: 21 }, (_, i) => ({ id: String(i), method: "GET", url: `/users/${users[0]!.id}` }));
    expect((await graphError(client.api("/$batch").post({ requests: tooMany }))).statusCode).toBe(400);
  });
});

describe("users/delta", () => {
  it("reports a full chain, then exactly the changed, removed, disabled and restored users", async () => {
    const [changed, softDeleted, disabled, restored, hardDeleted] = [users[1]!, users[2]!, users[3]!, users[4]!, users[5]!];
    tenant.directory.deleteUser(restored.id); // deleted before the initial sync: not in it
    const initial = await runDelta("/users/delta?$select=displayName,jobTitle,accountEnabled", 10);
    expect(initial.pages).toBeGreaterThan(2);
    expect(initial.items.map((u) => u.id).sort()).toEqual(activeIds());
    expect(initial.items.every((u) => u["@removed"] === undefined)).toBe(true);
    expect(Object.keys(initial.items[0]!).sort()).toEqual(["accountEnabled", "displayName", "id", "jobTitle"]);

    tenant.directory.updateUser(changed.id, { jobTitle: "Director" });
    tenant.directory.deleteUser(softDeleted.id);
    tenant.directory.updateUser(disabled.id, { accountEnabled: false });
    tenant.directory.restoreUser(restored.id);
    tenant.directory.deleteUser(hardDeleted.id, true);

    const round = await runDelta(initial.deltaLink);
    const byId = new Map(round.items.map((u) => [u.id, u]));
    expect([...byId.keys()].sort()).toEqual([changed.id, softDeleted.id, disabled.id, restored.id, hardDeleted.id].sort());
    expect(byId.get(changed.id)).toMatchObject({ jobTitle: "Director", accountEnabled: true });
    expect(byId.get(softDeleted.id)).toEqual({ id: softDeleted.id, "@removed": { reason: "changed" } });
    expect(byId.get(hardDeleted.id)).toEqual({ id: hardDeleted.id, "@removed": { reason: "deleted" } });
    expect(byId.get(disabled.id)).toMatchObject({ accountEnabled: false });
    expect(byId.get(disabled.id)!["@removed"]).toBeUndefined();
    expect(byId.get(restored.id)).toMatchObject({ id: restored.id, accountEnabled: true });
    expect(byId.get(restored.id)!["@removed"]).toBeUndefined();

    const quiet = await runDelta(round.deltaLink);
    expect(quiet.items).toEqual([]);
  });

  it("keeps a chain stable while the directory changes mid-chain and shows those changes next round", async () => {
    const first = (await client.api("/users/delta?$select=jobTitle").header("Prefer", "odata.maxpagesize=5").get()) as Json;
    const seen = new Set<string>((first.value as Json[]).map((u) => u.id));
    const notYetSeen = activeIds().filter((id) => !seen.has(id));
    const touched = notYetSeen[notYetSeen.length - 1]!;
    tenant.directory.updateUser(touched, { jobTitle: "Changed mid-chain" });
    const added = tenant.directory.addUser({ userPrincipalName: "added.midchain@contoso.com", jobTitle: "New" });
    // Query options on a follow-up request are ignored: they live in the token.
    const rest = await runDelta(`${first["@odata.nextLink"]}&$select=displayName`, 5);
    for (const item of rest.items) {
      expect(seen.has(item.id)).toBe(false);
      seen.add(item.id);
      expect(Object.keys(item).sort()).toEqual(["id", "jobTitle"]);
    }
    // Snapshot: the chain reports changes up to the version it started at; later ones wait for the next round.
    expect(rest.items.some((u) => u.id === touched || u.id === added.id)).toBe(false);
    const next = await runDelta(rest.deltaLink);
    for (const item of next.items) seen.add(item.id);
    expect([...seen].sort()).toEqual(activeIds());
    expect(next.items.find((u) => u.id === touched)).toMatchObject({ jobTitle: "Changed mid-chain" });
    expect(next.items.find((u) => u.id === added.id)).toMatchObject({ jobTitle: "New" });
  });

  it("answers $deltatoken=latest with an empty page and a deltaLink for changes from now on", async () => {
    const latest = (await client.api("/users/delta()?$select=displayName&$deltatoken=latest").get()) as Json;
    expect(latest.value).toEqual([]);
    expect(latest["@odata.deltaLink"]).toContain("$deltatoken=");
    tenant.directory.updateUser(users[6]!.id, { displayName: "Renamed" });
    const round = await runDelta(latest["@odata.deltaLink"]);
    expect(round.items).toEqual([{ displayName: "Renamed", id: users[6]!.id }]);
  });

  it("rejects filters other than id eq ... or ... (at most 50) and $orderby", async () => {
    const byName = await graphError(client.api("/users/delta").filter("displayName eq 'x'").get());
    expect(byName.code).toBe("Request_UnsupportedQuery");
    const many = Array.from({ length: 51 }, (_, i) => `id eq '00000000-0000-0000-0000-${String(i).padStart(12, "0")}'`).join(" or ");
    expect((await graphError(client.api("/users/delta").filter(many).get())).code).toBe("Request_UnsupportedQuery");
    const two = await runDelta(`/users/delta?$filter=id eq '${users[7]!.id}' or id eq '${users[8]!.id}'`);
    expect(two.items.map((u) => u.id).sort()).toEqual([users[7]!.id, users[8]!.id].sort());
  });

  it("answers 400 syncStateNotFound for an expired token, and a new initial sync works", async () => {
    const { deltaLink } = await runDelta("/users/delta?$select=id&$deltatoken=latest");
    const midChain = (await client.api("/users/delta?$select=id").header("Prefer", "odata.maxpagesize=2").get()) as Json;
    emulator.expireDeltaTokens();
    const expired = await graphError(client.api(deltaLink).get());
    expect(expired.statusCode).toBe(400);
    expect(expired.code).toBe("syncStateNotFound");
    expect((await graphError(client.api(midChain["@odata.nextLink"]).get())).code).toBe("syncStateNotFound");
    const fresh = await runDelta("/users/delta?$select=id");
    expect(fresh.items.map((u) => u.id).sort()).toEqual(activeIds());
    expect((await runDelta(fresh.deltaLink)).items).toEqual([]);
  });

  it("answers 410 Gone with a Location whose $deltatoken is empty, which restarts a full sync", async () => {
    const { deltaLink } = await runDelta("/users/delta?$select=displayName,accountEnabled&$deltatoken=latest");
    emulator.failNextDelta("gone");
    const gone = await graphError(client.api(deltaLink).get());
    expect(gone.statusCode).toBe(410);
    const location = gone.headers?.get("location") ?? "";
    expect(new URL(location).searchParams.get("$deltatoken")).toBe("");
    const full = await runDelta(location);
    expect(full.items.map((u) => u.id).sort()).toEqual(activeIds());
    expect(Object.keys(full.items[0]!).sort()).toEqual(["accountEnabled", "displayName", "id"]);

    emulator.failNextDelta("resyncRequired");
    const resync = await graphError(client.api(full.deltaLink).get());
    expect(resync.code).toBe("resyncRequired");
    expect((await runDelta(full.deltaLink)).items).toEqual([]);
  });
});

describe("groups", () => {
  it("lists members in pages and reports member changes through groups/delta members@delta", async () => {
    const group = tenant.directory.addGroup("Sales");
    const other = tenant.directory.addGroup("Other");
    const [a, b, c, d] = [users[10]!, users[11]!, users[12]!, users[13]!];
    for (const u of [a, b, c]) tenant.directory.setMembership(group.id, u.id, true);
    tenant.directory.setMembership(other.id, d.id, true);

    const members: Json[] = [];
    const first = (await client.api(`/groups/${group.id}/members`).select("id,userPrincipalName").top(2).get()) as PageCollection;
    await new PageIterator(client, first, (m) => { members.push(m as Json); return true; }).iterate();
    expect(members.map((m) => m.id).sort()).toEqual([a.id, b.id, c.id].sort());
    expect(members[0]!["@odata.type"]).toBe("#microsoft.graph.user");

    emulator.memberLinksPerPage = 2;
    try {
      const initial = await runDelta(`/groups/delta?$select=displayName,members&$filter=id eq '${group.id}'`);
      // A large group spans pages: the group repeats and its member lists are merged.
      expect(initial.pages).toBe(2);
      expect(new Set(initial.items.map((g) => g.id))).toEqual(new Set([group.id]));
      const merged = initial.items.flatMap((g) => g["members@delta"] as Json[]);
      expect(merged.map((m) => m.id).sort()).toEqual([a.id, b.id, c.id].sort());
      expect(merged.every((m) => m["@odata.type"] === "#microsoft.graph.user" && m["@removed"] === undefined)).toBe(true);
      expect(initial.items[0]!.displayName).toBe("Sales");

      tenant.directory.setMembership(group.id, b.id, false);
      tenant.directory.setMembership(group.id, d.id, true);
      tenant.directory.setMembership(other.id, a.id, true); // filtered out
      const round = await runDelta(initial.deltaLink);
      const changes = round.items.flatMap((g) => g["members@delta"] as Json[]);
      expect(round.items.every((g) => g.id === group.id)).toBe(true);
      expect(changes).toHaveLength(2);
      expect(changes).toContainEqual({ "@odata.type": "#microsoft.graph.user", id: b.id, "@removed": { reason: "deleted" } });
      expect(changes).toContainEqual({ "@odata.type": "#microsoft.graph.user", id: d.id });
    } finally {
      emulator.memberLinksPerPage = 500;
    }
  });

  it("answers 404 for an unknown group", async () => {
    const err = await graphError(client.api("/groups/00000000-0000-0000-0000-000000000001/members").get());
    expect(err.statusCode).toBe(404);
    expect(err.code).toBe("Request_ResourceNotFound");
  });
});

interface Receiver {
  url: string;
  validations: string[];
  posts: Array<{ path: string; body: Json }>;
  echo: boolean;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const receiver = { validations: [] as string[], posts: [] as Array<{ path: string; body: Json }>, echo: true } as Receiver;
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://x");
      const token = url.searchParams.get("validationToken");
      if (token !== null) {
        receiver.validations.push(token);
        res.writeHead(200, { "content-type": "text/plain" }).end(receiver.echo ? token : "not the token");
        return;
      }
      receiver.posts.push({ path: url.pathname, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Json });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  receiver.close = () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
  return receiver;
}

describe("subscriptions", () => {
  let receiver: Receiver;
  beforeAll(async () => { receiver = await startReceiver(); });
  afterAll(async () => { await receiver.close(); });

  const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
  const subscription = () => ({
    changeType: "updated,deleted",
    notificationUrl: `${receiver.url}/notify`,
    lifecycleNotificationUrl: `${receiver.url}/lifecycle`,
    resource: "users",
    expirationDateTime: inDays(2),
    clientState: "s3cret",
  });

  it("validates the endpoint, renews, 404s when unknown, delivers batched notifications and lifecycle events", async () => {
    receiver.echo = true;
    const created = (await client.api("/subscriptions").post(subscription())) as Json;
    expect(created).toMatchObject({ resource: "users", changeType: "updated,deleted", clientState: "s3cret", applicationId: app.clientId });
    expect(receiver.validations).toHaveLength(2);
    expect(receiver.validations[0]).toMatch(/^Validation: /);

    const renewedTo = inDays(20);
    const renewed = (await client.api(`/subscriptions/${created.id}`).patch({ expirationDateTime: renewedTo })) as Json;
    expect(Date.parse(renewed.expirationDateTime)).toBe(Date.parse(renewedTo));
    const list = (await client.api("/subscriptions").get()) as Json;
    expect(list.value.map((s: Json) => s.id)).toEqual([created.id]);

    const [updated, soft, hard] = [users[14]!, users[15]!, users[16]!];
    tenant.directory.updateUser(updated.id, { jobTitle: "Notified" });
    tenant.directory.deleteUser(soft.id);
    tenant.directory.deleteUser(hard.id, true);
    await emulator.flushNotifications();
    const notifications = receiver.posts.filter((p) => p.path === "/notify");
    expect(notifications).toHaveLength(1); // one batch for the tick
    const value = notifications[0]!.body.value as Json[];
    expect(value.map((n) => [n.resource, n.changeType])).toEqual([
      [`Users/${updated.id}`, "updated"], [`Users/${soft.id}`, "updated"], [`Users/${hard.id}`, "deleted"],
    ]);
    expect(value[0]).toMatchObject({
      subscriptionId: created.id,
      clientState: "s3cret",
      tenantId: tenant.tenantId,
      subscriptionExpirationDateTime: renewed.expirationDateTime,
      resourceData: { "@odata.type": "#Microsoft.Graph.User", "@odata.id": `Users/${updated.id}`, id: updated.id, organizationId: tenant.tenantId },
    });

    const delivered = await emulator.sendLifecycleNotification(created.id, "reauthorizationRequired");
    expect(delivered.status).toBe(202);
    const lifecycle = receiver.posts.filter((p) => p.path === "/lifecycle");
    expect(lifecycle[0]!.body.value[0]).toMatchObject({ lifecycleEvent: "reauthorizationRequired", subscriptionId: created.id, clientState: "s3cret" });

    expect(emulator.forgetSubscription(created.id)).toBe(true);
    const lost = await graphError(client.api(`/subscriptions/${created.id}`).patch({ expirationDateTime: inDays(3) }));
    expect(lost.statusCode).toBe(404);
    const again = (await client.api("/subscriptions").post(subscription())) as Json;
    await client.api(`/subscriptions/${again.id}`).delete();
    expect((await graphError(client.api(`/subscriptions/${again.id}`).get())).statusCode).toBe(404);
  });

  it("refuses an endpoint that does not echo the token, and a lifetime over 41760 minutes", async () => {
    receiver.echo = false;
    try {
      const refused = await graphError(client.api("/subscriptions").post(subscription()));
      expect(refused.statusCode).toBe(400);
      expect(refused.code).toBe("ValidationError");
    } finally {
      receiver.echo = true;
    }
    const tooLong = await graphError(client.api("/subscriptions").post({ ...subscription(), expirationDateTime: inDays(30) }));
    expect(tooLong.statusCode).toBe(400);
    const unreachable = await graphError(client.api("/subscriptions").post({ ...subscription(), notificationUrl: "http://127.0.0.1:9/none" }));
    expect(unreachable.code).toBe("ValidationError");
    expect(emulator.subscriptions).toEqual([]);
  });
});

describe("throttling", () => {
  it("sends Graph-shaped 429s whose Retry-After the SDK's RetryHandler honours", async () => {
    let throttled = 0;
    graph.knobs.fault = GraphEmulator.throttle({ retryAfterSeconds: 1, match: () => throttled++ < 1 });
    const before = graph.knobs.requests.length;
    try {
      const page = (await client.api("/users").top(1).get()) as Json;
      expect(page.value).toHaveLength(1);
      expect(graph.knobs.requests.slice(before).map((r) => r.status)).toEqual([429, 200]);

      graph.knobs.fault = GraphEmulator.throttle({ retryAfterSeconds: 1 });
      const err = await graphError(client.api("/users").top(1).middlewareOptions([new RetryHandlerOptions(1, 1)]).get());
      expect(err.statusCode).toBe(429);
      expect(err.code).toBe("TooManyRequests");
    } finally {
      graph.knobs.fault = null;
    }
  });
});
