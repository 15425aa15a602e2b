// scripts/deploy.sh against a fake `az` first on PATH: the calls it makes, in order, with what
// arguments, and that the secure parameter (TOKEN_CALLERS) never reaches a command line or the output.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const script = join(root, "scripts/deploy.sh");
const SENTINEL = "caller-policy-SENTINEL-7f3a";
const tokenCallers = JSON.stringify([{ id: "erp", name: SENTINEL, auth: "secret", secretName: "erp-secret", resources: ["https://contoso.crm.dynamics.com"] }]);

let dir: string;
let logFile: string;
let zip: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "deploy-test-"));
  logFile = join(dir, "calls.jsonl");
  writeFileSync(logFile, "");
  writeFileSync(join(dir, "az"), `#!/bin/sh\nexec node ${JSON.stringify(join(root, "test/infra/fake-az.mjs"))} "$@"\n`);
  chmodSync(join(dir, "az"), 0o755);
  zip = join(dir, "app.zip");
  writeFileSync(zip, "PK fake");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const baseEnv = {
  APP_CLIENT_ID: "0f0e0d0c-0b0a-4909-8807-060504030201",
  DATAVERSE_URLS: "https://contoso.crm.dynamics.com",
  API_AUDIENCE: "api://identity-bridge",
  TOKEN_CALLERS: tokenCallers,
  SYNC_SCHEDULE: "0 */30 * * * *",
};

function run(args: string[], env: Record<string, string> = baseEnv) {
  // Only what the script needs: a clean environment keeps the operator's own variables out.
  const result = spawnSync("bash", [script, ...args], {
    env: { PATH: `${dir}:${process.env.PATH}`, HOME: dir, FAKE_AZ_LOG: logFile, ...env },
    encoding: "utf8",
  });
  const calls = readFileSync(logFile, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as string[]);
  return { ...result, calls, output: result.stdout + result.stderr };
}

const flag = (call: string[], name: string) => call[call.indexOf(name) + 1];
/** The command words before the first option, e.g. "deployment group create". */
const verb = (call: string[]) => {
  const firstOption = call.findIndex((a) => a.startsWith("-"));
  return call.slice(0, firstOption < 0 ? undefined : firstOption).join(" ");
};

