// The problems loadConfig names for an environment it must refuse (fails the test when it accepts it).
import { expect } from "vitest";
import { ConfigError, loadConfig } from "../../shared/config/config.js";

export function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}
