// The `bridge` CLI against the sandbox through the local host, signed in with --token: status, sync --wait,
// runs list/show/approve, remap one and bulk, callers; and the bin itself as a child process.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installFunctionsCore } from "../../dev/local-host/functions-core.js";
import type { LocalHost } from "../../dev/local-host/host.js";
import { runCli } from "../../cli/main.js";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import { waitFor } from "../support/wait-for.js";

let env: BridgeEnvironment;
let host: LocalHost;
let token: string;

beforeAll(async () => {
  installFunctionsCore();
  env = await startBridgeEnvironment({ seed: { users: 20, existingShare: 0.5 }, env: { SYNC_DISABLE_THRESHOLD: "2", REMAP_PLACEHOLDER_USERS: "cli.placeholder@contoso.com" } });
  const { startLocalHost } = await import("../../dev/local-host/host.js");
  host = await startLocalHost({ port: 0, timers: false, storageConnectionString: env.azurite.connectionString, log: () => undefined });
  token = await env.sandbox.adminToken();
});
afterAll(async () => {
  await host?.close();
  await env?.stop();
});

async function bridge(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(["--url", host.url, "--token", token, ...args], { out: (l) => out.push(l), err: (l) => err.push(l), interactive: false, env: {} });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("bridge CLI", () => {
  it("sync --dry-run --wait prints the plan; --json gives the report", async () => {
    const text = await bridge("sync", "--dry-run", "--wait");
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/\(dry run\)\s+succeeded/);
    expect(text.out).toMatch(/create .* → /);
    const json = await bridge("--json", "sync", "--dry-run", "--wait");
    expect(JSON.parse(json.out)).toMatchObject({ dryRun: true, state: "succeeded" });
  });

  it("status, runs list and runs show", async () => {
    const status = await bridge("--json", "status");
    expect(JSON.parse(status.out).orgs[0]).toMatchObject({ org: env.sandbox.dataverse[0]!.url, state: "idle" });
    const list = JSON.parse((await bridge("--json", "runs", "list")).out) as { runs: Array<{ runId: string }> };
    expect(list.runs).toHaveLength(2);
    const shown = await bridge("runs", "show", list.runs[0]!.runId, "--limit", "3");
    expect(shown.out).toContain(`run ${list.runs[0]!.runId}`);
    expect(shown.out).toContain("(showing 3)");
  });

  it("a halted run: status names it, runs approve lets it finish", async () => {
    expect((await bridge("sync", "--wait")).out).toContain("succeeded");
    const directory = env.sandbox.tenant.directory;
    for (const user of [...directory.users.values()].slice(0, 3)) directory.deleteUser(user.id);
    const halted = await bridge("--json", "sync", "--wait");
    const report = JSON.parse(halted.out);
    expect(report.state).toBe("halted");
    expect((await bridge("status")).out).toContain(`HALTED run ${report.runId}`);
    expect((await bridge("runs", "approve", report.runId)).code).toBe(0);
    const approved = await waitFor(async () => {
      const again = JSON.parse((await bridge("--json", "runs", "show", report.runId)).out);
      return again.state === "succeeded" ? again : undefined;
    }, 20_000);
    expect(approved.counts.disabled).toBe(3);
  });

  it("remap one user, and a bulk plan", async () => {
    const directory = env.sandbox.tenant.directory;
    const user = [...directory.users.values()].filter((u) => u.state === "active").at(-1)!;
    const from = user.userPrincipalName;
    const to = from.replace("@contoso.com", "@fabrikam.com");
    directory.updateUser(user.id, { userPrincipalName: to });
    directory.addUser({ userPrincipalName: "cli.placeholder@contoso.com", displayName: "placeholder", accountEnabled: true });
    const preview = await bridge("remap", from, to, "--dry-run");
    expect(preview.out).toContain(`would remap ${from} → ${to}`);
    const done = await bridge("remap", from, to);
    expect(done.out).toContain(`remapped ${from} → ${to}`);
    const plan = await bridge("remap", "bulk", "--from-suffix", "@contoso.com", "--to-suffix", "@fabrikam.com");
    expect(plan.code).toBe(0);
    expect(plan.out).toContain("(plan only: add --apply to remap)");
  });

  it("bad input: a clear error, exit code 1 (API) or 2 (usage)", async () => {
    const missing = await bridge("runs", "show", "00000000-0000-0000-0000-000000000000");
    expect(missing).toMatchObject({ code: 1 });
    expect(missing.err).toMatch(/^error 404: No sync run/);
    expect((await bridge("sync", "--mode", "sideways")).code).toBe(2);
  });

  it("the bin runs as a command", async () => {
    // Asynchronously: the host answering it runs in this process.
    const { stdout } = await promisify(execFile)(process.execPath, ["bin/bridge.mjs", "--url", host.url, "--json", "status"], { env: { ...process.env, BRIDGE_TOKEN: token }, timeout: 60_000 });
    expect(JSON.parse(stdout).orgs).toHaveLength(1);
  });
});
