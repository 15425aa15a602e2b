// Property-based tests of the planner: convergence, idempotence, protected records, minimal updates, termination.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { SyncIdentity } from "../../shared/config/config.js";
import type { SystemUser } from "../../shared/dataverse/types.js";
import type { DirectoryChange, DirectoryUser } from "../../shared/directory/types.js";
import { COLUMN_MAX_LENGTH, DEFAULT_ATTRIBUTE_MAP, mapUser, parseAttributeMap, type AttributeMap } from "../../shared/sync/mapping.js";
import { applyToIndex, isWrite, planChange, planOrphans, sameValue, type PlanOptions, type UserAction } from "../../shared/sync/plan.js";
import { isProtected, UserIndex } from "../../shared/sync/user-index.js";

const OIDS = ["00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b", "00000000-0000-4000-8000-00000000000c"];
const UPNS = ["ann@contoso.com", "ANN@contoso.com", "o'brien@contoso.com", "bob@contoso.com", " bob@contoso.com "];
const SAMS = ["ann", "OBRIEN", "bob"];

const MAPS: AttributeMap[] = [DEFAULT_ATTRIBUTE_MAP, parseAttributeMap('{"jobtitle":"department","mobilephone":null,"employeeid":["employeeId","mail"]}')];

// Values with the edges that matter: null, blank, padded, case variants, over-long.
const value = fc.oneof(
  fc.constant(null),
  fc.constant(""),
  fc.constant("  "),
  fc.constantFrom("Engineer", "engineer", " Engineer ", "O'Brien", "Seán"),
  fc.string({ maxLength: 12 }),
  fc.string({ minLength: 95, maxLength: 280 }),
);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 6 });

const directoryUser: fc.Arbitrary<DirectoryUser> = fc
  .record({
    id: fc.constantFrom(...OIDS),
    userPrincipalName: fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...UPNS) }, { weight: 1, arbitrary: fc.constant(null) }),
    accountEnabled: fc.constantFrom(true, true, true, false, null, undefined),
    givenName: maybe(value),
    surname: maybe(value),
    mail: maybe(value),
    jobTitle: maybe(value),
    mobilePhone: maybe(value),
    department: maybe(value),
    employeeId: maybe(value),
    onPremisesSamAccountName: fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...SAMS) }, { weight: 1, arbitrary: fc.constant(null) }),
    onPremisesDomainName: fc.constantFrom("corp.contoso.local", "CORP.other", null),
  })
  .map((u) => Object.fromEntries(Object.entries(u).filter(([, v]) => v !== undefined)) as DirectoryUser);

const change: fc.Arbitrary<DirectoryChange> = fc.oneof(
  { weight: 5, arbitrary: directoryUser.map((user): DirectoryChange => ({ kind: "upsert", user })) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("removed" as const), id: fc.constantFrom(...OIDS), reason: fc.constantFrom("changed" as const, "deleted" as const) }) },
);

const row = (i: number): fc.Arbitrary<SystemUser> =>
  fc.record({
    systemuserid: fc.constant(`su-${i}`),
    azureactivedirectoryobjectid: fc.oneof(fc.constantFrom(...OIDS), fc.constantFrom(...OIDS).map((o) => o.toUpperCase()), fc.constant(null), fc.constant(`foreign-${i}`)),
    domainname: fc.oneof(fc.constantFrom(...UPNS), fc.constantFrom("CORP\\ann", "corp\\obrien", "CORP\\Bob"), fc.constant(null)),
    isdisabled: fc.boolean(),
    accessmode: fc.constantFrom(0, 0, 0, 1, 2, 3, 4, 5),
    applicationid: fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constant("cccccccc-0000-0000-0000-000000000003") }),
    firstname: value,
    lastname: value,
    internalemailaddress: value,
    jobtitle: value,
    mobilephone: value,
    employeeid: value,
  });

const org = fc.integer({ min: 0, max: 4 }).chain((n) => (n === 0 ? fc.constant([] as SystemUser[]) : fc.tuple(...Array.from({ length: n }, (_, i) => row(i)))));

/** A record close to what the user maps to: same name, object id or none, some columns perturbed. */
function twin(user: DirectoryUser, map: AttributeMap, identity: SyncIdentity): fc.Arbitrary<SystemUser | null> {
  const mapped = mapUser(user, map, identity);
  if (!mapped.ok) return fc.constant(null);
  const perturbed = Object.fromEntries(
    map.entries.map((e) => [e.column, fc.oneof({ weight: 3, arbitrary: fc.constant(mapped.columns[e.column] ?? null) }, { weight: 1, arbitrary: value })]),
  );
  return fc.record({
    systemuserid: fc.constant("su-twin"),
    azureactivedirectoryobjectid: fc.constantFrom(user.id, user.id.toUpperCase(), null),
    domainname: fc.constantFrom(mapped.columns.domainname ?? null, mapped.columns.domainname?.toUpperCase() ?? null, "renamed@contoso.com"),
    isdisabled: fc.boolean(),
    accessmode: fc.constantFrom(0, 0, 0, 0, 1, 4),
    applicationid: fc.constant(null),
    ...perturbed,
  });
}

const scenario = fc
  .record({
    rows: org,
    change,
    identity: fc.constantFrom<SyncIdentity>("upn", "sam"),
    map: fc.constantFrom(...MAPS),
    outOfScope: fc.subarray(OIDS),
    withTwin: fc.boolean(),
  })
  .chain((s) =>
    s.withTwin && s.change.kind === "upsert"
      ? twin(s.change.user, s.map, s.identity).map((t) => ({ ...s, rows: t ? [...s.rows, t] : s.rows }))
      : fc.constant(s),
  );

