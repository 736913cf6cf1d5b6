import { formatUnits, type Address } from "viem";
import { operatorRegistryAbi } from "../../abi/index.js";
import type { KeySigner } from "../../modes/types.js";
import { requireAccount, writeAndWait, type OpgContext, type WriteResult } from "../context.js";
import { OpgError } from "../errors.js";
import { checkUint96 } from "../limits.js";
import { ensureAllowance } from "./approve.js";
import { getTokenBalance } from "./getTokenBalance.js";
import { signerProof } from "./signerProof.js";

export interface RegisterOperatorParams {
  /** The signing key (signs its proof of possession here). */
  signer: KeySigner;
  /** Where signature-mode earnings are credited. */
  payout: Address;
  /** First stake, OPG base units (pulled from the wallet's account). */
  amount: bigint;
}

/**
 * Register the wallet's account as an operator. Everything registration checks is checked before any transaction
 * (the proof, the key not used before, the account not registered, the OPG balance); only then is the registry
 * approved for `amount` (if needed) and the registration sent: a registration that would fail sends nothing.
 */
export async function registerOperator(
  ctx: OpgContext<"operators" | "token">,
  { signer, payout, amount }: RegisterOperatorParams,
): Promise<WriteResult> {
  const from = requireAccount(ctx);
  checkUint96(amount, "the stake");
  const proof = await signerProof(ctx, { signer });
  // Every check `register` makes but the stake transfer (whose allowance may not exist yet): with a zero stake.
  await ctx.publicClient.simulateContract({
    address: ctx.addresses.operators,
    abi: operatorRegistryAbi,
    functionName: "register",
    args: [signer.address, payout, 0n, proof],
    account: from,
  });
  if (amount > 0n) {
    const held = await getTokenBalance(ctx, { owner: from.address });
    if (held < amount) {
      throw new OpgError(
        "BadInput",
        `${from.address} holds ${formatUnits(held, 18)} OPG, less than the stake of ${formatUnits(amount, 18)} OPG: get OPG into this account first`,
      );
    }
  }
  await ensureAllowance(ctx, { spender: ctx.addresses.operators, amount });
  return writeAndWait(ctx, {
    address: ctx.addresses.operators,
    abi: operatorRegistryAbi,
    functionName: "register",
    args: [signer.address, payout, amount, proof],
  });
}
