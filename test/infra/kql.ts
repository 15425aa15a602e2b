// Every KQL query the project ships — alert rules in infra/*.bicep, the workbook, the runbooks in
// docs/operations.md — checked with Microsoft's Kusto parser and binder (@kusto/language-service-next, which
// runs offline) against the Application Insights tables the queries read. An alert rule whose query does
// not compile fails its deployment: Azure validates the query when it creates the rule.
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { parseBicep, properties, stringValue, type SyntaxNode } from "./bicep.js";

const require = createRequire(import.meta.url);

interface KustoDiagnostic {
  Severity: string;
  Code: string;
  Start: number;
  Message: string;
}
interface KustoList<T> {
  Count: number;
  getItem(index: number): T;
}
interface KustoLanguage {
  KustoCode: { ParseAndAnalyze(text: string, globals: unknown): { GetDiagnostics(): KustoList<KustoDiagnostic> } };
  GlobalState: { Default: { WithDatabase(database: unknown): unknown } };
  Symbols: {
    TableSymbol: { From(schema: string): { WithName(name: string): unknown } };
    DatabaseSymbol: { $ctor1: new (name: string, members: unknown, isOpen: boolean) => unknown };
  };
}

// The parser is a Bridge.NET build: its runtime and the library install themselves as globals.
require("@kusto/language-service-next/bridge.min.js");
require("@kusto/language-service-next/Kusto.Language.Bridge.min.js");
const kusto = (globalThis as unknown as { Kusto: { Language: KustoLanguage } }).Kusto.Language;
const bridgeRuntime = (globalThis as unknown as { Bridge: { toList(items: unknown[]): unknown } }).Bridge;

// Columns every Application Insights table has (classic, resource-scoped table names, as alert rules on the
// Application Insights resource and its workbooks see them).
const COMMON = [
  "timestamp:datetime",
  "itemType:string",
  "customDimensions:dynamic",
  "operation_Name:string",
  "operation_Id:string",
  "operation_ParentId:string",
  "operation_SyntheticSource:string",
  "session_Id:string",
  "user_Id:string",
  "user_AuthenticatedId:string",
  "user_AccountId:string",
  "application_Version:string",
  "client_Type:string",
  "client_Model:string",
  "client_OS:string",
  "client_IP:string",
  "client_City:string",
  "client_StateOrProvince:string",
  "client_CountryOrRegion:string",
  "client_Browser:string",
  "cloud_RoleName:string",
  "cloud_RoleInstance:string",
  "appId:string",
  "appName:string",
  "iKey:string",
  "sdkVersion:string",
  "itemId:string",
  "itemCount:int",
];
const TABLES: Record<string, string[]> = {
  requests: [
    "id:string",
    "source:string",
    "name:string",
    "url:string",
    "success:bool",
    "resultCode:string",
    "duration:real",
    "performanceBucket:string",
    "customMeasurements:dynamic",
  ],
  dependencies: [
    "id:string",
    "target:string",
    "type:string",
    "name:string",
    "data:string",
    "success:bool",
    "resultCode:string",
    "duration:real",
    "performanceBucket:string",
    "customMeasurements:dynamic",
  ],
  traces: ["message:string", "severityLevel:int", "customMeasurements:dynamic"],
  exceptions: [
    "problemId:string",
    "handledAt:string",
    "type:string",
    "message:string",
    "assembly:string",
    "method:string",
    "outerType:string",
    "outerMessage:string",
    "outerAssembly:string",
    "outerMethod:string",
    "innermostType:string",
    "innermostMessage:string",
    "innermostAssembly:string",
    "innermostMethod:string",
    "severityLevel:int",
    "details:dynamic",
    "customMeasurements:dynamic",
  ],
  customEvents: ["name:string", "customMeasurements:dynamic"],
  customMetrics: ["name:string", "value:real", "valueCount:int", "valueSum:real", "valueMin:real", "valueMax:real", "valueStdDev:real"],
};

