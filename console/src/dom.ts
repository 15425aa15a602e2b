import { ApiError } from "../../client/admin-api.js";

// A tiny DOM builder: h("p", { class: "x" }, "text", child). No innerHTML anywhere, so no markup injection.
type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | undefined | ((event: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") element.addEventListener(name.replace(/^on/, ""), value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

export function replace(target: Element, ...children: Child[]): void {
  target.replaceChildren();
  append(target, children);
}

/** Announces a short message to screen readers and shows it briefly. */
export function announce(message: string): void {
  const status = document.getElementById("status")!;
  status.textContent = message;
  setTimeout(() => { if (status.textContent === message) status.textContent = ""; }, 6000);
}

export const stateBadge = (state: string) => h("span", { class: `state state-${state}` }, state);

export function ago(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 90) return `${seconds} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} days`;
}

export const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : "—");

export function table(caption: string, headers: string[], rows: Child[][], options: { numeric?: number[] } = {}): HTMLElement {
  return h("div", { class: "table-wrap" }, h("table", {},
    h("caption", { class: "muted" }, caption),
    h("thead", {}, h("tr", {}, headers.map((name, i) => h("th", { scope: "col", class: options.numeric?.includes(i) ? "num" : undefined }, name)))),
    h("tbody", {}, rows.map((row) => h("tr", {}, row.map((cell, i) => h("td", { class: options.numeric?.includes(i) ? "num" : undefined }, cell)))))));
}

export function facts(entries: Array<[string, Child]>): HTMLElement {
  return h("dl", { class: "facts" }, entries.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

export function errorBox(error: unknown, adminRole?: string): HTMLElement {
  if (error instanceof ApiError && error.status === 403) {
    return h("div", { class: "error", role: "alert" }, `Your account lacks the ${adminRole ?? "admin"} app role on the bridge. Ask an Entra administrator to assign it.`);
  }
  return h("div", { class: "error", role: "alert" }, error instanceof Error ? error.message : String(error));
}

