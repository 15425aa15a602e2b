// Callers: each S2S caller's status per org (GET /api/callers); a deployment without that route says so.
import { ApiError } from "../../../client/admin-api.js";
import { h, replace, table } from "../dom.js";
import type { PageContext } from "../page-context.js";

export async function renderCallers(main: HTMLElement, ctx: PageContext): Promise<void> {
  let callers;
  try {
    callers = (await ctx.api.callers()).callers;
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 405)) {
      replace(main, h("h1", {}, "Callers"), h("p", { class: "notice", id: "callers-unavailable" }, "Caller status is not available on this deployment of the bridge (GET /api/callers is missing)."));
      return;
    }
    throw error;
  }
  replace(main, h("h1", {}, "Callers"),
    table("S2S callers and their status per org", ["Caller", "Org", "Signs in as its app", "Application user", "Roles", "Last issued / refused", "Problems and fixes"],
      callers.flatMap((c) => (c.orgs ?? []).map((o) => [
        h("strong", {}, c.name ?? c.id),
        h("code", {}, o.org),
        o.identity === "ok" ? "yes" : h("span", { class: "state state-failed" }, "no"),
        appUserText(o.applicationUser),
        (o.applicationUser.roles ?? []).join(", ") || "—",
        activityText(c),
        o.problems.length === 0 ? "none" : h("ul", {}, ...o.problems.map((p) => h("li", {}, h("strong", {}, p.cause), `: ${p.detail} `, h("em", {}, `Fix: ${p.fix}`)))),
      ]))));
}

function appUserText(user: { present: boolean; enabled?: boolean }): string {
  if (!user.present) return "missing";
  return user.enabled === false ? "present, disabled" : "present, enabled";
}

function activityText(caller: { lastIssuance?: { at: string; org: string }; lastRefusal?: { at: string; error: string } }): string {
  const issued = caller.lastIssuance ? `issued ${caller.lastIssuance.at}` : "never issued";
  const refused = caller.lastRefusal ? `refused ${caller.lastRefusal.at} (${caller.lastRefusal.error})` : "never refused";
  return `${issued}; ${refused} (this instance)`;
}
