// Bounds on a JSON text's shape, checked over its raw bytes before JSON.parse (issue #19 item 2): nesting depth,
// items per array or object, and string length. One pass, no objects built, and it stops at the first byte past a
// bound, so a body of deeply nested arrays costs a few bytes of scanning instead of a full parse. It validates
// nothing else: JSON.parse still decides whether the text is JSON at all.

export interface JsonShapeLimits {
  /** Deepest nesting of arrays and objects (the top level is 1). */
  maxDepth: number;
  /** Most elements in one array or members in one object. */
  maxItems: number;
  /** Longest string (key or value), in UTF-8 bytes between its quotes, escapes included. */
  maxStringBytes: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPENERS = new Set([0x5b, 0x7b]); // [ {
const CLOSERS = new Set([0x5d, 0x7d]); // ] }

export interface JsonShapeProblem {
  bound: keyof JsonShapeLimits;
  /** e.g. "nesting deeper than 8". */
  text: string;
}

/** The first bound the text passes, or undefined when it stays within every bound. */
export function jsonShapeProblem(bytes: Uint8Array, limits: JsonShapeLimits): JsonShapeProblem | undefined {
  const items = new Uint32Array(limits.maxDepth + 1);
  let depth = 0;
  let stringStart = -1;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (stringStart >= 0) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) stringStart = -1;
      else if (i - stringStart > limits.maxStringBytes) return { bound: "maxStringBytes", text: `a string longer than ${limits.maxStringBytes} bytes` };
      continue;
    }
    if (c === QUOTE) stringStart = i;
    else if (OPENERS.has(c)) {
      if (++depth > limits.maxDepth) return { bound: "maxDepth", text: `nesting deeper than ${limits.maxDepth}` };
      items[depth] = 1;
    } else if (CLOSERS.has(c)) depth = Math.max(0, depth - 1);
    else if (c === COMMA && depth > 0 && ++items[depth]! > limits.maxItems) return { bound: "maxItems", text: `more than ${limits.maxItems} items in one array or object` };
  }
  return undefined;
}
