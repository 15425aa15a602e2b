// `npm run package` (scripts/package.mjs): the zip holds only what runs, the bundle loads the way the
// Functions worker loads it, and it registers every function in functions/*.ts.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readZip, type ZipEntry } from "../../scripts/zip.mjs";

const root = resolve(import.meta.dirname, "../..");
let out: string;
let stdout: string;
let entries: ZipEntry[];
let zipBytes: Buffer;

beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), "package-test-"));
  stdout = execFileSync(process.execPath, [join(root, "scripts/package.mjs"), "--out", out], { cwd: root, encoding: "utf8" });
  zipBytes = readFileSync(join(out, "identity-bridge.zip"));
  entries = readZip(zipBytes);
}, 120_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Function names registered with a literal name in a source file (app.http("name", ...), app.timer(...), ...). */
function declaredFunctions(): { files: string[]; names: string[] } {
  const dir = join(root, "functions");
  const files = readdirSync(dir).filter((f) => f.endsWith(".ts") && !/\.(test|spec|d)\.ts$/.test(f));
  const registering = files.filter((f) => /\bapp\.\w+\(/.test(readFileSync(join(dir, f), "utf8")));
  const names = registering.flatMap((f) =>
    [...readFileSync(join(dir, f), "utf8").matchAll(/\bapp\.(?:http|get|post|put|patch|deleteRequest|timer|storageQueue|generic)\(\s*["'`]([^"'`]+)["'`]/g)].map((m) => m[1]!));
  return { files: registering, names };
}

describe("npm run package", () => {
  it("prints the zip's size", () => {
    expect(stdout).toMatch(/identity-bridge\.zip: \d+\.\d\d MB \((\d+) bytes/);
    expect(Number(/\((\d+) bytes/.exec(stdout)![1])).toBe(zipBytes.length);
  });

  it("the zip holds only host.json, package.json, the bundle (with its chunks) and the console's files", () => {
    const names = entries.map((e) => e.name).sort();
    expect(names.filter((n) => !n.startsWith("chunks/"))).toEqual(["console-dist/app.css", "console-dist/app.js", "console-dist/index.html", "host.json", "index.mjs", "package.json"]);
    expect(names.filter((n) => n.startsWith("chunks/")).every((n) => /^chunks\/[\w-]+\.mjs$/.test(n))).toBe(true);
    // The Azure Monitor distro is loaded on first use, from a chunk of its own: not compiled at every cold start.
    const index = entries.find((e) => e.name === "index.mjs")!.data.toString();
    expect(index.includes("AzureMonitorTraceExporter"), "the distro is not in index.mjs").toBe(false);
    expect(JSON.parse(entries.find((e) => e.name === "host.json")!.data.toString())).toEqual(JSON.parse(readFileSync(join(root, "host.json"), "utf8")));
  });

  it("other zip tools read it the same way", () => {
    const unzip = spawnSync("unzip", ["-Z1", join(out, "identity-bridge.zip")], { encoding: "utf8" });
    if (unzip.error) return; // no unzip here: the central-directory reader above stands alone
    expect(unzip.stdout.trim().split("\n").sort()).toEqual(entries.map((e) => e.name).sort());
    expect(spawnSync("unzip", ["-tq", join(out, "identity-bridge.zip")]).status).toBe(0);
  });

  it("its package.json points at the bundle as ESM and declares no dependencies", () => {
    const pkg = JSON.parse(entries.find((e) => e.name === "package.json")!.data.toString());
    expect(pkg.main).toBe("index.mjs");
    expect(pkg.type).toBe("module");
    expect(pkg.devDependencies).toBeUndefined();
    expect(pkg.dependencies).toBeUndefined();
    expect(pkg.scripts).toBeUndefined();
  });

  it("bundles no test, dev, sandbox or dev-dependency code", () => {
    const meta = JSON.parse(readFileSync(join(out, "package-meta.json"), "utf8")) as { inputs: string[] };
    const devDeps = Object.keys(JSON.parse(readFileSync(join(root, "package.json"), "utf8")).devDependencies ?? {});
    const bad = meta.inputs.filter((i) =>
      /^(dev|test|scripts|infra)\//.test(i) || /\.(test|spec)\.ts$/.test(i) || devDeps.some((d) => i.startsWith(`node_modules/${d}/`)));
    expect(bad).toEqual([]);
    expect(meta.inputs.some((i) => i.startsWith("functions/"))).toBe(true);
    const bundle = entries.find((e) => e.name === "index.mjs")!.data.toString();
    // Booleans, so a failure does not print the whole bundle.
    // The bundle's own source map comment (esbuild appends it last): the Application Insights browser snippet
    // bundled with the Azure Monitor distro carries one inside a string.
    expect(bundle.trimEnd().split("\n").at(-1)!.includes("sourceMappingURL"), "no source map reference").toBe(false);
    expect(bundle.includes('"@azure/functions-core"'), "@azure/functions-core stays external, required at run time").toBe(true);
  });

  it("loads with the worker's @azure/functions-core and registers every function in functions/", () => {
    const dir = join(out, "load");
    mkdirSync(dir);
    mkdirSync(join(dir, "console-dist"));
    mkdirSync(join(dir, "chunks"));
    for (const e of entries) writeFileSync(join(dir, e.name), e.data); // exactly what is deployed
    // A complete, valid configuration, in case a module reads it at import.
    const env = {
      PATH: process.env.PATH, HOME: process.env.HOME, NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? "",
      AZURE_TENANT_ID: "72f988bf-86f1-41af-91ab-2d7cd011db47", APP_CLIENT_ID: "0f0e0d0c-0b0a-4909-8807-060504030201",
      KEY_VAULT_URL: "https://kv-test.vault.azure.net", APP_CREDENTIAL_SECRET_NAME: "bridge-app-credential",
      DATAVERSE_URLS: "https://contoso.crm.dynamics.com", AzureWebJobsStorage: "UseDevelopmentStorage=true",
      API_AUDIENCE: "api://identity-bridge", SYNC_DRY_RUN: "true",
    };
    const loaded = spawnSync(process.execPath, ["--import", "tsx", join(root, "test/infra/load-bundle.ts"), join(dir, "index.mjs")], { cwd: root, env, encoding: "utf8" });
    expect(loaded.status, loaded.stderr).toBe(0);
    const registered = JSON.parse(loaded.stdout) as Array<{ name: string; triggers: string[] }>;
    const { files, names } = declaredFunctions();
    expect(files.length).toBeGreaterThan(0);
    expect(registered.length).toBeGreaterThanOrEqual(files.length);
    expect(registered.map((r) => r.name)).toEqual(expect.arrayContaining(names));
    expect(registered.find((r) => r.name === "health")?.triggers).toEqual(["httpTrigger"]);
    for (const r of registered) expect(r.triggers, r.name).toHaveLength(1);
  });
});
