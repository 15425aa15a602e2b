// A small OData $filter parser covering what clients of /users send: `eq`/`ne` with string, boolean
// and null literals (quotes escaped by doubling, `'o''brien'`), `startswith(prop,'x')`, `prop in ('a','b')`,
// `and`/`or`/`not` and parentheses. Anything else answers 400 like Graph.
import { GraphHttpError } from "./graph-odata.js";

export type FilterNode =
  | { op: "eq" | "ne"; prop: string; value: string | boolean | null }
  | { op: "startswith"; prop: string; value: string }
  | { op: "in"; prop: string; values: Array<string | boolean | null> }
  | { op: "and" | "or"; left: FilterNode; right: FilterNode }
  | { op: "not"; inner: FilterNode };

type Token = { t: "ident" | "str" | "punct"; v: string };

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (c === "(" || c === ")" || c === ",") { tokens.push({ t: "punct", v: c }); i++; continue; }
    if (c === "'") {
      let value = "";
      i++;
      for (;;) {
        if (i >= src.length) throw invalid("unterminated string literal");
        if (src[i] === "'") {
          if (src[i + 1] === "'") { value += "'"; i += 2; continue; }
          i++;
          break;
        }
        value += src[i++];
      }
      tokens.push({ t: "str", v: value });
      continue;
    }
    const m = /^[A-Za-z0-9_.@$\-/]+/.exec(src.slice(i));
    if (!m) throw invalid(`unexpected character '${c}'`);
    tokens.push({ t: "ident", v: m[0] });
    i += m[0].length;
  }
  return tokens;
}

function invalid(detail: string): GraphHttpError {
  return new GraphHttpError(400, "BadRequest", `Invalid filter clause: ${detail}`);
}

export function parseFilter(src: string): FilterNode {
  const tokens = tokenize(src);
  let pos = 0;
  const peek = () => tokens[pos];
  const isWord = (word: string) => peek()?.t === "ident" && peek()!.v.toLowerCase() === word;
  const expect = (v: string) => {
    const tok = tokens[pos++];
    if (!tok || tok.t !== "punct" || tok.v !== v) throw invalid(`expected '${v}'`);
  };
  const literal = (): string | boolean | null => {
    const tok = tokens[pos++];
    if (!tok) throw invalid("expected a value");
    if (tok.t === "str") return tok.v;
    if (tok.t === "ident" && /^(true|false)$/i.test(tok.v)) return tok.v.toLowerCase() === "true";
    if (tok.t === "ident" && tok.v.toLowerCase() === "null") return null;
    throw invalid(`unsupported literal '${tok.v}'`);
  };
  const ident = (): string => {
    const tok = tokens[pos++];
    if (!tok || tok.t !== "ident") throw invalid("expected a property name");
    return tok.v;
  };

  const primary = (): FilterNode => {
    if (peek()?.t === "punct" && peek()!.v === "(") {
      pos++;
      const inner = orExpr();
      expect(")");
      return inner;
    }
    if (isWord("not")) { pos++; return { op: "not", inner: primary() }; }
    if (isWord("startswith")) {
      pos++;
      expect("(");
      const prop = ident();
      expect(",");
      const value = literal();
      expect(")");
      if (typeof value !== "string") throw invalid("startswith needs a string");
      return { op: "startswith", prop, value };
    }
    const prop = ident();
    const opTok = tokens[pos++];
    const op = opTok?.t === "ident" ? opTok.v.toLowerCase() : "";
    if (op === "eq" || op === "ne") return { op, prop, value: literal() };
    if (op === "in") {
      expect("(");
      const values = [literal()];
      while (peek()?.t === "punct" && peek()!.v === ",") { pos++; values.push(literal()); }
      expect(")");
      return { op: "in", prop, values };
    }
    throw new GraphHttpError(400, "Request_UnsupportedQuery", `Unsupported or invalid query filter clause specified for property '${prop}' of resource 'User'.`);
  };
  const andExpr = (): FilterNode => {
    let left = primary();
    while (isWord("and")) { pos++; left = { op: "and", left, right: primary() }; }
    return left;
  };
  const orExpr = (): FilterNode => {
    let left = andExpr();
    while (isWord("or")) { pos++; left = { op: "or", left, right: andExpr() }; }
    return left;
  };
  const node = orExpr();
  if (pos !== tokens.length) throw invalid(`unexpected '${tokens[pos]!.v}'`);
  return node;
}

/** Checks every property against `known` (case-insensitive) and returns a predicate over `get(prop)`. */
export function compileFilter(node: FilterNode, known: Set<string>): (get: (prop: string) => unknown) => boolean {
  const byLower = new Map([...known].map((p) => [p.toLowerCase(), p]));
  const resolve = (prop: string) => {
    const name = byLower.get(prop.toLowerCase());
    if (!name) throw new GraphHttpError(400, "Request_UnsupportedQuery", `Unsupported or invalid query filter clause specified for property '${prop}' of resource 'User'.`);
    return name;
  };
  // Directory string comparisons are case-insensitive, as in Entra ID.
  const same = (a: unknown, b: unknown) =>
    typeof a === "string" && typeof b === "string" ? a.toLowerCase() === b.toLowerCase() : a === b;
  const build = (n: FilterNode): ((get: (prop: string) => unknown) => boolean) => {
    switch (n.op) {
      case "eq": { const p = resolve(n.prop); return (get) => same(get(p), n.value); }
      case "ne": { const p = resolve(n.prop); return (get) => !same(get(p), n.value); }
      case "in": { const p = resolve(n.prop); return (get) => n.values.some((v) => same(get(p), v)); }
      case "startswith": {
        const p = resolve(n.prop);
        return (get) => { const v = get(p); return typeof v === "string" && v.toLowerCase().startsWith(n.value.toLowerCase()); };
      }
      case "not": { const inner = build(n.inner); return (get) => !inner(get); }
      case "and": { const l = build(n.left), r = build(n.right); return (get) => l(get) && r(get); }
      case "or": { const l = build(n.left), r = build(n.right); return (get) => l(get) || r(get); }
    }
  };
  return build(node);
}

/** Delta queries accept only `id eq '…'` joined with `or`, at most 50 ids. */
export function deltaIdFilter(src: string | undefined, resource: "User" | "Group"): string[] | null {
  if (src === undefined || src.trim() === "") return null;
  const unsupported = () => new GraphHttpError(400, "Request_UnsupportedQuery",
    `Unsupported query: delta on ${resource.toLowerCase()}s supports only $filter=id eq '...' (combined with 'or', up to 50).`);
  let node: FilterNode;
  try { node = parseFilter(src); } catch { throw unsupported(); }
  const ids: string[] = [];
  const walk = (n: FilterNode): void => {
    if (n.op === "or") { walk(n.left); walk(n.right); return; }
    if (n.op === "eq" && n.prop.toLowerCase() === "id" && typeof n.value === "string") { ids.push(n.value); return; }
    throw unsupported();
  };
  walk(node);
  if (ids.length > 50) throw unsupported();
  return ids;
}
