// Option parsers for commander: a value that is not what the option needs is refused before anything is sent.
import { InvalidArgumentError } from "commander";

/** Parses a whole number in [min, max]; `--limit abc` or `--limit 1.5` is refused with the range. */
export function integer(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\s*-?\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}.`);
    }
    return n;
  };
}

/** Parses an http(s) URL, without a trailing slash. */
export function httpUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError("must be a URL such as https://bridge.example.com.");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new InvalidArgumentError("must be an http or https URL.");
  return value.replace(/\/+$/, "");
}
