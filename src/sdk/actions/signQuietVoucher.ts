import type { Address, Hex } from "viem";
import { quietRequestTypedData, type QuietRequest } from "../../protocol/quiet.js";
import { requireAccount, type OpgContext } from "../context.js";
import { OpgError } from "../errors.js";
import { checkUint96 } from "../limits.js";
import { getQuietMode } from "./getQuietMode.js";

const UINT64_MAX = 2n ** 64n - 1n;

export interface SignQuietVoucherParams {
  /** The operator asked to answer (and paid by the voucher). */
  operator: Address;
  modelId: Hex;
  /** keccak256 of the input bytes, or for a zk-circuit model the circuit's Poseidon input commitment. */
  inputHash: Hex;
  /** This inference's fee (at least the model version's fee). */
  fee: bigint;
  /** The running total: the sum of `fee` over indexes `0…index` of the (payer, operator, model) sub-channel. */
  cumulative: bigint;
  /** The payer's request counter in the sub-channel, from 0. */
  index: bigint;
  /** Unix seconds (chain time) the operator must answer by: at most the mode's `maxTtl` ahead when it answers. */
  deadline: bigint;
}

/** A quiet request signed by its payer: what an operator's endpoint takes, and later the payment voucher. */
export interface SignedQuietRequest {
  request: QuietRequest;
  signature: Hex;
}

function checkUint64(value: bigint, what: string): bigint {
  if (value < 0n || value > UINT64_MAX)
    throw new OpgError("BadInput", `${what} is out of range (0 to 2^64 - 1): ${value}`);
  return value;
}

/**
 * Sign a quiet-mode request (docs/quiet.md) as the wallet's account, its payer, under this deployment's `QuietMode`
 * domain (chain id and contract). The request is also the voucher the operator redeems: `cumulative` is what the
 * payer owes the operator for this model so far, this fee included. Fields are checked against their Solidity types.
 */
export async function signQuietVoucher(
  ctx: OpgContext<"settlement">,
  params: SignQuietVoucherParams,
): Promise<SignedQuietRequest> {
  const account = requireAccount(ctx);
  checkUint96(params.fee, "the fee");
  checkUint96(params.cumulative, "the running total (cumulative)");
  if (params.cumulative < params.fee) {
    throw new OpgError(
      "BadInput",
      `the running total ${params.cumulative} is below this request's fee ${params.fee}: it must include it`,
    );
  }
  checkUint64(params.index, "the request index");
  checkUint64(params.deadline, "the deadline");
  const request: QuietRequest = {
    payer: account.address,
    operator: params.operator,
    modelId: params.modelId,
    inputHash: params.inputHash,
    fee: params.fee,
    cumulative: params.cumulative,
    index: params.index,
    deadline: params.deadline,
  };
  const { domain } = await getQuietMode(ctx);
  const signature = await ctx.walletClient!.signTypedData({
    account,
    ...quietRequestTypedData(domain, request),
  });
  return { request, signature };
}
