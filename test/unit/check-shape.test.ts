import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { checkShape, MAX_FUNCTION_LINES, packageOf } from "../../scripts/check-shape.mjs";

const SCRIPT = path.resolve("scripts/check-shape.mjs");
let roots: string[] = [];

/** A throwaway project: package.json plus the given files (paths relative to its root). */
function project(files: Record<string, string>, dependencies: Record<string, string> = {}): string {
  const root = mkdtempSync(path.join(tmpdir(), "shape-"));
  roots.push(root);
  writeFileSync(path.join(root, "package.json"), JSON.stringify({ name: "fixture", type: "module", dependencies }));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  }
  return root;
}

/** A function whose body (from `{` to `}`) spans exactly `lines` lines. */
function fn(name: string, lines: number): string {
  const statements = Array.from({ length: lines - 2 }, (_, i) => `  const v${i} = ${i};`);
  return `export function ${name}(): void {\n${statements.join("\n")}\n}\n`;
}

afterEach(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
  roots = [];
});

describe("scripts/check-shape.mjs", () => {
  it("finds an import cycle through a type-only import, across shared/ and functions/", () => {
    const root = project({
      "shared/a.ts": `import { b } from "./b.js";\nexport const a = () => b;\n`,
      "shared/b.ts": `import { f } from "../functions/f.js";\nexport const b = f;\n`,
      "functions/f.ts": `import type { A } from "../shared/c.js";\nexport const f = (x: A) => x;\n`,
      "shared/c.ts": `import { a } from "./a.js";\nexport type A = ReturnType<typeof a>;\n`,
      "shared/leaf.ts": `import { a } from "./a.js";\nexport const leaf = a;\n`,
    });
    const { cycles } = checkShape(root);
    expect(cycles).toEqual([["functions/f.ts", "shared/a.ts", "shared/b.ts", "shared/c.ts"]]);
  });

  it("finds import cycles outside shared/ too (dev/, cli/, scripts/ .mjs), and allows only the listed known one", () => {
    const root = project({
      "dev/a.ts": `import { b } from "./b.js";\nexport const a = () => b;\n`,
      "dev/b.ts": `import type { A } from "./a.js";\nexport const b = (x: A) => x;\n`,
      "scripts/x.mjs": `import { y } from "./y.mjs";\nexport const x = y;\n`,
      "scripts/y.mjs": `import { x } from "./x.mjs";\nexport const y = () => x;\n`,
      "console/src/pages.ts": `import { p } from "./pages/p.js";\nexport const pages = [p];\n`,
      "console/src/pages/p.ts": `import type { pages } from "../pages.js";\nexport const p = 1 as unknown as typeof pages;\n`,
    });
    const { cycles, knownCycles } = checkShape(root);
    expect(cycles).toEqual([["dev/a.ts", "dev/b.ts"], ["scripts/x.mjs", "scripts/y.mjs"]]);
    expect(knownCycles).toEqual([["console/src/pages.ts", "console/src/pages/p.ts"]]);
  });

  it("flags process.env in shared/ and functions/ outside shared/config/ and the composition root", () => {
    const root = project({
      "shared/telemetry/t.ts": `export const on = () => process.env.X === "1";\n`,
      "functions/f.ts": `export const port = () => process.env.PORT;\n`,
      "shared/config/c.ts": `export const read = (env = process.env) => env.X;\n`,
      "shared/bridge.ts": `export const root = () => process.env.Y;\n`,
      "dev/d.ts": `export const dev = () => process.env.Z;\n`,
    });
    expect(checkShape(root).envReads).toEqual(["shared/telemetry/t.ts:1", "functions/f.ts:1"]);
  });

  it("flags a fixed sleep in a test outside test/support, not a waitFor or a fake timer", () => {
    const root = project({
      "test/a.test.ts": `await new Promise((r) => setTimeout(r, 500));\nexpect(1).toBe(1);\n`,
      "test/b.test.ts": `const settle = () => new Promise<void>((resolve) => { setTimeout(() => resolve(), 200); });\n`,
      "test/c.test.ts": `import { setTimeout as sleep } from "node:timers/promises";\nawait sleep(10);\n`,
      "test/ok.test.ts": `vi.useFakeTimers();\nsetTimeout(() => fired++, 100);\nvi.advanceTimersByTime(100);\nconst t = setTimeout(() => ac.abort(), 5_000);\n`,
      "test/support/wait.ts": `export const tick = () => new Promise((r) => setTimeout(r, 200));\n`,
    });
    expect(checkShape(root).fixedSleeps).toEqual(["test/a.test.ts:1", "test/b.test.ts:1", "test/c.test.ts:1"]);
  });

  it("flags a function over 60 lines in shared/ and not one of exactly 60", () => {
    expect(MAX_FUNCTION_LINES).toBe(60);
    const root = project({
      "shared/long.ts": `// a comment line\n${fn("tooLong", 61)}`,
      "shared/ok.ts": fn("justRight", 60),
      "dev/elsewhere.ts": fn("notShared", 100),
    });
    expect(checkShape(root).longFunctions).toEqual(["shared/long.ts:2 tooLong (61 lines)"]);
  });

  it("flags bare imports of undeclared packages, ignoring built-ins, relative paths and fixture projects", () => {
    const root = project(
      {
        "shared/x.ts": `import fs from "node:fs";\nimport path from "path";\nimport { z } from "zod";\nimport { y } from "./y.js";\nexport { fs, path, z, y };\n`,
        "shared/y.ts": `export const y = 1;\n`,
        "functions/g.ts": `import type { Thing } from "@scope/pkg/sub/path";\nexport type T = Thing;\n`,
        "test/t.ts": `const m = await import("left-pad");\ntype L = typeof import("lodash");\nexport { m };\nexport type { L };\n`,
        "scripts/s.mjs": `import { createRequire } from "node:module";\nconst req = createRequire(import.meta.url);\nreq("x");\nexport default require("cjs-thing");\n`,
        "test/fixtures/own/package.json": "{}",
        "test/fixtures/own/src.ts": `import "not-ours";\n`,
      },
      { zod: "1.0.0" },
    );
    expect(checkShape(root).undeclared).toEqual([
      "functions/g.ts imports @scope/pkg/sub/path (package @scope/pkg is not in package.json)",
      "scripts/s.mjs imports cjs-thing (package cjs-thing is not in package.json)",
      "test/t.ts imports left-pad (package left-pad is not in package.json)",
      "test/t.ts imports lodash (package lodash is not in package.json)",
    ]);
  });

  it("counts module-level mutable state in shared/ without treating lookup tables as state", () => {
    const root = project({
      "shared/state.ts": [
        "let cached: string | undefined;",
        "var legacy = 1;",
        "const seen = new Map<string, number>();",
        "const pending = new Set();",
        "const lookup = new Map([[\"a\", 1]]);",
        "const limit = 5;",
        "export function use() { cached = String(legacy + limit + seen.size + pending.size + lookup.size); return cached; }",
        "",
      ].join("\n"),
    });
    expect(checkShape(root).moduleState).toEqual(["shared/state.ts:1 cached", "shared/state.ts:2 legacy", "shared/state.ts:3 seen", "shared/state.ts:4 pending"]);
  });

  it("names packages by their first segment (two for scoped ones) and skips built-ins", () => {
    expect(packageOf("@azure/functions")).toBe("@azure/functions");
    expect(packageOf("@microsoft/microsoft-graph-client/authProviders/x/index.js")).toBe("@microsoft/microsoft-graph-client");
    expect(packageOf("zod/v4")).toBe("zod");
    expect(packageOf("node:crypto")).toBeUndefined();
    expect(packageOf("crypto")).toBeUndefined();
    expect(packageOf("fs/promises")).toBeUndefined();
    expect(packageOf("../shared/x.js")).toBeUndefined();
  });

  it("as a command: prints every finding and exits 1, or exits 0 on a clean project", () => {
    const bad = project({ "shared/a.ts": `import "./b.js";\n`, "shared/b.ts": `import "./a.js";\nimport "undeclared";\n` });
    let out = "";
    let status = 0;
    try {
      execFileSync(process.execPath, [SCRIPT, bad], { encoding: "utf8" });
    } catch (error) {
      ({ stdout: out, status } = error as { stdout: string; status: number });
    }
    expect(status).toBe(1);
    expect(out).toContain("import cycle: shared/a.ts -> shared/b.ts");
    expect(out).toContain("undeclared package: shared/b.ts imports undeclared");

    const good = project({ "shared/a.ts": fn("fine", 10) });
    expect(execFileSync(process.execPath, [SCRIPT, good], { encoding: "utf8" })).toContain("0 import cycle(s), 0 function(s) over 60 lines");
  });
});
