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
import { zkBinding, zkOutputBytes, type ZkProofArgs } from "../protocol/zk.js";

/** What the auditor brings besides chain data: the model file and ways to run and verify it. */
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
  /** Signature mode: re-executes the committed model on the committed input and returns the output bytes. */
  runModel?: (input: Uint8Array) => Promise<Uint8Array>;
  /** Reads the input bytes from the request's input URI (by default only `data:` URIs are read). */
  readInput?: (uri: string) => Promise<Uint8Array | undefined>;
  /** Zk mode: verifies a Groth16 proof against the four public signals (e.g. snarkjs with the model's vkey). */
  verifyZkProof?: (publicSignals: readonly bigint[], proof: ZkProofArgs) => Promise<boolean>;
  /** Zk mode: the circuit's commitment to an input (the input hash of zk requests). */
  zkInputCommitment?: (input: Uint8Array) => Promise<Hex>;
  /** Zk mode: re-executes the circuit's fixed-point model on the input and returns the public output. */
  runZkModel?: (input: Uint8Array) => Promise<bigint>;
  /** First block to search for the request's events (defaults to 0). */
  fromBlock?: bigint;
}

export interface AuditCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export type AuditVerdict = "verified" | "rejected" | "pending" | "refunded" | "unknown";

export interface AuditResult {
  operator: Address;
  payout: Address;
  signer: Address;
  outputHash: Hex;
  output: Hex;
  outputUri: string;
  transactionHash: Hex;
  blockNumber: bigint;
}

