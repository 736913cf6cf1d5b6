import type { Hex } from "viem";
import { mnemonicToAccount } from "viem/accounts";

/** The mnemonic of Hardhat's (and Anvil's) default accounts: public, for local chains only. */
export const TEST_MNEMONIC = "test test test test test test test test test test test junk";

/** The private key of default account `index` (public: never use it outside a local chain). */
export function testAccountKey(index: number): Hex {
  const key = mnemonicToAccount(TEST_MNEMONIC, { addressIndex: index }).getHdKey().privateKey;
  if (key === null) throw new Error(`no key for test account ${index}`);
  return `0x${Buffer.from(key).toString("hex")}`;
}
