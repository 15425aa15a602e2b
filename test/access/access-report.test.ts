// A user's access on their own change entry: the access step records its entries at the round's end, and the
// report as read folds each into the same user's earlier entry; a user whose only change is access keeps an entry of
// action "access". A non-dry run's capped list keeps the access of every user it lists (real Azurite).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { TableClient } from "@azure/data-tables";
import { startAzurite, type RunningAzurite } from "../../dev/sandbox/azurite.js";
import { foldAccessEntries } from "../../shared/access/report-entries.js";
import { RunStore } from "../../shared/sync/run-store.js";
import { CHANGE_LIST_CAP, type ChangeEntry } from "../../shared/sync/run-report.js";
import { RunTally } from "../../shared/sync/run-tally.js";

const access = { rolesAdded: ["Salesperson"], rolesRemoved: [], teamsAdded: [], teamsRemoved: [] };
const create = (objectId: string): ChangeEntry => ({ objectId, systemUserId: randomUUID(), action: "create", outcome: "applied", columns: [] });
const accessEntry = (objectId: string, outcome: ChangeEntry["outcome"] = "applied"): ChangeEntry => ({ objectId, systemUserId: randomUUID(), action: "access", access, outcome });

describe("folding access entries", () => {
  it("puts each access entry on the same user's entry before it; an access-only user keeps an access entry", () => {
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const folded = foldAccessEntries([create(a), create(b), accessEntry(a.toUpperCase()), accessEntry(c)]);
    expect(folded.map((e) => [e.objectId, e.action, e.access !== undefined])).toEqual([[a, "create", true], [b, "create", false], [c, "access", true]]);
  });

  it("names the access outcome beside the entry's own when they differ, and folds at most once per entry", () => {
    const a = randomUUID();
    const folded = foldAccessEntries([create(a), accessEntry(a, "pending-approval"), accessEntry(a, "applied")]);
    expect(folded).toHaveLength(2);
    expect(folded[0]).toMatchObject({ action: "create", outcome: "applied", accessOutcome: "pending-approval", access });
    // Approval later applies it: that entry follows on its own.
    expect(folded[1]).toMatchObject({ action: "access", outcome: "applied" });
  });
});

describe("a non-dry run's capped change list (Azurite)", () => {
  let azurite: RunningAzurite;
  let store: RunStore;
  beforeAll(async () => {
    azurite = await startAzurite();
    const table = async (name: string) => {
      const client = TableClient.fromConnectionString(azurite.connectionString, name, { allowInsecureConnection: true });
      await client.createTable();
      return client;
    };
    const [runs, items] = await Promise.all([table("Runs"), table("RunItems")]);
    store = new RunStore(async () => runs, async () => items);
  });
  afterAll(async () => { await azurite?.stop(); });

  it("keeps the access of every listed user on their entry, and counts what is left out once per entry", async () => {
    const tally = RunTally.queued({ org: "https://contoso.crm.dynamics.com", mode: "full", dryRun: false, trigger: "test" });
    await store.save(tally.snapshot());
    const rows = store.changeRows(tally.runId, tally.listed);
    const created = Array.from({ length: CHANGE_LIST_CAP + 100 }, () => randomUUID());
    for (let i = 0; i < created.length; i += 200) await rows.append(tally.recordChanges(created.slice(i, i + 200).map(create)));
    // At the round's end: access for every created user, and for one whose only change is access.
    await rows.append(tally.recordChanges([...created.map((id) => accessEntry(id)), accessEntry(randomUUID())]));
    await store.save(tally.snapshot());
    const listed = foldAccessEntries((await store.get(tally.runId))!.changes);
    expect(listed).toHaveLength(CHANGE_LIST_CAP);
    expect(listed.every((e) => e.action === "create" && e.access !== undefined)).toBe(true);
    // 100 creates over the cap, their 100 access entries and the access-only one.
    expect(tally.snapshot().changesOmitted).toBe(201);
    // Every created user counts as created, and those whose access was recorded as accessChanged, listed or not.
    expect(tally.snapshot().counts).toMatchObject({ created: CHANGE_LIST_CAP + 100, accessChanged: CHANGE_LIST_CAP + 101 });
  });

  it("goes on from a stored run with the same list: access of users listed by an earlier attempt still rides", async () => {
    const first = RunTally.queued({ org: "https://contoso.crm.dynamics.com", mode: "full", dryRun: false, trigger: "test" });
    const created = Array.from({ length: CHANGE_LIST_CAP }, () => randomUUID());
    await store.changeRows(first.runId, first.listed).append(first.recordChanges(created.map(create)));
    await store.save(first.snapshot());
    const again = RunTally.resume((await store.get(first.runId))!);
    await store.changeRows(again.runId, again.listed).append(again.recordChanges([accessEntry(created[0]!), create(randomUUID())]));
    await store.save(again.snapshot());
    const listed = foldAccessEntries((await store.get(first.runId))!.changes);
    expect(listed).toHaveLength(CHANGE_LIST_CAP);
    expect(listed[0]).toMatchObject({ action: "create", access });
    expect(again.snapshot().changesOmitted).toBe(1);
  });
});
