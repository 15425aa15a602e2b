// A sync run whose process is killed (SIGKILL) part-way through, with writes of the page in hand already sent
// to Dataverse but its cursor not saved, then redelivered (same runId, as the queue would): the run resumes
// from the saved cursor and converges with no duplicate and no lost change. Meanwhile the dead run's lease
// still holds the org, so a new run is refused with 409 naming it.
import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import { expectConverged, recordsOf } from "./sync-helpers.js";
import { waitFor } from "../support/wait-for.js";

const USERS = 2000; // a full round lists /users: three pages (999, 999, 2), one step each
let env: BridgeEnvironment;
let child: ChildProcess | undefined;

beforeAll(async () => {
  env = await startBridgeEnvironment({ seed: { users: USERS, existingShare: 0.3 } });
  env.sandbox.graph.knobs.latencyMs = 150;
  env.sandbox.dataverse[0]!.knobs.latencyMs = 200;
});
afterAll(async () => {
  child?.kill("SIGKILL");
  await env?.stop();
});

const isListingPage = (r: { url: string; status?: number }) => r.url.includes("/v1.0/users?") && r.status === 200;

function startChild(): Promise<{ proc: ChildProcess; runId: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["--import", "tsx", "test/sync/fixtures/sync-run-child.ts"], { env: process.env, cwd: process.cwd(), stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /RUN_STARTED (\S+)/.exec(out);
      if (m) resolve({ proc, runId: m[1]! });
    });
    proc.stderr!.on("data", (d: Buffer) => { err += d.toString(); });
    proc.on("exit", (code) => reject(new Error(`child exited (${code}) early: ${out}\n${err}`)));
  });
}

/** Resolves once `ready()` holds, checking every 5 ms. */
async function until(ready: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(ready, timeoutMs, 5).catch((error: unknown) => { throw new Error(`timed out waiting for ${what}`, { cause: error }); });
}

it("a run killed mid-page resumes from its cursor with no duplicate and no lost change", async () => {
  const { graph, dataverse, tenant } = env.sandbox;
  const org = dataverse[0]!.org;
  const started = await startChild();
  child = started.proc;
  const exited = new Promise((resolve) => started.proc.once("exit", resolve));

  const { OrgStateStore } = await import("../../shared/sync/org-state-store.js");
  const root = (await import("../support/test-bridge.js")).testBridge();
  const cursors = new OrgStateStore(root.storage.tableOf((await import("../../shared/state/storage.js")).TABLES.cursors));
  // Kill once the first step's cursor is saved and a $batch of the second step's writes has reached Dataverse
  // (still in its latency).
  await until(async () => (await cursors.get(org.url.toLowerCase()))?.cursorKind === "list", "the first step's saved cursor");
  const savedAt = Date.now();
  await until(() => dataverse[0]!.knobs.requests.some((r) => r.url.includes("$batch") && r.at >= savedAt), "a $batch of the second step");
  started.proc.kill("SIGKILL");
  await exited;
  expect(started.proc.signalCode).toBe("SIGKILL");

  // The batch in flight still lands (the server does not know the client died); let it finish.
  await until(() => dataverse[0]!.knobs.requests.every((r) => r.handledAt !== undefined), "in-flight Dataverse requests");
  const syncRuns = () => root.syncRuns;
  const runs = syncRuns();
  const cut = await cursors.get(org.url.toLowerCase());
  expect(cut).toMatchObject({ cursorKind: "list", roundMode: "full", lastRunId: started.runId });
  expect(cut?.roundDeltaLink).toContain("/users/delta");
  expect((await runs.get(started.runId)).state).toBe("running");

  // The dead run's lease has not lapsed: a different new run is refused, naming it.
  await expect(runs.start({ trigger: "test" })).rejects.toMatchObject({ status: 409, detail: { runId: started.runId } });

  // Redelivery of the same message: same holder, so it takes the lease at once and resumes.
  const graphBefore = graph.knobs.requests.length;
  const report = await runs.execute({ org: org.url, runId: started.runId });
  expect(report.state).toBe("succeeded");
  expect(report.mode).toBe("full");
  expect(report.counts.failed).toBe(0);
  const resumed = graph.knobs.requests.slice(graphBefore);
  const resumedPages = resumed.filter(isListingPage);
  expect(resumedPages[0]!.url).toContain("$skiptoken="); // from the saved next link, not a fresh round
  expect(resumedPages).toHaveLength(2);
  expect(resumed.filter((r) => r.url.includes("/users/delta"))).toHaveLength(0); // the delta link was taken before the kill
  // Counts carry over from the pages applied before the kill: a restart would have scanned USERS more.
  expect(report.counts.scanned).toBeLessThanOrEqual(USERS);

  expectConverged(env.sandbox, org); // every user exactly one record with the directory's values
  for (const user of tenant.directory.users.values()) expect(recordsOf(org, user.id)).toHaveLength(1);
  const managed = [...org.users.values()].filter((r) => r.azureactivedirectoryobjectid && !r.applicationid);
  expect(managed).toHaveLength(USERS);
}, 120_000);
