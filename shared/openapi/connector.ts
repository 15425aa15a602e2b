// A Power Platform custom connector (Swagger 2.0 `apiDefinition.swagger.json` + `apiProperties.json`) generated
// from the OpenAPI 3.1 document, so the two never drift: the admin operations only, schemas reduced to what
// Swagger 2.0 can say (a nullable type becomes `x-nullable`, a union the widest type), Entra sign-in as oauth2.
import { EXAMPLE_SIGN_IN, openApiDocument, type SignInDescription } from "./document.js";

type Json = Record<string, unknown>;
type Schema = Json;

/** Keywords Swagger 2.0's Schema Object knows (JSON Schema draft 4 subset); others are dropped. */
const SCHEMA_KEYWORDS = new Set(["$ref", "type", "format", "title", "description", "default", "multipleOf", "maximum", "minimum",
  "maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "maxProperties", "minProperties", "required", "enum",
  "properties", "additionalProperties", "items", "allOf", "readOnly", "example"]);
const PRIMITIVE_TYPES = ["string", "number", "integer", "boolean", "array", "object"];

/** `anyOf: [X, {type: "null"}]` or `type: [t, "null"]` → X with x-nullable; other unions → their first member's type. */
function collapseUnion(schema: Schema): Schema {
  const union = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  const { anyOf: _a, oneOf: _o, ...rest } = schema;
  if (union) {
    const members = union.filter((m) => m.type !== "null");
    const nullable = members.length < union.length;
    const chosen = members.length === 1 ? members[0]! : { type: members.every((m) => m.type === members[0]?.type) ? members[0]?.type : undefined };
    return { ...rest, ...chosen, ...(nullable ? { "x-nullable": true } : {}) };
  }
  if (Array.isArray(schema.type)) {
    const types = (schema.type as string[]).filter((t) => t !== "null");
    return { ...rest, type: types.length === 1 ? types[0] : undefined, ...(types.length < (schema.type as string[]).length ? { "x-nullable": true } : {}) };
  }
  return schema;
}

/** One JSON Schema 2020-12 schema as a Swagger 2.0 Schema Object. */
export function toSwaggerSchema(input: unknown): Schema {
  if (!input || typeof input !== "object") return {};
  let schema = collapseUnion({ ...(input as Schema) });
  if ("const" in schema) schema = { ...schema, enum: [schema.const], type: schema.type ?? typeof schema.const };
  if (typeof schema.exclusiveMinimum === "number") schema = { ...schema, minimum: schema.exclusiveMinimum, "x-exclusive-minimum": true };
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "$ref") out.$ref = String(value).replace("#/components/schemas/", "#/definitions/");
    else if (key === "properties") out.properties = Object.fromEntries(Object.entries(value as Json).map(([k, v]) => [k, toSwaggerSchema(v)]));
    else if (key === "items") out.items = Array.isArray(value) ? {} : toSwaggerSchema(value);
    else if (key === "additionalProperties") out.additionalProperties = typeof value === "boolean" ? value : toSwaggerSchema(value);
    else if (key === "allOf") out.allOf = (value as unknown[]).map(toSwaggerSchema);
    else if (key === "required") { if (Array.isArray(value) && value.length > 0) out.required = value; }
    else if (key === "enum") out.enum = (value as unknown[]).filter((v) => v !== null);
    else if (key === "type") { if (PRIMITIVE_TYPES.includes(value as string)) out.type = value; }
    else if (SCHEMA_KEYWORDS.has(key) || key.startsWith("x-")) out[key] = value;
  }
  if (Array.isArray(out.enum) && out.enum.length === 0) delete out.enum;
  return out;
}

/** A non-body parameter: Swagger 2.0 puts the schema's keywords on the parameter itself. */
function simpleParameter(p: Json, components: Json): Json {
  const resolved = (p.$ref ? (components.parameters as Json)[String(p.$ref).split("/").pop()!] : p) as Json;
  const schema = toSwaggerSchema(resolved.schema);
  const { $ref: _r, properties: _p, additionalProperties: _a, "x-nullable": _n, ...keywords } = schema;
  return { name: resolved.name, in: resolved.in, required: Boolean(resolved.required), ...(resolved.description ? { description: resolved.description } : {}), type: "string", ...keywords };
}

