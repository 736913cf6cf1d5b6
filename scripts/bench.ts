/**
 * Gas per operation (whole transaction, warm accounts; `scripts/gas/measure.ts`) and Iris proving time. Prints a
 * table, writes the committed snapshot `gas-snapshot.json` and regenerates the README gas table from it.
 *
 *   npm run bench              # table; writes gas-snapshot.json and the README table
 *   npm run bench -- --json    # the same, then one JSON object { "<operation>": gasUsed } on the last line
 *   npm run bench -- --check   # compare with the snapshot instead of writing it; exit 1 on drift
 */
import { network } from "hardhat";
import { releaseZk } from "../src/zk/index.js";
import { measureGas } from "./gas/measure.js";
import { BOUNDS, readSnapshot, withinTolerance, writeSnapshot } from "./gas/table.js";

const json = process.argv.includes("--json");
const check = process.argv.includes("--check");

const { gas, proofs } = await measureGas(await network.create(), [120, 10, 60]);
await releaseZk();
const snapshot = check ? await readSnapshot() : undefined;

const rows = Object.entries(gas).map(([op, used]) => {
  const bound = BOUNDS[op];
  const verdict =
    bound === undefined
      ? ""
      : used <= bound[1]
        ? "meets aim"
        : used <= bound[0]
          ? "meets limit"
          : "OVER LIMIT";
  const boundText =
    bound === undefined ? "" : `<= ${bound[0].toLocaleString("en")} (aim ${bound[1].toLocaleString("en")})`;
  const expected = snapshot?.[op];
  const drift =
    snapshot === undefined
      ? ""
      : expected === undefined
        ? "not in snapshot"
        : withinTolerance(used, expected)
          ? `snapshot ${expected.toLocaleString("en")}`
          : `DRIFT from ${expected.toLocaleString("en")}`;
  return [op, used.toLocaleString("en"), boundText, verdict, drift];
});
const header = ["operation", "gas", "bound", "", snapshot === undefined ? "" : "snapshot"];
const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => r[i]!.length)));
const line = (r: string[]) =>
  r
    .map((c, i) => (i === 1 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
    .join("  ")
    .trimEnd();
console.log(line(header));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const r of rows) console.log(line(r));

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const witnessMs = median(proofs.map((t) => t.witnessMs));
const provingMs = median(proofs.map((t) => t.provingMs));
console.log(
  `\nIris zk proof (4→16→8→3, Groth16, median of ${proofs.length}): witness ${witnessMs.toFixed(0)} ms + proving ${provingMs.toFixed(0)} ms = ${(witnessMs + provingMs).toFixed(0)} ms (target <= 3,000 ms, aim 1,000 ms)`,
);

const over = Object.entries(BOUNDS).filter(([op, [limit]]) => (gas[op] ?? Infinity) > limit);
const drifted =
  snapshot === undefined ? [] : rows.filter((r) => r[4]!.startsWith("DRIFT") || r[4] === "not in snapshot");
if (snapshot === undefined) {
  await writeSnapshot(gas);
  console.log("\nwrote gas-snapshot.json and the README gas table");
}
if (json) console.log(JSON.stringify(gas));
if (over.length > 0) {
  console.error(`over the gas limit: ${over.map(([op]) => op).join(", ")}`);
  process.exitCode = 1;
}
if (drifted.length > 0) {
  console.error(
    `drifted from gas-snapshot.json: ${drifted.map((r) => r[0]).join(", ")} (run npm run bench to update it)`,
  );
  process.exitCode = 1;
}
