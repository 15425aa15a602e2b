// OData $filter for systemusers: parse into a small AST, type-check against the schema (Guid columns take
// unquoted GUID literals, as Dataverse requires), evaluate with Dataverse's case-insensitive string semantics.
// Query functions: `Microsoft.Dynamics.CRM.In(PropertyName='col',PropertyValues=['a','b'])` (the values are a
// Collection(Edm.String): quoted even for GUID and number columns).
import { queryError, unknownProperty } from "./errors.js";
import { GUID_RE, SYSTEMUSER_SCHEMA, type Column, type EntitySchema } from "./schema.js";

export type Literal =
  | { t: "string"; v: string; lower: string }
  | { t: "guid"; v: string }
  | { t: "number"; v: number }
  | { t: "bool"; v: boolean }
  | { t: "datetime"; v: string }
  | { t: "null" };

export type CmpOp = "eq" | "ne" | "gt" | "ge" | "lt" | "le";
export type FilterExpr =
  | { k: "and" | "or"; l: FilterExpr; r: FilterExpr }
  | { k: "not"; e: FilterExpr }
  | { k: "cmp"; op: CmpOp; col: Column; value: Literal }
  | { k: "fn"; fn: "startswith" | "endswith" | "contains"; col: Column; needle: string }
  | { k: "in"; col: Column; values: Literal[]; set: Set<string | number | boolean> };

interface Token { kind: "(" | ")" | "," | "=" | "[" | "]" | "str" | "word"; text: string; pos: number }

const IN_FUNCTION = "microsoft.dynamics.crm.in";

const OP_NAMES: Record<CmpOp, string> = { eq: "Equal", ne: "NotEqual", gt: "GreaterThan", ge: "GreaterThanOrEqual", lt: "LessThan", le: "LessThanOrEqual" };
const EDM: Record<string, string> = { guid: "Edm.Guid", lookup: "Edm.Guid", string: "Edm.String", boolean: "Edm.Boolean", int: "Edm.Int32", bigint: "Edm.Int64", datetime: "Edm.DateTimeOffset" };
const LIT_EDM: Record<Literal["t"], string> = { string: "Edm.String", guid: "Edm.Guid", number: "Edm.Int32", bool: "Edm.Boolean", datetime: "Edm.DateTimeOffset", null: "null" };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === " " || c === "\t" || c === "\r" || c === "\n") { i++; continue; }
    if (c === "(" || c === ")" || c === "," || c === "=" || c === "[" || c === "]") { tokens.push({ kind: c, text: c, pos: i }); i++; continue; }
    if (c === "'") {
      const start = i;
      let value = "";
      i++;
      for (;;) {
        if (i >= text.length) throw syntaxError(start, text);
        if (text[i] === "'") {
          if (text[i + 1] === "'") { value += "'"; i += 2; continue; } // '' escapes a quote
          i++;
          break;
        }
        value += text[i];
        i++;
      }
      tokens.push({ kind: "str", text: value, pos: start });
      continue;
    }
    const m = /^[A-Za-z0-9_.:+-]+/.exec(text.slice(i));
    if (!m) throw syntaxError(i, text);
    tokens.push({ kind: "word", text: m[0], pos: i });
    i += m[0].length;
  }
  return tokens;
}

const syntaxError = (pos: number, text: string) => queryError(`Syntax error at position ${pos} in '${text}'.`);