function response(answer: Json, components: Json): Json {
  const resolved = (answer.$ref ? (components.responses as Json)[String(answer.$ref).split("/").pop()!] : answer) as Json;
  const content = resolved.content as Record<string, Json> | undefined;
  const media = content ? Object.values(content)[0] : undefined;
  return { description: resolved.description, ...(media?.schema ? { schema: toSwaggerSchema(media.schema) } : {}) };
}

function swaggerOperation(op: Json, components: Json): Json {
  const parameters = ((op.parameters as Json[]) ?? []).map((p) => simpleParameter(p, components));
  const body = op.requestBody as { required?: boolean; content: Record<string, { schema: Json }> } | undefined;
  if (body) parameters.push({ name: "body", in: "body", required: Boolean(body.required), schema: toSwaggerSchema(Object.values(body.content)[0]!.schema) });
  return {
    operationId: op.operationId, summary: op.summary, description: op.description ?? op.summary, tags: op.tags,
    "x-ms-visibility": "important",
    parameters,
    responses: Object.fromEntries(Object.entries(op.responses as Json).map(([status, a]) => [status, response(a as Json, components)])),
  };
}

/** Admin operations (those signed in with Entra) of the OpenAPI document, as Swagger 2.0 paths. */
function adminPaths(doc: Json): Json {
  const paths: Record<string, Json> = {};
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
    for (const [method, op] of Object.entries(item)) {
      const admin = (op.security as Json[] | undefined)?.some((s) => "entraOAuth" in s);
      if (admin) (paths[path] ??= {})[method] = swaggerOperation(op, doc.components as Json);
    }
  }
  return paths;
}

/** The connector's `apiDefinition.swagger.json` for the bridge at `serverUrl`. */
export function connectorDefinition(serverUrl: string, signIn: SignInDescription = EXAMPLE_SIGN_IN): Json {
  const doc = openApiDocument(serverUrl, signIn);
  const url = new URL(serverUrl);
  const components = doc.components as { schemas: Json; securitySchemes: { entraOAuth: { flows: { authorizationCode: Json } } } };
  const flow = components.securitySchemes.entraOAuth.flows.authorizationCode;
  const info = doc.info as Json;
  return {
    swagger: "2.0",
    info: { title: "Identity Bridge for Dynamics 365", description: "Start and follow sync runs, approve halted runs, look up and remap users.", version: info.version },
    host: url.host,
    basePath: "/",
    schemes: [url.protocol.replace(":", "")],
    consumes: ["application/json"],
    produces: ["application/json"],
    paths: adminPaths(doc),
    definitions: Object.fromEntries(Object.entries(components.schemas).map(([name, schema]) => [name, toSwaggerSchema(schema)])),
    securityDefinitions: { oauth2_auth: { type: "oauth2", flow: "accessCode", authorizationUrl: flow.authorizationUrl, tokenUrl: flow.tokenUrl, scopes: {} } },
    security: [{ oauth2_auth: [] }],
  };
}

/** The connector's `apiProperties.json`: Entra (aad) sign-in for the API's scope with the connector's own client id. */
export function connectorProperties(signIn: SignInDescription = EXAMPLE_SIGN_IN, clientId = "00000000-0000-0000-0000-000000000000"): Json {
  const resource = signIn.audience.replace(/\/+$/, "");
  return {
    properties: {
      connectionParameters: {
        token: {
          type: "oauthSetting",
          oAuthSettings: {
            identityProvider: "aad",
            clientId,
            scopes: [`${resource}/.default`],
            redirectMode: "GlobalPerConnector",
            redirectUrl: "https://global.consent.azure-apim.net/redirect",
            properties: { IsFirstParty: "False", AzureActiveDirectoryResourceId: resource, IsOnbehalfofLoginSupported: false },
            customParameters: {
              loginUri: { value: signIn.authorityHost.replace(/\/+$/, "") },
              tenantId: { value: signIn.tenantId },
              resourceUri: { value: resource },
              enableOnbehalfOfLogin: { value: "false" },
            },
          },
        },
      },
      iconBrandColor: "#0F6CBD",
      capabilities: [],
      publisher: "Identity Bridge administrators",
      stackOwner: "Identity Bridge administrators",
    },
  };
}
