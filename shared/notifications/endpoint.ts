// POST /api/notifications. Graph's validation request is echoed at once; otherwise every
// notification must carry our clientState (constant-time check) and our tenant, the rest is dropped, and
// the work left is tiny: claim a debounce window per org, queue lifecycle events. Malformed bodies get
// 400/413, never 5xx; a 503 only means storage or Key Vault failed, so Graph redelivers later. A source whose
// requests keep being refused gets its further refusals late, as 429s (SlowRefusals): a flood of bodies then
// costs a few a second, while a delivery that carries our clientState is always answered at once.
import type { HttpRequest, HttpResponseInit } from "@azure/functions";
import { errorMessage, isRefusal } from "../errors/app-error.js";
import { readBodyBytes } from "../http/json-body.js";
import { requestSource } from "../http/auth-failures.js";
import { problem } from "../http/problem.js";
import { unknownQueryParameters, unknownQueryText } from "../http/query.js";
import { clientStateMatches } from "./client-state.js";
import { classifyNotifications, MAX_NOTIFICATION_BODY_BYTES, notificationShapeCheck, parseNotificationCollection } from "./parse.js";
import type { NotificationServices } from "./services.js";
import { backgroundLogger } from "../telemetry/logger.js";

/** Graph wants an answer within 3 s; past this, answer 202 and let the scheduling finish on its own. */
const ANSWER_WITHIN_MS = 2_000;
const MAX_VALIDATION_TOKEN_CHARS = 8_192;

type Deps = Pick<NotificationServices, "tenantId" | "orgs" | "clientState" | "debouncer" | "enqueue" | "log" | "refusals" | "trustedProxyHops">;

export async function receiveNotifications(request: HttpRequest, deps: () => Deps): Promise<HttpResponseInit> {
  const unknown = unknownQueryParameters(request);
  if (unknown.length > 0) return refuse(request, deps, problem(400, `The request has an ${unknownQueryText(unknown)}.`, { code: "unknown_query_parameter" }));
  const validationToken = request.query.get("validationToken");
  // The handshake is answered without authentication too: it counts against the source like a refusal (Graph
  // sends one per subscription it creates), so a flood of "handshakes" is slowed like any other.
  if (validationToken !== null) return refuse(request, deps, echoValidationToken(validationToken));

  let items: unknown[];
  try {
    items = parseNotificationCollection(await readBodyBytes(request, MAX_NOTIFICATION_BODY_BYTES, notificationShapeCheck()), true);
  } catch (error) {
    if (isRefusal(error)) return refuse(request, deps, problem(error.status, error.message, { code: error.code }));
    return refuse(request, deps, problem(400, "The body could not be read.", { code: "unreadable_body" }));
  }
  if (items.length === 0) return accepted();

  let services: Deps;
  let work: Promise<"scheduled" | "untrusted">;
  try {
    services = deps();
    work = accept(items, services);
  } catch (error) {
    return unavailable(error, (line) => backgroundLogger().error(line));
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"late">((resolve) => { timer = setTimeout(() => resolve("late"), ANSWER_WITHIN_MS); });
  try {
    const outcome = await Promise.race([work, late]);
    if (outcome === "late") {
      work.catch((error: unknown) => services.log(`notifications: scheduling failed after the answer: ${errorMessage(error)}`));
    }
    // Nothing we could trust: answered 202 like any delivery (there is nothing to redeliver), but as a refusal.
    return outcome === "untrusted" ? await refuse(request, () => services, accepted()) : accepted();
  } catch (error) {
    return unavailable(error, services.log);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `answer` to a request that did not authenticate (refused, or the validation handshake), counted against its
 * source: once the source is over its budget, it becomes a 429 given only after a pause. Without services
 * (settings broken) it is answered as it is.
 */
async function refuse(request: HttpRequest, deps: () => Deps, answer: HttpResponseInit): Promise<HttpResponseInit> {
  let services: Deps;
  try {
    services = deps();
  } catch {
    return answer;
  }
  const outcome = await services.refusals.refused(requestSource(request.headers.get("x-forwarded-for"), services.trustedProxyHops));
  if (!outcome.throttled) return answer;
  return problem(429, "Too many refused requests from this source; try again later.", { code: "too_many_refusals", headers: { "retry-after": String(outcome.retryAfterSeconds) } });
}

function echoValidationToken(token: string): HttpResponseInit {
  if (token.length === 0 || token.length > MAX_VALIDATION_TOKEN_CHARS) {
    return problem(400, `validationToken must be 1 to ${MAX_VALIDATION_TOKEN_CHARS} characters.`, { code: "invalid_validation_token" });
  }
  return {
    status: 200,
    body: token,
    headers: { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff", "cache-control": "no-store" },
  };
}

/** Schedules what the trusted notifications ask for; "untrusted" when not one of them carried our clientState. */
async function accept(items: readonly unknown[], deps: Deps): Promise<"scheduled" | "untrusted"> {
  const secret = await deps.clientState();
  const parsed = classifyNotifications(items, (clientState, tenantId) =>
    secret !== undefined && clientStateMatches(secret, clientState) && (tenantId === undefined || (typeof tenantId === "string" && tenantId.toLowerCase() === deps.tenantId)));
  if (parsed.untrusted > 0 || parsed.malformed > 0) {
    deps.log(`notifications: dropped ${parsed.untrusted} with a wrong clientState or tenant, ${parsed.malformed} malformed`);
  }
  if (parsed.changes.length === 0 && parsed.lifecycle.length === 0 && parsed.untrusted + parsed.malformed > 0) return "untrusted";
  const events = new Map(parsed.lifecycle.map((n) => [`${n.lifecycleEvent}:${n.subscriptionId}`, n]));
  await Promise.all([
    ...(parsed.changes.length > 0 ? deps.orgs.map((org) => deps.debouncer.request(org)) : []),
    ...[...events.values()].map((n) => deps.enqueue({ kind: "lifecycle", event: n.lifecycleEvent, subscriptionId: n.subscriptionId })),
  ]);
  return "scheduled";
}

function accepted(): HttpResponseInit {
  return { status: 202, headers: { "cache-control": "no-store" } };
}

function unavailable(error: unknown, log: (message: string) => void): HttpResponseInit {
  log(`notifications: could not schedule the sync: ${errorMessage(error)}`);
  return problem(503, "The notification could not be recorded; deliver it again later.", { code: "notifications_unavailable", headers: { "retry-after": "30" } });
}
