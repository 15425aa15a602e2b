// What every page gets (and the page type the registry in pages.ts lists): a module of its own, so pages and the
// registry do not import each other.
import type { AdminApi } from "../../client/admin-api.js";

export interface PageContext {
  api: AdminApi;
  /** Path segments after the section (`runs/<runId>` → [runId]). */
  params: string[];
  navigate: (href: string) => void;
  /** False once the user has moved to another page: pollers stop. */
  alive: () => boolean;
  base: string;
}

export interface Page {
  path: string;
  title: string;
  nav: boolean;
  render: (main: HTMLElement, ctx: PageContext) => Promise<void>;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
