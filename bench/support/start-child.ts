// The cold-start child of bench/start.ts, bundled with esbuild before it runs (so no TypeScript loader is
// timed): provides `@azure/functions-core` as the Functions worker does, loads the deployment bundle from its
// directory, serves its registrations and prints, as one JSON line, when each step finished (ms since the
// process started, performance.now()).
//   node start-child.mjs <package dir>
import { performance } from "node:perf_hooks";
import { startLocalHost } from "../../dev/local-host/host.js";

const started = performance.now();
const host = await startLocalHost({
  port: 0,
  timers: false,
  log: () => {},
  functionsDir: process.argv[2]!,
  storageConnectionString: process.env.AzureWebJobsStorage,
});
const cpu = process.cpuUsage();
// CPU time too: on a shared machine the wall time also counts waiting for a core.
process.stdout.write(
  `bench-start-ready ${JSON.stringify({ url: host.url, harnessLoadedMs: started, listeningMs: performance.now(), cpuMs: (cpu.user + cpu.system) / 1000 })}\n`,
);
process.on("message", () => void host.close().then(() => process.exit(0)));