function setup(s: { rows: SystemUser[]; identity: SyncIdentity; map: AttributeMap; outOfScope: string[] }) {
  const index = new UserIndex(s.map);
  index.addPage(s.rows);
  const options: PlanOptions = { map: s.map, identity: s.identity, inScope: (id) => !s.outOfScope.includes(id) };
  return { index, options };
}

const RUNS = { numRuns: 1500 };

describe("planner properties", () => {
  it("(a) convergence: applying a write makes the record hold exactly the mapped columns", () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { index, options } = setup(s);
        const action = planChange(s.change, index, options);
        if (s.change.kind !== "upsert" || (action.kind !== "create" && action.kind !== "update" && action.kind !== "enable" && action.kind !== "remap")) return;
        applyToIndex(index, action, { systemUserId: "new-id" });
        const record = action.kind === "create" ? index.byObjectId(action.objectId)! : index.get(action.systemUserId)!;
        expect(record.disabled).toBe(false);
        const mapped = mapUser(s.change.user, s.map, s.identity);
        expect(mapped.ok).toBe(true);
        if (!mapped.ok) return;
        for (const [column, expected] of Object.entries(mapped.columns)) {
          const actual = column === "domainname" ? record.domainName : index.value(record, column);
          expect(sameValue(column, actual, expected), `${column}: ${JSON.stringify(actual)} vs ${JSON.stringify(expected)}`).toBe(true);
          if (actual !== null && actual !== undefined) expect(actual.length).toBeLessThanOrEqual(COLUMN_MAX_LENGTH[column]!);
        }
      }),
      RUNS,
    );
  });

  it("(b) idempotence: planning again after applying is unchanged (a skip stays the same skip)", () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { index, options } = setup(s);
        const first = planChange(s.change, index, options);
        applyToIndex(index, first, { systemUserId: "new-id" });
        const second = planChange(s.change, index, options);
        if (first.kind === "skip") expect(second).toEqual(first);
        else expect(second.kind).toBe("unchanged");
      }),
      RUNS,
    );
  });

  it("(c) never an action against a protected record", () => {
    fc.assert(
      fc.property(scenario, fc.subarray(OIDS), (s, seen) => {
        const { index, options } = setup(s);
        const protectedIds = new Set([...index.records()].filter(isProtected).map((r) => r.systemUserId));
        const actions: UserAction[] = [planChange(s.change, index, options), ...planOrphans(index, new Set(seen), options)];
        for (const action of actions) {
          if (action.kind === "skip" || !("systemUserId" in action)) continue;
          expect(protectedIds.has(action.systemUserId), `${action.kind} on protected ${action.systemUserId}`).toBe(false);
        }
        // A protected record stays as it was even after applying.
        const before = JSON.stringify([...index.records()].filter(isProtected));
        for (const action of actions) applyToIndex(index, action, { systemUserId: "new-id" });
        expect(JSON.stringify([...index.records()].filter(isProtected))).toBe(before);
      }),
      RUNS,
    );
  });

  it("(d) update changes never include equal values, and `from` is the record's current value", () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { index, options } = setup(s);
        const action = planChange(s.change, index, options);
        if (action.kind !== "update" && action.kind !== "enable" && action.kind !== "remap") return;
        if (action.kind === "update") expect(action.changes.length).toBeGreaterThan(0);
        const record = index.get(action.systemUserId)!;
        const columns = new Set<string>();
        for (const c of action.changes) {
          expect(sameValue(c.column, c.from, c.to)).toBe(false);
          expect(c.column).not.toBe("domainname");
          expect(c.from).toBe(index.value(record, c.column));
          expect(columns.has(c.column)).toBe(false);
          columns.add(c.column);
        }
        if (action.kind === "remap") expect(sameValue("domainname", action.from, action.to)).toBe(false);
      }),
      RUNS,
    );
  });

  it("never creates a disabled, out-of-scope or removed user, and disables only enabled records", () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { index, options } = setup(s);
        const action = planChange(s.change, index, options);
        if (action.kind === "create") {
          expect(s.change.kind === "upsert" && s.change.user.accountEnabled === true && !s.outOfScope.includes(s.change.user.id)).toBe(true);
          expect(index.byObjectId(action.objectId)).toBeUndefined();
        }
        if (action.kind === "disable") expect(index.get(action.systemUserId)!.disabled).toBe(false);
      }),
      RUNS,
    );
  });

  it("a run of changes terminates: repeating the users' final states reaches a pass without writes", () => {
    fc.assert(
      fc.property(org, fc.array(change, { maxLength: 12 }), fc.constantFrom<SyncIdentity>("upn", "sam"), (rows, changes, identity) => {
        const map = DEFAULT_ATTRIBUTE_MAP;
        const index = new UserIndex(map);
        index.addPage(rows);
        const options: PlanOptions = { map, identity };
        let created = 0;
        for (const c of changes) applyToIndex(index, planChange(c, index, options), { systemUserId: `new-${created++}` });
        const final = new Map<string, DirectoryChange>();
        for (const c of changes) final.set(c.kind === "upsert" ? c.user.id : c.id, c);
        // Each pass can unblock at most one more rename in a chain, so a bounded number of passes suffices.
        let writes = -1;
        for (let pass = 0; pass <= final.size + 1 && writes !== 0; pass++) {
          writes = 0;
          for (const c of final.values()) {
            const action = planChange(c, index, options);
            if (isWrite(action)) writes++;
            applyToIndex(index, action, { systemUserId: `new-${created++}` });
          }
        }
        expect(writes).toBe(0);
      }),
      { numRuns: 500 },
    );
  });
});
