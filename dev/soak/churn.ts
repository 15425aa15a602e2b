// Directory churn: what people and admins do to the directory while the bridge syncs. Each kind changes
// the sandbox directory (or asks the bridge, for explicit and bulk remaps) and says whether it found
// something to change. A new kind of change is one more entry in CHURN_KINDS, with the invariant that checks
// its effect added to INVARIANTS (invariants.ts).
import type { DirectoryUser } from "../sandbox/directory.js";
import type { Rng } from "./random.js";
import { adminPost, DOMAINS, people, PERSON_PREFIX, type SoakWorld } from "./world.js";

export interface ChurnKind {
  name: string;
  /** How often it is picked relative to the others. */
  weight: number;
  /** Applies one change; false when nothing fits now (the soak picks again). */
  apply(world: SoakWorld, rng: Rng): boolean | Promise<boolean>;
}

const JOB_TITLES = ["Engineer", "Analyst", "Manager", "Director", "Intern", null];
const active = (u: DirectoryUser) => u.state === "active";
/** Share of new people given a licence the bridge syncs (the others are out of scope until they get one). */
const LICENSED_SHARE = 0.85;
const licensed = (world: SoakWorld, u: DirectoryUser) => u.assignedLicenses.some((l) => world.licenceSkus.includes(l.skuId));
const isMember = (world: SoakWorld, group: string, u: DirectoryUser) => world.sandbox.tenant.directory.membersOf(group).includes(u.id);
const domainOf = (upn: string) => upn.slice(upn.indexOf("@") + 1);
const localOf = (upn: string) => upn.slice(0, upn.indexOf("@"));

/** One change to a random person matching `keep`; false when nobody matches. */
function onePerson(world: SoakWorld, rng: Rng, keep: (u: DirectoryUser) => boolean, change: (u: DirectoryUser) => void): boolean {
  const candidates = people(world, keep);
  if (candidates.length === 0) return false;
  change(rng.pick(candidates));
  return true;
}

/** A person's new logon name in the same domain (a marriage, a typo fixed): the record needs the remap. */
export function renamedUpn(world: SoakWorld, user: DirectoryUser, domain = domainOf(user.userPrincipalName)): string {
  const base = localOf(user.userPrincipalName).replace(/\.v\d+$/, "");
  return `${base}.v${world.names.nextRename++}@${domain}`;
}

/** A new person, most of them licensed (no group: joining one is a change of its own). */
export function addPerson(world: SoakWorld, rng: Rng): DirectoryUser {
  const n = world.names.nextPerson++;
  return world.sandbox.tenant.directory.addUser({
    userPrincipalName: `${PERSON_PREFIX}${String(n).padStart(4, "0")}@${DOMAINS[0]}`,
    givenName: `Given${n}`,
    surname: `Surname${n}`,
    jobTitle: rng.pick(JOB_TITLES),
    mobilePhone: rng.chance(0.5) ? `+1 555 ${String(n).padStart(4, "0")}` : null,
    assignedLicenses: rng.chance(LICENSED_SHARE) ? [{ skuId: rng.pick(world.licenceSkus), disabledPlans: [] }] : [],
  });
}

/** A person joins (or leaves) one of the access rules' groups. */
export function changeMembership(world: SoakWorld, rng: Rng, join: boolean): boolean {
  const group = rng.pick(world.accessRules.map((r) => r.group));
  const dir = world.sandbox.tenant.directory;
  return onePerson(world, rng, (u) => active(u) && isMember(world, group, u) !== join, (u) =>
    join ? dir.addGroupMember(group, u.id) : dir.removeGroupMember(group, u.id),
  );
}

