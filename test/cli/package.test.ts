// The CLI ships as compiled JavaScript: scripts/build-cli.mjs writes one bundle and a package.json without
// dependencies, `npm pack` of it holds just those, and the bundle runs from a folder with no node_modules at all.
import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { buildCli } from "../../scripts/build-cli.mjs";
import { BRIDGE_VERSION } from "../../shared/version.js";

const run = promisify(execFile);
let outDir: string;

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), "bridge-cli-build-"));
  await buildCli(outDir);
}, 60_000);

describe("the packaged CLI", () => {
  it("has a package.json with a bin and no dependencies, and npm pack holds only the bundle", async () => {
    const pkg = JSON.parse(readFileSync(join(outDir, "package.json"), "utf8"));
    expect(pkg).toMatchObject({ bin: { bridge: "bridge.mjs" }, version: BRIDGE_VERSION, type: "module" });
    expect(pkg.dependencies).toBeUndefined();
    const { stdout } = await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: outDir, timeout: 60_000 });
    const files = (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path).sort();
    expect(files).toEqual(["bridge.mjs", "package.json"]);
  });

  it("runs from a folder without node_modules: --version, --help", async () => {
    const lonely = mkdtempSync(join(tmpdir(), "bridge-cli-run-"));
    copyFileSync(join(outDir, "bridge.mjs"), join(lonely, "bridge.mjs"));
    copyFileSync(join(outDir, "package.json"), join(lonely, "package.json"));
    const version = await run(process.execPath, ["bridge.mjs", "--version"], { cwd: lonely, timeout: 30_000 });
    expect(version.stdout.trim()).toBe(BRIDGE_VERSION);
    const help = await run(process.execPath, ["bridge.mjs", "remap", "bulk", "--help"], { cwd: lonely, timeout: 30_000 });
    expect(help.stdout).toContain("--items <file>");
    // Exit codes reach the shell: a usage error is 2.
    await expect(run(process.execPath, ["bridge.mjs", "runs", "list", "--limit", "abc"], { cwd: lonely, timeout: 30_000 })).rejects.toMatchObject({ code: 2 });
  });
});
