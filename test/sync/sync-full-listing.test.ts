// A full unscoped round lists /users (999 a page) after taking a users/delta link "from now": the listing is read,
// not users/delta pages; a change made while the listing runs reaches the next incremental run through that link;
// a listing link Graph refuses starts the round over. (A round killed mid-listing and resumed: sync-killed.test.ts.)
import { afterAll, beforeAll, expect, it } from "vitest";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import { expectConverged, recordsOf } from "./sync-helpers.js";
import { waitFor } from "../support/wait-for.js";
import type { SyncRuns } from "../../shared/sync/sync-runs.js";
import type { OrgStateStore } from "../../shared/sync/org-state-store.js";

const USERS = 2500; // three /users pages: 999, 999, 502
let env: BridgeEnvironment;
let runs: SyncRuns;
let cursors: OrgStateStore;

beforeAll(async () => {
  env = await startBridgeEnvironment({ seed: { users: USERS, existingShare: 0.2 } });
  const root = (await import("../support/test-bridge.js")).testBridge();
  runs = root.syncRuns;
  const { OrgStateStore } = await import("../../shared/sync/org-state-store.js");
  cursors = new OrgStateStore(root.storage.tableOf((await import("../../shared/state/storage.js")).TABLES.cursors));
}, 120_000);
afterAll(async () => { await env?.stop(); });

const org = () => env.sandbox.dataverse[0]!.org;
const graphRequests = (from: number) => env.sandbox.graph.knobs.requests.slice(from);
const isListingPage = (r: { url: string; status?: number }) => r.url.includes("/v1.0/users?") && r.status === 200;
const byId = <T extends { id: string }>(a: T, b: T) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

it("a full round reads /users pages of 999 after taking a delta link, and a change made during the listing reaches the next run", async () => {
  const directory = env.sandbox.tenant.directory;
  const first = [...directory.users.values()].filter((u) => u.state === "active").sort(byId)[0]!;
  env.sandbox.graph.knobs.latencyMs = 100;
  const from = env.sandbox.graph.knobs.requests.length;
  const run = await runs.start({ trigger: "test", mode: "full" });
  const done = runs.execute({ org: run.org, runId: run.runId });
  // The first page (lowest ids, `first` among them) is served: change `first` now, behind the listing.
  await waitFor(() => graphRequests(from).some(isListingPage), 60_000, 5);
  directory.updateUser(first.id, { jobTitle: "Changed while listed" });
  const report = await done;
  env.sandbox.graph.knobs.latencyMs = 0;

  expect(report).toMatchObject({ state: "succeeded", mode: "full" });
  expect(report.counts.failed).toBe(0);
  const requests = graphRequests(from).filter((r) => r.url.includes("/v1.0/users"));
  const pages = requests.filter(isListingPage);
  expect(pages).toHaveLength(3);
  expect(pages[0]!.url).toContain("$top=999");
  expect(requests.filter((r) => r.url.includes("/users/delta")).map((r) => r.url)).toEqual([expect.stringContaining("$deltatoken=latest")]);
  expect(requests.findIndex((r) => r.url.includes("/users/delta"))).toBeLessThan(requests.findIndex(isListingPage));
  const state = await cursors.get(org().url.toLowerCase());
  expect(state).toMatchObject({ cursorKind: "delta", roundMode: "full" });
  expect(state?.roundDeltaLink).toBeUndefined();
  // The listing read `first` before the change: the round wrote the old title.
  expect(recordsOf(org(), first.id)[0]?.jobtitle).not.toBe("Changed while listed");

  const next = await runs.start({ trigger: "test" });
  const incremental = await runs.execute({ org: next.org, runId: next.runId });
  expect(incremental).toMatchObject({ state: "succeeded", mode: "incremental" });
  expect(recordsOf(org(), first.id)[0]?.jobtitle).toBe("Changed while listed");
  expectConverged(env.sandbox, org());
}, 120_000);

it("a saved listing link Graph refuses starts the round over, and it converges", async () => {
  const key = org().url.toLowerCase();
  const saved = (await cursors.get(key))!;
  const graphUrl = env.sandbox.graph.url;
  await cursors.save({
    ...saved, cursorKind: "list", roundMode: "full", roundId: "an-earlier-run",
    cursor: `${graphUrl}/v1.0/users?$select=id&$top=999&$skiptoken=expired`, roundDeltaLink: `${graphUrl}/v1.0/users/delta?$deltatoken=old`,
  });
  env.sandbox.tenant.directory.updateUser([...env.sandbox.tenant.directory.users.values()].sort(byId)[1]!.id, { jobTitle: "After the restart" });
  const from = env.sandbox.graph.knobs.requests.length;
  const run = await runs.start({ trigger: "test" });
  const report = await runs.execute({ org: run.org, runId: run.runId });

  expect(report).toMatchObject({ state: "succeeded", mode: "full" });
  expect(report.resync).toMatch(/listing link refused/);
  const requests = graphRequests(from).map((r) => r.url).filter((u) => u.includes("/v1.0/users"));
  expect(requests[0]).toContain("$skiptoken=expired");
  expect(requests.filter((u) => u.includes("$deltatoken=latest"))).toHaveLength(1);
  expect(graphRequests(from).filter(isListingPage)).toHaveLength(3);
  expect(await cursors.get(key)).toMatchObject({ cursorKind: "delta" });
  expectConverged(env.sandbox, org());
}, 120_000);
