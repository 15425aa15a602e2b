import { app } from "@azure/functions";
import { json } from "../shared/http/handlers.js";
import { adminRoute, bridge } from "./bridge.js";
import { problem } from "../shared/http/problem.js";
import { READY_CACHE_MS } from "../shared/ready/readiness.js";

/** GET /api/ready (admin): 200 with every check, or 503 problem+json naming the failing ones (cached 30 s per instance). */
export const ready = adminRoute(async () => {
  const result = await bridge().readiness.get();
  const maxAge = { "x-ready-cache-seconds": String(READY_CACHE_MS / 1000) };
  if (result.ready) return json(200, { status: "ready", ...result }, maxAge);
  const failing = result.checks.filter((c) => !c.ok).map((c) => `${c.name} (${c.cause})`);
  return problem(503, `Not ready: ${failing.join(", ")}.`, { code: "not_ready", headers: { ...maxAge, "retry-after": "30" }, extra: { ...result } });
});

app.http("ready", { methods: ["GET"], route: "ready", authLevel: "anonymous", handler: ready });
