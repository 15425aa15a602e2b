import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    environment: "node",
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    pool: "forks",
    testTimeout: 90_000,
    hookTimeout: 60_000,
    restoreMocks: true,
    // No console telemetry from the app under test; telemetry tests install in-memory exporters themselves.
    env: { OTEL_SDK_DISABLED: "true" },
  },
});
