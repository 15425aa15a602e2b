// Callers: each S2S caller's status per org (GET /api/callers); a deployment without that route says so.
import { ApiError } from "../../../client/admin-api.js";
import { h, replace, table } from "../dom.js";
import type { PageContext } from "../pages.js";

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
    table("S2S callers and their status per org", ["Caller", "Org", "Status"], callers.flatMap((c) => (c.orgs ?? [{ org: "—" }]).map((o) => [
      h("strong", {}, c.name ?? c.id), h("code", {}, o.org), h("code", {}, JSON.stringify({ ...o, org: undefined })),
    ]))));
}
