import {
  decodeFunctionData,
  formatUnits,
  keccak256,
  recoverTypedDataAddress,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { inferenceSettlementAbi, modelRegistryAbi, operatorRegistryAbi } from "../abi/index.js";
import { fromDataUri } from "../model/encoding.js";
import { computeModelId } from "../protocol/ids.js";
import { modeName, RequestStatus, VerificationMode } from "../protocol/modes.js";
import { hashRequest, toInferenceRequest, type InferenceRequest } from "../protocol/request.js";
import { resultTypedData, settlementDomain } from "../protocol/typed-data.js";

/** What the auditor brings besides chain data: the model file and a way to run it. */
export interface AuditOptions {
  client: PublicClient;
  settlement: Address;
  requestId: bigint;
  /** The model file's bytes (from its URI or a local copy); checked against the registered sha256. */
  modelFile?: Uint8Array;
  /** sha256 of a byte string, as 0x-hex (the registry's file-hash function). */
  sha256?: (bytes: Uint8Array) => Hex;
  /** The runtime descriptor's hash the auditor runs under; checked against the registered runtime hash. */
  runtimeHash?: Hex;
  /** Re-executes the committed model on the committed input and returns the output bytes. */
  runModel?: (input: Uint8Array) => Promise<Uint8Array>;
  /** Reads the input bytes from the request's input URI (by default only `data:` URIs are read). */
  readInput?: (uri: string) => Promise<Uint8Array | undefined>;
  /** First block to search for the request's events (defaults to 0). */
  fromBlock?: bigint;
}

export interface AuditCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export type AuditVerdict = "verified" | "rejected" | "pending" | "refunded" | "unknown";

export interface AuditReport {
  requestId: bigint;
  verdict: AuditVerdict;
  checks: AuditCheck[];
  request?: InferenceRequest;
  result?: {
    operator: Address;
    payout: Address;
    signer: Address;
    outputHash: Hex;
    output: Hex;
    outputUri: string;
    transactionHash: Hex;
    blockNumber: bigint;
  };
  model?: { fileHash: Hex; runtimeHash: Hex; owner: Address; familyId: Hex };
}

/** The default input reader: only inputs carried on chain in a `data:` URI. */
function readDataUri(uri: string): Promise<Uint8Array | undefined> {
  try {
    return Promise.resolve(fromDataUri(uri));
  } catch {
    return Promise.resolve(undefined);
  }
}

/**
 * Answer "what ran?" for one request from chain data alone: the request as opened, the result as settled, the
 * signature in the settling transaction, the model version's commitment in the registry and the operator's key
 * and stake at the settling block. With the model file and a runner it also re-executes the model on the
 * committed input and compares the output hash. Every check carries its evidence.
 */
export async function auditRequest(options: AuditOptions): Promise<AuditReport> {
  const { client, settlement, requestId } = options;
  const fromBlock = options.fromBlock ?? 0n;
  const checks: AuditCheck[] = [];
  const check = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });

  const [opened] = await client.getContractEvents({
    address: settlement,
    abi: inferenceSettlementAbi,
    eventName: "RequestOpened",
    args: { requestId },
    fromBlock,
    strict: true,
  });
  if (opened === undefined) {
    check("request exists", false, `no RequestOpened event for request ${requestId} at ${settlement}`);
    return { requestId, verdict: "unknown", checks };
  }
  const request = toInferenceRequest(opened.args.request);
  const inputUri = opened.args.inputUri;
  check(
    "request opened",
    true,
    `block ${opened.blockNumber}, tx ${opened.transactionHash}, mode ${modeName(request.mode)}`,
  );

  const statusIndex = await client.readContract({
    address: settlement,
    abi: inferenceSettlementAbi,
    functionName: "requestStatus",
    args: [requestId],
  });
  const status = RequestStatus[statusIndex] ?? "None";
  if (status === "Pending") return { requestId, verdict: "pending", checks, request };
  if (status === "Refunded") {
    check("request refunded", true, "no result was delivered; the fee went back to the requester");
    return { requestId, verdict: "refunded", checks, request };
  }

  const [fulfilled] = await client.getContractEvents({
    address: settlement,
    abi: inferenceSettlementAbi,
    eventName: "RequestFulfilled",
    args: { requestId },
    fromBlock,
    strict: true,
  });
  if (fulfilled === undefined) {
    check("result settled", false, `status is ${status} but no RequestFulfilled event was found`);
    return { requestId, verdict: "rejected", checks, request };
  }
  const { operator, payout, signer, outputHash, output, outputUri } = fulfilled.args;
  const result = {
    operator,
    payout,
    signer,
    outputHash,
    output,
    outputUri,
    transactionHash: fulfilled.transactionHash,
    blockNumber: fulfilled.blockNumber,
  };
  check(
    "result settled",
    true,
    `block ${fulfilled.blockNumber}, tx ${fulfilled.transactionHash}, status ${status}`,
  );
  check(
    "inline output matches output hash",
    output === "0x" || keccak256(output) === outputHash,
    output === "0x" ? `output given by URI only: ${outputUri}` : `keccak256(output) = ${keccak256(output)}`,
  );

  // The settling transaction: the request it re-posted and, in signature mode, the signature.
  const tx = await client.getTransaction({ hash: fulfilled.transactionHash });
  if (request.mode === VerificationMode.Signature) {
    let decoded: ReturnType<typeof decodeFunctionData<typeof inferenceSettlementAbi>> | undefined;
    try {
      decoded = decodeFunctionData({ abi: inferenceSettlementAbi, data: tx.input });
    } catch {
      decoded = undefined;
    }
    if (decoded?.functionName !== "fulfillSigned" || tx.to?.toLowerCase() !== settlement.toLowerCase()) {
      check(
        "signature found",
        false,
        "the settling call was not a direct fulfillSigned (e.g. via a contract)",
      );
    } else {
      const [posted, , , signature] = decoded.args;
      check(
        "settled request equals opened request",
        hashRequest(toInferenceRequest(posted)) === hashRequest(request),
        `commitment ${hashRequest(request)}`,
      );
      const domain = settlementDomain(await client.getChainId(), settlement);
      const recovered = await recoverTypedDataAddress({
        ...resultTypedData(domain, {
          requestId,
          modelId: request.modelId,
          inputHash: request.inputHash,
          outputHash,
          operator,
        }),
        signature,
      });
      check(
        "EIP-712 signature recovers the signer",
        recovered.toLowerCase() === signer.toLowerCase(),
        `recovered ${recovered} over (chain ${domain.chainId}, contract ${settlement}, request ${requestId}, model, input, output, operator)`,
      );
    }
  }

  // The operator's key and stake at the settling block.
  const registry = await client.readContract({
    address: settlement,
    abi: inferenceSettlementAbi,
    functionName: "operators",
  });
  const at = { blockNumber: fulfilled.blockNumber };
  const [record, minStake, keyOwner] = await Promise.all([
    client.readContract({
      address: registry,
      abi: operatorRegistryAbi,
      functionName: "getOperator",
      args: [operator],
      ...at,
    }),
    client.readContract({ address: registry, abi: operatorRegistryAbi, functionName: "minStake", ...at }),
    client.readContract({
      address: registry,
      abi: operatorRegistryAbi,
      functionName: "operatorOfSigner",
      args: [signer],
      ...at,
    }),
  ]);
  check(
    "signer is the operator's registered key",
    record.signer.toLowerCase() === signer.toLowerCase() && keyOwner.toLowerCase() === operator.toLowerCase(),
    `operator ${operator}: key ${record.signer} at block ${fulfilled.blockNumber}`,
  );
  check(
    "operator was staked",
    record.stake >= minStake,
    `stake ${formatUnits(record.stake, 18)} OPG, minimum ${formatUnits(minStake, 18)} OPG, at block ${fulfilled.blockNumber}`,
  );

  // The model version: its id is derived from its content, so check the derivation, then the file.
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
  const model = {
    fileHash: version.fileHash,
    runtimeHash: version.runtimeHash,
    owner: version.owner,
    familyId: version.familyId,
  };
  const derived = computeModelId({
    familyId: version.familyId,
    fileHash: version.fileHash,
    runtimeHash: version.runtimeHash,
    zkCommitment: version.zkCommitment,
    zkVerifier: version.zkVerifier,
  });
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

  // The input, and re-execution.
  const input = await (options.readInput ?? readDataUri)(inputUri);
  if (input === undefined) {
    check(
      "input available",
      false,
      inputUri === "" ? "the request carried no input URI" : `could not read ${inputUri}`,
    );
  } else {
    check(
      "input matches the input hash",
      keccak256(input) === request.inputHash,
      `keccak256(input) = ${keccak256(input)}`,
    );
    if (options.runModel !== undefined) {
      const rerun = await options.runModel(input);
      check(
        "re-executed output matches the result",
        keccak256(rerun) === outputHash,
        `re-run output hash ${keccak256(rerun)} vs settled ${outputHash}`,
      );
    }
  }

  const verdict: AuditVerdict = checks.every((c) => c.ok) ? "verified" : "rejected";
  return { requestId, verdict, checks, request, result, model };
}
