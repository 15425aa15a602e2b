// The delta reader: it keeps fetching Graph's chain ahead of the run (bounded), composes steps from what is ready,
// surfaces a failed fetch at the step it belongs to, and starts over when asked for another link.
import { describe, expect, it } from "vitest";
import type { DeltaPage, DirectoryChange } from "../../shared/directory/types.js";
import { DeltaReader, MAX_PAGES_AHEAD, STEP_MAX_CHANGES, STEP_MIN_CHANGES } from "../../shared/sync/delta-reader.js";
import { waitFor } from "../support/wait-for.js";

const PAGE = 200;
const removed = (n: number): Extract<DirectoryChange, { kind: "removed" }> => ({ kind: "removed", id: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`, reason: "changed" });

/** A chain of `pages` pages of PAGE changes ("p0" … links); `failAt` fails that page's first fetch. */
function fakeChain(pages: number, failAt?: number) {
  const asked: Array<string | undefined> = [];
  const pending: Array<() => void> = [];
  let hold = false;
  const pageAt = (link: string | undefined): DeltaPage => {
    const i = link === undefined ? 0 : Number(link.slice(1));
    const changes = Array.from({ length: PAGE }, (_, j) => removed(i * PAGE + j));
    return i + 1 < pages ? { changes, nextLink: `p${i + 1}` } : { changes, deltaLink: "done" };
  };
  const port = {
    usersDeltaPage(link: string | undefined): Promise<DeltaPage> {
      asked.push(link);
      const failed = failAt !== undefined && link === `p${failAt}` && asked.filter((l) => l === link).length === 1;
      const answer = () => (failed ? Promise.reject(new Error(`page ${link} failed`)) : Promise.resolve(pageAt(link)));
      if (!hold) return answer();
      return new Promise((resolve, reject) => pending.push(() => { answer().then(resolve, reject); }));
    },
  };
  return {
    port, asked,
    holdAnswers: (on: boolean) => { hold = on; },
    held: () => pending.length,
    releaseOne: () => pending.shift()?.(),
    release: () => { for (const go of pending.splice(0)) go(); },
  };
}

/** Answers the held fetches one at a time, `count` of them, each as soon as it is asked. */
async function answer(chain: ReturnType<typeof fakeChain>, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await waitFor(() => chain.held() > 0, 5_000, 1);
    chain.releaseOne();
    await new Promise((r) => setImmediate(r));
  }
}

describe("delta reader", () => {
  it("keeps fetching ahead of the run, up to MAX_PAGES_AHEAD pages, and no further", async () => {
    const chain = fakeChain(40);
    chain.holdAnswers(true);
    const reader = new DeltaReader((link) => chain.port.usersDeltaPage(link));
    const first = reader.read(undefined);
    await answer(chain, 2);
    expect((await first).changes).toHaveLength(STEP_MIN_CHANGES);
    // Nobody asks for more, yet the reader fills its window: MAX_PAGES_AHEAD pages wait, and nothing more is asked.
    await answer(chain, MAX_PAGES_AHEAD);
    expect(chain.held()).toBe(0);
    expect(chain.asked).toHaveLength(2 + MAX_PAGES_AHEAD);
    reader.close();
  });

  it("a run that fell behind takes the pages waiting in one step, up to STEP_MAX_CHANGES; the chain ends with its delta link", async () => {
    const chain = fakeChain(12);
    chain.holdAnswers(true);
    const reader = new DeltaReader((link) => chain.port.usersDeltaPage(link));
    const first = reader.read(undefined);
    await answer(chain, 2 + MAX_PAGES_AHEAD);
    let step = await reader.read((await first).nextLink);
    expect(step.changes).toHaveLength(STEP_MAX_CHANGES);
    const ids = [step.changes[0], step.changes.at(-1)].map((c) => (c!.kind === "removed" ? c!.id : ""));
    expect(ids).toEqual([removed(2 * PAGE).id, removed(2 * PAGE + STEP_MAX_CHANGES - 1).id]);
    chain.holdAnswers(false);
    chain.release();
    const rest: DirectoryChange[] = [];
    while (step.nextLink) {
      step = await reader.read(step.nextLink);
      rest.push(...step.changes);
    }
    expect(rest).toHaveLength(12 * PAGE - STEP_MIN_CHANGES - STEP_MAX_CHANGES);
    expect(step.deltaLink).toBe("done");
    expect(new Set(chain.asked).size).toBe(12); // every page fetched once
  });

  it("a failed fetch after pages already taken ends the step before it; the next step throws it, and asking again refetches", async () => {
    const chain = fakeChain(6, 1);
    chain.holdAnswers(true);
    const reader = new DeltaReader((link) => chain.port.usersDeltaPage(link));
    const first = reader.read(undefined);
    await answer(chain, 2);
    const step = await first;
    expect(step.changes).toHaveLength(PAGE); // page 0 only: page 1 failed
    expect(step.nextLink).toBe("p1");
    chain.holdAnswers(false);
    await expect(reader.read(step.nextLink)).rejects.toThrow("page p1 failed");
    const again = await reader.read(step.nextLink);
    expect(again.changes[0]).toEqual(removed(PAGE));
    expect(chain.asked.filter((l) => l === "p1")).toHaveLength(2);
    reader.close();
  });

  it("asked for another link (a restarted round), it starts over there", async () => {
    const chain = fakeChain(20);
    const reader = new DeltaReader((link) => chain.port.usersDeltaPage(link));
    await reader.read(undefined);
    const restarted = await reader.read(undefined);
    expect(restarted.changes[0]).toEqual(removed(0));
    expect(chain.asked.filter((l) => l === undefined)).toHaveLength(2);
    reader.close();
  });

  it("closed, it drops a page that arrives afterwards and fetches nothing more", async () => {
    const chain = fakeChain(20);
    chain.holdAnswers(true);
    const reader = new DeltaReader((link) => chain.port.usersDeltaPage(link));
    void reader.read(undefined);
    expect(chain.asked).toEqual([undefined]);
    reader.close();
    chain.release();
    await new Promise((r) => setImmediate(r));
    expect(chain.asked).toEqual([undefined]);
  });
});
