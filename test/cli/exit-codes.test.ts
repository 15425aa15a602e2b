// The CLI's exit codes and error messages for outcomes the sandbox cannot be made to produce on demand: a run
// that never ends (--timeout), a failed run, an unreachable bridge, a 5xx problem. A small HTTP server plays the
// admin API; the CLI code under test is the real one, talking HTTP.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "../../cli/main.js";
import { EXIT } from "../../cli/exit-codes.js";

type Route = (req: IncomingMessage, res: ServerResponse) => void;
let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function serve(route: Route): Promise<string> {
  server = createServer(route);
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const json = (res: ServerResponse, status: number, body: unknown, type = "application/json") => {
  res.writeHead(status, { "content-type": type });
  res.end(JSON.stringify(body));
};

const report = (state: string) => ({
  runId: "r1", org: "https://org.example", mode: "incremental", dryRun: false, state, trigger: "api", startedAt: null, finishedAt: null,
  counts: { scanned: 0, created: 0, updated: 0, disabled: 0, enabled: 0, remapped: 0, unchanged: 0, skipped: 0, failed: 0 },
  changesOmitted: 0, errors: state === "failed" ? [{ message: "Dataverse refused the token", at: "2026-01-01T00:00:00Z" }] : [], changes: [], changesTotal: 0,
});

/** A bridge whose one run stays in `state` forever. */
const runStaysIn = (state: string): Route => (req, res) =>
  req.method === "POST" ? json(res, 202, { runId: "r1", statusUrl: "/api/sync/runs/r1" }) : json(res, 200, report(state));

async function bridge(url: string, ...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(["--url", url, "--token", "t", ...args], { out: (l) => out.push(l), err: (l) => err.push(l), interactive: false, env: {}, sleep: () => new Promise((r) => setImmediate(r)) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("bridge exit codes", () => {
  it("sync --wait --timeout: gives up with exit 5 and says the run goes on", async () => {
    const url = await serve(runStaysIn("running"));
    const result = await bridge(url, "sync", "--wait", "--timeout", "1");
    expect(result.code).toBe(EXIT.timeout);
    expect(result.err).toBe("run r1 still running after 1 s; it goes on: bridge runs show r1");
  });

  it("sync --wait on a failed run: exit 7 with the run's first error; halted: exit 6", async () => {
    const failed = await bridge(await serve(runStaysIn("failed")), "sync", "--wait");
    expect(failed).toMatchObject({ code: EXIT.failed, err: "run r1 failed: Dataverse refused the token" });
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    const halted = await bridge(await serve(runStaysIn("halted")), "sync", "--wait");
    expect(halted).toMatchObject({ code: EXIT.halted, err: "run r1 halted; approve it with: bridge runs approve r1" });
  });

  it("an HTTP error: exit 3, naming status, problem type, detail and URL", async () => {
    const url = await serve((_req, res) => json(res, 503, { type: "urn:identity-bridge:problem:configuration_invalid", title: "Service Unavailable", status: 503, detail: "The bridge's configuration is invalid." }, "application/problem+json"));
    const result = await bridge(url, "status");
    expect(result).toMatchObject({ code: EXIT.http, err: `error 503 configuration_invalid: The bridge's configuration is invalid. (${url}/api/sync/status)` });
  });

  it("an unreachable bridge: exit 4, naming the URL and the cause instead of 'fetch failed'", async () => {
    const url = await serve(() => undefined);
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    const refused = await bridge(url, "status");
    expect(refused.code).toBe(EXIT.network);
    expect(refused.err).toMatch(new RegExp(`^error: cannot reach ${url.replace(/\./g, "\\.")}/api/sync/status: connection refused .*ECONNREFUSED`));
    const dns = await bridge("http://bridge.invalid", "status");
    expect(dns.code).toBe(EXIT.network);
    expect(dns.err).toMatch(/^error: cannot reach http:\/\/bridge\.invalid\/api\/sync\/status: DNS lookup failed.*ENOTFOUND/);
  });

  it("a TLS failure names TLS", async () => {
    // A plain-HTTP server spoken to over https: the TLS handshake fails.
    const url = (await serve(() => undefined)).replace("http:", "https:");
    const result = await bridge(url, "status");
    expect(result.code).toBe(EXIT.network);
    expect(result.err).toMatch(/TLS failed|SSL|EPROTO/);
  });

  it("usage errors exit 2 before anything is sent; --version and --help exit 0", async () => {
    let requests = 0;
    const url = await serve((_req, res) => { requests++; json(res, 200, {}); });
    expect((await bridge(url, "runs", "list", "--limit", "abc")).code).toBe(EXIT.usage);
    expect((await bridge(url, "runs", "list", "--limit", "101")).code).toBe(EXIT.usage);
    expect((await bridge(url, "sync", "--timeout", "1.5")).code).toBe(EXIT.usage);
    expect((await bridge(url, "nonsense")).code).toBe(EXIT.usage);
    expect(await runCli(["--url", "ftp://x", "status"], { out: () => undefined, err: () => undefined, interactive: false, env: {} })).toBe(EXIT.usage);
    expect(requests).toBe(0);
    const version = await bridge(url, "--version");
    expect(version).toMatchObject({ code: EXIT.ok, out: expect.stringMatching(/^\d+\.\d+\.\d+$/) });
    const help = await bridge(url, "--help");
    expect(help.code).toBe(EXIT.ok);
    for (const documented of ["BRIDGE_URL", "BRIDGE_TOKEN", "BRIDGE_SCOPE", "Exit codes:", "6  the run halted"]) expect(help.out).toContain(documented);
  });

  it("access prints each org's rules by name from GET /api/access's documented shape (the route may be newer than the bridge)", async () => {
    const url = await serve((_req, res) => json(res, 200, {
      removalThreshold: "10%", licenseSkus: [],
      orgs: [
        { org: "https://contoso.crm.dynamics.com", kind: "online", problems: [], rules: [
          { index: 0, group: { id: "g1", name: "Dynamics Sales", members: 4 }, businessUnit: { name: "Sales", id: "bu1" }, roles: [{ name: "Salesperson", id: "r1" }], teams: [{ name: "Sales Team", id: "t1" }], status: "ok", problems: [] },
          { index: 1, group: { id: "g2", name: null, members: null, problem: "no such group" }, roles: [], teams: [], status: "unknown-group", problems: ["group g2 does not exist"] },
        ] },
        { org: "https://fabrikam.crm.dynamics.com", kind: "online", rules: [], problems: [], error: "org unreachable" },
      ],
    }));
    const result = await bridge(url, "access");
    expect(result.code).toBe(EXIT.error); // an org that could not be read is a problem to act on
    expect(result.out.split("\n")).toEqual([
      "removal threshold: 10%   licence SKUs: all users",
      "https://contoso.crm.dynamics.com",
      "  rule 0  ok  group: Dynamics Sales (4 direct members) [g1]",
      "    business unit: Sales [bu1]",
      "    roles: Salesperson [r1]",
      "    teams: Sales Team [t1]",
      "  rule 1  unknown-group  group: g2 — PROBLEM: no such group",
      "    business unit: not set (stays put)",
      "    roles: none",
      "    teams: none",
      "https://fabrikam.crm.dynamics.com",
      "  could not be read (rules unknown, not wrong): org unreachable",
    ]);
  });
});
