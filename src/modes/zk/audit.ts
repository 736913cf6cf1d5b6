import { isAddressEqual, keccak256 } from "viem";
import { hashRequest } from "../../protocol/request.js";
import { zkBinding, zkOutputBytes } from "../../protocol/zk.js";
import { settlingCall } from "../settling-call.js";
import type { ModeAuditContext } from "../types.js";
import { decodeFulfillZk } from "./calldata.js";

const same = isAddressEqual;

/**
 * The settling `fulfillZk` call: the request it posted is the one opened, the settled output hash is that of the
 * proven output, the submitter is the operator, the verifier still has the code the model version pinned, and the
 * Groth16 proof verifies against the public signals rebuilt from the registry and the request: output, weight
 * commitment, input commitment and the binding to (chain, ZkMode, request, submitter).
 */
export async function auditZkSettlement(context: ModeAuditContext): Promise<void> {
  const { client, chainId, modeContract, requestId, request, result, transaction, model, tools, check } =
    context;
  const call = settlingCall(context, decodeFulfillZk, {
    check: "proof found",
    functionName: "fulfillZk",
    contractName: "ZkMode",
    evidence: "proof",
  });
  if (call === undefined) return;
  check(
    "settled request equals opened request",
    call.requestId === requestId && hashRequest(call.request) === hashRequest(request),
    `request hash ${hashRequest(request)}`,
  );
  check(
    "output hash is the proven output",
    keccak256(zkOutputBytes(call.output)) === result.outputHash,
    `output ${call.output}`,
  );
  check(
    "submitter is the operator",
    same(transaction.from, result.operator),
    `submitter ${transaction.from}, operator ${result.operator}`,
  );
  // A verifier's code is pure (no SELFDESTRUCT, checked at registration), so the code it has now is the code that
  // verified the proof.
  const code = await client.getCode({ address: model.zkVerifier });
  const codeHash = code === undefined || code === "0x" ? undefined : keccak256(code);
  check(
    "verifier code matches its pinned hash",
    codeHash === model.zkVerifierCodeHash,
    `verifier ${model.zkVerifier}: code hash ${codeHash ?? "none (no code)"}, pinned ${model.zkVerifierCodeHash}`,
  );
  if (tools.verifyZkProof !== undefined) {
    const binding = zkBinding({ chainId, zkMode: modeContract, requestId, submitter: transaction.from });
    const signals = [call.output, BigInt(model.zkCommitment), BigInt(request.inputHash), binding];
    check(
      "Groth16 proof verifies",
      await tools.verifyZkProof(signals, call.proof),
      `public signals [output ${call.output}, weight commitment ${model.zkCommitment}, input commitment ${request.inputHash}, binding(chain ${chainId}, ZkMode ${modeContract}, request ${requestId}, submitter ${transaction.from})]`,
    );
  }
}

/** The input's Poseidon commitment is the request's input hash; re-run, the fixed-point model gives the output. */
export async function auditZkInput(context: ModeAuditContext, input: Uint8Array): Promise<void> {
  const { request, result, tools, check } = context;
  if (tools.zkInputCommitment !== undefined) {
    const commitment = await tools.zkInputCommitment(input);
    check(
      "input matches the input commitment",
      commitment === request.inputHash,
      `Poseidon commitment ${commitment}`,
    );
  }
  if (tools.runZkModel !== undefined) {
    const output = await tools.runZkModel(input);
    check(
      "re-executed output matches the result",
      keccak256(zkOutputBytes(output)) === result.outputHash,
      `fixed-point re-run output ${output}`,
    );
  }
}
