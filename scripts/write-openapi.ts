// Writes the OpenAPI document (as GET /api/openapi.json serves it) to a file, for the linter and the CLI's types.
//   tsx scripts/write-openapi.ts <out.json>
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { openApiDocument } from "../shared/openapi/document.js";

const out = process.argv[2] ?? "dist/openapi.json";
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(openApiDocument("https://bridge.contoso.com"), null, 2)}\n`);
console.log(`wrote ${out}`);
