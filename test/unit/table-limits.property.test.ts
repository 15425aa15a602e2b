// The pure sizing rules of shared/state/table-limits.ts, checked as properties over arbitrary input: whatever goes
// in, what comes out is within every Azure Table limit, and what was cut is marked and counted.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { TransactionAction } from "@azure/data-tables";
import {
  MAX_CUSTOM_PROPERTIES, MAX_ENTITY_BYTES, MAX_KEY_CHARS, MAX_STRING_CHARS, MAX_TRANSACTION_BYTES, MAX_TRANSACTION_OPS,
  capStrings, encodedSize, entitySize, fitEntity, isValidKey, joinText, packJsonList, splitText, tableBatches, tableKey, truncateText, wellFormed,
} from "../../shared/state/table-limits.js";

/** Strings with lone surrogates, control characters and the key-forbidden characters, short or very long. */
const oddChar = fc.constantFrom("a", "é", "\uD83D\uDE00", "\uD800", "\uDC00", "/", "\\", "#", "?", "\u0000", "\u001f", "\u0085", "'", "\"");
const oddString = (maxLength: number) => fc.oneof(
  fc.string({ unit: oddChar, maxLength: 64 }),
  fc.tuple(oddChar, fc.integer({ min: 0, max: maxLength })).map(([c, n]) => c.repeat(n)),
);
const hasLoneSurrogate = (s: string) => wellFormed(s) !== s;

