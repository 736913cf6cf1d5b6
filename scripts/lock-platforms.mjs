// The npm registry reachable from this workplace serves Hardhat EDR's native package only for linux-x64, so
// `npm install` here writes a package-lock.json without EDR's other platform packages, and `npm ci` then refuses
// the lock ("Missing: @nomicfoundation/edr-darwin-arm64@ from lock file"). This adds the missing optional
// entries (same version as EDR, with their os/cpu/libc so npm skips them on other platforms and fetches them
// normally on their own). Idempotent; run `npm run lock:platforms` after any `npm install` here.
import { readFileSync, writeFileSync } from "node:fs";

const PLATFORMS = {
  "darwin-arm64": { os: ["darwin"], cpu: ["arm64"] },
  "darwin-x64": { os: ["darwin"], cpu: ["x64"] },
  "linux-arm64-gnu": { os: ["linux"], cpu: ["arm64"], libc: ["glibc"] },
  "linux-arm64-musl": { os: ["linux"], cpu: ["arm64"], libc: ["musl"] },
  "linux-x64-gnu": { os: ["linux"], cpu: ["x64"], libc: ["glibc"] },
  "linux-x64-musl": { os: ["linux"], cpu: ["x64"], libc: ["musl"] },
  "win32-x64-msvc": { os: ["win32"], cpu: ["x64"] },
};

const path = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(path, "utf8"));
const edr = lock.packages["node_modules/@nomicfoundation/edr"];
if (edr === undefined)
  throw new Error("package-lock.json has no @nomicfoundation/edr: is Hardhat installed?");
let added = 0;
for (const [platform, constraints] of Object.entries(PLATFORMS)) {
  const key = `node_modules/@nomicfoundation/edr-${platform}`;
  if (lock.packages[key] !== undefined) continue;
  lock.packages[key] = {
    version: edr.version,
    dev: true,
    license: "MIT",
    optional: true,
    ...constraints,
    engines: edr.engines,
  };
  added++;
}
// Other optional, platform-only packages this registry does not serve, which npm therefore leaves out of the lock:
// Vite's Windows helper (`optionalDependencies` of vite). Listed with their platform so npm skips them elsewhere.
const OTHERS = [
  {
    name: "napi-windows-process-start-time",
    parent: "node_modules/vite",
    version: "0.1.0",
    os: ["win32"],
  },
];
for (const { name, parent, version, os } of OTHERS) {
  const key = `node_modules/${name}`;
  const dependent = lock.packages[parent];
  if (dependent?.optionalDependencies?.[name] === undefined || lock.packages[key] !== undefined) continue;
  lock.packages[key] = { version, dev: dependent.dev === true, license: "MIT", optional: true, os };
  added++;
}
const [root, ...rest] = Object.entries(lock.packages);
lock.packages = Object.fromEntries([root, ...rest.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(
  added === 0
    ? "package-lock.json already lists every platform package"
    : `added ${added} platform package entries`,
);
