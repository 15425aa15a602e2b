import { app } from "@azure/functions";
import { checkConfigurationAtStart } from "../shared/config/startup-check.js";
import { startTelemetry } from "../shared/telemetry/setup.js";

// Telemetry first (this file loads before the other functions): Azure Monitor in Azure, the console or OTLP locally.
const telemetry = await startTelemetry();
app.hook.appTerminate(async () => { await telemetry?.flush(); });

// At app start: one log entry naming every bad setting (requests then answer 503 until it is fixed).
app.hook.appStart(() => checkConfigurationAtStart({ error: (m) => console.error(m), info: (m) => console.log(m) }));
