// `npm run soak -- --minutes N --seed S`: the chaos soak for N minutes (rounds of about a minute each), then
// its table. Exits 1 on any violation, printing the seed that replays it.
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { restartWithCa } from "../restart-with-ca.js";
import { ensureSandboxTls } from "../sandbox/tls.js";
import { formatResult, runSoak } from "./soak.js";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "5" },
    seed: { type: "string" },
    "chaos-seconds": { type: "string", default: "25" },
    users: { type: "string", default: "60" },
    verbose: { type: "boolean", default: false },
  },
});
const minutes = Number(values.minutes);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
if (!(minutes > 0) || !Number.isInteger(seed)) {
  console.error("usage: npm run soak -- [--minutes N] [--seed S] [--chaos-seconds C] [--users U] [--verbose]   (N > 0, S a whole number)");
  process.exit(2);
}

const tls = ensureSandboxTls(resolve(".sandbox/tls"));
if (process.env.NODE_EXTRA_CA_CERTS !== tls.caPath) {
  restartWithCa(tls.caPath);
} else {
  console.log(`chaos soak: seed ${seed}, ${minutes} min`);
  const result = await runSoak({
    seed,
    tls,
    durationMs: minutes * 60_000,
    chaosMs: Number(values["chaos-seconds"]) * 1000,
    users: Number(values.users),
    log: (line) => {
      if (values.verbose || !line.startsWith("chaos step")) console.log(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}`);
    },
  }).catch((error: unknown) => {
    console.error(`the soak itself failed (seed ${seed}): ${(error as Error).stack ?? String(error)}`);
    process.exit(1);
  });
  console.log(formatResult(result));
  if (result.violations.length > 0) {
    console.error(`\n${result.violations.length} violation(s): replay with npm run soak -- --minutes ${minutes} --seed ${seed}`);
    process.exit(1);
  }
  process.exit(0);
}
