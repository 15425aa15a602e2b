// Issue #19 item 1: a caller with a valid secret shares its network source (NAT, Power Automate's outbound
// addresses, a gateway) with an attacker guessing secrets far faster than 1,000 a minute, through the local host
// (which appends the peer's address to X-Forwarded-For, as App Service's front end does). The caller is served
// every time; the attacker's guesses are counted up to the source's limit and then throttled, however it spoofs
// X-Forwarded-For. Reduced scale (seconds, not minutes): the attack rate is what matters, and it is higher here.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { installFunctionsCore } from "../../dev/local-host/functions-core.js";
import type { LocalHost } from "../../dev/local-host/host.js";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import { basic } from "./support.js";

let env: BridgeEnvironment;
let host: LocalHost;

beforeAll(async () => {
  installFunctionsCore();
  env = await startBridgeEnvironment({ orgs: 1 });
  const callers = env.sandbox.identities.tokenCallers.map((c) => (c.id === "reporting" ? { ...c, ratePerMinute: 100_000 } : c));
  process.env.TOKEN_CALLERS = JSON.stringify(callers);
  const { startLocalHost } = await import("../../dev/local-host/host.js");
  host = await startLocalHost({
    port: 0, timers: false, log: () => undefined, storageConnectionString: env.azurite.connectionString,
    functionsDir: fileURLToPath(new URL("../../bench/token-functions", import.meta.url)),
  });
});
afterAll(async () => {
  await host?.close();
  await env?.stop();
});

const GUESSES = 240;
const LEGITIMATE = 60;

describe("a valid caller beside an attacker on the same source", () => {
  it("is served every time while the attacker's guesses are throttled", async () => {
    const { clientId, secret } = env.sandbox.identities.secretCaller;
    const org = env.sandbox.dataverse[0]!.url;
    const form = new URLSearchParams({ grant_type: "client_credentials", scope: `${org}/.default` }).toString();
    const post = (authorization: string, headers: Record<string, string> = {}) =>
      fetch(`${host.url}/api/token`, { method: "POST", body: form, headers: { "content-type": "application/x-www-form-urlencoded", authorization, ...headers } })
        .then(async (res) => ({ status: res.status, body: (await res.json()) as { access_token?: string; error?: string } }));

    // The attacker: wrong secrets for the caller's own id and for made-up ids, each with a new spoofed address.
    const attack = (async () => {
      const statuses: number[] = [];
      for (let i = 0; i < GUESSES; i += 8) {
        statuses.push(...(await Promise.all(Array.from({ length: 8 }, (_, j) => {
          const id = (i + j) % 2 === 0 ? clientId : `probe-${i + j}`;
          return post(basic(id, `guess-${i + j}`), { "x-forwarded-for": `192.0.2.${(i + j) % 250}` }).then((r) => r.status);
        }))));
      }
      return statuses;
    })();
    const legitimate = (async () => {
      const served: boolean[] = [];
      for (let i = 0; i < LEGITIMATE; i++) {
        const res = await post(basic(clientId, secret));
        served.push(res.status === 200 && typeof res.body.access_token === "string");
      }
      return served;
    })();
    const [attackStatuses, served] = await Promise.all([attack, legitimate]);

    expect(served.filter(Boolean).length / LEGITIMATE).toBeGreaterThanOrEqual(0.99);
    expect(served.every(Boolean)).toBe(true);
    // One source (127.0.0.1, appended by the host) whatever the attacker wrote: 30 failures counted per one-minute
    // window (two windows if a minute boundary falls inside the test), the rest throttled.
    expect(attackStatuses.filter((s) => s === 401).length).toBeLessThanOrEqual(60);
    expect(attackStatuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(GUESSES - 60);
    expect(attackStatuses.every((s) => s === 401 || s === 429)).toBe(true);
  });
});