export function parseFilter(text: string, schema: EntitySchema = SYSTEMUSER_SCHEMA): FilterExpr {
  const column = (name: string): Column => {
    const col = schema.columns.get(name);
    if (!col) throw unknownProperty(name, schema.entity);
    return col;
  };
  const tokens = tokenize(text);
  let p = 0;
  const peek = () => tokens[p];
  const isWord = (w: string) => peek()?.kind === "word" && peek()!.text.toLowerCase() === w;
  const expect = (kind: Token["kind"]) => {
    const t = tokens[p];
    if (!t || t.kind !== kind) throw syntaxError(t?.pos ?? text.length, text);
    p++;
    return t;
  };

  const parseOr = (): FilterExpr => {
    let left = parseAnd();
    while (isWord("or")) { p++; left = { k: "or", l: left, r: parseAnd() }; }
    return left;
  };
  const parseAnd = (): FilterExpr => {
    let left = parseUnary();
    while (isWord("and")) { p++; left = { k: "and", l: left, r: parseUnary() }; }
    return left;
  };
  const parseUnary = (): FilterExpr => {
    if (isWord("not")) { p++; return { k: "not", e: parseUnary() }; }
    const t = peek();
    if (!t) throw syntaxError(text.length, text);
    if (t.kind === "(") { p++; const e = parseOr(); expect(")"); return e; }
    if (t.kind !== "word") throw syntaxError(t.pos, text);
    const fn = t.text.toLowerCase();
    if ((fn === "startswith" || fn === "endswith" || fn === "contains") && tokens[p + 1]?.kind === "(") {
      p += 2;
      const col = column(expect("word").text);
      expect(",");
      const needle = expect("str").text;
      expect(")");
      if (col.type !== "string") throw queryError(`No function signature for the function with name '${fn}' matches the specified arguments. The function signatures considered are: ${fn}(Edm.String Nullable=true, Edm.String Nullable=true).`);
      return { k: "fn", fn, col, needle: needle.toLowerCase() };
    }
    if (fn === IN_FUNCTION && tokens[p + 1]?.kind === "(") {
      p += 2;
      const args = new Map<string, Token[]>();
      for (;;) {
        const name = expect("word").text;
        expect("=");
        if (peek()?.kind === "[") {
          p++;
          const list: Token[] = [];
          while (peek()?.kind !== "]") {
            if (list.length > 0) expect(",");
            list.push(expect("str"));
          }
          p++;
          args.set(name, list);
        } else args.set(name, [expect("str")]);
        if (peek()?.kind !== ",") break;
        p++;
      }
      expect(")");
      const property = args.get("PropertyName");
      const values = args.get("PropertyValues");
      if (property?.length !== 1 || !values || args.size !== 2) throw queryError(`No function signature for the function with name 'Microsoft.Dynamics.CRM.In' matches the specified arguments. The function signatures considered are: In(PropertyName Edm.String, PropertyValues Collection(Edm.String)).`);
      return inExpr(column(property[0]!.text), values.map((v) => v.text));
    }
    p++;
    const col = column(t.text);
    const opTok = expect("word");
    const op = opTok.text.toLowerCase();
    if (!(op in OP_NAMES)) throw syntaxError(opTok.pos, text);
    const value = literal(tokens[p++], text);
    checkTypes(col, op as CmpOp, value);
    return { k: "cmp", op: op as CmpOp, col, value };
  };

  const expr = parseOr();
  if (p !== tokens.length) throw syntaxError(tokens[p]!.pos, text);
  return expr;
}

/** The In function's string values read as the column's type (exact platform error text unverified). */
function inExpr(col: Column, texts: string[]): FilterExpr {
  const values = texts.map((text): Literal => {
    const bad = () => queryError(`The value '${text}' in PropertyValues is not valid for the attribute '${col.name}' of type '${EDM[col.type]}'.`);
    switch (col.type) {
      case "guid": case "lookup":
        if (!GUID_RE.test(text)) throw bad();
        return { t: "guid", v: text.toLowerCase() };
      case "int": case "bigint":
        if (!/^-?\d+$/.test(text)) throw bad();
        return { t: "number", v: Number(text) };
      case "boolean":
        if (text !== "true" && text !== "false") throw bad();
        return { t: "bool", v: text === "true" };
      case "datetime": {
        const at = new Date(text);
        if (Number.isNaN(at.getTime())) throw bad();
        return { t: "datetime", v: at.toISOString() };
      }
      default:
        return { t: "string", v: text, lower: text.toLowerCase() };
    }
  });
  return { k: "in", col, values, set: new Set(values.map((v) => literalValue(v)!)) };
}

