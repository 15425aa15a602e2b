// Oversized and odd wire values for the route fuzzers (issue #11): long strings, lone surrogates, control
// characters, deep JSON, many items.
import fc from "fast-check";

export const loneSurrogates = fc.constantFrom("\ud800", "\udfff", "a\ud83d", "\ude00b", "x\ud800\ud800y");
export const controlChars = fc.array(fc.integer({ min: 0, max: 0x1f }), { minLength: 1, maxLength: 20 }).map((codes) => String.fromCharCode(...codes));
export const longString = fc.constantFrom(40_000, 70_000, 300_000).map((n) => "x".repeat(n));

/** One odd string value. */
export const oddString = fc.oneof(fc.string({ maxLength: 30 }), loneSurrogates, controlChars, longString, fc.constantFrom("", " ", "null", "../..", "%00", "delta()", "\u202e", "\ufeff"));

/** Deeply nested JSON text (arrays or objects), as a body or a value. */
export const deepJson = fc.constantFrom(100, 5_000, 100_000).chain((depth) => fc.constantFrom(
  "[".repeat(depth) + "]".repeat(depth),
  '{"a":'.repeat(depth) + "1" + "}".repeat(depth),
));

/** A JSON body built around odd values: every field of the route's shape set to something odd. */
export function oddBody(fields: readonly string[]): fc.Arbitrary<string> {
  const value = fc.oneof(oddString, fc.integer(), fc.constant(null), fc.boolean(), fc.array(oddString, { maxLength: 3 }));
  const record = fc.dictionary(fc.constantFrom(...fields, "extra"), value, { maxKeys: fields.length + 1 }).map((o) => JSON.stringify(o));
  const deepField = fc.tuple(fc.constantFrom(...fields), deepJson).map(([k, deep]) => `{"${k}":${deep}}`);
  const manyItems = fc.constantFrom(1_001, 20_001).map((n) => JSON.stringify({ items: Array.from({ length: n }, (_, i) => ({ user: `u${i}@contoso.com`, newDomainName: `u${i}@fabrikam.com` })), dryRun: true }));
  return fc.oneof(record, deepField, deepJson, manyItems, oddString);
}
