// `npm run bench:start`: cold start of the deployment bundle. Builds it (`scripts/package.mjs`, as
// `npm run package` does), then, RUNS times: starts a fresh Node process that loads the bundle the way the
// Functions worker does (`@azure/functions-core` provided, the bundle's file imported, its registrations
// served; bench/support/start-child.ts, itself bundled so no TypeScript loader is timed) and times from the
// spawn to the first answered request (GET /api/health). The app's settings point at the sandbox and Azurite
// (started first, not timed), as a configured app's would. Target: ≤ 500 ms; the bundle's size beside it.
// BENCH_CPU_PROF=<dir> writes a V8 profile of each child (`node scripts/cpu-profile-top.mjs <file>`).
import { spawn } from "node:child_process";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { prepareBenchProcess } from "./support/bench-process.js";

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const TARGET_MS = 500;
/** The child's line saying it listens (the app may print lines of its own). */
const READY = "bench-start-ready ";
const root = fileURLToPath(new URL("..", import.meta.url));

interface ChildTimes {
  url: string;
  harnessLoadedMs: number;
  listeningMs: number;
  cpuMs: number;
}
interface Sample {
  firstAnswerMs: number;
  child: ChildTimes;
  answeredAfterListeningMs: number;
}

async function coldStart(childPath: string, packageDir: string, env: NodeJS.ProcessEnv): Promise<Sample> {
  const spawnedAt = performance.now();
  const profile = process.env.BENCH_CPU_PROF ? ["--cpu-prof", "--cpu-prof-dir", process.env.BENCH_CPU_PROF] : [];
  const child = spawn(process.execPath, [...profile, childPath, packageDir], {
    cwd: packageDir,
    env,
    stdio: ["ignore", "pipe", "inherit", "ipc"],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let text = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
      const line = text.split("\n").find((l) => l.startsWith(READY));
      if (line) resolve(line.slice(READY.length));
    });
    child.once("exit", (code) => reject(new Error(`the child exited (${code}) before listening`)));
  });
  const times = JSON.parse(line) as ChildTimes;
  const listenedAt = performance.now();
  const res = await fetch(`${times.url}/api/health`);
  await res.text();
  const answeredAt = performance.now();
  if (res.status !== 200) throw new Error(`GET /api/health answered ${res.status}`);
  child.send("stop");
  await new Promise((ok) => child.once("exit", ok));
  return { firstAnswerMs: answeredAt - spawnedAt, child: times, answeredAfterListeningMs: answeredAt - listenedAt };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const tls = prepareBenchProcess("start");
  if (!tls) return;
  const out = mkdtempSync(join(tmpdir(), "bench-start-"));
  execFileSync(process.execPath, [join(root, "scripts/package.mjs"), "--out", out], { cwd: root, stdio: "ignore" });
  const packageDir = join(out, "package");
  const { build } = await import("esbuild");
  const childPath = join(out, "start-child.mjs");
  await build({
    entryPoints: [join(root, "bench/support/start-child.ts")],
    outfile: childPath,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    external: ["@azure/functions-core"], // provided by the worker (here: the stand-in the child installs)
    alias: { "jsonc-parser": "jsonc-parser/lib/esm/main.js" }, // as scripts/package.mjs: its UMD build cannot be bundled
    banner: {
      js: 'import { createRequire as __benchCreateRequire } from "node:module"; const require = __benchCreateRequire(import.meta.url);',
    },
    logLevel: "warning",
  });

  const { startSandbox } = await import("../dev/sandbox/sandbox.js");
  const { startAzurite } = await import("../dev/sandbox/azurite.js");
  const [sandbox, azurite] = await Promise.all([startSandbox({ tls }), startAzurite()]);
  const env = {
    ...process.env,
    ...sandbox.env,
    AzureWebJobsStorage: azurite.connectionString,
    OTEL_SDK_DISABLED: process.env.OTEL_SDK_DISABLED ?? "true",
  };

  const samples: Sample[] = [];
  for (let i = 0; i < RUNS; i++) samples.push(await coldStart(childPath, packageDir, env));
  const bundleBytes = statSync(join(packageDir, "index.mjs")).size;
  const zipBytes = statSync(join(out, "identity-bridge.zip")).size;
  const chunkBytes = readdirSync(join(packageDir, "chunks")).reduce((sum, f) => sum + statSync(join(packageDir, "chunks", f)).size, 0);
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(2)} MB`;
  const first = samples.map((s) => s.firstAnswerMs);
  const ms = (n: number) => `${n.toFixed(0)} ms`;
  console.log(
    `bench:start — ${RUNS} cold starts of the deployment bundle (index.mjs ${mb(bundleBytes)}, chunks/ ${mb(chunkBytes)} some of which load on first use, zip ${mb(zipBytes)})`,
  );
  console.log(`  process start → harness loaded      median ${ms(median(samples.map((s) => s.child.harnessLoadedMs)))}`);
  console.log(`  process start → bundle loaded, listening  median ${ms(median(samples.map((s) => s.child.listeningMs)))}`);
  console.log(`  listening → first answer             median ${ms(median(samples.map((s) => s.answeredAfterListeningMs)))}`);
  console.log(
    `  the child's CPU time until listening  median ${ms(median(samples.map((s) => s.child.cpuMs)))} (wall time above also counts waiting for a core)`,
  );
  const verdict = median(first) <= TARGET_MS ? "met" : "NOT met";
  console.log(
    `spawn → first answered request: median ${ms(median(first))}, min ${ms(Math.min(...first))}, max ${ms(Math.max(...first))} (target ≤ ${TARGET_MS} ms: ${verdict})`,
  );
  await Promise.all([sandbox.stop(), azurite.stop()]);
  rmSync(out, { recursive: true, force: true });
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(`bench:start failed: ${(error as Error)?.stack ?? error}`);
  process.exit(1);
});
