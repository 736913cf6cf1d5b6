import type { WritableZkProofArgs, ZkProofArgs } from "../protocol/zk.js";
import type { Groth16Proof, SolidityCalldata } from "./prover.js";

/** The `ZkMode.fulfillZk(request, requestId, output, proof)` arguments carried by a proof's Solidity calldata. */
export function settlementProof(calldata: SolidityCalldata): { output: bigint; proof: WritableZkProofArgs } {
  const [[b00, b01], [b10, b11]] = calldata.pB;
  return {
    output: calldata.pubSignals[0],
    proof: {
      a: [calldata.pA[0], calldata.pA[1]],
      b: [
        [b00, b01],
        [b10, b11],
      ],
      c: [calldata.pC[0], calldata.pC[1]],
    },
  };
}

/** The inverse of {@link settlementProof}'s proof: snarkjs's format (limbs of pB swapped back, projective 1s). */
export function snarkjsProof(proof: ZkProofArgs): Groth16Proof {
  const s = (v: bigint) => v.toString();
  return {
    pi_a: [s(proof.a[0]), s(proof.a[1]), "1"],
    pi_b: [
      [s(proof.b[0][1]), s(proof.b[0][0])],
      [s(proof.b[1][1]), s(proof.b[1][0])],
      ["1", "0"],
    ],
    pi_c: [s(proof.c[0]), s(proof.c[1]), "1"],
    protocol: "groth16",
    curve: "bn128",
  };
}
