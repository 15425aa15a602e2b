import { app } from "@azure/functions";
import { checkConfigurationAtStart } from "../shared/config/startup-check.js";

// At app start: one log entry naming every bad setting (requests then answer 503 until it is fixed).
app.hook.appStart(() => checkConfigurationAtStart({ error: (m) => console.error(m), info: (m) => console.log(m) }));
