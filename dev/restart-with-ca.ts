// NODE_EXTRA_CA_CERTS is read only when a Node process starts: re-run the current script with it set,
// forwarding signals and the exit code. Used by `npm start` and the benchmarks for the sandbox CA.
import { spawn } from "node:child_process";

export function restartWithCa(caPath: string, extraEnv: Record<string, string | undefined> = {}, extraNodeFlags: readonly string[] = []): void {
  const flags = [...process.execArgv, ...extraNodeFlags.filter((flag) => !process.execArgv.includes(flag))];
  const child = spawn(process.execPath, [...flags, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, ...extraEnv, NODE_EXTRA_CA_CERTS: caPath },
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
  child.on("exit", (code) => process.exit(code ?? 0));
}
