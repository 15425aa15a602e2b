#!/usr/bin/env node
// Prints the top self-time entries of V8 .cpuprofile files (as written by `node --cpu-prof`), grouped by
// function and file: `node scripts/cpu-profile-top.mjs [--top 25] prof1.cpuprofile [...]`.
import { readFileSync } from "node:fs";

const args = process.argv.slice(2);
const topIndex = args.indexOf("--top");
const top = topIndex >= 0 ? Number(args.splice(topIndex, 2)[1]) : 25;

for (const file of args) {
  const profile = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfSamples = new Map();
  for (const id of profile.samples) selfSamples.set(id, (selfSamples.get(id) ?? 0) + 1);
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  const msPerSample = totalMs / Math.max(1, profile.samples.length);
  const grouped = new Map();
  for (const [id, count] of selfSamples) {
    const { callFrame } = byId.get(id);
    const where = callFrame.url ? callFrame.url.replace(/^.*\/(node_modules\/|work\/[^/]+\/)/, "$1") : "(native)";
    const key = `${callFrame.functionName || "(anonymous)"}  ${where}:${callFrame.lineNumber + 1}`;
    grouped.set(key, (grouped.get(key) ?? 0) + count);
  }
  const rows = [...grouped].sort((a, b) => b[1] - a[1]).slice(0, top);
  console.log(`${file}: ${totalMs.toFixed(0)} ms profiled, ${profile.samples.length} samples`);
  for (const [key, count] of rows) console.log(`${(count * msPerSample).toFixed(0).padStart(8)} ms  ${((100 * count) / profile.samples.length).toFixed(1).padStart(5)} %  ${key}`);
}
