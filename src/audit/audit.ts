import { keccak256, type Address, type Hex, type PublicClient } from "viem";
import { inferenceSettlementAbi, modelRegistryAbi } from "../abi/index.js";
import { modeAuditor } from "../modes/auditors.js";
import { boundModeContract } from "../modes/contracts.js";
import type { AuditTools, ModeAuditContext } from "../modes/types.js";
import { fromDataUri } from "../model/encoding.js";
import { computeModelId } from "../protocol/ids.js";
import { modeName } from "../protocol/modes.js";
import type { InferenceRequest } from "../protocol/request.js";
import { getRequest } from "../sdk/actions/getRequest.js";
import { OpgError } from "../sdk/errors.js";
import type { RequestInfo } from "../sdk/types.js";
import type { AuditCheck, AuditedModel, AuditReport, AuditVerdict } from "./types.js";

export type { AuditCheck, AuditedModel, AuditReport, AuditResult, AuditVerdict } from "./types.js";
export type { AuditTools } from "../modes/types.js";

/** What the auditor brings besides chain data: the model file and ways to run and verify it (per mode). */
export interface AuditOptions extends AuditTools {
  client: PublicClient;
  /** The core (`InferenceSettlement`); the mode contracts are found through it. */
  settlement: Address;
  requestId: bigint;
  /** The model file's bytes (from its URI or a local copy); checked against the registered sha256. */
  modelFile?: Uint8Array;
  /** sha256 of a byte string, as 0x-hex (the registry's file-hash function). */
  sha256?: (bytes: Uint8Array) => Hex;
  /** The runtime descriptor's hash the auditor runs under; checked against the registered runtime hash. */
  runtimeHash?: Hex;
  /** Reads the input bytes from the request's input URI (by default only `data:` URIs are read). */
  readInput?: (uri: string) => Promise<Uint8Array | undefined>;
  /** First block to search for the request's events (defaults to 0). */
  fromBlock?: bigint;
}

type Check = (name: string, ok: boolean, detail: string) => void;

/** The default input reader: only inputs carried on chain in a `data:` URI. */
function readDataUri(uri: string): Promise<Uint8Array | undefined> {
  try {
    return Promise.resolve(fromDataUri(uri));
  } catch {
    return Promise.resolve(undefined);
  }
}

/**
 * Answer "what ran?" for one request from chain data alone: the request as opened, the result as settled, the model
 * version's commitment in the registry, then what the request's verification mode proves (its module in
 * `src/modes/`): the signature or proof in the settling transaction, and the input against the request's commitment.
 * With the model file and a runner it also re-executes the model on the committed input and compares the output.
 * Every check carries its evidence.
 */
export async function auditRequest(options: AuditOptions): Promise<AuditReport> {
  const { client, settlement, requestId } = options;
  const fromBlock = options.fromBlock ?? 0n;
  const checks: AuditCheck[] = [];
  const check: Check = (name, ok, detail) => checks.push({ name, ok, detail });

  // The SDK's one request read: the opening event, the status and, once settled, the result.
  let info: RequestInfo;
  try {
    info = await getRequest({ publicClient: client, addresses: { settlement } }, { requestId, fromBlock });
  } catch (error) {
    if (!(error instanceof OpgError && error.code === "UnknownRequest")) throw error;
    check("request exists", false, `no RequestOpened event for request ${requestId} at ${settlement}`);
    return { requestId, verdict: "unknown", checks };
  }
  const { request, status } = info;
  check(
    "request opened",
    true,
    `block ${info.blockNumber}, tx ${info.transactionHash}, mode ${modeName(request.mode)}`,
  );
  if (status === "Pending") return { requestId, verdict: "pending", checks, request };
  if (status === "Refunded") {
    check("request refunded", true, "no result was delivered; the fee went back to the requester");
    return { requestId, verdict: "refunded", checks, request };
  }
  const result = info.result;
  if (result === undefined) {
    check("result settled", false, `status is ${status} but no RequestFulfilled event was found`);
    return { requestId, verdict: "rejected", checks, request };
  }
  check(
    "result settled",
    true,
    `block ${result.blockNumber}, tx ${result.transactionHash}, status ${status}`,
  );
  check(
    "inline output matches output hash",
    result.output === "0x" || keccak256(result.output) === result.outputHash,
    result.output === "0x"
      ? `output given by URI only: ${result.outputUri}`
      : `keccak256(output) = ${keccak256(result.output)}`,
  );

  const model = await auditModel(options, request, check);
  const mode = modeAuditor(request.mode);
  const modeContract = await boundModeContract(client, settlement, request.mode, fromBlock);
  if (mode === undefined || modeContract === undefined) {
    check(
      "verification mode known",
      false,
      mode === undefined
        ? `mode ${modeName(request.mode)} is not one this auditor can check`
        : `no contract was ever bound to mode ${mode.name} at ${settlement}`,
    );
  } else {
    const [transaction, chainId] = await Promise.all([
      client.getTransaction({ hash: result.transactionHash }),
      client.getChainId(),
    ]);
    const context: ModeAuditContext = {
      client,
      chainId: BigInt(chainId),
      settlement,
      modeContract,
      requestId,
      request,
      result,
      transaction: { from: transaction.from, to: transaction.to, input: transaction.input },
      model,
      tools: options,
      check,
    };
    await mode.auditSettlement(context);
    const input = await (options.readInput ?? readDataUri)(info.inputUri);
    if (input === undefined) {
      const uri = info.inputUri;
      check(
        "input available",
        false,
        uri === "" ? "the request carried no input URI" : `could not read ${uri}`,
      );
    } else {
      await mode.auditInput(context, input);
    }
  }

  const verdict: AuditVerdict = checks.every((c) => c.ok) ? "verified" : "rejected";
  return { requestId, verdict, checks, request, result, model };
}

/** The model version: its id derives from its content, so check the derivation, then the file and runtime. */
async function auditModel(
  options: AuditOptions,
  request: InferenceRequest,
  check: Check,
): Promise<AuditedModel> {
  const { client, settlement } = options;
  const modelsAddress = await client.readContract({
    address: settlement,
    abi: inferenceSettlementAbi,
    functionName: "models",
  });
  const version = await client.readContract({
    address: modelsAddress,
    abi: modelRegistryAbi,
    functionName: "getModel",
    args: [request.modelId],
  });
  const derived = computeModelId(version);
  check(
    "model id derives from its content",
    derived === request.modelId,
    `model ${request.modelId}, file sha256 ${version.fileHash}`,
  );
  if (options.modelFile !== undefined && options.sha256 !== undefined) {
    const fileHash = options.sha256(options.modelFile);
    check("model file matches the commitment", fileHash === version.fileHash, `sha256(file) = ${fileHash}`);
  }
  if (options.runtimeHash !== undefined) {
    check(
      "runtime matches the commitment",
      options.runtimeHash === version.runtimeHash,
      `runtime hash ${options.runtimeHash}`,
    );
  }
  return {
    fileHash: version.fileHash,
    runtimeHash: version.runtimeHash,
    owner: version.owner,
    familyId: version.familyId,
    zkCommitment: version.zkCommitment,
    zkVerifier: version.zkVerifier,
    zkVerifierCodeHash: version.zkVerifierCodeHash,
  };
}
