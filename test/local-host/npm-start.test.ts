// `npm start` as a user runs it: a child process that brings up the sandbox and the local host, prints how to
// call it, and serves the functions; and a bad configuration stopping start-up with one clear message.
import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, startAzurite } from "../../dev/sandbox/azurite.js";
import { startTestSandbox } from "../support/sandbox.js";
import { waitFor } from "../support/wait-for.js";

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    try { process.kill(-child.pid!, "SIGTERM"); } catch { /* already gone */ }
  }
});

function npmStart(env: Record<string, string | undefined>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const clean = { ...process.env };
  for (const name of Object.keys(clean)) if (/^(AZURE_|APP_|KEY_VAULT|DATAVERSE|GRAPH|API_|TOKEN_|SYNC_|IDENTITY_|NOTIFICATION|AzureWebJobs)/.test(name)) delete clean[name];
  delete clean.NODE_EXTRA_CA_CERTS;
  const child = spawn("npm", ["start", "--silent"], { env: { ...clean, ...env }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let output = "";
  child.stdout!.on("data", (d: Buffer) => { output += d.toString(); });
  child.stderr!.on("data", (d: Buffer) => { output += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function waitForOutput(read: () => string, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  return waitFor(() => pattern.exec(read()) ?? undefined, timeoutMs).catch((error: unknown) => {
    throw new Error(`no ${pattern} in output:\n${read()}`, { cause: error });
  });
}

describe("npm start", () => {
  it("brings up the sandbox and serves the functions, printing an admin token and S2S credentials", async () => {
    const port = await freePort();
    const run = npmStart({ BRIDGE_PORT: String(port) });
    const token = (await waitForOutput(run.output, /export ADMIN_TOKEN='([^']+)'/, 60_000))[1]!;
    expect(run.output()).toContain(`curl http://127.0.0.1:${port}/api/health`);
    expect(run.output()).toMatch(/curl (-s )?-X POST http:\/\/127\.0\.0\.1:\d+\/api\/token -u '[^:]+:[^']+'/);
    // Each seeded caller is shown with its own app and application user (issue #10).
    expect(run.output()).toMatch(/reporting\s+app [0-9a-f-]{36} → systemuser [0-9a-f-]{36}\s+roles \["Reporting Reader"\]/);
    expect(run.output()).toMatch(/Entra groups: Dynamics Sales \([0-9a-f-]{36}, 4 members\)/);
    const health = await fetch(`http://127.0.0.1:${port}/api/health`);
    expect(health.status).toBe(200);
    const status = await fetch(`http://127.0.0.1:${port}/api/sync/status`, { headers: { authorization: `Bearer ${token}` } });
    expect(status.status).toBe(200);
    expect(((await status.json()) as { orgs: unknown[] }).orgs).toHaveLength(1);
    process.kill(-run.child.pid!, "SIGTERM");
    await run.exited;
  }, 90_000);

  it("with a tenant configured, serves the same functions against the configured hosts", async () => {
    // The "configured tenant" is a sandbox this test runs: npm start must use it, not start its own.
    const [sandbox, azurite] = await Promise.all([startTestSandbox(), startAzurite()]);
    try {
      const port = await freePort();
      const run = npmStart({ ...sandbox.env, AzureWebJobsStorage: azurite.connectionString, BRIDGE_PORT: String(port) });
      await waitForOutput(run.output, /serving http:\/\/127\.0\.0\.1:\d+\/api against the configured tenant/, 60_000);
      const entraBefore = sandbox.entra.knobs.requests.length;
      const token = await sandbox.adminToken();
      const status = await fetch(`http://127.0.0.1:${port}/api/sync/status`, { headers: { authorization: `Bearer ${token}` } });
      expect(status.status).toBe(200);
      // The admin token was checked against the configured tenant's keys (its OIDC metadata and JWKS).
      expect(sandbox.entra.knobs.requests.slice(entraBefore).some((r) => r.url.includes("/discovery/v2.0/keys"))).toBe(true);
      const started = await fetch(`http://127.0.0.1:${port}/api/sync`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: "{}" });
      expect(started.status).toBe(202);
      expect(run.output()).not.toContain("sandbox is up");
      process.kill(-run.child.pid!, "SIGTERM");
      await run.exited;
    } finally {
      await Promise.all([sandbox.stop(), azurite.stop()]);
    }
  }, 90_000);

  it("stops on a bad configuration with one message naming every bad setting, printing no secret", async () => {
    const run = npmStart({
      AZURE_TENANT_ID: "not-a-guid",
      APP_CLIENT_ID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
      KEY_VAULT_URL: "http://kv.example",
      APP_CREDENTIAL_SECRET_NAME: "bridge-app-credential",
      DATAVERSE_URLS: "https://contoso.crm.dynamics.com",
      AzureWebJobsStorage: "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=c2VjcmV0LWtleS12YWx1ZQ==",
      TOKEN_CALLERS: "[{\"id\":\"x\"}]",
    });
    const code = await run.exited;
    expect(code).toBe(1);
    const output = run.output();
    expect(output).toMatch(/Invalid configuration \(\d+ problems\)/);
    for (const name of ["AZURE_TENANT_ID", "KEY_VAULT_URL", "API_AUDIENCE", "TOKEN_CALLERS"]) expect(output).toContain(`${name}:`);
    expect(output).not.toContain("c2VjcmV0LWtleS12YWx1ZQ");
    expect(output).not.toMatch(/\n\s+at /);
  }, 60_000);
});
