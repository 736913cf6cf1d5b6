import { encodeAbiParameters, keccak256, type Address, type Hex } from "viem";

const ZERO_HASH: Hex = `0x${"0".repeat(64)}`;
const ZERO_ADDRESS: Address = `0x${"0".repeat(40)}`;

/** `ModelRegistry.computeFamilyId`: a family name is namespaced by its owner. */
export function computeFamilyId(owner: Address, name: string): Hex {
  return keccak256(encodeAbiParameters([{ type: "address" }, { type: "string" }], [owner, name]));
}

/** The parts of a model version its id is derived from. */
export interface ModelCommitment {
  familyId: Hex;
  fileHash: Hex;
  runtimeHash: Hex;
  zkCommitment?: Hex;
  zkVerifier?: Address;
  /** The verifier's code hash (`extcodehash`), pinned in the id. */
  zkVerifierCodeHash?: Hex;
}

/** `ModelRegistry.computeModelId`: one id can never mean other bytes. */
export function computeModelId(c: ModelCommitment): Hex {
  return keccak256(
    encodeAbiParameters(
      [
        { type: "bytes32" },
        { type: "bytes32" },
        { type: "bytes32" },
        { type: "bytes32" },
        { type: "address" },
        { type: "bytes32" },
      ],
      [
        c.familyId,
        c.fileHash,
        c.runtimeHash,
        c.zkCommitment ?? ZERO_HASH,
        c.zkVerifier ?? ZERO_ADDRESS,
        c.zkVerifierCodeHash ?? ZERO_HASH,
      ],
    ),
  );
}
