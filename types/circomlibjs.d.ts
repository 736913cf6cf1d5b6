/** The part of circomlibjs 0.1.7 used by src/zk (the package ships no types). */
declare module "circomlibjs" {
  /** The BN254 scalar field as circomlibjs's Poseidon represents it (elements are Uint8Arrays). */
  export interface PoseidonField {
    toObject(element: Uint8Array): bigint;
    e(value: bigint | string | number): Uint8Array;
  }

  /** circomlib's Poseidon (same constants and rounds as circomlib/circuits/poseidon.circom), 1..16 inputs. */
  export interface Poseidon {
    (inputs: readonly (bigint | Uint8Array)[]): Uint8Array;
    F: PoseidonField;
  }

  export function buildPoseidon(): Promise<Poseidon>;
}
