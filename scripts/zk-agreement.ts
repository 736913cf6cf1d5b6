/**
 * Fixed-point reference (what the zk circuit computes) vs onnxruntime-web on all 150 Iris samples:
 * `npx tsx scripts/zk-agreement.ts [model.onnx]`. Exits 1 below 99 % agreement.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { irisAgreement } from "../src/zk/agreement.js";
import { IRIS_ZK_PARAMS } from "../src/zk/index.js";

const modelPath = process.argv[2] ?? fileURLToPath(new URL("../models/iris-mlp.onnx", import.meta.url));

async function main(): Promise<number> {
  const report = await irisAgreement(new Uint8Array(await readFile(modelPath)), IRIS_ZK_PARAMS);
  console.log(
    `fixed point (F = ${IRIS_ZK_PARAMS.fracBits}) vs onnxruntime-web: ${report.agree}/${report.samples} ` +
      `same class (${(report.fraction * 100).toFixed(2)} %)`,
  );
  console.log(`max |logit difference| ${report.maxLogitError.toExponential(3)}`);
  console.log(`smallest top-two float logit gap ${report.minFloatMargin.toExponential(3)}`);
  for (const d of report.disagreements) {
    console.log(
      `  sample ${d.sample} [${d.features.join(", ")}]: onnx ${d.onnxLabel} [${d.onnxLogits.join(", ")}], ` +
        `fixed point ${d.fixedPointLabel} [${d.fixedPointLogits.join(", ")}]`,
    );
  }
  return report.fraction >= 0.99 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
