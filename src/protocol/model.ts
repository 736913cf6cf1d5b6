import type { Address, Hex } from "viem";

/** What `ModelRegistry.registerModel` takes (`IModelRegistry.ModelSpec`). */
export interface ModelSpecInput {
  name: string;
  fileHash: Hex;
  runtimeHash: Hex;
  zkCommitment: Hex;
  zkVerifier: Address;
  uri: string;
  fee: bigint;
  royaltyBps: number;
  modes: number;
}
