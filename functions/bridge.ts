// The process's composition root for the adapters: built from the environment at first use (the Functions host
// sets app settings before any invocation) and kept for the life of the worker. This is the one piece of
// module state in the app; tests build their own with createBridge(loadConfig(env), options).
import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import type { AdminPrincipal } from "../shared/auth/admin-auth.js";
import { createBridge, type Bridge } from "../shared/bridge.js";
import { loadConfig } from "../shared/config/config.js";
import { adminRoute as sharedAdminRoute } from "../shared/http/handlers.js";

let instance: Bridge | undefined;

/** The bridge built from the environment; an invalid configuration throws (each request answers the error). */
export function bridge(): Bridge {
  instance ??= createBridge(loadConfig());
  return instance;
}

/** An admin route authenticated with `source`'s validator and ADMIN_ROLE (default: the process's bridge). */
export function adminRoute(
  handler: (request: HttpRequest, context: InvocationContext, principal: AdminPrincipal) => Promise<HttpResponseInit>,
  source: () => Bridge = bridge,
): (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit> {
  return sharedAdminRoute(() => source().adminAuth, handler);
}
