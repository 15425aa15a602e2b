// Telemetry settings: read before the rest of the configuration, because telemetry starts
// first at app start and must not fail the app when the other settings are wrong.
export type TelemetryTarget =
  | { kind: "azure-monitor"; connectionString: string; aad: boolean; aadClientId?: string; managedIdentityClientId?: string; publicIngestion: boolean }
  | { kind: "otlp"; endpoint: string }
  | { kind: "console"; detail: ConsoleDetail; warning?: string }
  | { kind: "off" };

/** `lines`: one readable line per log record (the default); `full`: every span, metric and log record as the SDK prints it. */
export type ConsoleDetail = "lines" | "full";

const PUBLIC_INGESTION = /^https:\/\/[a-z0-9.-]+\.(applicationinsights\.azure\.com|monitor\.azure\.com|in\.applicationinsights\.azure\.com)\/?$/i;

function part(text: string, name: string): string | undefined {
  for (const piece of text.split(";")) {
    const at = piece.indexOf("=");
    if (at > 0 && piece.slice(0, at).trim().toLowerCase() === name.toLowerCase()) return piece.slice(at + 1).trim();
  }
  return undefined;
}

/** Where telemetry goes: Azure Monitor, an OTLP collector, the console, or nowhere (OTEL_SDK_DISABLED). */
export function telemetryTarget(env: NodeJS.ProcessEnv = process.env): TelemetryTarget {
  if (/^true$/i.test(env.OTEL_SDK_DISABLED ?? "")) return { kind: "off" };
  const connectionString = env.APPLICATIONINSIGHTS_CONNECTION_STRING?.trim();
  if (connectionString) {
    const auth = env.APPLICATIONINSIGHTS_AUTHENTICATION_STRING ?? "";
    const ingestion = part(connectionString, "IngestionEndpoint") ?? "https://dc.services.visualstudio.com";
    return {
      kind: "azure-monitor",
      connectionString,
      aad: /^aad$/i.test(part(auth, "Authorization") ?? ""),
      aadClientId: part(auth, "ClientId"),
      managedIdentityClientId: env.AZURE_CLIENT_ID?.trim() || undefined,
      publicIngestion: PUBLIC_INGESTION.test(ingestion) || /dc\.services\.visualstudio\.com/i.test(ingestion),
    };
  }
  const otlp = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (otlp) return { kind: "otlp", endpoint: otlp.replace(/\/+$/, "") };
  return consoleTarget(env.TELEMETRY_CONSOLE);
}

/** TELEMETRY_CONSOLE: lines (default) or full. An unknown value prints lines and says so, never failing the app. */
function consoleTarget(setting: string | undefined): TelemetryTarget {
  const value = setting?.trim().toLowerCase();
  if (!value || value === "lines") return { kind: "console", detail: "lines" };
  if (value === "full") return { kind: "console", detail: "full" };
  return { kind: "console", detail: "lines", warning: `TELEMETRY_CONSOLE must be "lines" or "full", not "${setting!.slice(0, 40)}"; printing lines.` };
}

/** Turns the Azure Monitor distro's own SDK statistics off; the distro reads this switch only from the environment. */
export function disableSdkStats(env: NodeJS.ProcessEnv = process.env): void {
  env.APPLICATIONINSIGHTS_STATSBEAT_DISABLED = "true";
  env.APPLICATIONINSIGHTS_SDKSTATS_DISABLED = "true";
}
