// Child-process helper for the package test: loads the packaged bundle the way the Functions worker
// would (with `@azure/functions-core` provided) and prints what it registered, as JSON on stdout.
//   node --import tsx test/infra/load-bundle.ts <bundle>
import { pathToFileURL } from "node:url";
import { installFunctionsCore, registrations } from "../../dev/local-host/functions-core.js";

installFunctionsCore();
await import(pathToFileURL(process.argv[2]!).href);
const summary = registrations.map((r) => ({
  name: r.name,
  triggers: Object.values(r.bindings).filter((b) => b.direction === "in" && /Trigger$/.test(b.type)).map((b) => b.type),
}));
process.stdout.write(JSON.stringify(summary));
