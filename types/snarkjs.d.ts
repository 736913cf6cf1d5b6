/**
 * The parts of snarkjs 0.7.6 used by src/zk (the package ships no types). Field elements travel as
 * decimal strings in proofs, public signals and verification keys.
 */
declare module "snarkjs" {
  /** snarkjs calls `info`, `debug`, `log`, `warn` and `error` on a logger it is given. */
  export interface SnarkjsLogger {
    info(message: string): void;
    debug(message: string): void;
    log(message: string): void;
    warn(message: string): void;
    error(message: string): void;
  }

  /** An in-memory file for snarkjs's fastfile layer; `data` is filled in by a writer. */
  export interface MemFile {
    type: "mem";
    data?: Uint8Array;
  }

  export interface Groth16Proof {
    pi_a: [string, string, string];
    pi_b: [[string, string], [string, string], [string, string]];
    pi_c: [string, string, string];
    protocol: "groth16";
    curve: "bn128";
  }

  export interface Groth16VerificationKey {
    protocol: "groth16";
    curve: "bn128";
    nPublic: number;
    vk_alpha_1: string[];
    vk_beta_2: string[][];
    vk_gamma_2: string[][];
    vk_delta_2: string[][];
    vk_alphabeta_12: string[][][];
    IC: string[][];
  }

  export interface R1csInfo {
    nConstraints: number;
    nPubInputs: number;
    nPrvInputs: number;
    nOutputs: number;
    nVars: number;
    nLabels: number;
  }

  export type CircuitSignals = Record<string, string | bigint | number | (string | bigint | number)[]>;

  export const groth16: {
    fullProve(
      input: CircuitSignals,
      wasmFile: string | MemFile,
      zkeyFile: string | MemFile,
      logger?: SnarkjsLogger,
    ): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    prove(
      zkeyFile: string | MemFile,
      witnessFile: string | MemFile,
      logger?: SnarkjsLogger,
    ): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    verify(
      vkey: Groth16VerificationKey,
      publicSignals: readonly string[],
      proof: Groth16Proof,
      logger?: SnarkjsLogger,
    ): Promise<boolean>;
  };

  export const wtns: {
    calculate(input: CircuitSignals, wasmFile: string | MemFile, wtnsFile: string | MemFile): Promise<void>;
    exportJson(wtnsFile: string | MemFile): Promise<bigint[]>;
  };

  export const r1cs: {
    info(r1csFile: string, logger?: SnarkjsLogger): Promise<R1csInfo>;
  };

  export const powersOfTau: {
    newAccumulator(
      curve: unknown,
      power: number,
      ptauFile: string,
      logger?: SnarkjsLogger,
    ): Promise<Uint8Array>;
    contribute(
      oldPtau: string,
      newPtau: string,
      name: string,
      entropy: string,
      logger?: SnarkjsLogger,
    ): Promise<Uint8Array>;
    beacon(
      oldPtau: string,
      newPtau: string,
      name: string,
      beaconHashHex: string,
      numIterationsExp: number,
      logger?: SnarkjsLogger,
    ): Promise<Uint8Array>;
    preparePhase2(oldPtau: string, newPtau: string, logger?: SnarkjsLogger): Promise<void>;
  };

  export const zKey: {
    newZKey(
      r1csFile: string,
      ptauFile: string,
      zkeyFile: string,
      logger?: SnarkjsLogger,
    ): Promise<Uint8Array>;
    contribute(
      oldZkey: string,
      newZkey: string,
      name: string,
      entropy: string,
      logger?: SnarkjsLogger,
    ): Promise<Uint8Array>;
    beacon(
      oldZkey: string,
      newZkey: string,
      name: string,
      beaconHashHex: string,
      numIterationsExp: number,
      logger?: SnarkjsLogger,
    ): Promise<Uint8Array>;
    verifyFromR1cs(
      r1csFile: string,
      ptauFile: string,
      zkeyFile: string,
      logger?: SnarkjsLogger,
    ): Promise<boolean>;
    exportVerificationKey(zkeyFile: string, logger?: SnarkjsLogger): Promise<Groth16VerificationKey>;
    exportSolidityVerifier(
      zkeyFile: string,
      templates: { groth16: string },
      logger?: SnarkjsLogger,
    ): Promise<string>;
  };

  /** A pairing-friendly curve from ffjavascript; only `terminate` (stop its worker threads) is used. */
  export interface Curve {
    terminate(): Promise<void>;
  }

  export const curves: {
    getCurveFromName(name: "bn128" | "bls12381"): Promise<Curve>;
  };
}
