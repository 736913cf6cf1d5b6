import type { Address, Hex } from "viem";

/** What `ModelRegistry.registerModel` takes (`IModelRegistry.ModelSpec`). */
export interface ModelSpecInput {
  name: string;
  fileHash: Hex;
  runtimeHash: Hex;
  zkCommitment: Hex;
  zkVerifier: Address;
  /** The verifier's code hash (`extcodehash`), zero without a verifier; checked at registration and every proof. */
  zkVerifierCodeHash: Hex;
  uri: string;
  fee: bigint;
  royaltyBps: number;
  modes: number;
}
