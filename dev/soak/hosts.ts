// The soak's Function App instances: local hosts in child processes on fixed ports, on one storage account,
// as Azure scales the app out. A host can be SIGKILLed (no cleanup, as a crashed or recycled worker) and
// started again on its port. peerHost() tells which host sent a request the emulators are handling, so a
// kill lands on the process doing the work.
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { freePort } from "../sandbox/azurite.js";

const HOST_ENTRY = "dev/local-host/child.ts";

export interface HostSlot {
  index: number;
  port: number;
  url: string;
  child?: ChildProcess;
  /** Resolves when the host in this slot serves (replaced on each start). */
  ready: Promise<void>;
}

export class HostPool {
  readonly slots: HostSlot[] = [];
  private stopping = false;

  static async start(count: number, env: NodeJS.ProcessEnv): Promise<HostPool> {
    const pool = new HostPool(env);
    const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
    // Every instance sits behind one public URL, as in Azure.
    const publicBaseUrl = `http://127.0.0.1:${ports[0]}`;
    for (const [index, port] of ports.entries())
      pool.slots.push({ index, port, url: `http://127.0.0.1:${port}`, ready: Promise.resolve() });
    pool.publicBaseUrl = publicBaseUrl;
    await Promise.all(pool.slots.map((s) => pool.launch(s)));
    return pool;
  }

  private publicBaseUrl = "";

  private constructor(private readonly env: NodeJS.ProcessEnv) {}

  private launch(slot: HostSlot): Promise<void> {
    const child = spawn(process.execPath, ["--import", "tsx", HOST_ENTRY], {
      env: { ...this.env, BRIDGE_PORT: String(slot.port), PUBLIC_BASE_URL: this.publicBaseUrl },
      cwd: process.cwd(),
      // stdin stays open while this process lives: the host exits when it closes.
      stdio: ["pipe", "pipe", "pipe"],
    });
    slot.child = child;
    slot.ready = new Promise<void>((resolve, reject) => {
      let out = "";
      let err = "";
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("HOST_READY")) resolve();
      });
      child.stderr!.on("data", (d: Buffer) => {
        err = (err + d.toString()).slice(-4_000);
      });
      child.once("exit", (code, signal) => {
        if (signal !== "SIGKILL" && !this.stopping)
          reject(new Error(`host ${slot.index} exited (${code ?? signal}) before serving: ${err}`));
        else resolve();
      });
    });
    return slot.ready;
  }

  isUp(slot: HostSlot): boolean {
    return slot.child !== undefined && slot.child.exitCode === null && slot.child.signalCode === null;
  }

  /** SIGKILL: the process dies mid-work, its queue messages stay invisible until their timeout, its leases lapse. */
  kill(slot: HostSlot): void {
    slot.child?.kill("SIGKILL");
  }

  /** Starts the slot's host again (after a kill) and waits until it serves. */
  async restart(slot: HostSlot): Promise<void> {
    if (this.isUp(slot)) return;
    if (slot.child && slot.child.exitCode === null && slot.child.signalCode === null) await new Promise((r) => slot.child!.once("exit", r));
    await this.launch(slot);
  }

  /** The slot whose process owns the client end of a loopback connection from `remotePort`, if one of ours does. */
  peerHost(remotePort: number | undefined): HostSlot | undefined {
    if (remotePort === undefined) return undefined;
    const inode = socketInodeOf(remotePort);
    if (!inode) return undefined;
    return this.slots.find((s) => this.isUp(s) && ownsSocket(s.child!.pid!, inode));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.slots.map(async (s) => {
        if (!this.isUp(s)) return;
        const exited = new Promise((r) => s.child!.once("exit", r));
        s.child!.kill("SIGTERM");
        const timer = setTimeout(() => s.child!.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}

/** The socket inode of the TCP endpoint bound to 127.0.0.1:`port` (Linux /proc; undefined elsewhere). */
function socketInodeOf(port: number): string | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[1]?.endsWith(`:${hexPort}`)) return fields[9];
    }
  }
  return undefined;
}

function ownsSocket(pid: number, inode: string): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}
