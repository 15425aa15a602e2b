// The global per-caller rate with local reservations: tokens leave the shared bucket before they are
// spent, so several instances together never exceed the rate, while a busy caller costs about one conditional
// write per second per instance. The Table client here is a pure in-memory stand-in with ETag semantics (the
// Azurite-backed, two-host proof is test/local-host/two-hosts.test.ts).
import { describe, expect, it } from "vitest";
import { TableRateLimiter } from "../../shared/tokens/global-rate-limit.js";

class FakeTable {
  rows = new Map<string, Record<string, unknown> & { etag: string }>();
  writes = 0;
  private version = 0;
  async getEntity<T>(pk: string, rk: string): Promise<T & { etag: string }> {
    const row = this.rows.get(`${pk}/${rk}`);
    if (!row) throw Object.assign(new Error("not found"), { statusCode: 404 });
    return { ...row } as T & { etag: string };
  }
  async createEntity(entity: Record<string, unknown>): Promise<{ etag: string }> {
    const key = `${entity.partitionKey}/${entity.rowKey}`;
    if (this.rows.has(key)) throw Object.assign(new Error("exists"), { statusCode: 409 });
    return this.put(key, entity);
  }
  async updateEntity(entity: Record<string, unknown>, _mode: string, options: { etag: string }): Promise<{ etag: string }> {
    const key = `${entity.partitionKey}/${entity.rowKey}`;
    if (this.rows.get(key)?.etag !== options.etag) throw Object.assign(new Error("precondition"), { statusCode: 412 });
    return this.put(key, entity);
  }
  private put(key: string, entity: Record<string, unknown>): { etag: string } {
    this.writes++;
    const etag = `W/"${++this.version}"`;
    this.rows.set(key, { ...entity, etag });
    return { etag };
  }
}

const limiterOn = (table: FakeTable, clock: { now: number }) => new TableRateLimiter(async () => table as never, () => clock.now);

describe("TableRateLimiter reservations", () => {
  it("a busy caller spends reserved tokens locally: far fewer writes than issuances", async () => {
    const table = new FakeTable();
    const clock = { now: 1_000_000 };
    const limiter = limiterOn(table, clock);
    let allowed = 0;
    for (let i = 0; i < 200; i++) {
      clock.now += 5; // 200 takes a second
      if ((await limiter.take("busy", 60_000)).allowed) allowed++;
    }
    expect(allowed).toBe(200);
    expect(table.writes).toBeLessThan(40);
  });

  it("a slow caller (under 60 a minute) gets no reservation: every take is decided in storage", async () => {
    const table = new FakeTable();
    const clock = { now: 1_000_000 };
    const limiter = limiterOn(table, clock);
    const decisions = [];
    for (let i = 0; i < 12; i++) decisions.push((await limiter.take("slow", 10)).allowed);
    expect(decisions.filter(Boolean)).toHaveLength(10);
    expect(table.writes).toBe(12);
  });

  it("two instances together never exceed the rate, reservations included", async () => {
    const table = new FakeTable();
    const clock = { now: 1_000_000 }; // frozen: no refill, so exactly the capacity may be spent
    const [a, b] = [limiterOn(table, clock), limiterOn(table, clock)];
    const takes = await Promise.all(Array.from({ length: 600 }, (_, i) => (i % 2 ? a : b).take("shared", 240)));
    expect(takes.filter((d) => d.allowed).length).toBeLessThanOrEqual(240);
    // And sequentially, with reservations building up on both.
    const more = [];
    for (let i = 0; i < 200; i++) more.push(await (i % 3 ? a : b).take("shared2", 120));
    expect(more.filter((d) => d.allowed).length).toBeLessThanOrEqual(120);
  });

  it("what an expired reservation left unspent goes back to the bucket", async () => {
    const table = new FakeTable();
    const clock = { now: 1_000_000 };
    const [a, b] = [limiterOn(table, clock), limiterOn(table, clock)];
    for (let i = 0; i < 60; i++) { clock.now += 1; await a.take("c", 600); } // a reserves up to 10 ahead
    const stored = () => Number(table.rows.get("rate/c")!.tokens);
    const beforeExpiry = stored();
    clock.now += 1_500; // a's reservation expires unspent; +15 tokens of refill
    await a.take("c", 600); // this write returns the reservation's leftovers
    // Without the return: before + 15 (refill) − 1 (the take) − 1 (a new reservation of one take's demand).
    expect(stored()).toBeGreaterThan(beforeExpiry + 13);
    // b sees the returned tokens: its takes succeed up to the bucket's content.
    const bTakes = [];
    for (let i = 0; i < 5; i++) bTakes.push((await b.take("c", 600)).allowed);
    expect(bTakes.every(Boolean)).toBe(true);
  });

  it("a caller at a steady rate never waits for storage: the reservation is renewed before it runs out", async () => {
    // Writes stay pending until the test lets them land, as a storage round trip would; a take that is still
    // pending after its turn waited for storage.
    const table = new FakeTable();
    const held: Array<() => void> = [];
    const gated = <T>(write: () => Promise<T>) => new Promise<void>((open) => held.push(open)).then(write);
    const gatedTable = Object.assign(Object.create(table) as FakeTable, {
      createEntity: (e: Record<string, unknown>) => gated(() => table.createEntity(e)),
      updateEntity: (e: Record<string, unknown>, mode: string, o: { etag: string }) => gated(() => table.updateEntity(e, mode, o)),
    });
    const clock = { now: 1_000_000 };
    const limiter = new TableRateLimiter(async () => gatedTable as never, () => clock.now);
    const flush = async () => { for (let i = 0; i < 10; i++) await Promise.resolve(); };
    let waited = 0;
    for (let i = 0; i < 1_000; i++) {
      clock.now += 5; // 200 takes a second for 5 s
      let settled = false;
      const take = limiter.take("steady", 60_000).then((d) => { settled = true; return d; });
      await flush();
      if (!settled && i >= 200) waited++; // the first second builds up the demand that sizes reservations
      while (held.length > 0) { held.shift()!(); await flush(); }
      expect((await take).allowed).toBe(true);
    }
    expect(waited).toBe(0);
    expect(table.writes).toBeLessThan(5 * 3); // still a few writes a second, not one per take
  });
});
