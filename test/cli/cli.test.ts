// The `bridge` CLI against the sandbox through the local host, signed in with --token: every command (status,
// sync --wait, runs list/show/approve, user, user sync, remap one and bulk with its status, callers, callers
// provision, ready, subscription, access when the route exists), its exit codes, and the compiled bin as a child process.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalHost } from "../../dev/local-host/host.js";
import type { BridgeEnvironment } from "../support/bridge-env.js";
import { startCliSandbox, type CliSandbox } from "../support/cli-sandbox.js";
import { waitFor } from "../support/wait-for.js";

let env: BridgeEnvironment;
let host: LocalHost;
let token: string;

let cli: CliSandbox;
beforeAll(async () => {
  cli = await startCliSandbox({ seed: { users: 20, existingShare: 0.5 }, env: { SYNC_DISABLE_THRESHOLD: "2", REMAP_PLACEHOLDER_USERS: "cli.placeholder@contoso.com", CALLER_PROVISIONING: "on" } });
  ({ env, host, token } = cli);
});
afterAll(async () => {
  await cli?.stop();
});

const bridge = (...args: string[]) => cli.bridge(...args);

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
    expect(shown.out).toContain("(showing 3;");
    // People first: the change lines name the user (display name and logon), not an id.
    expect(shown.out).toMatch(/^ {4}(create|update) [A-Z][a-z]+ [A-Z][a-z]+ <[a-z.]+@contoso\.com>/m);
  });

  it("a halted run: status names it, runs approve lets it finish", async () => {
    expect((await bridge("sync", "--wait")).out).toContain("succeeded");
    const directory = env.sandbox.tenant.directory;
    const deleted = [...directory.users.values()].slice(0, 3);
    for (const user of deleted) directory.deleteUser(user.id);
    const halted = await bridge("--json", "sync", "--wait");
    expect(halted.code).toBe(6);
    expect(halted.err).toMatch(/halted; approve it with: bridge runs approve/);
    const report = JSON.parse(halted.out);
    expect(report.state).toBe("halted");
    // The planned disables name the people, not just their ids.
    const shown = await bridge("runs", "show", report.runId, "--limit", "50");
    for (const user of deleted) expect(shown.out).toContain(user.userPrincipalName);
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
    const job = JSON.parse((await bridge("--json", "remap", "bulk", "--from-suffix", "@contoso.com", "--to-suffix", "@fabrikam.com")).out);
    const status = await bridge("remap", "bulk", "status", job.jobId);
    expect(status.code).toBe(0);
    expect(status.out).toContain(`bulk job ${job.jobId}`);
  });

  it("remap bulk --items <file> --apply remaps the listed users and waits for the job", async () => {
    const directory = env.sandbox.tenant.directory;
    const user = [...directory.users.values()].filter((u) => u.state === "active" && u.userPrincipalName.endsWith("@contoso.com")).at(-2)!;
    const from = user.userPrincipalName;
    const to = from.replace("@contoso.com", "@fabrikam.com");
    directory.updateUser(user.id, { userPrincipalName: to });
    const file = join(mkdtempSync(join(tmpdir(), "bridge-cli-")), "items.json");
    writeFileSync(file, JSON.stringify([{ user: from, newDomainName: to }]));
    const applied = await bridge("--json", "remap", "bulk", "--items", file, "--apply");
    expect(applied.err).toBe("");
    expect(applied.code).toBe(0);
    const job = JSON.parse(applied.out);
    expect(job).toMatchObject({ dryRun: false, state: "succeeded" });
    expect(job.plan).toEqual([expect.objectContaining({ user: from, to, outcome: "succeeded" })]);
    expect([...env.sandbox.dataverse[0]!.org.users.values()].find((u) => u.azureactivedirectoryobjectid === user.id)?.domainname).toBe(to);
    writeFileSync(file, "[]");
    expect(await bridge("remap", "bulk", "--items", file)).toMatchObject({ code: 2, err: expect.stringMatching(/non-empty JSON array/) });
    expect((await bridge("remap", "bulk", "--from-suffix", "@a.com")).code).toBe(2);
    expect((await bridge("remap", "bulk", "status", "not-a-job")).code).toBe(3);
  });

  it("user <id> and user sync <id>", async () => {
    const user = [...env.sandbox.tenant.directory.users.values()].find((u) => u.state === "active")!;
    const lookup = await bridge("user", user.userPrincipalName);
    expect(lookup.code).toBe(0);
    expect(lookup.out).toContain(user.userPrincipalName);
    expect(lookup.out).toContain(env.sandbox.dataverse[0]!.url);
    expect(JSON.parse((await bridge("--json", "user", user.id)).out).user).toMatchObject({ id: user.id, found: true });
    const synced = await bridge("--json", "user", "sync", user.id);
    expect(synced.code).toBe(0);
    expect(JSON.parse(synced.out).orgs).toEqual([expect.objectContaining({ org: env.sandbox.dataverse[0]!.url })]);
    expect(await bridge("user", "nobody@contoso.com")).toMatchObject({ code: 3, err: expect.stringMatching(/^error 404 user_not_found: .*\/api\/users\/nobody%40contoso\.com/) });
  });

  it("ready, subscription, callers and callers provision --dry-run", async () => {
    const ready = await bridge("--json", "ready");
    const readiness = JSON.parse(ready.out);
    expect(readiness.checks.length).toBeGreaterThan(0);
    expect(ready.code).toBe(readiness.ready ? 0 : 3);
    expect((await bridge("ready")).out).toMatch(/^(ready|NOT READY)/);
    const subscription = await bridge("--json", "subscription");
    expect(JSON.parse(subscription.out)).toHaveProperty("enabled");
    expect((await bridge("subscription")).out).toMatch(/^notifications (on|off)/);
    const callers = JSON.parse((await bridge("--json", "callers")).out) as { callers: Array<{ id: string }> };
    expect(callers.callers.length).toBeGreaterThan(0);
    const id = callers.callers[0]!.id;
    expect((await bridge("callers")).out).toContain(id);
    const provision = await bridge("callers", "provision", id, "--dry-run");
    expect(provision.code).toBe(0);
    expect(provision.out).toContain(`would provision caller ${id}`);
    expect(await bridge("callers", "provision", "nobody", "--dry-run")).toMatchObject({ code: 3, err: expect.stringMatching(/^error 404/) });
  });

  it("access: each org's rules (when the bridge has GET /api/access)", async () => {
    const access = await bridge("--json", "access");
    if (access.code === 3 && /error 404/.test(access.err)) return; // a bridge without the access route answers 404: exit 3
    expect(access.code).toBe(0);
    expect(JSON.parse(access.out).orgs[0]).toMatchObject({ org: env.sandbox.dataverse[0]!.url });
    expect((await bridge("access")).out).toContain(env.sandbox.dataverse[0]!.url);
  });

  it("bad input: a clear error naming the URL, exit code 3 (HTTP error) or 2 (usage, nothing sent)", async () => {
    const missing = await bridge("runs", "show", "00000000-0000-0000-0000-000000000000");
    expect(missing).toMatchObject({ code: 3 });
    expect(missing.err).toMatch(/^error 404 run_not_found: No sync run.*\(http:\/\/127\.0\.0\.1:\d+\/api\/sync\/runs\/0{8}-/);
    expect((await bridge("sync", "--mode", "sideways")).code).toBe(2);
    expect(await bridge("runs", "list", "--limit", "abc")).toMatchObject({ code: 2, err: expect.stringMatching(/'abc' is invalid\. must be a whole number from 1 to 100/) });
    expect((await bridge("runs", "show", "x", "--offset", "-1")).code).toBe(2);
    expect((await bridge("sync", "--wait", "--timeout", "0")).code).toBe(2);
    expect((await bridge("remap", "someone")).code).toBe(2);
  });

  it("the compiled bin runs as a command", async () => {
    const { buildCli } = await import("../../scripts/build-cli.mjs");
    await buildCli();
    // Asynchronously: the host answering it runs in this process.
    const { stdout } = await promisify(execFile)(process.execPath, ["bin/bridge.mjs", "--url", host.url, "--json", "status"], { env: { ...process.env, BRIDGE_TOKEN: token }, timeout: 60_000 });
    expect(JSON.parse(stdout).orgs).toHaveLength(1);
  });
});
