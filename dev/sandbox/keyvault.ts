// Key Vault secrets emulator (data plane): get (latest or a version), set (new version), list secrets and
// versions with paging, behind the bearer challenge and RBAC of a real vault. Vault URL = the service URL.
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { sendJson, type Handler } from "./https-service.js";
import { authenticate, authorize, type KvError } from "./keyvault-auth.js";
import type { Tenant, VaultSecretVersion } from "./tenant.js";

const NAME = /^[0-9a-zA-Z-]{1,127}$/;
/** Key Vault data-plane versions: `7.x` and the dated ones the newer SDKs send (`2025-07-01`). */
const API_VERSION = /^(7\.\d+|\d{4}-\d{2}-\d{2})(-preview(\.\d+)?)?$/;
const MAX_RESULTS = 25;

export function createKeyVaultHandler(tenant: Tenant): Handler {
  return async (req, res, body) => {
    const vault = `https://${req.headers.host ?? "127.0.0.1"}`;
    const url = new URL(req.url ?? "/", vault);
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) =>
      sendJson(res, status, payload, { "x-ms-request-id": randomUUID(), "x-ms-keyvault-service-version": "1.9.0.0", "x-ms-keyvault-region": "westeurope", ...headers });
    const fail = (e: KvError) => send(e.status, e.body, e.headers);
    const bad = (message: string) => fail({ status: 400, body: { error: { code: "BadParameter", message } } });

    const apiVersion = url.searchParams.get("api-version");
    if (!apiVersion) return bad("The 'api-version' query parameter is missing.");
    if (!API_VERSION.test(apiVersion)) return bad(`The specified version (${apiVersion}) is not recognized. Consider using the latest supported version (2025-07-01).`);

    // An empty version segment (`/secrets/name/`) means the latest version, as in Key Vault.
    const segments = url.pathname.split("/").filter(Boolean);
    if (segments[0] !== "secrets") return fail({ status: 404, body: { error: { code: "NotFound", message: `The resource '${url.pathname}' was not found.` } } });
    const name = segments[1] ?? "";
    const rest = segments.slice(2);
    if (name && !NAME.test(name)) return bad(`The request URI contains an invalid name: ${decodeURIComponent(name)}`);

    const auth = await authenticate(tenant, headerValue(req, "authorization"));
    if (!auth.ok) return fail(auth.error);
    const claims = auth.claims;

    const method = req.method ?? "GET";
    const page = (items: unknown[], path: string) => paginate(items, url, `${vault}${path}`, apiVersion, send, bad);

    if (method === "GET" && !name) {
      const denied = authorize(tenant, claims, "readMetadata", null);
      if (denied) return fail(denied);
      const items = [...tenant.vault.entries()].filter(([, v]) => v.length > 0).map(([n, v]) => item(vault, n, v[v.length - 1]!, false));
      return page(items, "/secrets");
    }
    if (method === "GET" && rest.length === 1 && rest[0] === "versions") {
      const denied = authorize(tenant, claims, "readMetadata", name);
      if (denied) return fail(denied);
      return page((tenant.vault.get(name) ?? []).map((v) => item(vault, name, v, true)), `/secrets/${name}/versions`);
    }
    if (method === "GET" && name && rest.length <= 1) {
      const version = rest[0] ?? "";
      tenant.vaultReads.set(name, tenant.vaultReadCount(name) + 1);
      const denied = authorize(tenant, claims, "getSecret", name);
      if (denied) return fail(denied);
      const secret = version ? tenant.vault.get(name)?.find((v) => v.version === version) : tenant.latestSecret(name);
      if (!secret) return fail(notFound(version ? `${name}/${version}` : name));
      if (!secret.enabled) return fail({ status: 403, body: { error: { code: "Forbidden", message: "Operation get is not allowed on a disabled secret.", innererror: { code: "SecretDisabled" } } } });
      return send(200, bundle(vault, name, secret));
    }
    if (method === "PUT" && name && rest.length === 0) {
      const denied = authorize(tenant, claims, "setSecret", name);
      if (denied) return fail(denied);
      const parsed = parseSetBody(body);
      if (typeof parsed === "string") return bad(parsed);
      const secret = tenant.setSecret(name, parsed.value, parsed.contentType);
      if (parsed.tags) secret.tags = parsed.tags;
      if (parsed.attributes?.enabled === false) secret.enabled = false;
      if (typeof parsed.attributes?.nbf === "number") secret.notBefore = parsed.attributes.nbf;
      if (typeof parsed.attributes?.exp === "number") secret.expires = parsed.attributes.exp;
      return send(200, bundle(vault, name, secret));
    }
    return fail({ status: 405, body: { error: { code: "MethodNotAllowed", message: `The method '${method}' is not allowed on '${url.pathname}'.` } } });
  };
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

