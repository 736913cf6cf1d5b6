/** Reads a circom `.sym` file: signal name -> witness index (for inspecting internal signals). */
import { readFile } from "node:fs/promises";

/**
 * Map from full signal name (e.g. `main.layer[0].bits[3].out[12]`) to its witness index. Signals
 * that `--O2` eliminated (witness index -1) are left out.
 */
export async function readSymbols(path: string): Promise<Map<string, number>> {
  const symbols = new Map<string, number>();
  for (const line of (await readFile(path, "utf8")).split("\n")) {
    if (line === "") continue;
    const [, witness, , name] = line.split(",");
    const index = Number(witness);
    if (name !== undefined && index >= 0) symbols.set(name, index);
  }
  return symbols;
}
