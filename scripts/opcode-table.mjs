/**
 * Prints the opcode table of `contracts/libraries/PureBytecode.sol` (`OPS_00` … `OPS_E0`): one byte per opcode,
 * 0x80 if a pure verifier may use it, the low three bits the items it pops, 0x08 if it pushes one, 0x10 if execution
 * never falls through it. Every opcode not set here (state, context, calls, creation, undefined ones) stays 0:
 * forbidden. Run `node scripts/opcode-table.mjs` and paste the words into the library when the table changes.
 */
const t = new Array(256).fill(0);
const set = (op, pops, pushes, term = false) => {
  t[op] = 0x80 | pops | (pushes ? 0x08 : 0) | (term ? 0x10 : 0);
};
set(0x00, 0, 0, true);
for (const op of [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0a, 0x0b]) set(op, 2, 1);
set(0x08, 3, 1);
set(0x09, 3, 1);
for (const op of [0x10, 0x11, 0x12, 0x13, 0x14, 0x16, 0x17, 0x18, 0x1a, 0x1b, 0x1c, 0x1d]) set(op, 2, 1);
set(0x15, 1, 1);
set(0x19, 1, 1);
set(0x20, 2, 1);
set(0x30, 0, 1);
set(0x33, 0, 1);
set(0x34, 0, 1);
set(0x35, 1, 1);
set(0x36, 0, 1);
set(0x37, 3, 0);
set(0x38, 0, 1);
set(0x39, 3, 0);
set(0x3d, 0, 1);
set(0x3e, 3, 0);
set(0x46, 0, 1);
set(0x50, 1, 0);
set(0x51, 1, 1);
set(0x52, 2, 0);
set(0x53, 2, 0);
set(0x56, 1, 0, true);
set(0x57, 2, 0);
set(0x58, 0, 1);
set(0x59, 0, 1);
set(0x5a, 0, 1);
set(0x5e, 3, 0);
// JUMPDEST, PUSH0..PUSH32, DUP, SWAP, STATICCALL: handled by the scanner itself (marked allowed here)
t[0x5b] = 0x80;
for (let op = 0x5f; op <= 0x9f; op++) t[op] = 0x80;
for (let n = 0; n <= 4; n++) set(0xa0 + n, 2 + n, 0);
set(0xf3, 2, 0, true);
set(0xfa, 6, 1);
set(0xfd, 2, 0, true);
set(0xfe, 0, 0, true);
const words = [];
for (let w = 0; w < 8; w++)
  words.push(
    "0x" +
      t
        .slice(w * 32, w * 32 + 32)
        .map((b) => b.toString(16).padStart(2, "0"))
        .join(""),
  );
console.log(words.join("\n"));
