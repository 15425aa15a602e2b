// npm scripts run on the Node.js that Azure runs (22): the pinned `node` dev dependency puts its binary first in
// node_modules/.bin, so this holds even on a machine whose own `node` is older. Fail loudly if it did not.
const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  console.error(`Node.js ${process.versions.node} is running; this project needs 22 or later (npm ci installs it).`);
  process.exit(1);
}
console.log(`Node.js ${process.versions.node}`);
