// The admin console's files (built by scripts/build-console.mjs into console-dist/) and its sign-in settings,
// answered with a strict Content-Security-Policy: scripts and styles from this origin only, network calls to
// this origin and the Entra authority (MSAL redeems the code and refreshes tokens from the browser).
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Config } from "../config/config.js";
import { problem } from "../http/problem.js";

const ASSETS: Record<string, string> = {
  "app.js": "text/javascript; charset=utf-8",
  "app.css": "text/css; charset=utf-8",
  "index.html": "text/html; charset=utf-8",
};

export interface ConsoleAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Where the built console is: beside the deployed bundle, or console-dist/ at the repository root. */
export function consoleDirectory(): string | undefined {
  const here = fileURLToPath(new URL(".", import.meta.url));
  const candidates = [join(here, "console-dist"), resolve(here, "../../console-dist"), resolve("console-dist")];
  return candidates.find((dir) => existsSync(join(dir, "index.html")));
}

export function contentSecurityPolicy(authorityHost: string): string {
  const authority = new URL(authorityHost).origin;
  return [
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", `connect-src 'self' ${authority}`,
    `frame-src ${authority}`, "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'", "object-src 'none'",
  ].join("; ");
}

function securityHeaders(config: Config): Record<string, string> {
  return {
    "content-security-policy": contentSecurityPolicy(config.authorityHost),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
  };
}

/** What the browser needs to sign in (public values only): the SPA registration is the bridge's own app. */
export function signInSettings(config: Config): Record<string, unknown> {
  return {
    clientId: config.appClientId,
    authority: `${config.authorityHost.replace(/\/+$/, "")}/${config.tenantId}`,
    redirectUri: `${config.publicBaseUrl}/api/console/`,
    scopes: [`${config.api.audience.replace(/\/+$/, "")}/.default`],
    adminRole: config.api.adminRole,
  };
}

/** GET /api/console/{path}: an asset, the sign-in settings, or index.html for any page of the app. */
export async function serveConsole(path: string, config: Config): Promise<ConsoleAnswer> {
  const headers = securityHeaders(config);
  if (path === "config.json") {
    return { status: 200, headers: { ...headers, "content-type": "application/json", "cache-control": "no-store" }, body: JSON.stringify(signInSettings(config)) };
  }
  const dir = consoleDirectory();
  if (!dir) {
    const p = problem(503, "The console is not built: run npm run build:console.", { code: "console_not_built" });
    return { status: 503, headers: p.headers as Record<string, string>, body: p.body as string };
  }
  const name = Object.hasOwn(ASSETS, path) ? path : "index.html";
  return {
    status: 200,
    headers: { ...headers, "content-type": ASSETS[name]!, "cache-control": name === "index.html" ? "no-cache" : "public, max-age=300" },
    body: await readFile(join(dir, name), "utf8"),
  };
}