function literal(t: Token | undefined, text: string): Literal {
  if (!t) throw syntaxError(text.length, text);
  if (t.kind === "str") return { t: "string", v: t.text, lower: t.text.toLowerCase() };
  if (t.kind !== "word") throw syntaxError(t.pos, text);
  const w = t.text;
  if (w === "null") return { t: "null" };
  if (w === "true" || w === "false") return { t: "bool", v: w === "true" };
  if (GUID_RE.test(w)) return { t: "guid", v: w.toLowerCase() };
  if (/^-?\d+$/.test(w)) return { t: "number", v: Number(w) };
  if (/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$/.test(w)) return { t: "datetime", v: new Date(w).toISOString() };
  throw syntaxError(t.pos, text);
}

function checkTypes(col: Column, op: CmpOp, value: Literal): void {
  if (value.t === "null") return;
  const ok =
    ((col.type === "guid" || col.type === "lookup") && value.t === "guid") ||
    (col.type === "string" && value.t === "string") ||
    (col.type === "boolean" && value.t === "bool") ||
    ((col.type === "int" || col.type === "bigint") && value.t === "number") ||
    (col.type === "datetime" && value.t === "datetime");
  if (!ok) {
    throw queryError(`A binary operator with incompatible types was detected. Found operand types '${EDM[col.type]}' and '${LIT_EDM[value.t]}' for operator kind '${OP_NAMES[op]}'.`);
  }
}

/** Comparable form of a column value: strings and GUIDs lower-cased (case-insensitive collation). */
export function norm(value: unknown): string | number | boolean | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value.toLowerCase();
  return value as number | boolean;
}

function literalValue(l: Literal): string | number | boolean | null {
  switch (l.t) {
    case "string": return l.lower;
    case "null": return null;
    default: return l.v;
  }
}

export function matches(expr: FilterExpr, row: Record<string, unknown>): boolean {
  switch (expr.k) {
    case "and": return matches(expr.l, row) && matches(expr.r, row);
    case "or": return matches(expr.l, row) || matches(expr.r, row);
    case "not": return !matches(expr.e, row);
    case "fn": {
      const v = row[expr.col.name];
      if (typeof v !== "string") return false;
      const lv = v.toLowerCase();
      return expr.fn === "startswith" ? lv.startsWith(expr.needle) : expr.fn === "endswith" ? lv.endsWith(expr.needle) : lv.includes(expr.needle);
    }
    case "in": {
      const v = norm(row[expr.col.name]);
      return v !== null && expr.set.has(v);
    }
    case "cmp": {
      const v = norm(row[expr.col.name]);
      const lit = literalValue(expr.value);
      if (lit === null) return expr.op === "eq" ? v === null : expr.op === "ne" ? v !== null : false;
      // SQL semantics: a comparison with a null column value is never true (`ne 'x'` skips nulls).
      if (v === null) return false;
      switch (expr.op) {
        case "eq": return v === lit;
        case "ne": return v !== lit;
        case "gt": return v > lit;
        case "ge": return v >= lit;
        case "lt": return v < lit;
        case "le": return v <= lit;
      }
    }
  }
}

/** Columns the org indexes; `candidates` narrows a scan to them when the filter pins one by equality. */
export type IndexLookup = (column: string, value: string) => Iterable<string> | null;

export function candidates(expr: FilterExpr, lookup: IndexLookup): Set<string> | null {
  switch (expr.k) {
    case "cmp": {
      if (expr.op !== "eq" || (expr.value.t !== "string" && expr.value.t !== "guid")) return null;
      const ids = lookup(expr.col.name, expr.value.t === "string" ? expr.value.lower : expr.value.v);
      return ids ? new Set(ids) : null;
    }
    case "in": {
      const ids = new Set<string>();
      for (const value of expr.values) {
        if (value.t !== "string" && value.t !== "guid") return null;
        const found = lookup(expr.col.name, value.t === "string" ? value.lower : value.v);
        if (!found) return null;
        for (const id of found) ids.add(id);
      }
      return ids;
    }
    case "and": {
      const l = candidates(expr.l, lookup);
      const r = candidates(expr.r, lookup);
      if (l && r) return l.size <= r.size ? l : r;
      return l ?? r;
    }
    case "or": {
      const l = candidates(expr.l, lookup);
      if (!l) return null;
      const r = candidates(expr.r, lookup);
      if (!r) return null;
      for (const id of r) l.add(id);
      return l;
    }
    default:
      return null;
  }
}
