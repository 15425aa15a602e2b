// Azurite in memory on free loopback ports. Always with --disableTelemetry (otherwise it reaches out to
// an outside host) and --inMemoryPersistence (nothing left on disk).
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { createServer, connect } from "node:net";

export interface RunningAzurite {
  connectionString: string;
  ports: { blob: number; queue: number; table: number };
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Azurite's well-known development account (public, documented by Microsoft). */
export const DEV_ACCOUNT = "devstoreaccount1";
export const DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => { socket.destroy(); resolve(true); });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Azurite did not open port ${port} in time`);
}

export async function startAzurite(options: { ports?: Partial<RunningAzurite["ports"]> } = {}): Promise<RunningAzurite> {
  const ports = {
    blob: options.ports?.blob ?? (await freePort()),
    queue: options.ports?.queue ?? (await freePort()),
    table: options.ports?.table ?? (await freePort()),
  };
  const entry = createRequire(import.meta.url).resolve("azurite/dist/src/azurite.js");
  const child = spawn(process.execPath, [
    entry, "--silent", "--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck", "--loose",
    "--blobHost", "127.0.0.1", "--blobPort", String(ports.blob),
    "--queueHost", "127.0.0.1", "--queuePort", String(ports.queue),
    "--tableHost", "127.0.0.1", "--tablePort", String(ports.table),
  ], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => { stderr += d.toString(); });
  const deadline = Date.now() + 30_000;
  try {
    await Promise.all([waitForPort(ports.blob, deadline), waitForPort(ports.queue, deadline), waitForPort(ports.table, deadline)]);
  } catch (error) {
    child.kill();
    throw new Error(`${(error as Error).message}${stderr ? `: ${stderr.slice(0, 500)}` : ""}`, { cause: error });
  }
  const base = "http://127.0.0.1";
  const connectionString = [
    "DefaultEndpointsProtocol=http", `AccountName=${DEV_ACCOUNT}`, `AccountKey=${DEV_KEY}`,
    `BlobEndpoint=${base}:${ports.blob}/${DEV_ACCOUNT}`, `QueueEndpoint=${base}:${ports.queue}/${DEV_ACCOUNT}`,
    `TableEndpoint=${base}:${ports.table}/${DEV_ACCOUNT}`,
  ].join(";") + ";";
  return {
    connectionString,
    ports,
    process: child,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill();
    }),
  };
}
