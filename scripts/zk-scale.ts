/**
 * Scaling measurement of the generic circuit on a larger MLP (default 64 -> 32 -> 10, random
 * weights): constraints, compile and witness time, then (unless `--no-setup`) a trusted setup
 * (1 contribution + beacon per phase, to save time; the Iris setup uses 2), proving and
 * verification times. `npx tsx scripts/zk-scale.ts [--sizes 64,32,10] [--no-setup]`.
 * Nothing is kept: all artifacts go to a temporary directory (under circuits/.setup/) deleted at the end.
 */
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as snarkjs from "snarkjs";
import {
  circuitInput,
  fixedPointForward,
  IRIS_ZK_PARAMS,
  loadWitnessCalculator,
  releaseZk,
  verifyOffchain,
  type QuantizedMlp,
} from "../src/zk/index.js";
import { compileCircuit, runCeremony } from "../src/zk/setup.js";
import { mulberry32 } from "../src/model/prng.js";

const args = process.argv.slice(2);
const sizesArg = args.includes("--sizes") ? args[args.indexOf("--sizes") + 1] : undefined;
const sizes = (sizesArg ?? "64,32,10").split(",").map(Number);
const withSetup = !args.includes("--no-setup");
const params = IRIS_ZK_PARAMS;

function log(message: string): void {
  console.log(`${new Date().toISOString().slice(11, 19)} ${message}`);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const random = mulberry32(64);
  const scale = 2 ** params.fracBits;
  // Weights uniform in +-1/sqrt(fan-in) (He-like), biases in +-0.1, inputs in [0, 1): real-valued, then quantized.
  const q = (v: number): bigint => BigInt(Math.round(v * scale));
  const model: QuantizedMlp = {
    params,
    sizes,
    layers: sizes.slice(1).map((outSize, l) => {
      const inSize = sizes[l]!;
      const bound = 1 / Math.sqrt(inSize);
      return {
        inSize,
        outSize,
        weight: Array.from({ length: inSize * outSize }, () => q((random() * 2 - 1) * bound)),
        bias: Array.from({ length: outSize }, () => q((random() * 2 - 1) * 0.1)),
      };
    }),
  };
  const input = Array.from({ length: sizes[0]! }, () => q(random()));
  const ref = fixedPointForward(model, input);
  const paramCount = model.layers.reduce((n, l) => n + l.weight.length + l.bias.length, 0);

  // circom2 (WASI) only sees files below the working directory, so the scratch dir is inside the
  // repository's git-ignored circuits/.setup/ rather than in the system's temp dir.
  const scratch = fileURLToPath(new URL("../circuits/.setup/", import.meta.url));
  await mkdir(scratch, { recursive: true });
  const dir = await mkdtemp(join(scratch, "scale-"));
  const results: Record<string, number | string | boolean> = { sizes: sizes.join("->"), params: paramCount };
  try {
    const mlp = fileURLToPath(new URL("../circuits/mlp.circom", import.meta.url));
    const circuitFile = join(dir, "scale_mlp.circom");
    await writeFile(
      circuitFile,
      `pragma circom 2.1.0;\ninclude "mlp.circom";\n` +
        `component main {public [binding]} = Mlp(${sizes.length - 1}, [${sizes.join(", ")}], ` +
        `${params.fracBits}, ${params.valueBits}, ${params.actBits}, ${params.packPer});\n`,
    );
    const circuit = await compileCircuit(circuitFile, join(dir, "build"), log, [dirname(mlp)]);
    Object.assign(results, {
      constraints: circuit.constraints,
      wires: circuit.wires,
      compileMs: Math.round(circuit.ms),
    });
    results.wasmBytes = (await stat(circuit.wasm)).size;
    log(JSON.stringify(results));

    const calculator = await loadWitnessCalculator(circuit.wasm);
    const witnessInput = circuitInput(model, input, 12345n);
    const times: number[] = [];
    for (let r = 0; r < 5; r++) {
      const start = performance.now();
      const witness = calculator.calculate(witnessInput);
      times.push(performance.now() - start);
      if (witness[1] !== BigInt(ref.label))
        throw new Error(`circuit class ${witness[1]} != reference ${ref.label}`);
    }
    results.witnessMsReused = Math.round(median(times));
    const snarkTimes: number[] = [];
    for (let r = 0; r < 3; r++) {
      const start = performance.now();
      await snarkjs.wtns.calculate(witnessInput, circuit.wasm, { type: "mem" });
      snarkTimes.push(performance.now() - start);
    }
    results.witnessMsSnarkjs = Math.round(median(snarkTimes));
    log(JSON.stringify(results));

    if (withSetup) {
      const zkey = join(dir, "final.zkey");
      const record = await runCeremony({
        circuit,
        circuitName: "scale_mlp",
        scratchDir: join(dir, "setup"),
        finalZkey: zkey,
        contributors: ["contributor-1"],
        log,
      });
      results.power = record.power;
      for (const [phase, ms] of Object.entries(record.timingsMs)) results[`setup ${phase} ms`] = ms;
      results.zkeyBytes = (await stat(zkey)).size;
      log(JSON.stringify(results));
      const vkey = await snarkjs.zKey.exportVerificationKey(zkey);
      const proving: number[] = [];
      let verifyMs = 0;
      for (let r = 0; r < 3; r++) {
        const wtns: snarkjs.MemFile = { type: "mem" };
        await snarkjs.wtns.calculate(witnessInput, circuit.wasm, wtns);
        const start = performance.now();
        const { proof, publicSignals } = await snarkjs.groth16.prove(zkey, wtns);
        proving.push(performance.now() - start);
        const v0 = performance.now();
        if (!(await verifyOffchain(vkey, publicSignals, proof))) throw new Error("proof did not verify");
        verifyMs = performance.now() - v0;
      }
      results.provingMs = Math.round(median(proving));
      results.verifyMs = Math.round(verifyMs);
    }
    log(`RESULT ${JSON.stringify(results)}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
    await releaseZk();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
