// The console's sections, in navigation order; the first is the home page.
import { renderAccess } from "./pages/access.js";
import { renderCallers } from "./pages/callers.js";
import { renderNotifications } from "./pages/notifications.js";
import { renderOverview } from "./pages/overview.js";
import { renderRemap } from "./pages/remap.js";
import { renderRuns } from "./pages/runs.js";
import { renderUsers } from "./pages/users.js";
import type { Page } from "./page-context.js";

export type { Page, PageContext } from "./page-context.js";

export const PAGES: Page[] = [
  { path: "", title: "Overview", nav: true, render: renderOverview },
  { path: "runs", title: "Runs", nav: true, render: renderRuns },
  { path: "users", title: "Users", nav: true, render: renderUsers },
  { path: "remap", title: "Remap", nav: true, render: renderRemap },
  { path: "callers", title: "Callers", nav: true, render: renderCallers },
  { path: "access", title: "Access", nav: true, render: renderAccess },
  { path: "notifications", title: "Notifications", nav: true, render: renderNotifications },
];
