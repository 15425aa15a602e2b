// Runs one remap in its own process and stops forever right after step 1 is journaled, printing a marker,
// so the test can kill it (SIGKILL) between the steps. Args: <systemUserId> <newDomainName>.
import { remapUser } from "../../../shared/remap/remap-user.js";
import { testBridge } from "../../support/test-bridge.js";

const [systemUserId, newDomainName] = process.argv.slice(2);
const deps = testBridge().remapDeps({
  hooks: {
    afterStep: async (step, entry) => {
      if (step !== "temporary") return;
      process.stdout.write(`STEP1_JOURNALED ${entry.operationId}\n`);
      await new Promise(() => undefined);
    },
  },
});
remapUser({ user: systemUserId!, newDomainName: newDomainName!, requestedBy: "child", source: "test" }, deps).then(
  () => { process.stdout.write("FINISHED\n"); process.exit(0); },
  (error: unknown) => { process.stderr.write(`FAILED ${(error as Error).message}\n`); process.exit(1); },
);
