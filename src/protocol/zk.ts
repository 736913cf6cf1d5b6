import { encodeAbiParameters, keccak256, type Address, type Hex } from "viem";
import { ProtocolLimits } from "./limits.js";

/**
 * The zk verification mode's on-chain interface, shared by circuits, prover, settlement and tests.
 *
 * Every inference circuit exposes exactly four public signals, in snarkjs order (outputs first, then public
 * inputs in declaration order):
 *
 *   [0] output            the result (for a classifier: the argmax class index)
 *   [1] weightCommitment  Poseidon commitment to the quantized weights; must equal the model version's zkCommitment
 *   [2] inputCommitment   Poseidon commitment to the quantized input; must equal the request's inputHash
 *   [3] binding           zkBinding(chain, zk mode, requestId, submitter); ties the proof to one request and submitter
 *
 * so one verifier interface (`verifyProof(uint[2], uint[2][2], uint[2], uint[4])`, what snarkjs generates for four
 * signals) serves every model.
 */

/** The BN254 scalar field modulus: every public signal must be below it. */
export const SNARK_SCALAR_FIELD = ProtocolLimits.SNARK_SCALAR_FIELD;

/** Number of public signals of an inference circuit. */
export const ZK_PUBLIC_SIGNALS = 4;

/** What a zk proof is bound to: the chain, the `ZkMode` contract, the request and the submitter. */
export interface ZkBindingInput {
  chainId: bigint;
  zkMode: Address;
  requestId: bigint;
  submitter: Address;
}

/**
 * `uint256(keccak256(abi.encode(chainId, zkMode, requestId, submitter))) >> 3` (`ZkMode.zkBinding`): 253 bits, so
 * always inside the field. A proof made for one request and submitter on one deployment is worthless for any other,
 * so copying it from the mempool, or to another chain, gains nothing.
 */
export function zkBinding(input: ZkBindingInput): bigint {
  return (
    BigInt(
      keccak256(
        encodeAbiParameters(
          [{ type: "uint256" }, { type: "address" }, { type: "uint256" }, { type: "address" }],
          [input.chainId, input.zkMode, input.requestId, input.submitter],
        ),
      ),
    ) >> 3n
  );
}

/** The output bytes settlement emits and hashes for a zk result: `abi.encode(uint256 output)`. */
export function zkOutputBytes(output: bigint): Hex {
  return encodeAbiParameters([{ type: "uint256" }], [output]);
}

/** A field element as the `bytes32` a request's `inputHash` or a model's `zkCommitment` holds. */
export function fieldToBytes32(value: bigint): Hex {
  if (value < 0n || value >= SNARK_SCALAR_FIELD)
    throw new RangeError(`${value} is not a BN254 field element`);
  return `0x${value.toString(16).padStart(64, "0")}`;
}

/** A Groth16 proof as `fulfillZk` takes it (`IZkMode.ZkProof`): the protocol's one proof shape. */
export interface ZkProofArgs {
  a: readonly [bigint, bigint];
  b: readonly [readonly [bigint, bigint], readonly [bigint, bigint]];
  c: readonly [bigint, bigint];
}

type Writable<T> = { -readonly [K in keyof T]: Writable<T[K]> };

/** {@link ZkProofArgs} with mutable tuples, as typechain (ethers) bindings take it. */
export type WritableZkProofArgs = Writable<ZkProofArgs>;
