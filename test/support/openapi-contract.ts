// Contract checks: a real response (status, content type, body) must be one the OpenAPI document describes.
import { Ajv2020 } from "ajv/dist/2020.js";
import { openApiDocument } from "../../shared/openapi/document.js";

type Response = { $ref?: string; content?: Record<string, { schema?: unknown }> };
type Doc = { paths: Record<string, Record<string, { responses: Record<string, Response> }>>; components: { schemas: Record<string, unknown>; responses: Record<string, Response> } };

const doc = openApiDocument() as unknown as Doc;
const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
ajv.addSchema({ $id: "bridge", components: doc.components } as object);

/** The document's path template matching a concrete path (`/api/sync/runs/abc` → `/api/sync/runs/{runId}`); literal segments win, as in routing. */
export function templateOf(path: string, method?: string): string | undefined {
  const literals = (t: string) => t.split("/").filter((s) => !s.startsWith("{")).length;
  return Object.keys(doc.paths)
    .filter((template) => new RegExp(`^${template.replace(/[.]/g, "\\.").replace(/\{[^}]+\}/g, "[^/]+")}$`).test(path))
    .filter((template) => !method || doc.paths[template]![method.toLowerCase()])
    .sort((a, b) => literals(b) - literals(a))[0];
}

/** Throws, naming what differs, unless the document describes this response. */
export function assertDescribed(method: string, url: string, status: number, contentType: string | null, body: unknown): void {
  const path = new URL(url, "http://x").pathname;
  const template = templateOf(path, method);
  if (!template) throw new Error(`${path} is not in the OpenAPI document`);
  const operation = doc.paths[template]![method.toLowerCase()];
  if (!operation) throw new Error(`${method} ${template} is not in the OpenAPI document`);
  const described = operation.responses[String(status)];
  if (!described) throw new Error(`${method} ${template} does not describe status ${status}`);
  // A shared answer (components.responses) stands for its definition.
  const response = described.$ref ? doc.components.responses[described.$ref.replace("#/components/responses/", "")]! : described;
  if (!response.content) {
    if (body !== undefined && body !== "") throw new Error(`${method} ${template} ${status} describes no body but got one`);
    return;
  }
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  const media = response.content[type];
  if (!media) throw new Error(`${method} ${template} ${status} does not describe ${type} (has ${Object.keys(response.content).join(", ")})`);
  if (!media.schema) return;
  const schema = JSON.parse(JSON.stringify(media.schema).replace(/"#\/components/g, '"bridge#/components'));
  const validate = ajv.compile(schema);
  if (!validate(body)) throw new Error(`${method} ${template} ${status}: ${ajv.errorsText(validate.errors, { separator: "; " })}`);
}

/** fetch() that checks every answer against the document, then hands back status, headers and the parsed body. */
export async function contractFetch(url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(url, init);
  const text = await response.text();
  const contentType = response.headers.get("content-type");
  const body = text && /json/.test(contentType ?? "") ? JSON.parse(text) : text;
  assertDescribed(init.method ?? "GET", url, response.status, contentType, text ? body : undefined);
  return { status: response.status, headers: response.headers, body };
}