export const CHURN_KINDS: ChurnKind[] = [
  {
    name: "attribute change",
    weight: 6,
    apply: (world, rng) =>
      onePerson(world, rng, active, (u) => {
        const dir = world.sandbox.tenant.directory;
        const field = rng.pick(["jobTitle", "mobilePhone", "givenName", "surname", "mail"] as const);
        const value =
          field === "jobTitle"
            ? rng.pick(JOB_TITLES)
            : field === "mail"
              ? rng.chance(0.5)
                ? `${localOf(u.userPrincipalName)}.mail${rng.int(1, 99)}@${domainOf(u.userPrincipalName)}`
                : null
              : rng.chance(0.15)
                ? null
                : `${field}-${rng.int(1, 9999)}`;
        dir.updateUser(u.id, { [field]: value });
      }),
  },
  {
    name: "account disabled",
    weight: 2,
    apply: (world, rng) =>
      onePerson(
        world,
        rng,
        (u) => active(u) && u.accountEnabled,
        (u) => world.sandbox.tenant.directory.updateUser(u.id, { accountEnabled: false }),
      ),
  },
  {
    name: "account enabled",
    weight: 2,
    apply: (world, rng) =>
      onePerson(
        world,
        rng,
        (u) => active(u) && !u.accountEnabled,
        (u) => world.sandbox.tenant.directory.updateUser(u.id, { accountEnabled: true }),
      ),
  },
  {
    name: "user deleted",
    weight: 1.5,
    apply: (world, rng) => onePerson(world, rng, active, (u) => world.sandbox.tenant.directory.deleteUser(u.id, rng.chance(0.2))),
  },
  {
    name: "user restored",
    weight: 1.5,
    apply: (world, rng) => {
      const dir = world.sandbox.tenant.directory;
      // A restore whose UPN someone took meanwhile is refused, as Entra refuses it.
      const candidates = people(world, (u) => u.state === "softDeleted" && !dir.findByUpn(u.userPrincipalName));
      if (candidates.length === 0) return false;
      dir.restoreUser(rng.pick(candidates).id);
      return true;
    },
  },
  {
    name: "UPN changed",
    weight: 3,
    apply: (world, rng) =>
      onePerson(world, rng, active, (u) => world.sandbox.tenant.directory.updateUser(u.id, { userPrincipalName: renamedUpn(world, u) })),
  },
  {
    name: "user created",
    weight: 2,
    apply: (world, rng) => {
      addPerson(world, rng);
      return true;
    },
  },
  {
    name: "rule group joined",
    weight: 1.5,
    apply: (world, rng) => changeMembership(world, rng, true),
  },
  {
    name: "rule group left",
    weight: 1.5,
    apply: (world, rng) => changeMembership(world, rng, false),
  },
  {
    name: "licence added",
    weight: 1,
    apply: (world, rng) =>
      onePerson(world, rng, (u) => active(u) && !licensed(world, u), (u) => world.sandbox.tenant.directory.assignLicense(u.id, rng.pick(world.licenceSkus))),
  },
  {
    name: "licence removed",
    weight: 1,
    apply: (world, rng) =>
      onePerson(world, rng, (u) => active(u) && licensed(world, u), (u) => {
        for (const l of u.assignedLicenses) world.sandbox.tenant.directory.removeLicense(u.id, l.skuId);
      }),
  },
  {
    name: "explicit remap",
    weight: 1,
    apply: async (world, rng) => {
      const candidates = people(world, (u) => active(u) && u.accountEnabled);
      if (candidates.length === 0) return false;
      const user = rng.pick(candidates);
      const from = user.userPrincipalName;
      const to = renamedUpn(world, user);
      world.sandbox.tenant.directory.updateUser(user.id, { userPrincipalName: to });
      // The admin fixes the record at once rather than waiting for the next sync (which may get there first).
      await adminPost(world, rng.pick(world.hosts.slots), "users/remap", { user: from, newDomainName: to }).catch(() => undefined);
      return true;
    },
  },
  {
    name: "domain move (bulk remap)",
    weight: 1,
    apply: (world, rng) => moveDomain(world, rng),
  },
];

/** A few people move to the other UPN domain, then an admin queues the bulk suffix remap for that move. */
export async function moveDomain(world: SoakWorld, rng: Rng): Promise<boolean> {
  const [from, to] = rng.chance(0.5) ? [DOMAINS[0], DOMAINS[1]] : [DOMAINS[1], DOMAINS[0]];
  const candidates = people(world, (u) => active(u) && domainOf(u.userPrincipalName) === from);
  if (candidates.length === 0) return false;
  const dir = world.sandbox.tenant.directory;
  for (let i = rng.int(1, 3); i > 0 && candidates.length > 0; i--) {
    const user = candidates.splice(rng.int(0, candidates.length - 1), 1)[0]!;
    const target = `${localOf(user.userPrincipalName)}@${to}`;
    if (!dir.findByUpn(target)) dir.updateUser(user.id, { userPrincipalName: target });
  }
  const answer = await adminPost(world, rng.pick(world.hosts.slots), "users/remap/bulk", {
    rule: { fromSuffix: `@${from}`, toSuffix: `@${to}` },
  }).catch(() => undefined);
  if (answer?.status === 202 && typeof answer.body.jobId === "string") world.bulkJobIds.push(answer.body.jobId);
  return true;
}

/** Applies one churn change picked by weight (trying others when it does not fit); its name, or undefined. */
export async function churnOnce(world: SoakWorld, rng: Rng, kinds: readonly ChurnKind[] = CHURN_KINDS): Promise<string | undefined> {
  const left = [...kinds];
  while (left.length > 0) {
    const kind = rng.weighted(left);
    if (await kind.apply(world, rng)) {
      world.tally.add(`churn: ${kind.name}`);
      return kind.name;
    }
    left.splice(left.indexOf(kind), 1);
  }
  return undefined;
}
