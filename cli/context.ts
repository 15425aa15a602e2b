// What every command gets: the API client (signed in as the global options say), output and waiting helpers.
import type { Command } from "commander";
import { AdminApi } from "../client/admin-api.js";
import { tokenSource } from "./credentials.js";

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Show progress bars (a terminal). */
  interactive: boolean;
  env: Record<string, string | undefined>;
  /** Waits between polls (tests may shorten it). */
  sleep?: (ms: number) => Promise<void>;
}

export interface GlobalOptions {
  url: string;
  token?: string;
  scope?: string;
  tenant?: string;
  clientId?: string;
  deviceCode?: boolean;
  json?: boolean;
}

export interface CliContext {
  io: CliIo;
  api: () => AdminApi;
  json: () => boolean;
  /** Prints `value` as JSON with --json, else the human lines. */
  print: (value: unknown, human: () => string[]) => void;
  sleep: (ms: number) => Promise<void>;
}

export function cliContext(root: Command, io: CliIo): CliContext {
  const opts = () => root.opts<GlobalOptions>();
  const json = () => Boolean(opts().json);
  return {
    io,
    json,
    api: () => {
      const o = opts();
      const token = tokenSource({ token: o.token ?? io.env.BRIDGE_TOKEN, scope: o.scope, tenant: o.tenant, clientId: o.clientId, deviceCode: o.deviceCode, log: io.err });
      return new AdminApi(token, o.url);
    },
    print: (value, human) => { for (const line of json() ? [JSON.stringify(value, null, 2)] : human()) io.out(line); },
    sleep: io.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
  };
}
