// Builds the InvocationContext the worker would give a function, with its trigger metadata and a log handler.
import { randomUUID } from "node:crypto";
import { hooks, type CoreBinding, type RegisteredFunction } from "./functions-core.js";

type FunctionsModule = typeof import("@azure/functions");

export function triggerOf(fn: RegisteredFunction): CoreBinding {
  const trigger = Object.values(fn.bindings).find((b) => b.direction === "in" && String(b.type).endsWith("Trigger"));
  if (!trigger) throw new Error(`function ${fn.name} has no trigger`);
  return trigger;
}


export function invocationContext(lib: FunctionsModule, fn: RegisteredFunction, log: (line: string) => void) {
  const trigger = triggerOf(fn);
  return new lib.InvocationContext({
    invocationId: randomUUID(),
    functionName: fn.name,
    options: { trigger: { ...trigger, name: trigger.name ?? "trigger", type: String(trigger.type) } as never },
    logHandler: (level, ...args) => {
      const message = args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ");
      log(`[${fn.name}] ${level}: ${message}`);
      // As the worker does: log hooks (the Functions OpenTelemetry instrumentation turns them into log records).
      for (const hook of hooks.filter((h) => h.hookName === "log")) hook.callback({ hookData: {}, level, category: "user", message });
    },
  });
}