describe("table-limits", () => {
  it("truncateText: at most maxChars, well-formed when the input was, marked with the count left out", () => {
    fc.assert(fc.property(oddString(100_000), fc.integer({ min: 0, max: 50_000 }), (value, max) => {
      const out = truncateText(value, max);
      expect(out.length).toBeLessThanOrEqual(Math.max(max, 0));
      if (value.length <= max) expect(out).toBe(value);
      else if (max >= 40) {
        const m = /…\[truncated (\d+) chars\]$/.exec(out);
        expect(m).not.toBeNull();
        expect(out.length - m![0].length + Number(m![1])).toBe(value.length);
        if (!hasLoneSurrogate(value)) expect(hasLoneSurrogate(out)).toBe(false);
      }
    }));
  });

  it("tableKey: always a valid key, valid keys unchanged, deterministic and idempotent", () => {
    fc.assert(fc.property(oddString(3_000), (key) => {
      const out = tableKey(key);
      expect(isValidKey(out)).toBe(true);
      expect(out.length).toBeLessThanOrEqual(MAX_KEY_CHARS);
      // eslint-disable-next-line no-control-regex -- control characters are exactly what Table keys must not hold
      expect(/[/\\#?\u0000-\u001f\u007f-\u009f]/.test(out)).toBe(false);
      if (isValidKey(key)) expect(out).toBe(key);
      expect(tableKey(out)).toBe(out);
      expect(tableKey(key)).toBe(out);
    }));
  });

  it("fitEntity: every string ≤ 32K, entity ≤ 1 MiB, ≤ 252 custom properties, valid keys, dropped properties counted", () => {
    const entityArb = fc.record({
      partitionKey: oddString(2_000),
      rowKey: oddString(2_000),
      props: fc.array(fc.tuple(fc.oneof(oddString(70_000), fc.integer(), fc.boolean(), fc.double({ noNaN: true }))), { maxLength: 300 }),
    });
    fc.assert(fc.property(entityArb, ({ partitionKey, rowKey, props }) => {
      const input: Record<string, unknown> & { partitionKey: string; rowKey: string } = { partitionKey, rowKey };
      props.forEach(([v], i) => { input[`p${i}`] = v; });
      const out = fitEntity(input);
      expect(isValidKey(out.partitionKey) && isValidKey(out.rowKey)).toBe(true);
      const custom = Object.keys(out).filter((k) => k !== "partitionKey" && k !== "rowKey");
      expect(custom.length).toBeLessThanOrEqual(MAX_CUSTOM_PROPERTIES);
      if (props.length > MAX_CUSTOM_PROPERTIES) expect(out.omittedProperties).toBe(props.length - (MAX_CUSTOM_PROPERTIES - 1));
      for (const k of custom) {
        const v = out[k];
        if (typeof v === "string") {
          expect(v.length).toBeLessThanOrEqual(MAX_STRING_CHARS);
          expect(hasLoneSurrogate(v)).toBe(false);
          const original = input[k] as string;
          if (wellFormed(original).length > v.length) expect(v).toMatch(/…\[truncated \d+ chars\]$/);
        }
      }
      expect(entitySize(out)).toBeLessThanOrEqual(MAX_ENTITY_BYTES);
      expect(encodedSize(out)).toBeLessThanOrEqual(MAX_ENTITY_BYTES);
    }), { numRuns: 60 });
  });

  it("fitEntity cuts many full-size strings down to 1 MiB (largest first)", () => {
    const input: Record<string, unknown> & { partitionKey: string; rowKey: string } = { partitionKey: "p", rowKey: "r" };
    // Control characters are 2 bytes in the service's formula but 6 escaped in the JSON body.
    for (let i = 0; i < 40; i++) input[`s${i}`] = (i % 2 ? "x" : "\u0001").repeat(40_000);
    const out = fitEntity(input);
    expect(encodedSize(out)).toBeLessThanOrEqual(MAX_ENTITY_BYTES);
    expect(encodedSize(out)).toBeGreaterThan(MAX_ENTITY_BYTES - 4_096);
  });

  it("splitText/joinText: round-trips any text, each part within a string property", () => {
    fc.assert(fc.property(oddString(200_000), (text) => {
      const parts = splitText("report", text, 16, 30_000);
      for (const v of Object.values(parts)) expect(v.length).toBeLessThanOrEqual(30_000);
      expect(joinText(parts, "report")).toBe(wellFormed(text));
    }), { numRuns: 60 });
  });

  it("packJsonList: every chunk ≤ max, order kept, nothing lost (oversized items stand in)", () => {
    fc.assert(fc.property(fc.array(fc.record({ id: fc.nat(), text: oddString(40_000) }), { maxLength: 60 }), (items) => {
      const chunks = packJsonList(items, 30_000, (item) => ({ id: item.id, text: "…" }));
      const back = chunks.flatMap((c) => { expect(c.length).toBeLessThanOrEqual(30_000); return JSON.parse(c) as Array<{ id: number }>; });
      expect(back.map((b) => b.id)).toEqual(items.map((i) => i.id));
    }), { numRuns: 60 });
  });

  it("capStrings keeps JSON shape and caps every string", () => {
    fc.assert(fc.property(fc.jsonValue(), fc.integer({ min: 40, max: 200 }), (value, max) => {
      const out = capStrings(value, max);
      JSON.stringify(out, (_k, v: unknown) => { if (typeof v === "string") expect(v.length).toBeLessThanOrEqual(max); return v; });
    }));
  });

  it("tableBatches: one partition, ≤ 100 operations, ≤ 4 MiB, each row once per batch, order kept", () => {
    const action = fc.record({ p: fc.constantFrom("a", "b", "c/d"), r: fc.integer({ min: 0, max: 150 }), size: fc.integer({ min: 0, max: 40_000 }) });
    fc.assert(fc.property(fc.array(action, { maxLength: 400 }), (specs) => {
      const actions = specs.map((s) => ["upsert", { partitionKey: s.p, rowKey: String(s.r), v: "x".repeat(s.size) }, "Replace"] as TransactionAction);
      const batches = tableBatches(actions);
      expect(batches.flat()).toHaveLength(actions.length);
      for (const batch of batches) {
        expect(batch.length).toBeLessThanOrEqual(MAX_TRANSACTION_OPS);
        const entities = batch.map((a) => a[1] as { partitionKey: string; rowKey: string });
        expect(new Set(entities.map((e) => e.partitionKey)).size).toBe(1);
        expect(new Set(entities.map((e) => e.rowKey)).size).toBe(entities.length);
        expect(entities.reduce((n, e) => n + encodedSize(e as never), 0)).toBeLessThanOrEqual(MAX_TRANSACTION_BYTES);
      }
    }), { numRuns: 40 });
  });
});
