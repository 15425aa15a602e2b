// docs/settings.md and docs/http-api.md are generated from the settings schema and the OpenAPI document
// (scripts/docs-reference.ts): the committed files must be what the generator writes today, and the generator
// must cover every setting and every route, new ones included.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { APP_SETTING_NAMES, settingsSchema } from "../../shared/config/schema.js";
import { openApiDocument } from "../../shared/openapi/document.js";
import { httpApiReference, REFERENCE_FILES, settingsReference } from "../../scripts/docs-reference.js";

const root = resolve(import.meta.dirname, "../..");

describe("generated reference docs", () => {
  it.each(Object.entries(REFERENCE_FILES))("%s is up to date (run npm run docs:reference)", (file, render) => {
    expect(readFileSync(join(root, file), "utf8")).toBe(render());
  });

  it("lists every setting of the schema once, with required ones marked and defaults from the schema", () => {
    const doc = settingsReference();
    for (const name of APP_SETTING_NAMES) expect(doc.split(`| \`${name}\` |`), name).toHaveLength(2);
    expect(doc).toMatch(/\| `API_AUDIENCE` \|[^\n]*\| \*\*required\*\* \|/);
    expect(doc).toMatch(/\| `SYNC_SCHEDULE` \|[^\n]*\| `0 \*\/15 \* \* \* \*` \|/);
    expect(doc).toMatch(/\| `SYNC_IDENTITY` \|[^\n]*Values: `upn`, `sam`\.[^\n]*\| `upn` \|/);
  });

  it("a setting added to the schema without a description still appears, under Other settings, with what the schema says", () => {
    const shape = {
      ...settingsSchema.shape,
      FUTURE_RULES: z.string().optional().describe("JSON rules for something new"),
      NEW_LIMIT: z.enum(["a", "b"]).default("a"),
    };
    const doc = settingsReference(shape);
    const other = doc.slice(doc.indexOf("## Other settings"));
    expect(doc).toContain("## Other settings");
    expect(other).toMatch(/\| `FUTURE_RULES` \| JSON rules for something new \| — \|/);
    expect(other).toMatch(/\| `NEW_LIMIT` \| Values: `a`, `b`\. \| `a` \|/);
  });

  it("documents every route of the OpenAPI document with its answers", () => {
    const doc = httpApiReference();
    const openapi = openApiDocument("https://bridge.contoso.com") as unknown as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    for (const [path, methods] of Object.entries(openapi.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const heading = `### ${method.toUpperCase()} ${path}\n`;
        expect(doc, `${method} ${path}`).toContain(heading);
        const section = doc.slice(doc.indexOf(heading));
        for (const status of Object.keys(op.responses))
          expect(section.split("\n### ")[0], `${method} ${path} ${status}`).toContain(`| ${status} |`);
      }
    }
  });
});