const notFound = (id: string): KvError => ({
  status: 404,
  body: { error: { code: "SecretNotFound", message: `A secret with (name/id) ${id} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182` } },
});

function attributes(v: VaultSecretVersion): Record<string, unknown> {
  return {
    enabled: v.enabled,
    ...(v.notBefore !== undefined ? { nbf: v.notBefore } : {}),
    ...(v.expires !== undefined ? { exp: v.expires } : {}),
    created: v.created,
    updated: v.updated,
    recoveryLevel: "Recoverable+Purgeable",
    recoverableDays: 90,
  };
}

/** SecretBundle: the value plus its identifier and attributes. */
function bundle(vault: string, name: string, v: VaultSecretVersion): Record<string, unknown> {
  return { value: v.value, id: `${vault}/secrets/${name}/${v.version}`, ...(v.contentType ? { contentType: v.contentType } : {}), attributes: attributes(v), tags: v.tags ?? {} };
}

/** SecretItem: listings carry no value; versions carry versioned ids, the secret list versionless ones. */
function item(vault: string, name: string, v: VaultSecretVersion, versioned: boolean): Record<string, unknown> {
  return { id: `${vault}/secrets/${name}${versioned ? `/${v.version}` : ""}`, attributes: attributes(v), ...(v.contentType ? { contentType: v.contentType } : {}), ...(v.tags ? { tags: v.tags } : {}) };
}

function paginate(items: unknown[], url: URL, base: string, apiVersion: string, send: (s: number, p: unknown) => void, bad: (m: string) => void): void {
  const maxParam = url.searchParams.get("maxresults");
  const max = maxParam === null ? MAX_RESULTS : Number(maxParam);
  if (!Number.isInteger(max) || max < 1 || max > MAX_RESULTS) return bad(`Invalid maxresults parameter: ${maxParam}. It must be an integer between 1 and ${MAX_RESULTS}.`);
  const skipToken = url.searchParams.get("$skiptoken");
  const offset = skipToken ? Number(Buffer.from(skipToken, "base64url").toString("utf8")) : 0;
  if (!Number.isInteger(offset) || offset < 0) return bad("Invalid $skiptoken.");
  const slice = items.slice(offset, offset + max);
  const next = offset + max < items.length
    ? `${base}?api-version=${apiVersion}&$skiptoken=${Buffer.from(String(offset + max)).toString("base64url")}&maxresults=${max}`
    : null;
  send(200, { value: slice, nextLink: next });
}

interface SetBody {
  value: string;
  contentType?: string;
  tags?: Record<string, string>;
  attributes?: { enabled?: boolean; nbf?: number; exp?: number };
}

function parseSetBody(body: Buffer): SetBody | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    return "The request body is not valid JSON.";
  }
  if (typeof parsed !== "object" || parsed === null) return "The request body is not valid JSON.";
  const b = parsed as Record<string, unknown>;
  if (typeof b.value !== "string") return "Property 'value' is required and must be a string.";
  if (b.contentType !== undefined && b.contentType !== null && typeof b.contentType !== "string") return "Property 'contentType' must be a string.";
  return {
    value: b.value,
    contentType: typeof b.contentType === "string" ? b.contentType : undefined,
    tags: typeof b.tags === "object" && b.tags !== null ? (b.tags as Record<string, string>) : undefined,
    attributes: typeof b.attributes === "object" && b.attributes !== null ? (b.attributes as SetBody["attributes"]) : undefined,
  };
}
