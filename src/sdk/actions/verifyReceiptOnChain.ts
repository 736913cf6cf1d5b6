import type { Hex } from "viem";
import { quietModeAbi } from "../../abi/index.js";
import type { QuietRequest, Receipt } from "../../protocol/quiet.js";
import type { OpgContext } from "../context.js";
import { getQuietMode } from "./getQuietMode.js";
import type { QuietBatch } from "../quiet.js";

export interface VerifyReceiptOnChainParams {
  receipt: Receipt;
  /** The request it answers. */
  request: QuietRequest;
  /** The index of the batch holding it in its operator's log. */
  batchIndex: bigint;
  /** That batch's fields, as committed (`commitReceiptBatch` returns them). */
  batch: QuietBatch;
  /** The receipt leaf's Merkle proof in the batch (`LogTree.proof(seq - firstSeq)`). */
  proof: readonly Hex[];
}

/**
 * Whether the contract accepts a receipt as final (`verifyReceipt`, what a consumer contract calls): committed at its
 * position in a batch committed in time, not struck, past its request's challenge deadline. Resolves to `true`, or
 * throws the contract's revert (decode it with `decodeProtocolError`: `NotFinal`, `ReceiptIsStruck`,
 * `InvalidLogProof`, `UnknownBatch`, `BatchCommittedLate`, …).
 */
export async function verifyReceiptOnChain(
  ctx: OpgContext<"settlement">,
  { receipt, request, batchIndex, batch, proof }: VerifyReceiptOnChainParams,
): Promise<true> {
  const { address } = await getQuietMode(ctx);
  await ctx.publicClient.readContract({
    address,
    abi: quietModeAbi,
    functionName: "verifyReceipt",
    args: [
      receipt,
      request,
      batchIndex,
      { root: batch.root, firstSeq: batch.firstSeq, count: batch.count, committedAt: batch.committedAt },
      proof,
    ],
  });
  return true;
}
