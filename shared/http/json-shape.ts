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
  return new JsonShapeScanner(limits).feed(bytes);
}

/**
 * The same check over a text that arrives in pieces (a request body as it is read): feed each piece in order;
 * the first bound passed is reported by the piece that passes it, so a reader can stop there.
 */
export class JsonShapeScanner {
  private readonly items: Uint32Array;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private stringBytes = 0;

  constructor(private readonly limits: JsonShapeLimits) {
    this.items = new Uint32Array(limits.maxDepth + 1);
  }

  feed(bytes: Uint8Array): JsonShapeProblem | undefined {
    const { limits, items } = this;
    // Locals in the loop, written back at the end: one byte at a time over up to a megabyte.
    let { depth, inString, escaped, stringBytes } = this;
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i]!;
      if (inString) {
        stringBytes++;
        if (escaped) escaped = false;
        else if (c === BACKSLASH) escaped = true;
        else if (c === QUOTE) {
          inString = false;
          continue;
        }
        if (stringBytes > limits.maxStringBytes) return { bound: "maxStringBytes", text: `a string longer than ${limits.maxStringBytes} bytes` };
        continue;
      }
      if (c === QUOTE) {
        inString = true;
        stringBytes = 0;
      } else if (OPENERS.has(c)) {
        if (++depth > limits.maxDepth) return { bound: "maxDepth", text: `nesting deeper than ${limits.maxDepth}` };
        items[depth] = 1;
      } else if (CLOSERS.has(c)) depth = Math.max(0, depth - 1);
      else if (c === COMMA && depth > 0 && ++items[depth]! > limits.maxItems) return { bound: "maxItems", text: `more than ${limits.maxItems} items in one array or object` };
    }
    Object.assign(this, { depth, inString, escaped, stringBytes });
    return undefined;
  }
}
