/**
 * Where the Iris circuit's kept artifacts live (`circuits/build/`, the circuit source and its Solidity verifier):
 * Node-only (`node:url`), apart from `./params.js` so that quantization, commitments and the fixed-point model stay
 * browser-safe.
 */
import { fileURLToPath } from "node:url";

const path = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));

/** Where the Iris circuit's kept artifacts live (`circuits/build/`). */
export const IRIS_ZK_ARTIFACTS = Object.freeze({
  circuit: path("../../circuits/iris_mlp.circom"),
  wasm: path("../../circuits/build/iris_mlp.wasm"),
  zkey: path("../../circuits/build/iris_mlp_final.zkey"),
  vkey: path("../../circuits/build/verification_key.json"),
  sym: path("../../circuits/build/iris_mlp.sym"),
  setup: path("../../circuits/build/setup.json"),
  verifier: path("../../contracts/verifiers/IrisMlpVerifier.sol"),
});
