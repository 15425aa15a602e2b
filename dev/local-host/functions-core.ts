// A stand-in for `@azure/functions-core`, the module the Azure Functions Node.js worker gives the
// `@azure/functions` library. With it installed, `app.http(...)`, `app.timer(...)` and
// `app.storageQueue(...)` register for real (instead of test mode) and we receive each function's
// binding metadata and handler exactly as the worker would.
import Module from "node:module";

export interface CoreBinding {
  type: string;
  direction: "in" | "out";
  name?: string;
  [key: string]: unknown;
}

export interface RegisteredFunction {
  name: string;
  bindings: Record<string, CoreBinding>;
  handler: (...args: unknown[]) => unknown;
}

export const registrations: RegisteredFunction[] = [];
export const hooks: Array<{ hookName: string; callback: (...args: unknown[]) => unknown }> = [];

const coreApi = {
  version: "local-host",
  hostVersion: "4.0.0-local",
  setProgrammingModel(): void {},
  getProgrammingModel(): undefined { return undefined; },
  registerFunction(metadata: { name: string; bindings: Record<string, CoreBinding> }, handler: RegisteredFunction["handler"]) {
    if (registrations.some((r) => r.name === metadata.name)) throw new Error(`function "${metadata.name}" registered twice`);
    registrations.push({ name: metadata.name, bindings: metadata.bindings, handler });
    return { dispose() {} };
  },
  registerHook(hookName: string, callback: (...args: unknown[]) => unknown) {
    const entry = { hookName, callback };
    hooks.push(entry);
    return { dispose() { hooks.splice(hooks.indexOf(entry), 1); } };
  },
  log(level: string, category: string, message: string): void {
    if (level === "error" || level === "warning") console.error(`[${category}] ${message}`);
  },
};

let installed = false;

/** Makes `require("@azure/functions-core")` resolve to the stand-in. Call before anything loads `@azure/functions`. */
export function installFunctionsCore(): void {
  if (installed) return;
  installed = true;
  const moduleWithInternals = Module as unknown as {
    _load: (request: string, parent: unknown, isMain: boolean) => unknown;
  };
  const originalLoad = moduleWithInternals._load;
  moduleWithInternals._load = function load(request: string, parent: unknown, isMain: boolean) {
    if (request === "@azure/functions-core") return coreApi;
    return originalLoad.call(this, request, parent, isMain);
  };
}
