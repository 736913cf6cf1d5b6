/**
 * A reusable witness calculator for circom 2 WebAssembly witness generators: the module is compiled
 * once and its instance reused (snarkjs's `wtns.calculate` recompiles the 4 MB module on every call,
 * ~0.3 s). A port of the `witness_calculator.js` circom writes next to the wasm, limited to inputs
 * that are flat arrays or single values.
 */
import { readFile } from "node:fs/promises";
import { toField } from "./field.js";

interface CircomExports {
  getVersion(): number;
  getFieldNumLen32(): number;
  getRawPrime(): void;
  readSharedRWMemory(i: number): number;
  writeSharedRWMemory(i: number, value: number): void;
  getWitnessSize(): number;
  getInputSize(): number;
  init(sanityCheck: number): void;
  getInputSignalSize(hashMsb: number, hashLsb: number): number;
  setInputSignal(hashMsb: number, hashLsb: number, index: number): void;
  getWitness(index: number): void;
  getMessageChar(): number;
}

const ERRORS: Record<number, string> = {
  1: "Signal not found.",
  2: "Too many signals set.",
  3: "Signal already set.",
  4: "Assert Failed.",
  5: "Not enough memory.",
  6: "Input signal array access exceeds the size.",
  7: "Out of bounds array access.",
};

/** circom's 64-bit FNV-1a hash of a signal name, as two 32-bit halves. */
function fnvHash(name: string): [number, number] {
  let hash = 0xcbf29ce484222325n;
  for (let i = 0; i < name.length; i++) {
    hash ^= BigInt(name.charCodeAt(i));
    hash = (hash * 0x100000001b3n) % (1n << 64n);
  }
  return [Number(hash >> 32n), Number(hash & 0xffffffffn)];
}

/** The WebAssembly API of Node (not in this project's TypeScript libs, which leave out the DOM). */
interface WasmApi {
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(
    module: object,
    imports: Record<string, Record<string, (...args: never[]) => unknown>>,
  ): Promise<{ exports: object }>;
}

const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export type WitnessInput = Readonly<Record<string, string | bigint | readonly (string | bigint)[]>>;

export interface WitnessCalculator {
  /** All wires of the witness (wire 0 is the constant 1); throws "Assert Failed." on a violated constraint. */
  calculate(input: WitnessInput): bigint[];
}

/** Compiles a circom witness generator (.wasm) once and returns a calculator reusing it. */
export async function loadWitnessCalculator(wasmPath: string): Promise<WitnessCalculator> {
  const module = await wasmApi.compile(await readFile(wasmPath));
  const state: { exports?: CircomExports } = {};
  let errors = "";
  const message = (): string => {
    let text = "";
    for (let c = state.exports?.getMessageChar() ?? 0; c !== 0; c = state.exports?.getMessageChar() ?? 0) {
      text += String.fromCharCode(c);
    }
    return text;
  };
  const instance = await wasmApi.instantiate(module, {
    runtime: {
      exceptionHandler(code: number): never {
        const text = `${ERRORS[code] ?? "Unknown error."}\n${errors}`;
        errors = "";
        throw new Error(text);
      },
      printErrorMessage(): void {
        errors += `${message()}\n`;
      },
      writeBufferMessage(): void {
        message();
      },
      showSharedRWMemory(): void {
        /* circom `log` of a value: not used by these circuits */
      },
    },
  });
  const wasm = instance.exports as unknown as CircomExports;
  state.exports = wasm;
  const n32 = wasm.getFieldNumLen32();
  const read = (): bigint => {
    let value = 0n;
    for (let j = n32 - 1; j >= 0; j--) value = (value << 32n) + BigInt(wasm.readSharedRWMemory(j) >>> 0);
    return value;
  };
  const witnessSize = wasm.getWitnessSize();

  return {
    calculate(input: WitnessInput): bigint[] {
      errors = "";
      wasm.init(0);
      let count = 0;
      for (const [name, value] of Object.entries(input)) {
        const values = Array.isArray(value)
          ? (value as readonly (string | bigint)[])
          : [value as string | bigint];
        const [msb, lsb] = fnvHash(name);
        const size = wasm.getInputSignalSize(msb, lsb);
        if (size < 0) throw new Error(`signal ${name} not found`);
        if (values.length !== size)
          throw new Error(`signal ${name} takes ${size} values, got ${values.length}`);
        values.forEach((v, i) => {
          let x = toField(BigInt(v));
          for (let j = 0; j < n32; j++) {
            wasm.writeSharedRWMemory(j, Number(x & 0xffffffffn));
            x >>= 32n;
          }
          wasm.setInputSignal(msb, lsb, i);
          count++;
        });
      }
      if (count < wasm.getInputSize()) throw new Error(`only ${count} of ${wasm.getInputSize()} inputs set`);
      const witness: bigint[] = [];
      for (let i = 0; i < witnessSize; i++) {
        wasm.getWitness(i);
        witness.push(read());
      }
      return witness;
    },
  };
}
