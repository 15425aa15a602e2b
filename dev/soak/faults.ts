// Fault injection, all from the seed: windows during which Graph or Dataverse throttle (429/503 with
// Retry-After), answer slowly or drop connections (one schedule per emulator, see ServiceKnobs.schedule);
// host kills armed for a moment of the work (a delta page, a $batch, a remap step, a bulk job) and fired
// from inside the emulator when that request arrives, on the host that sent it; storage outages (Azurite
// stopped and started on its on-disk data); duplicate and stale queue deliveries.
import type { IncomingMessage } from "node:http";
import type { InjectedFault, ServiceKnobs } from "../sandbox/https-service.js";
import { QUEUES } from "../../shared/state/storage.js";
import { CHURN_KINDS, churnOnce, moveDomain, renamedUpn } from "./churn.js";
import type { Rng } from "./random.js";
import { inBackground, people, redeliverUnfinished, startSync, type SoakWorld } from "./world.js";

type Service = "graph" | "dataverse";
type WindowKind = "throttle" | "slow" | "reset";
export type KillMoment = "delta page" | "$batch" | "remap step" | "bulk job";

interface FaultWindow {
  service: Service;
  kind: WindowKind;
  until: number;
  rate: number;
}

interface ArmedKill {
  moment: KillMoment;
  until: number;
  /** Settles the arm() promise: true when the kill fired. */
  done(fired: boolean): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The per-emulator fault schedules and armed kills; clear() ends every fault at once. */
export class FaultInjector {
  private windows: FaultWindow[] = [];
  private kills: ArmedKill[] = [];
  private readonly armed = new Set<Promise<boolean>>();
  /** Kills fired so far. */
  fired = 0;
  /** While a bulk job runs, remap steps count as the bulk job's. */
  bulkUntil = 0;

  constructor(
    private readonly world: SoakWorld,
    private readonly rng: Rng,
  ) {}

  install(graph: ServiceKnobs, dataverse: ServiceKnobs): void {
    const graphRng = this.rng.stream("graph requests");
    const dataverseRng = this.rng.stream("dataverse requests");
    graph.schedule = (req) => this.decide("graph", req, "", graphRng);
    dataverse.schedule = (req, body) => this.decide("dataverse", req, body.toString("utf8"), dataverseRng);
  }

  open(service: Service, kind: WindowKind, durationMs: number, rate: number): void {
    this.windows.push({ service, kind, until: Date.now() + durationMs, rate });
    this.world.tally.add(`fault window: ${service} ${kind}`);
  }

  /** Kills the host that next sends a request of `moment`, within `withinMs`; resolves true once fired, false when not. */
  arm(moment: KillMoment, withinMs: number): Promise<boolean> {
    this.world.tally.add(`kill armed: mid-${moment}`);
    const promise = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => kill.done(false), withinMs);
      const kill: ArmedKill = {
        moment,
        until: Date.now() + withinMs,
        done: (fired) => {
          clearTimeout(timer);
          this.kills = this.kills.filter((k) => k !== kill);
          if (!fired) this.world.log(`kill mid-${moment} expired: no such request came`);
          resolve(fired);
        },
      };
      this.kills.push(kill);
    });
    this.armed.add(promise);
    void promise.then(() => this.armed.delete(promise));
    return promise;
  }

  /** Resolves once every armed kill fired or expired. */
  async killsSettled(): Promise<void> {
    while (this.armed.size > 0) await Promise.all([...this.armed]);
  }

  clear(): void {
    this.windows = [];
    for (const kill of [...this.kills]) kill.done(false);
    this.bulkUntil = 0;
  }

  private decide(service: Service, req: IncomingMessage, body: string, rng: Rng): InjectedFault | null {
    const now = Date.now();
    this.windows = this.windows.filter((w) => w.until > now);
    this.maybeKill(service, req, body);
    const window = this.windows.find((w) => w.service === service && rng.chance(w.rate));
    if (!window) return null;
    const fault = this.faultOf(window.kind, rng);
    this.world.tally.add(`fault: ${service} ${fault.kind === "status" ? String(fault.status) : fault.kind}`);
    return fault;
  }

  private faultOf(kind: WindowKind, rng: Rng): InjectedFault {
    if (kind === "slow") return { kind: "slow", delayMs: rng.int(300, 2_000) };
    if (kind === "reset") return { kind: "reset" };
    return { kind: "status", status: rng.chance(0.7) ? 429 : 503, retryAfterSeconds: rng.int(1, 3) };
  }

  /** Fires an armed kill whose moment this request is, on the host that sent it (not the soak's own calls). */
  private maybeKill(service: Service, req: IncomingMessage, body: string): void {
    const moments = momentsOf(service, req, body, this.world.placeholders, Date.now() < this.bulkUntil);
    const armed = moments.map((m) => this.kills.find((k) => k.moment === m)).find((k) => k !== undefined);
    if (!armed) return;
    const moment = armed.moment;
    const host = this.world.hosts.peerHost(req.socket.remotePort);
    if (!host) return;
    armed.done(true);
    this.fired++;
    this.world.hosts.kill(host);
    this.world.tally.add(`fault: host killed mid-${moment}`);
    this.world.log(`killed host ${host.index} mid-${moment} (${req.method} ${(req.url ?? "").slice(0, 60)})`);
    inBackground(this.world, `restart of host ${host.index}`, async () => {
      await sleep(this.rng.int(200, 1_500));
      await this.world.hosts.restart(host);
      await redeliverUnfinished(this.world);
    });
  }
}

