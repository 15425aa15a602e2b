// The runnable examples of docs/callers.md (Node: openid-client; Python: Authlib) against the whole app served
// by the local Functions host and the sandbox: each gets the caller's own token and WhoAmI answers with the
// caller's application user. Also RFC 8414 metadata. Python runs when an interpreter with Authlib is found
// ($PYTHON, else python3); CI installs it (.ci/run).
import { installFunctionsCore } from "../../dev/local-host/functions-core.js";
installFunctionsCore();
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import type { LocalHost } from "../../dev/local-host/host.js";

const run = promisify(execFile);
let env: BridgeEnvironment;
let host: LocalHost;
let org1: string;

const python = process.env.PYTHON ?? "python3";
const hasAuthlib = (() => {
  try {
    execFileSync(python, ["-c", "import authlib, requests"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

beforeAll(async () => {
  env = await startBridgeEnvironment({ orgs: 1 });
  org1 = env.sandbox.dataverse[0]!.url;
  const { startLocalHost } = await import("../../dev/local-host/host.js");
  host = await startLocalHost({ port: 0, timers: false, storageConnectionString: env.azurite.connectionString, log: () => {} });
});
afterAll(async () => {
  await host?.close();
  await env?.stop();
});

function exampleEnv(): NodeJS.ProcessEnv {
  const { clientId, secret } = env.sandbox.identities.secretCaller;
  return {
    PATH: process.env.PATH, HOME: process.env.HOME,
    BRIDGE_URL: host.url, CLIENT_ID: clientId, CLIENT_SECRET: secret, DATAVERSE_ORG: org1,
    NODE_EXTRA_CA_CERTS: env.sandbox.tls.caPath, REQUESTS_CA_BUNDLE: env.sandbox.tls.caPath, AUTHLIB_INSECURE_TRANSPORT: "1",
  };
}

function expectOwnIdentity(stdout: string) {
  const result = JSON.parse(stdout.trim().split("\n").pop()!) as { appid: string; userId: string; expiresIn: number };
  const reportingApp = env.sandbox.identities.callerApps.reporting!.clientId;
  expect(result.appid).toBe(reportingApp);
  expect(result.appid).not.toBe(env.sandbox.identities.bridgeApp.clientId);
  expect(result.userId).toBe(env.sandbox.dataverse[0]!.org.findByApplicationId(reportingApp)!.systemuserid);
  expect(result.expiresIn).toBeGreaterThan(0);
}

describe("RFC 8414 metadata", () => {
  it("describes the token endpoint", async () => {
    const res = await fetch(`${host.url}/api/.well-known/oauth-authorization-server`);
    expect(res.status).toBe(200);
    const body = await res.json() as Record<string, unknown>;
    expect(body).toMatchObject({
      issuer: host.url,
      token_endpoint: `${host.url}/api/token`,
      grant_types_supported: ["client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "private_key_jwt"],
    });
    expect(body.token_endpoint_auth_signing_alg_values_supported).toContain("RS256");
    expect(body.token_endpoint_auth_signing_alg_values_supported).not.toContain("HS256");
  });
});

describe("docs/callers.md examples", () => {
  it("Node (openid-client)", async () => {
    const { stdout } = await run(process.execPath, ["docs/examples/node/client-credentials.mjs"], { env: exampleEnv(), timeout: 60_000 });
    expectOwnIdentity(stdout);
  }, 90_000);

  it.skipIf(!hasAuthlib)("Python (Authlib)", async () => {
    const { stdout } = await run(python, ["docs/examples/python/client_credentials.py"], { env: exampleEnv(), timeout: 60_000 });
    expectOwnIdentity(stdout);
  }, 90_000);
});
