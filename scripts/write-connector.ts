// `npm run connector`: writes the Power Platform custom connector, generated from the OpenAPI document, into
// connector/ (apiDefinition.swagger.json, apiProperties.json). Give your bridge's values to import it as is:
//   tsx scripts/write-connector.ts [--out connector] [--url https://bridge.contoso.com] [--tenant <tenant id>]
//     [--audience api://identity-bridge] [--client-id <connector app id>] [--authority https://login.microsoftonline.com]
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { connectorDefinition, connectorProperties } from "../shared/openapi/connector.js";
import { EXAMPLE_SIGN_IN } from "../shared/openapi/document.js";

const { values } = parseArgs({
  options: {
    out: { type: "string", default: "connector" },
    url: { type: "string", default: "https://bridge.contoso.com" },
    tenant: { type: "string", default: EXAMPLE_SIGN_IN.tenantId },
    audience: { type: "string", default: EXAMPLE_SIGN_IN.audience },
    authority: { type: "string", default: EXAMPLE_SIGN_IN.authorityHost },
    "client-id": { type: "string", default: "00000000-0000-0000-0000-000000000000" },
  },
});
const signIn = { authorityHost: values.authority, tenantId: values.tenant, audience: values.audience };
mkdirSync(values.out, { recursive: true });
const write = (name: string, value: unknown) => writeFileSync(join(values.out, name), `${JSON.stringify(value, null, 2)}\n`);
write("apiDefinition.swagger.json", connectorDefinition(values.url, signIn));
write("apiProperties.json", connectorProperties(signIn, values["client-id"]));
console.log(`wrote ${values.out}/apiDefinition.swagger.json and ${values.out}/apiProperties.json`);
