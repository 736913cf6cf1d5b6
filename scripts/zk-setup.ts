/**
 * Trusted setup for the Iris circuit: compile, powers of tau (2 contributions + beacon), phase-2
 * preparation, Groth16 setup (2 contributions + beacon), `zkey verify`, and export of the
 * verification key and the Solidity verifier. Run by hand (`npx tsx scripts/zk-setup.ts`), never in
 * CI or tests. Keeps only what proving and verifying need in circuits/build/; ptau files and
 * intermediate zkeys stay in the git-ignored circuits/.setup/.
 *
 * Environment: ZK_BEACON (hex, 32 bytes) sets the beacon (random otherwise); ZK_CONTRIBUTORS a
 * comma-separated list of contributor names.
 */
import { copyFile, mkdir, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as snarkjs from "snarkjs";
import { IRIS_ZK_ARTIFACTS } from "../src/zk/artifacts.js";
import { compileCircuit, runCeremony, solidityVerifier } from "../src/zk/setup.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const scratch = join(root, "circuits", ".setup");
const build = join(root, "circuits", "build");

function log(message: string): void {
  console.log(`${new Date().toISOString().slice(11, 19)} ${message}`);
}

async function main(): Promise<void> {
  const started = performance.now();
  await mkdir(build, { recursive: true });
  const circuit = await compileCircuit(IRIS_ZK_ARTIFACTS.circuit, scratch, log);
  log(
    `constraints ${circuit.constraints}, wires ${circuit.wires}, public signals ${circuit.outputs + circuit.publicInputs}`,
  );
  const beacon = process.env.ZK_BEACON;
  const contributors = process.env.ZK_CONTRIBUTORS?.split(",").map((s) => s.trim());
  const record = await runCeremony({
    circuit,
    circuitName: "iris_mlp",
    scratchDir: scratch,
    finalZkey: IRIS_ZK_ARTIFACTS.zkey,
    log,
    ...(beacon === undefined ? {} : { beacon }),
    ...(contributors === undefined ? {} : { contributors }),
  });

  const exportStart = performance.now();
  const vkey = await snarkjs.zKey.exportVerificationKey(IRIS_ZK_ARTIFACTS.zkey);
  await writeFile(IRIS_ZK_ARTIFACTS.vkey, `${JSON.stringify(vkey, null, 2)}\n`);
  await mkdir(dirname(IRIS_ZK_ARTIFACTS.verifier), { recursive: true });
  await writeFile(
    IRIS_ZK_ARTIFACTS.verifier,
    await solidityVerifier(IRIS_ZK_ARTIFACTS.zkey, "IrisMlpVerifier"),
  );
  await copyFile(circuit.wasm, IRIS_ZK_ARTIFACTS.wasm);
  await copyFile(circuit.sym, IRIS_ZK_ARTIFACTS.sym);
  const exportMs = Math.round(performance.now() - exportStart);

  const sizes: Record<string, number> = {};
  for (const file of [
    IRIS_ZK_ARTIFACTS.wasm,
    IRIS_ZK_ARTIFACTS.zkey,
    IRIS_ZK_ARTIFACTS.vkey,
    IRIS_ZK_ARTIFACTS.sym,
  ]) {
    sizes[file.slice(build.length + 1)] = (await stat(file)).size;
  }
  const totalMs = Math.round(performance.now() - started);
  const out = {
    ...record,
    timingsMs: { ...record.timingsMs, export: exportMs, total: totalMs },
    artifactBytes: sizes,
    createdAt: new Date().toISOString(),
  };
  await writeFile(IRIS_ZK_ARTIFACTS.setup, `${JSON.stringify(out, null, 2)}\n`);
  log(`artifacts: ${JSON.stringify(sizes)}`);
  log(`setup done in ${(totalMs / 1000).toFixed(1)} s; record in circuits/build/setup.json`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
