// Azurite on free loopback ports. Always with --disableTelemetry (otherwise it reaches out to an outside
// host); in memory (--inMemoryPersistence, nothing left on disk) unless given a `location`: then its data is
// kept there, so restart() is a storage outage that loses nothing, as in Azure.
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { createServer, connect } from "node:net";

export interface RunningAzurite {
  connectionString: string;
  ports: { blob: number; queue: number; table: number };
  process: ChildProcess;
  stop(): Promise<void>;
  /** Starts it again on the same ports (after stop(); with a `location`, with the same data). */
  restart(): Promise<void>;
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

/** Free ports for the services not given, then Azurite on them. */
async function spawnOnFreePorts(options: { ports?: Partial<RunningAzurite["ports"]>; location?: string }): Promise<{ ports: RunningAzurite["ports"]; child: ChildProcess }> {
  const ports = {
    blob: options.ports?.blob ?? (await freePort()),
    queue: options.ports?.queue ?? (await freePort()),
    table: options.ports?.table ?? (await freePort()),
  };
  return { ports, child: await spawnAzurite(ports, options.location) };
}

export async function startAzurite(options: { ports?: Partial<RunningAzurite["ports"]>; location?: string } = {}): Promise<RunningAzurite> {
  // A free port can be taken by another process between being found and Azurite binding it (parallel test files
  // start their own Azurite): on EADDRINUSE, pick new ports and start again.
  let started: { ports: RunningAzurite["ports"]; child: ChildProcess } | undefined;
  for (let attempt = 1; !started; attempt++) {
    try {
      started = await spawnOnFreePorts(options);
    } catch (error) {
      if (attempt >= 3 || !/EADDRINUSE/.test(String(error))) throw error;
    }
  }
  const { ports } = started;
  let child = started.child;
  const base = "http://127.0.0.1";
  const connectionString = [
    "DefaultEndpointsProtocol=http", `AccountName=${DEV_ACCOUNT}`, `AccountKey=${DEV_KEY}`,
    `BlobEndpoint=${base}:${ports.blob}/${DEV_ACCOUNT}`, `QueueEndpoint=${base}:${ports.queue}/${DEV_ACCOUNT}`,
    `TableEndpoint=${base}:${ports.table}/${DEV_ACCOUNT}`,
  ].join(";") + ";";
  const stop = () => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill();
  });
  return {
    connectionString,
    ports,
    get process() { return child; },
    stop,
    restart: async () => {
      await stop();
      child = await spawnAzurite(ports, options.location);
    },
  };
}

async function spawnAzurite(ports: RunningAzurite["ports"], location: string | undefined): Promise<ChildProcess> {
  const entry = createRequire(import.meta.url).resolve("azurite/dist/src/azurite.js");
  const persistence = location ? ["--location", location] : ["--inMemoryPersistence"];
  const child = spawn(process.execPath, [
    entry, "--silent", ...persistence, "--disableTelemetry", "--skipApiVersionCheck", "--loose",
    "--blobHost", "127.0.0.1", "--blobPort", String(ports.blob),
    "--queueHost", "127.0.0.1", "--queuePort", String(ports.queue),
    "--tableHost", "127.0.0.1", "--tablePort", String(ports.table),
  ], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => { stderr += d.toString(); });
  const deadline = Date.now() + 30_000;
  try {
    // An Azurite that exits (a port taken meanwhile) fails at once instead of at the deadline.
    let onExit: ((code: number | null) => void) | undefined;
    const exited = new Promise<never>((_, reject) => {
      onExit = (code) => reject(new Error(`Azurite exited (${code}) before opening its ports`));
      child.once("exit", onExit);
    });
    try {
      await Promise.race([exited, Promise.all([waitForPort(ports.blob, deadline), waitForPort(ports.queue, deadline), waitForPort(ports.table, deadline)])]);
    } finally {
      child.off("exit", onExit!);
    }
  } catch (error) {
    child.kill();
    throw new Error(`${(error as Error).message}${stderr ? `: ${stderr.slice(0, 500)}` : ""}`, { cause: error });
  }
  return child;
}