/** The moments a request could be the middle of (a remap step during a bulk job may be the job's or a sync's). */
function momentsOf(service: Service, req: IncomingMessage, body: string, placeholders: readonly string[], bulk: boolean): KillMoment[] {
  const url = req.url ?? "";
  // A full round lists /users; an incremental one follows users/delta: either continuation is "a page".
  if (service === "graph") return /\/users(\/delta)?\?/.test(url) && url.toLowerCase().includes("skiptoken") ? ["delta page"] : [];
  if (req.method === "GET") return [];
  const lower = body.toLowerCase();
  if (placeholders.some((p) => lower.includes(p.toLowerCase()))) return bulk ? ["bulk job", "remap step"] : ["remap step"];
  return url.includes("$batch") ? ["$batch"] : [];
}

export interface FaultKind {
  name: string;
  weight: number;
  inject(world: SoakWorld, faults: FaultInjector, rng: Rng): Promise<void>;
}

/** A host that is up (any host while all are restarting: the request then fails, as a client's would). */
function anyHost(world: SoakWorld, rng: Rng) {
  const up = world.hosts.slots.filter((s) => world.hosts.isUp(s));
  return rng.pick(up.length > 0 ? up : world.hosts.slots);
}

/** Opens a fault window and starts a run into it (after a change to write), so the fault meets traffic. */
async function underWindow(world: SoakWorld, f: FaultInjector, rng: Rng, service: Service, kind: WindowKind, rate: number): Promise<void> {
  await churnOnce(world, rng);
  f.open(service, kind, rng.int(3_000, 8_000), rate);
  await startSync(world, anyHost(world, rng), rng.chance(0.7) ? "incremental" : "full").catch(() => undefined);
}

export const FAULT_KINDS: FaultKind[] = [
  { name: "graph throttling", weight: 2, inject: (w, f, rng) => underWindow(w, f, rng, "graph", "throttle", 0.5) },
  { name: "dataverse throttling", weight: 2, inject: (w, f, rng) => underWindow(w, f, rng, "dataverse", "throttle", 0.4) },
  {
    name: "slow answers",
    weight: 1,
    inject: (w, f, rng) => underWindow(w, f, rng, rng.pick(["graph", "dataverse"] as const), "slow", 0.5),
  },
  {
    name: "connection resets",
    weight: 1,
    inject: (w, f, rng) => underWindow(w, f, rng, rng.pick(["graph", "dataverse"] as const), "reset", 0.25),
  },
  {
    name: "storage outage",
    weight: 0.7,
    inject: async (world, _f, rng) => {
      world.tally.add("fault: storage outage");
      await world.azurite.stop();
      await sleep(rng.int(500, 3_000));
      await world.azurite.restart();
    },
  },
  {
    name: "kill mid-page",
    weight: 0.5,
    inject: async (world, f, rng) => {
      const fired = f.arm("delta page", 12_000);
      await startSync(world, anyHost(world, rng), "full").catch(() => undefined);
      inBackground(world, "armed kill", () => fired);
    },
  },
  {
    name: "kill mid-$batch",
    weight: 0.5,
    inject: async (world, f, rng) => {
      // Several changes to write, so the run sends them as a $batch (a single write goes alone).
      for (let i = 0; i < 4; i++)
        await churnOnce(
          world,
          rng,
          CHURN_KINDS.filter((k) => k.name === "attribute change" || k.name === "user created"),
        );
      const fired = f.arm("$batch", 12_000);
      await startSync(world, anyHost(world, rng), rng.chance(0.5) ? "full" : "incremental").catch(() => undefined);
      inBackground(world, "armed kill", () => fired);
    },
  },
  {
    name: "kill mid-remap",
    weight: 0.5,
    inject: async (world, f, rng) => {
      // Someone with a record: a rename without one is a create, not a remap.
      const candidates = people(world, (u) => u.state === "active" && u.accountEnabled && world.org.findByObjectId(u.id) !== undefined);
      if (candidates.length === 0) return;
      const user = rng.pick(candidates);
      world.sandbox.tenant.directory.updateUser(user.id, { userPrincipalName: renamedUpn(world, user) });
      const fired = f.arm("remap step", 12_000);
      await startSync(world, anyHost(world, rng), "incremental").catch(() => undefined);
      inBackground(world, "armed kill", () => fired);
    },
  },
  {
    name: "kill mid-bulk job",
    weight: 0.4,
    inject: async (world, f, rng) => {
      f.bulkUntil = Date.now() + 12_000;
      const fired = f.arm("bulk job", 12_000);
      await moveDomain(world, rng);
      inBackground(world, "armed kill", () => fired);
    },
  },
  {
    name: "duplicate delivery",
    weight: 1,
    inject: async (world, _f, rng) => {
      if (world.runIds.length === 0) return;
      // The latest run (maybe still running: a concurrent duplicate) or an older one (out of order, finished).
      const latest = rng.chance(0.5);
      const runId = latest ? world.runIds[world.runIds.length - 1]! : rng.pick(world.runIds);
      const report = await world.bridge.syncRuns.get(runId).catch(() => undefined);
      if (!report) return;
      await world.bridge.storage.enqueueJson(QUEUES.syncOrg, { org: report.org, runId });
      world.tally.add(`fault: ${latest ? "duplicate" : "out-of-order"} queue delivery`);
    },
  },
];