export interface AuditReport {
  requestId: bigint;
  verdict: AuditVerdict;
  checks: AuditCheck[];
  request?: InferenceRequest;
  result?: AuditResult;
  model?: { fileHash: Hex; runtimeHash: Hex; owner: Address; familyId: Hex; zkCommitment: Hex };
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
 * Answer "what ran?" for one request from chain data alone: the request as opened, the result as settled, the
 * signature or proof in the settling transaction, the model version's commitment in the registry and, in
 * signature mode, the operator's key and stake at the settling block. With the model file and a runner it also
 * re-executes the model on the committed input and compares the output. Every check carries its evidence.
 */
export async function auditRequest(options: AuditOptions): Promise<AuditReport> {
  const { client, settlement, requestId } = options;
  const fromBlock = options.fromBlock ?? 0n;
  const checks: AuditCheck[] = [];
  const check: Check = (name, ok, detail) => checks.push({ name, ok, detail });

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
  check(
    "request opened",
    true,
    `block ${opened.blockNumber}, tx ${opened.transactionHash}, mode ${modeName(request.mode)}`,
  );

  const status =
    RequestStatus[
      await client.readContract({
        address: settlement,
        abi: inferenceSettlementAbi,
        functionName: "requestStatus",
        args: [requestId],
      })
    ] ?? "None";
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
  const result: AuditResult = {
    ...fulfilled.args,
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
    result.output === "0x" || keccak256(result.output) === result.outputHash,
    result.output === "0x"
      ? `output given by URI only: ${result.outputUri}`
      : `keccak256(output) = ${keccak256(result.output)}`,
  );

  const tx = await client.getTransaction({ hash: fulfilled.transactionHash });
  const direct = tx.to?.toLowerCase() === settlement.toLowerCase();
  let call: ReturnType<typeof decodeFunctionData<typeof inferenceSettlementAbi>> | undefined;
  try {
    call = direct ? decodeFunctionData({ abi: inferenceSettlementAbi, data: tx.input }) : undefined;
  } catch {
    call = undefined;
  }

  const model = await auditModel(options, request, check);
  if (request.mode === VerificationMode.Signature) {
    if (call?.functionName !== "fulfillSigned") {
      check(
        "signature found",
        false,
        "the settling call was not a direct fulfillSigned (e.g. made via a contract)",
      );
    } else {
      const [posted, , , signature] = call.args;
      check(
        "settled request equals opened request",
        hashRequest(toInferenceRequest(posted)) === hashRequest(request),
        `commitment ${hashRequest(request)}`,
      );
      await auditSignature(options, request, result, signature, check);
    }
  } else if (request.mode === VerificationMode.Zk) {
    if (call?.functionName !== "fulfillZk") {
      check("proof found", false, "the settling call was not a direct fulfillZk (e.g. made via a contract)");
    } else {
      const [posted, , output, proof] = call.args;
      check(
        "settled request equals opened request",
        hashRequest(toInferenceRequest(posted)) === hashRequest(request),
        `commitment ${hashRequest(request)}`,
      );
      check(
        "output hash is the proven output",
        keccak256(zkOutputBytes(output)) === result.outputHash,
        `output ${output}`,
      );
      const signals = [
        output,
        BigInt(model.zkCommitment),
        BigInt(request.inputHash),
        zkBinding(requestId, tx.from),
      ];
      if (options.verifyZkProof !== undefined) {
        check(
          "Groth16 proof verifies",
          await options.verifyZkProof(signals, proof),
          `public signals [output ${output}, weight commitment ${model.zkCommitment}, input commitment ${request.inputHash}, binding(request ${requestId}, submitter ${tx.from})]`,
        );
      }
    }
  }
  await auditInput(options, request, opened.args.inputUri, result, check);

  const verdict: AuditVerdict = checks.every((c) => c.ok) ? "verified" : "rejected";
  return { requestId, verdict, checks, request, result, model };
}

/** The EIP-712 signature and the operator's key and stake at the settling block. */
async function auditSignature(
  options: AuditOptions,
  request: InferenceRequest,
  result: AuditResult,
  signature: Hex,
  check: Check,
): Promise<void> {
  const { client, settlement, requestId } = options;
  const { operator, signer, outputHash, blockNumber } = result;
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
  const registry = await client.readContract({
    address: settlement,
    abi: inferenceSettlementAbi,
    functionName: "operators",
  });
  const [record, minStake, keyOwner] = await Promise.all([
    client.readContract({
      address: registry,
      abi: operatorRegistryAbi,
      functionName: "getOperator",
      args: [operator],
      blockNumber,
    }),
    client.readContract({
      address: registry,
      abi: operatorRegistryAbi,
      functionName: "minStake",
      blockNumber,
    }),
    client.readContract({
      address: registry,
      abi: operatorRegistryAbi,
      functionName: "operatorOfSigner",
      args: [signer],
      blockNumber,
    }),
  ]);
  check(
    "signer is the operator's registered key",
    record.signer.toLowerCase() === signer.toLowerCase() && keyOwner.toLowerCase() === operator.toLowerCase(),
    `operator ${operator}: key ${record.signer} at block ${blockNumber}`,
  );
  check(
    "operator was staked",
    record.stake >= minStake,
    `stake ${formatUnits(record.stake, 18)} OPG, minimum ${formatUnits(minStake, 18)} OPG, at block ${blockNumber}`,
  );
}

/** The model version: its id derives from its content, so check the derivation, then the file and runtime. */
async function auditModel(options: AuditOptions, request: InferenceRequest, check: Check) {
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
  };
}

/** The input from its URI, its hash or commitment, and re-execution. */
async function auditInput(
  options: AuditOptions,
  request: InferenceRequest,
  inputUri: string,
  result: AuditResult,
  check: Check,
): Promise<void> {
  const input = await (options.readInput ?? readDataUri)(inputUri);
  if (input === undefined) {
    check(
      "input available",
      false,
      inputUri === "" ? "the request carried no input URI" : `could not read ${inputUri}`,
    );
    return;
  }
  if (request.mode === VerificationMode.Zk) {
    if (options.zkInputCommitment !== undefined) {
      const commitment = await options.zkInputCommitment(input);
      check(
        "input matches the input commitment",
        commitment === request.inputHash,
        `Poseidon commitment ${commitment}`,
      );
    }
    if (options.runZkModel !== undefined) {
      const output = await options.runZkModel(input);
      const hash = keccak256(zkOutputBytes(output));
      check(
        "re-executed output matches the result",
        hash === result.outputHash,
        `fixed-point re-run output ${output}`,
      );
    }
    return;
  }
  check(
    "input matches the input hash",
    keccak256(input) === request.inputHash,
    `keccak256(input) = ${keccak256(input)}`,
  );
  if (options.runModel !== undefined) {
    const rerun = keccak256(await options.runModel(input));
    check(
      "re-executed output matches the result",
      rerun === result.outputHash,
      `re-run output hash ${rerun} vs settled ${result.outputHash}`,
    );
  }
}
