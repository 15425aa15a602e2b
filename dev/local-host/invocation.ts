// Builds the InvocationContext the worker would give a function, with its trigger metadata and a log handler.
import { randomUUID } from "node:crypto";
import type { CoreBinding, RegisteredFunction } from "./functions-core.js";

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
    logHandler: (level, ...args) => log(`[${fn.name}] ${level}: ${args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ")}`),
  });
}

