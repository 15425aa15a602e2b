// A test's own composition root, built from the environment as it is now (after the test set it up).
import { createBridge, type Bridge, type BridgeOptions } from "../../shared/bridge.js";
import { loadConfig } from "../../shared/config/config.js";

export function testBridge(options: BridgeOptions = {}): Bridge {
  return createBridge(loadConfig(), options);
}
