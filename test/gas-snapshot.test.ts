import { expect } from "chai";
import { readFile } from "node:fs/promises";
import { network } from "hardhat";
import { measureGas, type GasFigures } from "../scripts/gas/measure.js";
import {
  BOUNDS,
  README_PATH,
  readmeWithTable,
  readSnapshot,
  TOLERANCE,
  withinTolerance,
} from "../scripts/gas/table.js";
import "./helpers/release-zk.js";

/**
 * Gas is gated like Uniswap v4's snapshots: `npm run bench` writes `gas-snapshot.json`, and this test measures every
 * operation again and fails when a figure drifts beyond the tolerance (update the snapshot on purpose with
 * `npm run bench`), when an issue bound is exceeded, or when the README table is not the one the snapshot generates.
 */
describe("gas snapshot", function () {
  this.timeout(300_000);
  let measured: GasFigures;
  let snapshot: GasFigures;
  before(async function () {
    snapshot = await readSnapshot();
    measured = (await measureGas(await network.create())).gas;
  });

  it("measures exactly the operations the snapshot holds", function () {
    expect(Object.keys(measured)).to.deep.equal(Object.keys(snapshot));
  });

  it(`stays within ${TOLERANCE.relative * 100}% (at least ${TOLERANCE.absolute} gas) of every committed figure`, function () {
    const drifted = Object.entries(measured)
      .filter(([op, gas]) => !withinTolerance(gas, snapshot[op] ?? Number.NaN))
      .map(([op, gas]) => `${op}: ${gas} vs snapshot ${snapshot[op]}`);
    expect(
      drifted,
      "run `npm run bench` to update gas-snapshot.json if the change is intended",
    ).to.deep.equal([]);
  });

  it("meets every bound of issue #8 (whole transaction, warm accounts)", function () {
    for (const [op, [limit]] of Object.entries(BOUNDS)) {
      expect(measured[op], op).to.be.a("number").and.at.most(limit);
      expect(snapshot[op], `${op} in the snapshot`).to.be.at.most(limit);
    }
  });

  it("has the README gas table generated from the snapshot", async function () {
    const readme = await readFile(README_PATH, "utf8");
    expect(await readmeWithTable(readme, snapshot), "run `npm run bench` to regenerate it").to.equal(readme);
  });
});
