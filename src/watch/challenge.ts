/**
 * Sending a challenge only when it would land, and never twice: the contract's evidence key is computed here as
 * `QuietMode` computes it; the call is simulated first (a revert such as `NothingToSlash`, `ChallengeClosed`,
 * `ReceiptEvidenceUsed` or `NotOmitted` means nothing is sent); the challenge is written to the state file as
 * `sending` before its transaction is, so after a crash the watcher checks the chain (the evidence used, the receipt
 * struck) before it sends again.
 */
import {
  encodeAbiParameters,
  keccak256,
  parseEventLogs,
  stringToHex,
  type Abi,
  type Address,
  type Hex,
  type SimulateContractParameters,
} from "viem";
import { quietModeAbi } from "../abi/index.js";
import type { QuietRequest, Receipt } from "../protocol/quiet.js";
import type { ZkProofArgs } from "../protocol/zk.js";
import { requireAccount, writeAndWait, type OpgContext } from "../sdk/context.js";
import { decodeProtocolError } from "../sdk/errors.js";
import type { QuietBatch, SignedQuietReceipt } from "../sdk/quiet.js";
import type { ChallengeKind, WatchStore } from "./store.js";

const tag = (name: string) => stringToHex(name, { size: 32 });

/** The evidence key a wrong-output challenge uses (one per receipt position). */
export function wrongOutputKey(operator: Address, seq: bigint): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "bytes32" }, { type: "address" }, { type: "uint64" }],
      [tag("wrong output"), operator, seq],
    ),
  );
}

/** The evidence key an omission, late or uncommitted challenge uses (one per `seq`). */
export function omissionKey(operator: Address, seq: bigint): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "bytes32" }, { type: "address" }, { type: "uint256" }],
      [tag("omission"), operator, seq],
    ),
  );
}

/** The evidence key of an equivocation: by `seq` when the two receipts share it, else by request. */
export function equivocationKey(operator: Address, by: { seq: bigint } | { request: Hex }): Hex {
  return "seq" in by
    ? keccak256(
        encodeAbiParameters(
          [{ type: "bytes32" }, { type: "address" }, { type: "uint256" }],
          [tag("equivocation"), operator, by.seq],
        ),
      )
    : keccak256(
        encodeAbiParameters(
          [{ type: "bytes32" }, { type: "address" }, { type: "bytes32" }],
          [tag("equivocation"), operator, by.request],
        ),
      );
}

const batchArg = (batch: QuietBatch) => ({
  root: batch.root,
  firstSeq: batch.firstSeq,
  count: batch.count,
  committedAt: batch.committedAt,
});
const receiptArg = (r: Receipt) => ({ ...r });
const requestArg = (q: QuietRequest) => ({ ...q });

/** One challenge, ready to simulate and send. */
export interface ChallengeCall {
  kind: ChallengeKind;
  operator: Address;
  seq: bigint;
  /** The contract's evidence key for it. */
  key: Hex;
  functionName: string;
  args: readonly unknown[];
}

/** A wrong-output challenge: the receipt and a Groth16 proof (bound to the challenger) of `output`. */
export function wrongOutputCall(
  evidence: SignedQuietReceipt,
  output: bigint,
  proof: ZkProofArgs,
): ChallengeCall {
  const { receipt, request, signature } = evidence;
  return {
    kind: "wrong_output",
    operator: receipt.operator,
    seq: receipt.seq,
    key: wrongOutputKey(receipt.operator, receipt.seq),
    functionName: "challengeOutput",
    args: [receiptArg(receipt), requestArg(request), signature, output, proof],
  };
}

/** An equivocation challenge: two receipts of one operator for one `seq` or one request. */
export function equivocationCall(a: SignedQuietReceipt, b: SignedQuietReceipt): ChallengeCall {
  const by = a.receipt.seq === b.receipt.seq ? { seq: a.receipt.seq } : { request: a.receipt.request };
  return {
    kind: "equivocation",
    operator: a.receipt.operator,
    seq: a.receipt.seq,
    key: equivocationKey(a.receipt.operator, by),
    functionName: "challengeEquivocation",
    args: [
      receiptArg(a.receipt),
      requestArg(a.request),
      a.signature,
      receiptArg(b.receipt),
      requestArg(b.request),
      b.signature,
    ],
  };
}

/** An omission challenge: the receipt is not the leaf committed at its position. */
export function omissionCall(
  evidence: SignedQuietReceipt,
  batchIndex: bigint,
  batch: QuietBatch,
  committedLeaf: Hex,
  proof: readonly Hex[],
): ChallengeCall {
  const { receipt, request, signature } = evidence;
  return {
    kind: "omission",
    operator: receipt.operator,
    seq: receipt.seq,
    key: omissionKey(receipt.operator, receipt.seq),
    functionName: "challengeOmission",
    args: [
      receiptArg(receipt),
      requestArg(request),
      signature,
      batchIndex,
      batchArg(batch),
      committedLeaf,
      proof,
    ],
  };
}

