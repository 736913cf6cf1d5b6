/**
 * Proves Iris inferences with the kept artifacts and reports witness, proving and verification
 * times: `npx tsx scripts/zk-prove.ts [runs=5] [sample=0]`. Prints medians and the proof size.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { loadIris } from "../src/model/iris.js";
import {
  buildZkInference,
  IRIS_ZK_PARAMS,
  loadVerificationKey,
  prove,
  quantizeOnnx,
  releaseZk,
  toSolidityCalldata,
  verifyOffchain,
} from "../src/zk/index.js";

const runs = Number(process.argv[2] ?? 5);
const sampleIndex = Number(process.argv[3] ?? 0);
const SUBMITTER = "0x70997970c51812dc3a010c7d01b20aa0b3dc79c8";
/** What the proofs are bound to besides request and submitter: a local chain and a ZkMode address (any will do). */
const CHAIN_ID = 31337n;
const ZK_MODE = "0x5fbdb2315678afecb367f032d93f642f64180aa3";

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<void> {
  const modelPath = fileURLToPath(new URL("../models/iris-mlp.onnx", import.meta.url));
  const model = quantizeOnnx(new Uint8Array(await readFile(modelPath)), IRIS_ZK_PARAMS);
  const vkey = await loadVerificationKey();
  const sample = loadIris().features[sampleIndex];
  if (sample === undefined) throw new RangeError(`no Iris sample ${sampleIndex}`);
  const witness: number[] = [];
  const proving: number[] = [];
  const verifying: number[] = [];
  for (let r = 0; r < runs; r++) {
    const zk = await buildZkInference(model, sample, {
      chainId: CHAIN_ID,
      zkMode: ZK_MODE,
      requestId: BigInt(r + 1),
      submitter: SUBMITTER,
    });
    const { proof, publicSignals, witnessMs, provingMs } = await prove(zk.input, {
      onProgress: (p) => {
        console.log(`run ${r + 1}: ${p.phase}${p.phase === "done" ? ` in ${p.ms.toFixed(0)} ms` : ""}`);
      },
    });
    const start = performance.now();
    const ok = await verifyOffchain(vkey, publicSignals, proof);
    verifying.push(performance.now() - start);
    if (!ok) throw new Error("proof did not verify");
    witness.push(witnessMs);
    proving.push(provingMs);
    if (r === 0) {
      const calldata = toSolidityCalldata(proof, publicSignals);
      console.log(
        `public signals [out, weightCommitment, inputCommitment, binding] = ${publicSignals.join(", ")}`,
      );
      console.log(
        `proof: 8 field elements = 256 bytes of calldata (+ 4 x 32 bytes public signals); pA ${calldata.pA[0]}...`,
      );
    }
  }
  console.log(
    `median of ${runs}: witness ${median(witness).toFixed(0)} ms, proving ${median(proving).toFixed(0)} ms, ` +
      `verify ${median(verifying).toFixed(0)} ms`,
  );
  console.log(
    `all witness [${witness.map((v) => v.toFixed(0)).join(", ")}] proving [${proving.map((v) => v.toFixed(0)).join(", ")}]`,
  );
  await releaseZk();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
