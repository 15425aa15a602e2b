// Notifications: whether Graph webhooks are on, and the subscription the bridge keeps, with its expiry.
import { ago, facts, h, replace, when } from "../dom.js";
import type { PageContext } from "../page-context.js";

export async function renderNotifications(main: HTMLElement, ctx: PageContext): Promise<void> {
  const view = await ctx.api.subscription();
  const s = view.subscription;
  replace(main, h("h1", {}, "Notifications"),
    facts([
      ["Webhooks", view.enabled ? "on" : "off (NOTIFICATION_URL is not set; the schedule alone syncs)"],
      ["Notification URL", view.notificationUrl ? h("code", {}, view.notificationUrl) : "—"],
      ["Subscription", s ? h("code", {}, s.subscriptionId) : "none yet"],
      ["Resource", s?.resource ?? "—"],
      ["Expires", s ? `${when(s.expirationDateTime)} (in ${ago(s.expiresInSeconds)})` : "—"],
      ["Last renewed", when(s?.updatedAt)],
    ]));
}