describe("scripts/deploy.sh", () => {
  it("creates the group, deploys the template, then the zip, in that order", () => {
    const r = run(["-g", "rg-bridge", "-l", "swedencentral", "--package", zip]);
    expect(r.status, r.output).toBe(0);
    expect(r.calls.map(verb)).toEqual([
      "account show",
      "ad signed-in-user show",
      "group exists",
      "group create",
      "deployment group create",
      "functionapp deployment source config-zip",
    ]);
    const [, , , group, deployment, code] = r.calls;
    expect(flag(group!, "--name")).toBe("rg-bridge");
    expect(flag(group!, "--location")).toBe("swedencentral");
    expect(flag(deployment!, "--resource-group")).toBe("rg-bridge");
    expect(flag(deployment!, "--template-file")).toBe(join(root, "infra/main.bicep"));
    expect(flag(deployment!, "--parameters")).toMatch(/^@/);
    expect(code).toContain("config-zip");
    expect(flag(code!, "--name")).toBe("func-bridge-abc"); // from the deployment's outputs
    expect(flag(code!, "--src")).toBe(zip);
    expect(r.stdout).toContain("https://func-bridge-abc.azurewebsites.net");
    expect(r.stdout).toContain("https://kv-bridge-abc.vault.azure.net");
  });

  it("passes the settings in a parameters file rendered from infra/main.parameters.json, and removes it", () => {
    const r = run(["-g", "rg-bridge", "-l", "swedencentral", "-e", "prod", "--package", zip]);
    expect(r.status, r.output).toBe(0);
    const params = JSON.parse(readFileSync(join(dir, "parameters-0.json"), "utf8")).parameters;
    expect(params).toEqual({
      environmentName: { value: "prod" },
      location: { value: "swedencentral" },
      operatorPrincipalId: { value: "99999999-8888-7777-6666-555555555555" },
      operatorPrincipalType: { value: "User" },
      appClientId: { value: baseEnv.APP_CLIENT_ID },
      dataverseUrls: { value: baseEnv.DATAVERSE_URLS },
      apiAudience: { value: baseEnv.API_AUDIENCE },
      syncSchedule: { value: baseEnv.SYNC_SCHEDULE },
      alertSyncIntervalMinutes: { value: "30" }, // worked out from SYNC_SCHEDULE
      tokenCallers: { value: tokenCallers }, // JSON-escaped correctly: it parses back to the same string
    });
    const deployment = r.calls.find((c) => verb(c) === "deployment group create")!;
    expect(existsSync(flag(deployment, "--parameters")!.slice(1))).toBe(false);
  });

  it("never puts the secure parameter on a command line or in its output", () => {
    const r = run(["-g", "rg-bridge", "-l", "swedencentral", "--package", zip]);
    expect(r.status, r.output).toBe(0);
    expect(readFileSync(logFile, "utf8")).not.toContain(SENTINEL);
    expect(r.output).not.toContain(SENTINEL);
    expect(r.output).toContain("tokenCallers"); // names are printed, values are not
  });

  it("is idempotent: an existing group is kept and the same deployment name is reused", () => {
    const first = run(["-g", "rg-bridge", "-l", "swedencentral", "--package", zip]);
    writeFileSync(logFile, "");
    const second = run(["-g", "rg-bridge", "-l", "swedencentral", "--package", zip], { ...baseEnv, FAKE_AZ_GROUP_EXISTS: "true" });
    expect(second.status, second.output).toBe(0);
    expect(second.calls.map(verb)).not.toContain("group create");
    const name = (calls: string[][]) => flag(calls.find((c) => verb(c) === "deployment group create")!, "--name");
    expect(name(second.calls)).toBe(name(first.calls));
  });

  it("reports every missing setting at once and calls nothing", () => {
    const r = run(["-l", "swedencentral"], {});
    expect(r.status).toBe(2);
    for (const name of ["resource group", "APP_CLIENT_ID", "DATAVERSE_URLS", "API_AUDIENCE"]) expect(r.stderr).toContain(name);
    expect(r.calls).toEqual([]);
  });

  it("passes --subscription to every call without changing the CLI's default", () => {
    const r = run(["-g", "rg-bridge", "-l", "swedencentral", "-s", "sub-123", "--package", zip]);
    expect(r.status, r.output).toBe(0);
    for (const call of r.calls) expect(flag(call, "--subscription")).toBe("sub-123");
    expect(r.calls.map(verb)).not.toContain("account set");
  });

  it("without a signed-in user (service principal login) deploys with no operator role", () => {
    const r = run(["-g", "rg-bridge", "-l", "swedencentral", "--package", zip], { ...baseEnv, FAKE_AZ_NO_USER: "1" });
    expect(r.status, r.output).toBe(0);
    const params = JSON.parse(readFileSync(join(dir, "parameters-0.json"), "utf8")).parameters;
    expect(params.operatorPrincipalId).toBeUndefined();
    expect(params.operatorPrincipalType).toBeUndefined();
  });

  it("--code-only reads the app name from the existing deployment and deploys the zip", () => {
    const r = run(["-g", "rg-bridge", "--code-only", "--package", zip], {});
    expect(r.status, r.output).toBe(0);
    expect(r.calls.map(verb)).toEqual(["account show", "deployment group show", "functionapp deployment source config-zip"]);
    expect(flag(r.calls[2]!, "--name")).toBe("func-bridge-abc");
  });

  it("retries the code upload while the first deployment's role assignments propagate", () => {
    const r = run(["-g", "rg-bridge", "-l", "swedencentral", "--package", zip], { ...baseEnv, FAKE_AZ_ZIP_FAILS: "2", CODE_DEPLOY_RETRY_DELAY: "0" });
    expect(r.status, r.output).toBe(0);
    expect(r.calls.filter((c) => verb(c) === "functionapp deployment source config-zip")).toHaveLength(3);
    expect(r.stderr).toContain("attempt 2 of 5");
    expect(r.stdout).toContain("deployed");
  });

  it("gives up after CODE_DEPLOY_ATTEMPTS failed uploads with a non-zero exit and the way forward", () => {
    const r = run(["-g", "rg-bridge", "-l", "swedencentral", "--package", zip], { ...baseEnv, FAKE_AZ_ZIP_FAILS: "9", CODE_DEPLOY_ATTEMPTS: "3", CODE_DEPLOY_RETRY_DELAY: "0" });
    expect(r.status).not.toBe(0);
    expect(r.calls.filter((c) => verb(c) === "functionapp deployment source config-zip")).toHaveLength(3);
    expect(r.stderr).toContain("--code-only");
    expect(r.stdout).not.toContain("deployed");
  });

  it("bounds a config-zip that never answers (azure-cli Flex polling loop) and retries it", () => {
    const r = run(["-g", "rg-bridge", "--code-only", "--package", zip], { FAKE_AZ_ZIP_HANGS: "1", CODE_DEPLOY_TIMEOUT: "2", CODE_DEPLOY_TIMEOUT_MARGIN: "1", CODE_DEPLOY_RETRY_DELAY: "0" });
    expect(r.status, r.output).toBe(0);
    const uploads = r.calls.filter((c) => verb(c) === "functionapp deployment source config-zip");
    expect(uploads).toHaveLength(2);
    expect(flag(uploads[0]!, "--timeout")).toBe("2"); // the script's own bound (2 + 1 s) is above az's
    expect(r.stderr).toContain("no answer within 2s");
    // Before posting again it asked whether the timed-out upload is still deploying.
    expect(r.calls.map(verb).slice(-3)).toEqual(["functionapp deployment source config-zip", "rest", "functionapp deployment source config-zip"]);
  });

  it("after a 409 (deployment in progress) polls the deployment's status and posts again only once it has finished", () => {
    const r = run(["-g", "rg-bridge", "--code-only", "--package", zip], {
      FAKE_AZ_ZIP_CONFLICTS: "1", FAKE_AZ_DEPLOYMENT_STATES: "BuildInProgress;RuntimeStarting,RuntimeSuccessful;RuntimeSuccessful,RuntimeSuccessful", CODE_DEPLOY_POLL_INTERVAL: "0", CODE_DEPLOY_RETRY_DELAY: "0",
    });
    expect(r.status, r.output).toBe(0);
    expect(r.calls.map(verb).slice(2)).toEqual([
      "functionapp deployment source config-zip", "rest", "rest", "rest", "functionapp deployment source config-zip",
    ]);
    const poll = r.calls.find((c) => verb(c) === "rest")!;
    expect(flag(poll, "--url")).toBe("/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-bridge/providers/Microsoft.Web/sites/func-bridge-abc/deploymentStatus?api-version=2024-04-01");
    expect(r.stderr).toContain("a deployment is in progress (BuildInProgress)");
  });

  it("a redeployment keeps the app's current SYNC_DRY_RUN unless the environment sets it", () => {
    const live = run(["-g", "rg-bridge", "-l", "swedencentral", "--infra-only"], { ...baseEnv, FAKE_AZ_GROUP_EXISTS: "true", FAKE_AZ_SYNC_DRY_RUN: "false" });
    expect(live.status, live.output).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, "parameters-0.json"), "utf8")).parameters.syncDryRun).toEqual({ value: "false" });
    expect(live.stdout).toContain("keeping the app's current value, false");
    const lookup = live.calls.find((c) => verb(c) === "functionapp config appsettings list")!;
    expect(flag(lookup, "--name")).toBe("func-bridge-abc");

    writeFileSync(logFile, "");
    const told = run(["-g", "rg-bridge", "-l", "swedencentral", "--infra-only"], { ...baseEnv, FAKE_AZ_GROUP_EXISTS: "true", FAKE_AZ_SYNC_DRY_RUN: "false", SYNC_DRY_RUN: "true" });
    expect(told.status, told.output).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, "parameters-1.json"), "utf8")).parameters.syncDryRun).toEqual({ value: "true" });
    expect(told.calls.map(verb)).not.toContain("functionapp config appsettings list");
  });

  it("a first deployment leaves SYNC_DRY_RUN to the template (dry run) and reads no app", () => {
    const r = run(["-g", "rg-bridge", "-l", "swedencentral", "--infra-only"]);
    expect(r.status, r.output).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, "parameters-0.json"), "utf8")).parameters.syncDryRun).toBeUndefined();
    expect(r.calls.map(verb)).not.toContain("functionapp config appsettings list");
  });

  it("ALERT_SYNC_INTERVAL_MINUTES, when set, wins over the schedule; an hourly schedule gives 60", () => {
    run(["-g", "rg-bridge", "-l", "swedencentral", "--infra-only"], { ...baseEnv, ALERT_SYNC_INTERVAL_MINUTES: "45" });
    run(["-g", "rg-bridge", "-l", "swedencentral", "--infra-only"], { ...baseEnv, SYNC_SCHEDULE: "0 5 * * * *" });
    const interval = (n: number) => JSON.parse(readFileSync(join(dir, `parameters-${n}.json`), "utf8")).parameters.alertSyncIntervalMinutes;
    expect(interval(0)).toEqual({ value: "45" });
    expect(interval(1)).toEqual({ value: "60" });
  });

  it("--what-if previews and changes nothing", () => {
    const r = run(["-g", "rg-bridge", "-l", "swedencentral", "--what-if"]);
    expect(r.status, r.output).toBe(0);
    const verbs = r.calls.map(verb);
    expect(verbs).toContain("deployment group what-if");
    for (const changing of ["group create", "deployment group create", "functionapp deployment source config-zip"]) expect(verbs).not.toContain(changing);
    expect(readdirSync(dir).filter((f) => f.startsWith("parameters-"))).toHaveLength(1);
  });
});
