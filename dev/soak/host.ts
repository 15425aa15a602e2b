// One soak host: a local host in its own process on BRIDGE_PORT (timers off: the soak drives runs), printing
// `HOST_READY <url>`. It exits when its parent goes (stdin closes), so an interrupted soak leaves no host behind.
import { startLocalHost } from "../local-host/host.js";

const host = await startLocalHost({
  port: Number(process.env.BRIDGE_PORT),
  timers: false,
  storageConnectionString: process.env.AzureWebJobsStorage,
  log: () => undefined,
});
process.stdout.write(`HOST_READY ${host.url}\n`);
const stop = () => void host.close().finally(() => process.exit(0));
process.on("SIGTERM", stop);
process.stdin.on("end", () => process.exit(0)).resume();
