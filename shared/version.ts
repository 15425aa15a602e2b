// Kept in step with package.json's version (a unit test checks it); bundled code has no package.json beside it.
export const BRIDGE_VERSION = "0.1.0";
