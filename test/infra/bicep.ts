// Small queries over Bicep files parsed with the tree-sitter-bicep grammar (the Bicep compiler
// cannot run here). Enough to find declarations, walk object literals and read literal values.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

export interface SyntaxNode {
  type: string;
  text: string;
  isNamed: boolean;
  isMissing: boolean;
  hasError: boolean;
  startPosition: { row: number; column: number };
  children: SyntaxNode[];
  namedChildren: SyntaxNode[];
  parent: SyntaxNode | null;
  previousNamedSibling: SyntaxNode | null;
}

interface Parser {
  setLanguage(language: unknown): void;
  parse(source: string): { rootNode: SyntaxNode };
}

const ParserClass = require("tree-sitter") as new () => Parser;
const parser = new ParserClass();
parser.setLanguage(require("tree-sitter-bicep"));

export interface Declaration {
  kind: "param" | "var" | "resource" | "module" | "output";
  name: string;
  /** Resource type with API version, or module path. */
  target?: string;
  existing: boolean;
  /** Decorator source texts, e.g. `@secure()`. */
  decorators: string[];
  /** The value: default (param), expression (var/output), body object (resource/module; `if` unwrapped). */
  value?: SyntaxNode;
  /** Condition source of `= if (...)`, if any. */
  condition?: string;
  node: SyntaxNode;
}

export interface BicepFile {
  path: string;
  root: SyntaxNode;
  declarations: Declaration[];
}

export function parseBicep(path: string): BicepFile {
  const root = parser.parse(readFileSync(path, "utf8")).rootNode;
  return { path, root, declarations: root.namedChildren.map(declaration).filter((d): d is Declaration => d !== undefined) };
}

/** Positions of ERROR and MISSING nodes. */
export function syntaxErrors(file: BicepFile): string[] {
  const found: string[] = [];
  const visit = (node: SyntaxNode) => {
    if (node.type === "ERROR" || node.isMissing) {
      found.push(`${file.path}:${node.startPosition.row + 1}:${node.startPosition.column + 1} ${node.isMissing ? "missing" : "unexpected"} ${node.type}: ${node.text.slice(0, 60)}`);
    }
    if (node.hasError) node.children.forEach(visit);
  };
  visit(file.root);
  return found;
}

const KINDS: Record<string, Declaration["kind"]> = {
  parameter_declaration: "param",
  variable_declaration: "var",
  resource_declaration: "resource",
  module_declaration: "module",
  output_declaration: "output",
};

function declaration(node: SyntaxNode): Declaration | undefined {
  const kind = KINDS[node.type];
  if (!kind) return undefined;
  const named = node.namedChildren;
  const decorators = node.previousNamedSibling?.type === "decorators"
    ? node.previousNamedSibling.namedChildren.map((d) => d.text)
    : [];
  const name = named[0]!.text;
  let value: SyntaxNode | undefined;
  let target: string | undefined;
  let condition: string | undefined;
  if (kind === "resource" || kind === "module") {
    target = stringValue(named[1]!);
    let body = named[named.length - 1]!;
    if (body.type === "if_statement") {
      condition = body.namedChildren.find((c) => c.type === "parenthesized_expression")?.text;
      body = body.namedChildren.find((c) => c.type === "object")!;
    }
    value = body;
  } else if (kind === "param") {
    value = named.length > 2 ? named[named.length - 1] : undefined;
  } else {
    value = named[named.length - 1];
  }
  const existing = node.children.some((c) => !c.isNamed && c.type === "existing");
  return { kind, name, target, existing, decorators, value, condition, node };
}

export function find(file: BicepFile, kind: Declaration["kind"], name: string): Declaration {
  const found = file.declarations.find((d) => d.kind === kind && d.name === name);
  if (!found) throw new Error(`${file.path}: no ${kind} named ${name}`);
  return found;
}

export function resourcesOfType(file: BicepFile, type: string): Declaration[] {
  return file.declarations.filter((d) => d.kind === "resource" && d.target?.split("@")[0] === type);
}

/** An object literal's properties, name to value node (keys unquoted). */
export function properties(object: SyntaxNode | undefined): Map<string, SyntaxNode> {
  const map = new Map<string, SyntaxNode>();
  if (object?.type !== "object") return map;
  for (const prop of object.namedChildren.filter((c) => c.type === "object_property")) {
    const [key, value] = prop.namedChildren;
    map.set(key!.type === "string" ? stringValue(key!) ?? key!.text : key!.text, value!);
  }
  return map;
}

/** Follows a dotted path of object properties, e.g. `properties.functionAppConfig.runtime`. */
export function at(object: SyntaxNode | undefined, path: string): SyntaxNode | undefined {
  let node = object;
  for (const key of path.split(".")) {
    node = properties(node).get(key);
    if (!node) return undefined;
  }
  return node;
}

/** The value of a string literal without interpolation; undefined for anything else. */
export function stringValue(node: SyntaxNode): string | undefined {
  if (node.type !== "string" || node.namedChildren.some((c) => c.type === "interpolation")) return undefined;
  return node.text.startsWith("'''") ? node.text.slice(3, -3) : node.text.slice(1, -1).replace(/\\(.)/g, "$1");
}

/** JS value of a literal (string, number, boolean, null, arrays/objects of literals); else the source text. */
export function literal(node: SyntaxNode | undefined): unknown {
  if (!node) return undefined;
  switch (node.type) {
    case "string": return stringValue(node) ?? node.text;
    case "number": return Number(node.text);
    case "boolean": return node.text === "true";
    case "null": return null;
    case "array": return node.namedChildren.filter((c) => c.type !== "comment").map(literal);
    case "object": return Object.fromEntries([...properties(node)].map(([k, v]) => [k, literal(v)]));
    default: return node.text;
  }
}

/** Every identifier referenced under `node` (e.g. to see which params an output uses). */
export function identifiers(node: SyntaxNode | undefined): Set<string> {
  const found = new Set<string>();
  const visit = (n: SyntaxNode) => {
    if (n.type === "identifier" && n.parent?.type !== "object_property") found.add(n.text);
    else if (n.type === "identifier" && n.parent?.namedChildren[0] !== n) found.add(n.text);
    n.namedChildren.forEach(visit);
  };
  if (node) visit(node);
  return found;
}
