// Browser-test support: the bridge's local host on a known port against the sandbox (its Entra knows the
// console's redirect URI), the console built, and Debian's Chromium driven by playwright-core.
import { mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";
import { installFunctionsCore } from "../../dev/local-host/functions-core.js";
import type { LocalHost } from "../../dev/local-host/host.js";
import { buildConsole } from "../../scripts/build-console.mjs";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import type { SandboxOptions } from "../../dev/sandbox/sandbox.js";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const ARTIFACTS = resolve("test-artifacts/console");

export interface ConsoleHarness {
  env: BridgeEnvironment;
  host: LocalHost;
  browser: Browser;
  base: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", () => ok()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((ok) => server.close(() => ok()));
  return port;
}

export async function startConsoleHarness(options: SandboxOptions & { env?: Record<string, string> } = {}): Promise<ConsoleHarness> {
  installFunctionsCore();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const [env] = await Promise.all([startBridgeEnvironment({ ...options, publicBaseUrl: base }), buildConsole()]);
  const { startLocalHost } = await import("../../dev/local-host/host.js");
  const host = await startLocalHost({ port, timers: false, storageConnectionString: env.azurite.connectionString, log: () => undefined });
  // The sandbox's HTTPS emulators use a CA Chromium does not know: accept it for this browser only.
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    env, host, browser, base,
    stop: async () => {
      await browser.close().catch(() => undefined);
      await host.close();
      await env.stop();
    },
  };
}

/**
 * Signs in through the sandbox's Entra: opens `url`, starts the console's sign-in, waits for the authorize page
 * (the console's own "Sign in with …" button must not be clicked twice while the redirect is under way), picks
 * `account` when given, and submits. Returns the authorize request's URL.
 */
export async function signIn(page: Page, url: string, account?: RegExp): Promise<URL> {
  await page.goto(url);
  await page.getByRole("button", { name: "Sign in with Microsoft Entra ID" }).click();
  await page.waitForURL(/\/oauth2\/v2\.0\/authorize/);
  const authorize = new URL(page.url());
  if (account) await page.getByLabel(account).check();
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  return authorize;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** axe-core's serious and critical violations on the page as it is now. */
export async function accessibilityViolations(page: Page): Promise<Array<{ id: string; impact: string; nodes: string[] }>> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(`axe.run(document, { resultTypes: ["violations"] }).then((r) => r.violations)`) as Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }>;
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ")) }));
}
