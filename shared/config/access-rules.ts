// ACCESS_RULES: business unit, security roles and owner teams from Entra group membership, in order. A user
// matches a rule when they are a direct member of its group; a rule without `orgs` applies to every org, online or
// on-premises.
import { z } from "zod";
import { normalizeOrgUrl } from "./org-url.js";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Dataverse names: business units up to 160 characters, roles up to 100, teams up to 160.
const name = (max: number) => z.string().trim().min(1, "must not be empty").max(max, `must be at most ${max} characters`);
const names = (max: number) => z.array(name(max)).max(50, "must name at most 50").default([])
  .refine((list) => new Set(list.map((n) => n.toLowerCase())).size === list.length, "must not name the same one twice");

const ruleSchema = z.object({
  group: z.string({ message: "is required: the Entra group's object id" }).regex(GUID, "must be a GUID (the Entra group's object id)").transform((v) => v.toLowerCase()),
  orgs: z.array(z.string().url("must be an org URL").transform(normalizeOrgUrl)).min(1, "must list at least one org URL when given").optional(),
  businessUnit: name(160).optional(),
  roles: names(100),
  teams: names(160),
}).strict().refine((r) => r.businessUnit !== undefined || r.roles.length > 0 || r.teams.length > 0, {
  message: "names nothing to give: add a businessUnit, roles or teams",
});

export type AccessRule = z.output<typeof ruleSchema>;

/** Parses the JSON rules; returns them in order, or one message naming every problem (with the rule's index). */
export function parseAccessRules(json: string): AccessRule[] | string {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return "is not valid JSON";
  }
  const result = z.array(ruleSchema, { message: "must be a JSON array of rules" }).max(200, "must hold at most 200 rules").safeParse(raw);
  if (result.success) return result.data;
  return result.error.issues.map((i) => `${i.path.length ? `[${i.path.join(".")}] ` : ""}${i.message}`).join("; ");
}

/** Rule problems that need the other settings: every org a rule names must be configured. */
export function accessRuleOrgProblems(rules: readonly AccessRule[], orgs: ReadonlyArray<{ url: string }>): string[] {
  const known = new Set(orgs.map((o) => o.url));
  return rules.flatMap((rule, i) => (rule.orgs ?? []).flatMap((org) => (known.has(org) ? [] : [`[${i}.orgs] ${org} is not a configured org (DATAVERSE_URLS / DATAVERSE_ORGS)`])));
}

/** The rules that apply to an org (online or on-premises), in order. */
export function rulesForOrg(rules: readonly AccessRule[], org: string): AccessRule[] {
  const key = normalizeOrgUrl(org);
  return rules.filter((r) => r.orgs === undefined || r.orgs.includes(key));
}
