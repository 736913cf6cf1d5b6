import {
  compactSignatureToSignature,
  formatUnits,
  isAddressEqual,
  keccak256,
  recoverTypedDataAddress,
  type Address,
} from "viem";
import { inferenceSettlementAbi, operatorRegistryAbi } from "../../abi/index.js";
import { hashRequest } from "../../protocol/request.js";
import { resultMessage, resultTypedData, signatureModeDomain } from "../../protocol/typed-data.js";
import { settlingCall } from "../settling-call.js";
import type { ModeAuditContext } from "../types.js";
import { decodeFulfillSigned } from "./calldata.js";

const same = isAddressEqual;

/**
 * The settling `fulfillSigned` call: the request it posted is the one opened, the result it posted is the one
 * settled, and its EIP-712 signature, over the hash of the opened request and every output field, recovers the key
 * the event names; that key was the operator's registered key, and the operator was staked, at the settling block.
 */
export async function auditSignedSettlement(context: ModeAuditContext): Promise<void> {
  const { client, chainId, settlement, modeContract, requestId, request, result, check } = context;
  const call = settlingCall(context, decodeFulfillSigned, {
    check: "signature found",
    functionName: "fulfillSigned",
    contractName: "SignatureMode",
    evidence: "signature",
  });
  if (call === undefined) return;
  const requestHash = hashRequest(request);
  check(
    "settled request equals opened request",
    call.requestId === requestId && hashRequest(call.request) === requestHash,
    `request hash ${requestHash}`,
  );
  check(
    "posted result equals settled result",
    same(call.result.operator, result.operator) &&
      call.result.outputHash === result.outputHash &&
      call.result.output === result.output &&
      call.result.outputUri === result.outputUri,
    `operator ${result.operator}, output hash ${result.outputHash}, ${(result.output.length - 2) / 2} inline bytes, URI "${result.outputUri}"`,
  );
  const domain = signatureModeDomain(chainId, modeContract);
  // Over the opened request's hash: the signature recovers the signer only if the signed requestHash is that one.
  const message = resultMessage(requestId, request, {
    operator: result.operator,
    outputHash: result.outputHash,
    output: result.output,
    outputUri: result.outputUri,
  });
  let recovered: Address | undefined;
  try {
    recovered = await recoverTypedDataAddress({
      ...resultTypedData(domain, message),
      signature: compactSignatureToSignature({ r: call.signature.r, yParityAndS: call.signature.vs }),
    });
  } catch {
    recovered = undefined;
  }
  check(
    "EIP-712 signature recovers the signer",
    recovered !== undefined && same(recovered, result.signer),
    `recovered ${recovered ?? "nothing"} over (chain ${chainId}, SignatureMode ${modeContract}, request ${requestId}, request hash ${requestHash}, output hash, output bytes, output URI, operator)`,
  );

  const { blockNumber, operator, signer } = result;
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
    same(record.signer, signer) && same(keyOwner, operator),
    `operator ${operator}: key ${record.signer} at block ${blockNumber}`,
  );
  check(
    "operator was staked",
    record.stake >= minStake,
    `stake ${formatUnits(record.stake, 18)} OPG, minimum ${formatUnits(minStake, 18)} OPG, at block ${blockNumber}`,
  );
  check(
    "payout is the operator's payout",
    same(record.payout, result.payout),
    `payout ${result.payout} at block ${blockNumber}`,
  );
}

/** The input hashes (keccak256) to the request's input hash; re-run, the model gives the settled output. */
export async function auditSignedInput(context: ModeAuditContext, input: Uint8Array): Promise<void> {
  const { request, result, tools, check } = context;
  const inputHash = keccak256(input);
  check("input matches the input hash", inputHash === request.inputHash, `keccak256(input) = ${inputHash}`);
  if (tools.runModel !== undefined) {
    const rerun = keccak256(await tools.runModel(input));
    check(
      "re-executed output matches the result",
      rerun === result.outputHash,
      `re-run output hash ${rerun} vs settled ${result.outputHash}`,
    );
  }
}