const globals = kusto.GlobalState.Default.WithDatabase(
  new kusto.Symbols.DatabaseSymbol.$ctor1(
    "applicationinsights",
    bridgeRuntime.toList(
      Object.entries(TABLES).map(([name, columns]) =>
        kusto.Symbols.TableSymbol.From(`(${[...COMMON, ...columns].join(", ")})`).WithName(name),
      ),
    ),
    false,
  ),
);

/** Every diagnostic (syntax and semantic) Kusto reports for the query, as "line:column code message". */
export function kqlDiagnostics(query: string): string[] {
  const diagnostics = kusto.KustoCode.ParseAndAnalyze(query, globals).GetDiagnostics();
  const found: string[] = [];
  for (let i = 0; i < diagnostics.Count; i++) {
    const d = diagnostics.getItem(i);
    const before = query.slice(0, d.Start).split("\n");
    found.push(`${before.length}:${before.at(-1)!.length + 1} ${d.Code} ${d.Message}`);
  }
  return found;
}

/** Placeholders a template fills in before deploying (`{window}` minutes, `{spike}` count): a number stands in. */
export function fillPlaceholders(query: string): string {
  return query.replace(/\{[A-Za-z]+\}/g, "1");
}

export interface ShippedQuery {
  source: string;
  query: string;
}

/** The KQL of every `query:` property in a Bicep file (a string, or the template string of a replace(...)). */
export function bicepQueries(path: string): ShippedQuery[] {
  const found: ShippedQuery[] = [];
  const visit = (node: SyntaxNode) => {
    if (node.type === "object") {
      const query = properties(node).get("query");
      const template = query && firstString(query);
      const name = properties(node).get("name");
      if (template)
        found.push({
          source: `${path} (${name ? (stringValue(name) ?? name.text) : `line ${template.startPosition.row + 1}`})`,
          query: stringValue(template) ?? template.text,
        });
    }
    node.namedChildren.forEach(visit);
  };
  visit(parseBicep(path).root);
  return found;
}

function firstString(node: SyntaxNode): SyntaxNode | undefined {
  return node.type === "string" ? node : node.namedChildren.map(firstString).find((n) => n !== undefined);
}

export function bicepFiles(infraDir: string): string[] {
  return readdirSync(infraDir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".bicep"))
    .map((f) => join(infraDir, f))
    .sort();
}

/** Every `query` string in a workbook's items (nested groups included). */
export function workbookQueries(path: string): ShippedQuery[] {
  const found: ShippedQuery[] = [];
  const visit = (value: unknown, where: string) => {
    if (Array.isArray(value)) value.forEach((v, i) => visit(v, `${where}[${i}]`));
    else if (value && typeof value === "object") {
      for (const [key, v] of Object.entries(value)) {
        if (key === "query" && typeof v === "string") found.push({ source: `${path} ${where}`, query: v });
        else visit(v, `${where}.${key}`);
      }
    }
  };
  visit(JSON.parse(readFileSync(path, "utf8")), "");
  return found;
}

/** The fenced ```kusto (or ```kql) blocks of a Markdown file, with the heading each sits under. */
export function markdownQueries(path: string): ShippedQuery[] {
  const found: ShippedQuery[] = [];
  let heading = "";
  const lines = readFileSync(path, "utf8").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith("#")) heading = line.replace(/^#+\s*/, "");
    if (!/^```(kusto|kql)\s*$/.test(line)) continue;
    const start = i + 1;
    while (i + 1 < lines.length && !lines[i + 1]!.startsWith("```")) i++;
    found.push({ source: `${path}:${start} (${heading})`, query: lines.slice(start, i + 1).join("\n") });
    i++;
  }
  return found;
}

/** The query without comments and with whitespace collapsed: what Kusto runs, to compare two copies. */
export function normalizedQuery(query: string): string {
  return query.split("\n").map(withoutComment).join(" ").replace(/\s+/g, " ").trim();
}

function withoutComment(line: string): string {
  let inString: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (inString) {
      if (c === "\\") i++;
      else if (c === inString) inString = undefined;
    } else if (c === '"' || c === "'") inString = c;
    else if (c === "/" && line[i + 1] === "/") return line.slice(0, i);
  }
  return line;
}