/** A late challenge: the receipt's `seq` was committed after its request's commit deadline. */
export function lateCall(evidence: SignedQuietReceipt, batchIndex: bigint, batch: QuietBatch): ChallengeCall {
  const { receipt, request, signature } = evidence;
  return {
    kind: "late",
    operator: receipt.operator,
    seq: receipt.seq,
    key: omissionKey(receipt.operator, receipt.seq),
    functionName: "challengeLate",
    args: [receiptArg(receipt), requestArg(request), signature, batchIndex, batchArg(batch)],
  };
}

/** An uncommitted challenge: the receipt's `seq` is still not committed after its request's commit deadline. */
export function uncommittedCall(evidence: SignedQuietReceipt): ChallengeCall {
  const { receipt, request, signature } = evidence;
  return {
    kind: "uncommitted",
    operator: receipt.operator,
    seq: receipt.seq,
    key: omissionKey(receipt.operator, receipt.seq),
    functionName: "challengeUncommitted",
    args: [receiptArg(receipt), requestArg(request), signature],
  };
}

/**
 * What became of a challenge: `won` (mined, slashed; `landed` when a `sending` one from before a restart is found
 * landed), `refused` (the simulation reverts: nothing sent; `reason` is the contract's error name), `known` (decided
 * before: nothing done), `failed` (sent and reverted).
 */
export type ChallengeOutcome =
  | { outcome: "won"; slashed: bigint; txHash: Hex }
  | { outcome: "landed" }
  | { outcome: "refused"; reason: string }
  | { outcome: "known" }
  | { outcome: "failed"; detail: string };

/** The stake a mined challenge took, from its `ReceiptStruck` or `OperatorChallenged` event. */
function slashedIn(logs: Parameters<typeof parseEventLogs>[0]["logs"]): bigint {
  const events = parseEventLogs({
    abi: quietModeAbi,
    logs,
    eventName: ["ReceiptStruck", "OperatorChallenged"],
  });
  return events[0]?.args.slashed ?? 0n;
}

/**
 * Send `call` from the challenger's wallet unless it was decided before or would revert. Transient failures (RPC) are
 * thrown: the caller retries on its next pass, and the `sending` row makes that retry check the chain first.
 */
export async function sendChallenge(
  ctx: OpgContext<"settlement">,
  quietMode: Address,
  store: WatchStore,
  call: ChallengeCall,
): Promise<ChallengeOutcome> {
  const existing = store.challenge(call.key);
  if (existing !== undefined && existing.state !== "sending") return { outcome: "known" };
  if (call.kind === "wrong_output") {
    const struck = await ctx.publicClient.readContract({
      address: quietMode,
      abi: quietModeAbi,
      functionName: "isStruck",
      args: [call.operator, call.seq],
    });
    if (struck) {
      if (existing !== undefined) {
        store.challengeDone(call.key, { state: "won", detail: "struck (landed before a restart)" });
        return { outcome: "landed" };
      }
      return { outcome: "refused", reason: "ReceiptIsStruck" };
    }
  }
  const request = {
    address: quietMode,
    abi: quietModeAbi as Abi,
    functionName: call.functionName,
    args: call.args,
    account: requireAccount(ctx),
  };
  try {
    await ctx.publicClient.simulateContract(request as unknown as SimulateContractParameters);
  } catch (error) {
    const reason = decodeProtocolError(error)?.name;
    if (reason === undefined) throw error;
    if (existing !== undefined && reason === "ReceiptEvidenceUsed") {
      store.challengeDone(call.key, { state: "won", detail: "evidence used (landed before a restart)" });
      return { outcome: "landed" };
    }
    return { outcome: "refused", reason };
  }
  store.challengeSending(call);
  try {
    const result = await writeAndWait(ctx, request as unknown as Parameters<typeof writeAndWait>[1]);
    const slashed = slashedIn(result.receipt.logs);
    store.challengeDone(call.key, { state: "won", txHash: result.hash, slashed });
    return { outcome: "won", slashed, txHash: result.hash };
  } catch (error) {
    const reason = decodeProtocolError(error)?.name;
    if (reason === undefined && !(error instanceof Error && /reverted/.test(error.message))) throw error;
    const detail = reason ?? (error as Error).message;
    store.challengeDone(call.key, { state: "failed", detail });
    return { outcome: "failed", detail };
  }
}
