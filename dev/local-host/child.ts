// One local host in its own process, as one instance of a scaled-out app (the chaos soak's hosts, the two-host
// tests): serves on BRIDGE_PORT against the storage account and services in its environment (timers off: the
// parent drives runs), prints `HOST_READY <url>`, stops on SIGTERM. It exits when its parent goes (stdin, a
// pipe from the parent, closes), so an interrupted parent leaves no host behind.
import { startLocalHost } from "./host.js";

const host = await startLocalHost({
  port: Number(process.env.BRIDGE_PORT),
  timers: false,
  storageConnectionString: process.env.AzureWebJobsStorage,
  log: () => undefined,
});
process.stdout.write(`HOST_READY ${host.url}\n`);
process.on("SIGTERM", () => void host.close().finally(() => process.exit(0)));
process.stdin.on("end", () => process.exit(0)).resume();
