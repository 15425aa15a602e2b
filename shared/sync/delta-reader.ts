// Reads Graph's users/delta chain ahead of the run that applies it. The chain is sequential (each page names the
// next), so Graph's latency is paid page after page; fetching the next page as soon as the last one arrives, not
// when the run asks for it, keeps Graph busy while Dataverse writes, and a run that falls behind finds several
// pages waiting and applies them in one step (fewer, larger steps: one set of bookkeeping writes per step).
// Pages ahead are bounded (MAX_PAGES_AHEAD), so memory stays a few pages whatever the tenant's size.
// The same reader follows a full round's /users listing, whose pages chain the same way.
import type { DeltaPage } from "../directory/types.js";

/** Fetches the chain's page at `link` (undefined = the chain's first page). */
export type FetchPage = (link: string | undefined) => Promise<DeltaPage>;

/** A step applies at least this many changes (two Graph pages of 200)… */
export const STEP_MIN_CHANGES = 400;
/** …and at most this many, taken from pages already read ahead (four Dataverse batches of 250: one wave). */
export const STEP_MAX_CHANGES = 1_000;
/** Pages read ahead of the run (200 users each at most). */
export const MAX_PAGES_AHEAD = 8;

type Fetched = { page: DeltaPage } | { error: unknown };

export class DeltaReader {
  private readonly fetched: Fetched[] = [];
  /** Where the next fetch starts; null once the chain's last page was fetched (or a fetch failed). */
  private nextToFetch: string | undefined | null = null;
  /** The link of the first page `fetched` will yield, i.e. where the reader stands. */
  private position: string | undefined | null = null;
  private fetching = false;
  /** Bumped on every restart and on close: answers of an older generation are dropped. */
  private generation = 0;
  private wake: (() => void) | undefined;

  constructor(private readonly fetchPage: FetchPage) {}

  /**
   * The changes from `link` (undefined = the chain's start) on, as one step: consecutive pages up to
   * STEP_MIN_CHANGES, then those already read ahead up to STEP_MAX_CHANGES. A failed fetch fails the step it
   * starts; one that follows pages already taken ends the step before it, and the next step throws it.
   */
  async read(link: string | undefined): Promise<DeltaPage> {
    if (link !== this.position) this.restart(link);
    let page = this.take(await this.next());
    let changes = page.changes;
    while (page.nextLink && (changes.length < STEP_MIN_CHANGES || this.readyPage() !== undefined)) {
      const ahead = changes.length < STEP_MIN_CHANGES ? await this.next() : this.fetched[0]!;
      if ("error" in ahead || changes.length + ahead.page.changes.length > STEP_MAX_CHANGES) break;
      page = this.take(ahead);
      changes = changes.concat(page.changes);
    }
    return { changes, nextLink: page.nextLink, deltaLink: page.deltaLink };
  }

  /** Stops reading ahead (the run ended or failed): pages in flight are dropped when they arrive. */
  close(): void {
    this.generation++;
    this.fetched.length = 0;
    this.nextToFetch = null;
    this.position = null;
    this.fetching = false;
  }

  private restart(link: string | undefined): void {
    this.close();
    this.nextToFetch = link;
    this.position = link;
    this.pump();
  }

  /** The first page waiting, if it is a page (not a failure). */
  private readyPage(): DeltaPage | undefined {
    const first = this.fetched[0];
    return first && "page" in first ? first.page : undefined;
  }

  /** Waits for the next fetched item (page or failure), without removing it. */
  private async next(): Promise<Fetched> {
    while (this.fetched.length === 0) await new Promise<void>((resolve) => { this.wake = resolve; });
    return this.fetched[0]!;
  }

  /** Removes the first item: its page, or its failure thrown (the reader then stands nowhere). */
  private take(item: Fetched): DeltaPage {
    this.fetched.shift();
    if ("error" in item) {
      this.close();
      throw item.error;
    }
    this.position = item.page.nextLink ?? null;
    this.pump();
    return item.page;
  }

  /** Starts the next fetch when none is in flight, the chain goes on and fewer than MAX_PAGES_AHEAD wait. */
  private pump(): void {
    if (this.fetching || this.nextToFetch === null || this.fetched.length >= MAX_PAGES_AHEAD) return;
    const generation = this.generation;
    const link = this.nextToFetch;
    this.fetching = true;
    this.fetchPage(link).then(
      (page) => this.arrived(generation, { page }, page.nextLink ?? null),
      (error: unknown) => this.arrived(generation, { error }, null),
    );
  }

  private arrived(generation: number, item: Fetched, next: string | null): void {
    if (generation !== this.generation) return;
    this.fetching = false;
    this.fetched.push(item);
    this.nextToFetch = next;
    this.wake?.();
    this.wake = undefined;
    this.pump();
  }
}
