import { isAddressEqual, type Hex } from "viem";
import type { ModeAuditContext } from "./types.js";

/** How a mode's settling call is named in a report: the check, the function, its contract, what it carries. */
export interface SettlingCallNames {
  check: string;
  functionName: string;
  contractName: string;
  evidence: string;
}

/**
 * The settling transaction's call to the mode contract, decoded by `decode`; when the transaction is not such a call
 * (e.g. relayed through another contract), a failed check says so and `undefined` is returned.
 */
export function settlingCall<T>(
  context: ModeAuditContext,
  decode: (data: Hex) => T | undefined,
  names: SettlingCallNames,
): T | undefined {
  const { transaction, modeContract, check } = context;
  const direct = transaction.to !== null && isAddressEqual(transaction.to, modeContract);
  const call = direct ? decode(transaction.input) : undefined;
  if (call === undefined) {
    check(
      names.check,
      false,
      `the settling transaction was sent to ${transaction.to ?? "no contract"}, not as ${names.functionName} to ${names.contractName} ${modeContract} (e.g. relayed through another contract): its ${names.evidence} cannot be read from it`,
    );
  }
  return call;
}
