import {
  formatUnits,
  keccak256,
  parseEventLogs,
  parseSignature,
  zeroAddress,
  zeroHash,
  type Abi,
  type Account,
  type Address,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type Hex,
  type PublicClient,
  type SimulateContractParameters,
  type TransactionReceipt,
  type WalletClient,
  type WatchContractEventReturnType,
  type WriteContractParameters,
} from "viem";
import {
  inferenceSettlementAbi,
  modelRegistryAbi,
  operatorRegistryAbi,
  opgTokenAbi,
  signatureModeAbi,
  zkModeAbi,
} from "../abi/index.js";
import type { AuditResult } from "../audit/types.js";
import { signedFulfilmentArgs } from "../modes/signature/calldata.js";
import { signResult as signResultWithKey } from "../modes/signature/compute.js";
import type { KeySigner } from "../modes/types.js";
import { zkFulfilmentArgs } from "../modes/zk/calldata.js";
import { ModelStatus, modeName, RequestStatus, VerificationMode } from "../protocol/modes.js";
import { PERMIT_TYPES } from "../protocol/permit.js";
import { toInferenceRequest, type InferenceRequest } from "../protocol/request.js";
import type { ResultFields } from "../protocol/typed-data.js";
import type { ZkProofArgs } from "../protocol/zk.js";
import type { ProtocolAddresses } from "./addresses.js";
import { OpgError } from "./errors.js";
import {
  checkCallback,
  checkDeadline,
  checkField,
  checkModelName,
  checkRoyalty,
  checkTtl,
  checkUint96,
} from "./limits.js";
import { signSignerProof } from "./signer-proof.js";

/** What every write returns: the transaction, its gas, and its receipt. */
export interface WriteResult {
  hash: Hex;
  gasUsed: bigint;
  blockNumber: bigint;
  receipt: TransactionReceipt;
}

/** A model version to register (`IModelRegistry.ModelSpec`); zk fields default to none. */
export interface ModelSpec {
  name: string;
  fileHash: Hex;
  runtimeHash: Hex;
  uri: string;
  fee: bigint;
  royaltyBps: number;
  /** Bit flags of {@link VerificationMode}; defaults to signature, plus zk when a verifier is given. */
  modes?: number;
  zkCommitment?: Hex;
  zkVerifier?: Address;
  /**
   * The verifier's code hash (`extcodehash`), pinned in the model id; with a verifier and without this, it is
   * read from the chain (`keccak256` of the verifier's code).
   */
  zkVerifierCodeHash?: Hex;
}

export type ModelStatusName = keyof typeof ModelStatus;

/** A registered model version as the registry holds it. */
export interface ModelInfo {
  modelId: Hex;
  owner: Address;
  familyId: Hex;
  fileHash: Hex;
  runtimeHash: Hex;
  zkCommitment: Hex;
  zkVerifier: Address;
  zkVerifierCodeHash: Hex;
  fee: bigint;
  royaltyBps: number;
  modes: number;
  status: ModelStatusName;
  gate: number;
  gateMinBalance: bigint;
  registeredAt: bigint;
}

/** A `ModelRegistered` event. */
export interface RegisteredModel {
  modelId: Hex;
  familyId: Hex;
  owner: Address;
  name: string;
  uri: string;
  fileHash: Hex;
  runtimeHash: Hex;
  zkCommitment: Hex;
  zkVerifier: Address;
  zkVerifierCodeHash: Hex;
  fee: bigint;
  royaltyBps: number;
  modes: number;
  blockNumber: bigint;
  transactionHash: Hex;
}

export interface OperatorInfo {
  operator: Address;
  signer: Address;
  payout: Address;
  stake: bigint;
  unbonding: bigint;
  unbondingEnd: bigint;
  eligible: boolean;
}

export type PayMethod = "prepaid" | "transfer" | "permit";

/** What a requester chooses; the rest (fee, deadline) is filled in from chain state. */
export interface OpenRequestParams {
  modelId: Hex;
  inputHash: Hex;
  /** Where the input can be read; a `data:` URI carries it on chain so anyone can re-run it. */
  inputUri?: string;
  /** Defaults to the model's current fee. */
  maxFee?: bigint;
  /** Absolute deadline (unix seconds); defaults to the latest block's timestamp plus `ttl`. */
  deadline?: bigint;
  /** Seconds from the latest block; default 3600, at most `ProtocolLimits.MAX_REQUEST_TTL`. */
  ttl?: bigint;
  mode?: VerificationMode;
  operator?: Address;
  callback?: Address;
  callbackGasLimit?: number;
}

/** A request as opened (from its `RequestOpened` event) and its current status. */
export interface RequestInfo {
  requestId: bigint;
  request: InferenceRequest;
  inputUri: string;
  status: RequestStatus;
  blockNumber: bigint;
  transactionHash: Hex;
  /** The settled result, when there is one (the same shape the auditor reports). */
  result?: AuditResult;
}

/**
 * A result as an operator signs it and `SignatureMode.fulfillSigned` takes it. `outputHash` defaults to
 * `keccak256(output)`; `output` may be empty (`0x`) when the output travels by `outputUri` only. Every field is
 * signed: a result submitted with any field changed (the output stripped, another URI) is rejected.
 */
export interface SignedResult {
  operator: Address;
  outputHash?: Hex;
  output: Hex;
  outputUri?: string;
}

/** The fields of a signed result, defaults filled in. */
export function resultFields(result: SignedResult): ResultFields {
  return {
    operator: result.operator,
    outputHash: result.outputHash ?? keccak256(result.output),
    output: result.output,
    outputUri: result.outputUri ?? "",
  };
}

export type { ZkProofArgs } from "../protocol/zk.js";

/** An opened request delivered to a watcher. */
export interface OpenedRequestEvent {
  requestId: bigint;
  request: InferenceRequest;
  inputUri: string;
  blockNumber: bigint;
  transactionHash: Hex;
}

export type OpgPublicClient = PublicClient;
export type OpgWalletClient = WalletClient;

export interface OpgClientConfig {
  publicClient: OpgPublicClient;
  /** Needed for writes and for signing permits; its account sends every transaction. */
  walletClient?: OpgWalletClient;
  addresses: ProtocolAddresses;
}

type WriteFunction<abi extends Abi> = ContractFunctionName<abi, "nonpayable" | "payable">;
interface WriteCall<abi extends Abi, name extends WriteFunction<abi>> {
  address: Address;
  abi: abi;
  functionName: name;
  args: ContractFunctionArgs<abi, "nonpayable" | "payable", name>;
}

const formatOpg = (wei: bigint) => `${formatUnits(wei, 18)} OPG`;

function requestFrom(params: OpenRequestParams, maxFee: bigint, deadline: bigint) {
  return {
    modelId: params.modelId,
    inputHash: params.inputHash,
    maxFee,
    deadline,
    mode: params.mode ?? VerificationMode.Signature,
    operator: params.operator ?? zeroAddress,
    callback: params.callback ?? zeroAddress,
    callbackGasLimit: params.callbackGasLimit ?? 0,
    inputUri: params.inputUri ?? "",
  };
}

/**
 * A typed client for the protocol: reads through `publicClient`, writes through `walletClient` (each write is
 * simulated first, so a revert surfaces as a named protocol error before anything is sent, then waited for).
 */
export function createOpgClient(config: OpgClientConfig) {
  const { publicClient, walletClient, addresses } = config;

  function account(): Account {
    const acct = walletClient?.account;
    if (walletClient === undefined || acct === undefined) {
      throw new OpgError("NoAccount", "this action sends a transaction: configure a wallet (private key)");
    }
    return acct;
  }

  async function write<const abi extends Abi, name extends WriteFunction<abi>>(
    call: WriteCall<abi, name>,
  ): Promise<WriteResult> {
    const from = account();
    const { request } = await publicClient.simulateContract({
      ...call,
      account: from,
    } as unknown as SimulateContractParameters);
    const hash = await walletClient!.writeContract(request as unknown as WriteContractParameters);
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`transaction ${hash} reverted`);
    return { hash, gasUsed: receipt.gasUsed, blockNumber: receipt.blockNumber, receipt };
  }

  const sender = (): Address => account().address;

  let chainIdCache: Promise<number> | undefined;
  const chainId = (): Promise<number> => (chainIdCache ??= publicClient.getChainId());

  // ------------------------------------------------------------------------------------------- modes
  const modeContractCache = new Map<number, Promise<Address>>();
  /**
   * The live contract the core has bound to `mode` (read from the core once; a mode is bound once and never
   * re-bound). Throws a clear error when the mode has none (never bound, or retired).
   */
  function modeContract(mode: number): Promise<Address> {
    let found = modeContractCache.get(mode);
    if (found === undefined) {
      found = publicClient
        .readContract({
          address: addresses.settlement,
          abi: inferenceSettlementAbi,
          functionName: "modeContract",
          args: [mode],
        })
        .then((address) => {
          if (address === zeroAddress) {
            modeContractCache.delete(mode);
            throw new OpgError(
              "ModeNotOpen",
              `no live contract is bound to verification mode ${modeName(mode)} at the settlement ${addresses.settlement} (never bound, or retired)`,
            );
          }
          return address;
        });
      found.catch(() => modeContractCache.delete(mode));
      modeContractCache.set(mode, found);
    }
    return found;
  }

  /** The modes that accept new requests (bound and not retired), with their contracts. */
  async function openModes(): Promise<{ mode: number; name: string; contract: Address }[]> {
    const open = await publicClient.readContract({
      address: addresses.settlement,
      abi: inferenceSettlementAbi,
      functionName: "openModes",
    });
    const bits = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => 1 << i).filter((bit) => (open & bit) !== 0);
    return Promise.all(
      bits.map(async (mode) => ({ mode, name: modeName(mode), contract: await modeContract(mode) })),
    );
  }

  // ------------------------------------------------------------------------------------------- token
  async function allowance(owner: Address, spender: Address): Promise<bigint> {
    return publicClient.readContract({
      address: addresses.token,
      abi: opgTokenAbi,
      functionName: "allowance",
      args: [owner, spender],
    });
  }

  async function tokenBalance(owner?: Address): Promise<bigint> {
    return publicClient.readContract({
      address: addresses.token,
      abi: opgTokenAbi,
      functionName: "balanceOf",
      args: [owner ?? sender()],
    });
  }

  function approve(spender: Address, amount: bigint): Promise<WriteResult> {
    return write({
      address: addresses.token,
      abi: opgTokenAbi,
      functionName: "approve",
      args: [spender, amount],
    });
  }

  function transferToken(to: Address, amount: bigint): Promise<WriteResult> {
    return write({
      address: addresses.token,
      abi: opgTokenAbi,
      functionName: "transfer",
      args: [to, amount],
    });
  }

  /** Approve `spender` for `amount` unless the allowance already covers it. */
  async function ensureAllowance(spender: Address, amount: bigint): Promise<WriteResult | undefined> {
    if ((await allowance(sender(), spender)) >= amount) return undefined;
    return approve(spender, amount);
  }

  /** An EIP-2612 permit signed by the wallet's account for `spender`, read from the token's own domain. */
  async function signPermit(spender: Address, value: bigint, deadline: bigint) {
    const from = account();
    const [domain, nonce] = await Promise.all([
      publicClient.readContract({ address: addresses.token, abi: opgTokenAbi, functionName: "eip712Domain" }),
      publicClient.readContract({
        address: addresses.token,
        abi: opgTokenAbi,
        functionName: "nonces",
        args: [from.address],
      }),
    ]);
    const [, name, version, chainId, verifyingContract] = domain;
    const signature = await walletClient!.signTypedData({
      account: from,
      domain: { name, version, chainId, verifyingContract },
      types: PERMIT_TYPES,
      primaryType: "Permit",
      message: { owner: from.address, spender, value, nonce, deadline },
    });
    const { r, s, v, yParity } = parseSignature(signature);
    return { value, deadline, v: Number(v ?? BigInt(yParity + 27)), r, s };
  }

  async function latestTimestamp(): Promise<bigint> {
    return (await publicClient.getBlock({ blockTag: "latest" })).timestamp;
  }

  // ------------------------------------------------------------------------------------------- models
  /**
   * The code hash the registry pins for a verifier: `keccak256` of its code on this chain (what `extcodehash`
   * gives). Refuses an address without code.
   */
  async function verifierCodeHash(verifier: Address): Promise<Hex> {
    const code = await publicClient.getCode({ address: verifier });
    if (code === undefined || code === "0x") {
      throw new OpgError(
        "BadInput",
        `the zk verifier ${verifier} has no contract code on chain ${await chainId()}: deploy it first, or check the address`,
      );
    }
    return keccak256(code);
  }

  /**
   * Register a model version. Name, royalty and fee are checked against the contracts' limits first; with a zk
   * verifier and no `zkVerifierCodeHash`, the code hash is read from the chain (and returned).
   */
  async function registerModel(
    spec: ModelSpec,
  ): Promise<WriteResult & { modelId: Hex; zkVerifierCodeHash: Hex }> {
    checkModelName(spec.name);
    checkRoyalty(spec.royaltyBps);
    checkUint96(spec.fee, "the fee");
    const zk = spec.zkVerifier !== undefined && spec.zkVerifier !== zeroAddress;
    const zkVerifierCodeHash = zk
      ? (spec.zkVerifierCodeHash ?? (await verifierCodeHash(spec.zkVerifier!)))
      : (spec.zkVerifierCodeHash ?? zeroHash);
    const result = await write({
      address: addresses.models,
      abi: modelRegistryAbi,
      functionName: "registerModel",
      args: [
        {
          name: spec.name,
          fileHash: spec.fileHash,
          runtimeHash: spec.runtimeHash,
          zkCommitment: spec.zkCommitment ?? zeroHash,
          zkVerifier: spec.zkVerifier ?? zeroAddress,
          zkVerifierCodeHash,
          uri: spec.uri,
          fee: spec.fee,
          royaltyBps: spec.royaltyBps,
          modes:
            spec.modes ??
            (zk ? VerificationMode.Signature | VerificationMode.Zk : VerificationMode.Signature),
        },
      ],
    });
    const [event] = parseEventLogs({
      abi: modelRegistryAbi,
      eventName: "ModelRegistered",
      logs: result.receipt.logs,
    });
    if (event === undefined) throw new Error(`no ModelRegistered event in ${result.hash}`);
    return { ...result, modelId: event.args.modelId, zkVerifierCodeHash };
  }

  async function getModel(modelId: Hex): Promise<ModelInfo> {
    const m = await publicClient.readContract({
      address: addresses.models,
      abi: modelRegistryAbi,
      functionName: "getModel",
      args: [modelId],
    });
    const status = (Object.keys(ModelStatus) as ModelStatusName[]).find((k) => ModelStatus[k] === m.status);
    return {
      modelId,
      owner: m.owner,
      familyId: m.familyId,
      fileHash: m.fileHash,
      runtimeHash: m.runtimeHash,
      zkCommitment: m.zkCommitment,
      zkVerifier: m.zkVerifier,
      zkVerifierCodeHash: m.zkVerifierCodeHash,
      fee: m.fee,
      royaltyBps: m.royaltyBps,
      modes: m.modes,
      status: status ?? "None",
      gate: m.gate,
      gateMinBalance: m.gateMinBalance,
      registeredAt: BigInt(m.registeredAt),
    };
  }

  async function listModels(
    options: { fromBlock?: bigint; owner?: Address } = {},
  ): Promise<RegisteredModel[]> {
    const events = await publicClient.getContractEvents({
      address: addresses.models,
      abi: modelRegistryAbi,
      eventName: "ModelRegistered",
      fromBlock: options.fromBlock ?? 0n,
      strict: true,
    });
    return events
      .filter(
        (e) => options.owner === undefined || e.args.owner.toLowerCase() === options.owner.toLowerCase(),
      )
      .map((e) => ({
        modelId: e.args.modelId,
        familyId: e.args.familyId,
        owner: e.args.owner,
        ...e.args.spec,
        blockNumber: e.blockNumber,
        transactionHash: e.transactionHash,
      }));
  }

  function setModelStatus(modelId: Hex, status: number): Promise<WriteResult> {
    return write({
      address: addresses.models,
      abi: modelRegistryAbi,
      functionName: "setStatus",
      args: [modelId, status],
    });
  }

  /** Revoke a model version for good (owner only): it can no longer be requested or settled. */
  function revokeModel(modelId: Hex): Promise<WriteResult> {
    return setModelStatus(modelId, ModelStatus.Revoked);
  }

  // ------------------------------------------------------------------------------------------- operators
  /** The signing key's proof of possession for the wallet's account, checked before it is returned. */
  async function signerProof(signer: KeySigner): Promise<Hex> {
    return signSignerProof(signer, await chainId(), addresses.operators, sender());
  }

  /**
   * Register the wallet's account as an operator with signing key `signer` (which signs its proof of possession
   * here: a local account, or an object whose `signTypedData` asks the key's holder), payout address `payout` and a
   * first stake of `amount`. Everything registration checks is checked before any transaction: the proof, the key
   * not used before, the account not registered, the OPG balance; only then is the registry approved for `amount`
   * (if needed) and the registration sent.
   */
  async function registerOperator(signer: KeySigner, payout: Address, amount: bigint): Promise<WriteResult> {
    const from = account();
    checkUint96(amount, "the stake");
    const proof = await signerProof(signer);
    // Every check `register` makes but the stake transfer (whose allowance may not exist yet): with a zero stake.
    await publicClient.simulateContract({
      address: addresses.operators,
      abi: operatorRegistryAbi,
      functionName: "register",
      args: [signer.address, payout, 0n, proof],
      account: from,
    });
    if (amount > 0n) {
      const held = await tokenBalance(from.address);
      if (held < amount) {
        throw new OpgError(
          "BadInput",
          `${from.address} holds ${formatOpg(held)}, less than the stake of ${formatOpg(amount)}: get OPG into this account first`,
        );
      }
    }
    await ensureAllowance(addresses.operators, amount);
    return write({
      address: addresses.operators,
      abi: operatorRegistryAbi,
      functionName: "register",
      args: [signer.address, payout, amount, proof],
    });
  }

  /**
   * Replace the operator's signing key by `newSigner` (which signs its proof of possession here). The old key
   * stops serving at once; results it signed for later requests are no longer accepted.
   */
  async function rotateSigner(newSigner: KeySigner): Promise<WriteResult> {
    const proof = await signerProof(newSigner);
    return write({
      address: addresses.operators,
      abi: operatorRegistryAbi,
      functionName: "rotateSigner",
      args: [newSigner.address, proof],
    });
  }

  /** Change where the operator's earnings are credited. */
  function setPayout(payout: Address): Promise<WriteResult> {
    return write({
      address: addresses.operators,
      abi: operatorRegistryAbi,
      functionName: "setPayout",
      args: [payout],
    });
  }

  async function stake(amount: bigint): Promise<WriteResult> {
    await ensureAllowance(addresses.operators, amount);
    return write({
      address: addresses.operators,
      abi: operatorRegistryAbi,
      functionName: "stake",
      args: [amount],
    });
  }

  function unbond(amount: bigint): Promise<WriteResult> {
    return write({
      address: addresses.operators,
      abi: operatorRegistryAbi,
      functionName: "unbond",
      args: [amount],
    });
  }

  function withdrawUnbonded(to?: Address): Promise<WriteResult> {
    return write({
      address: addresses.operators,
      abi: operatorRegistryAbi,
      functionName: "withdrawUnbonded",
      args: [to ?? sender()],
    });
  }

  async function getOperator(operator: Address): Promise<OperatorInfo> {
    const [record, eligible] = await Promise.all([
      publicClient.readContract({
        address: addresses.operators,
        abi: operatorRegistryAbi,
        functionName: "getOperator",
        args: [operator],
      }),
      publicClient.readContract({
        address: addresses.operators,
        abi: operatorRegistryAbi,
        functionName: "isEligible",
        args: [operator],
      }),
    ]);
    return {
      operator,
      signer: record.signer,
      payout: record.payout,
      stake: record.stake,
      unbonding: record.unbonding,
      unbondingEnd: record.unbondingEnd,
      eligible,
    };
  }

  // ------------------------------------------------------------------------------------------- ledger
  /** Prepaid balance in the settlement ledger (of the wallet's account by default). */
  async function balance(owner?: Address): Promise<bigint> {
    return publicClient.readContract({
      address: addresses.settlement,
      abi: inferenceSettlementAbi,
      functionName: "balances",
      args: [owner ?? sender()],
    });
  }

  /**
   * Deposit OPG into the ledger. `permit` (default) signs an EIP-2612 permit and deposits in one transaction;
   * `approve` approves the settlement first if the allowance is short.
   */
  async function deposit(
    amount: bigint,
    options: { method?: "permit" | "approve" } = {},
  ): Promise<WriteResult> {
    if ((options.method ?? "permit") === "approve") {
      await ensureAllowance(addresses.settlement, amount);
      return write({
        address: addresses.settlement,
        abi: inferenceSettlementAbi,
        functionName: "deposit",
        args: [amount],
      });
    }
    const permit = await signPermit(addresses.settlement, amount, (await latestTimestamp()) + 3600n);
    return write({
      address: addresses.settlement,
      abi: inferenceSettlementAbi,
      functionName: "depositWithPermit",
      args: [amount, permit],
    });
  }

  /** Withdraw from the ledger: the whole balance by default, to the wallet's account by default. */
  async function withdraw(
    options: { amount?: bigint; to?: Address } = {},
  ): Promise<WriteResult & { amount: bigint }> {
    const amount = options.amount ?? (await balance());
    const result = await write({
      address: addresses.settlement,
      abi: inferenceSettlementAbi,
      functionName: "withdraw",
      args: [options.to ?? sender(), amount],
    });
    return { ...result, amount };
  }

  // ------------------------------------------------------------------------------------------- requests
  /**
   * Open a request. The fee is escrowed from the prepaid balance, pulled with `transferFrom` (needs an
   * allowance), or pulled with an EIP-2612 permit signed here by the wallet.
   */
  async function openRequest(
    params: OpenRequestParams,
    options: { pay?: PayMethod } = {},
  ): Promise<WriteResult & { requestId: bigint; request: InferenceRequest }> {
    const mode: number = params.mode ?? VerificationMode.Signature;
    if (mode !== VerificationMode.Signature && mode !== VerificationMode.Zk) {
      throw new OpgError("BadInput", `unknown verification mode ${mode}: use signature (1) or zk (2)`);
    }
    if (mode === VerificationMode.Zk) checkField(BigInt(params.inputHash), "the zk input commitment");
    checkCallback(params.callback, params.callbackGasLimit);
    if (params.maxFee !== undefined) checkUint96(params.maxFee, "the maximum fee");
    const maxFee = params.maxFee ?? (await getModel(params.modelId)).fee;
    const now = await latestTimestamp();
    const deadline = checkDeadline(params.deadline ?? now + checkTtl(params.ttl ?? 3600n), now);
    const p = requestFrom(params, maxFee, deadline);
    const pay = options.pay ?? "prepaid";
    let result: WriteResult;
    if (pay === "prepaid") {
      result = await write({
        address: addresses.settlement,
        abi: inferenceSettlementAbi,
        functionName: "openRequest",
        args: [p],
      });
    } else if (pay === "transfer") {
      result = await write({
        address: addresses.settlement,
        abi: inferenceSettlementAbi,
        functionName: "openRequestWithTransfer",
        args: [p],
      });
    } else {
      const permit = await signPermit(addresses.settlement, maxFee, deadline);
      result = await write({
        address: addresses.settlement,
        abi: inferenceSettlementAbi,
        functionName: "openRequestWithPermit",
        args: [p, permit],
      });
    }
    const [event] = parseEventLogs({
      abi: inferenceSettlementAbi,
      eventName: "RequestOpened",
      logs: result.receipt.logs,
    });
    if (event === undefined) throw new Error(`no RequestOpened event in ${result.hash}`);
    return { ...result, requestId: event.args.requestId, request: toInferenceRequest(event.args.request) };
  }

  async function requestStatus(requestId: bigint): Promise<RequestStatus> {
    const status = await publicClient.readContract({
      address: addresses.settlement,
      abi: inferenceSettlementAbi,
      functionName: "requestStatus",
      args: [requestId],
    });
    return RequestStatus[status] ?? "None";
  }

  /** A request as opened, its status and, once fulfilled, its result. */
  async function getRequest(requestId: bigint, options: { fromBlock?: bigint } = {}): Promise<RequestInfo> {
    const fromBlock = options.fromBlock ?? 0n;
    const [[opened], status] = await Promise.all([
      publicClient.getContractEvents({
        address: addresses.settlement,
        abi: inferenceSettlementAbi,
        eventName: "RequestOpened",
        args: { requestId },
        fromBlock,
        strict: true,
      }),
      requestStatus(requestId),
    ]);
    if (opened === undefined) {
      throw new OpgError(
        "UnknownRequest",
        `unknown request ${requestId}: no RequestOpened event at ${addresses.settlement}`,
      );
    }
    const info: RequestInfo = {
      requestId,
      request: toInferenceRequest(opened.args.request),
      inputUri: opened.args.inputUri,
      status,
      blockNumber: opened.blockNumber,
      transactionHash: opened.transactionHash,
    };
    if (status === "Fulfilled" || status === "FulfilledCallbackFailed") {
      const [fulfilled] = await publicClient.getContractEvents({
        address: addresses.settlement,
        abi: inferenceSettlementAbi,
        eventName: "RequestFulfilled",
        args: { requestId },
        fromBlock: opened.blockNumber,
        strict: true,
      });
      if (fulfilled !== undefined) {
        info.result = {
          ...fulfilled.args,
          blockNumber: fulfilled.blockNumber,
          transactionHash: fulfilled.transactionHash,
        };
      }
    }
    return info;
  }

  /**
   * The EIP-712 signature of `result` for a request, by the operator's signing key `signer`, under the domain of
   * this deployment's `SignatureMode` (found through the core). A JSON-RPC account signs through the wallet client.
   */
  async function signResult(
    signer: KeySigner | Account,
    requestId: bigint,
    request: InferenceRequest,
    result: SignedResult,
  ): Promise<Hex> {
    let key: KeySigner;
    if ("signTypedData" in signer && typeof signer.signTypedData === "function") {
      key = signer;
    } else {
      if (walletClient === undefined) {
        throw new OpgError("NoAccount", "a JSON-RPC account can only sign through a wallet client");
      }
      const wallet = walletClient;
      key = {
        address: signer.address,
        signTypedData: ((typedData: Parameters<KeySigner["signTypedData"]>[0]) =>
          wallet.signTypedData({ account: signer, ...typedData })) as KeySigner["signTypedData"],
      };
    }
    const [id, signatureMode] = await Promise.all([chainId(), modeContract(VerificationMode.Signature)]);
    return signResultWithKey(key, id, signatureMode, requestId, request, resultFields(result));
  }

  /**
   * Settle a request with a signed result: `fulfillSigned` on `SignatureMode` (the signature sent in its compact
   * form). Anyone may submit it; the result must be exactly what was signed.
   */
  async function fulfillSigned(
    request: InferenceRequest,
    requestId: bigint,
    result: SignedResult,
    signature: Hex,
  ): Promise<WriteResult> {
    return write({
      address: await modeContract(VerificationMode.Signature),
      abi: signatureModeAbi,
      functionName: "fulfillSigned",
      args: signedFulfilmentArgs(request, requestId, resultFields(result), signature),
    });
  }

  /**
   * Settle a zk request with a Groth16 proof: `fulfillZk` on `ZkMode`. The proof is bound to its submitter: send it
   * from the account it was made for (which is credited the operator's share).
   */
  async function fulfillZk(
    request: InferenceRequest,
    requestId: bigint,
    output: bigint,
    proof: ZkProofArgs,
  ): Promise<WriteResult> {
    return write({
      address: await modeContract(VerificationMode.Zk),
      abi: zkModeAbi,
      functionName: "fulfillZk",
      args: zkFulfilmentArgs(request, requestId, output, proof),
    });
  }

  /** Refund an expired request (anyone may): the fee goes back to the requester's ledger balance. */
  async function refund(
    requestId: bigint,
    request?: InferenceRequest,
  ): Promise<WriteResult & { amount: bigint }> {
    const posted = request ?? (await getRequest(requestId)).request;
    const result = await write({
      address: addresses.settlement,
      abi: inferenceSettlementAbi,
      functionName: "refund",
      args: [posted, requestId],
    });
    return { ...result, amount: posted.fee };
  }

  /** Calls `handler` for each request opened (optionally only for some models), polling the RPC. */
  function watchRequests(
    handler: (request: OpenedRequestEvent) => void | Promise<void>,
    options: { modelIds?: readonly Hex[]; pollingInterval?: number; onError?: (error: Error) => void } = {},
  ): WatchContractEventReturnType {
    const wanted = options.modelIds?.map((id) => id.toLowerCase());
    return publicClient.watchContractEvent({
      address: addresses.settlement,
      abi: inferenceSettlementAbi,
      eventName: "RequestOpened",
      strict: true,
      poll: true,
      ...(options.pollingInterval === undefined ? {} : { pollingInterval: options.pollingInterval }),
      ...(options.onError === undefined ? {} : { onError: options.onError }),
      onLogs: (logs) => {
        for (const log of logs) {
          if (wanted !== undefined && !wanted.includes(log.args.modelId.toLowerCase())) continue;
          void handler({
            requestId: log.args.requestId,
            request: toInferenceRequest(log.args.request),
            inputUri: log.args.inputUri,
            blockNumber: log.blockNumber,
            transactionHash: log.transactionHash,
          });
        }
      },
    });
  }

  /** Throws a clear error when the RPC serves another chain than `expected`. */
  async function assertChain(expected: bigint | number): Promise<void> {
    const actual = await publicClient.getChainId();
    if (BigInt(actual) !== BigInt(expected)) {
      throw new OpgError(
        "WrongChain",
        `wrong chain: the RPC serves chain ${actual}, expected ${expected}; check --rpc and --chain-id`,
      );
    }
  }

  const clients: { publicClient: OpgPublicClient; walletClient: OpgWalletClient | undefined } = {
    publicClient,
    walletClient,
  };
  return {
    addresses,
    ...clients,
    account: (): Account | undefined => walletClient?.account,
    assertChain,
    // modes
    modeContract,
    openModes,
    // token
    allowance,
    tokenBalance,
    approve,
    transferToken,
    signPermit,
    // models
    verifierCodeHash,
    registerModel,
    getModel,
    listModels,
    setModelStatus,
    revokeModel,
    // operators
    signerProof,
    registerOperator,
    rotateSigner,
    setPayout,
    stake,
    unbond,
    withdrawUnbonded,
    getOperator,
    // ledger
    balance,
    deposit,
    withdraw,
    // requests
    openRequest,
    requestStatus,
    getRequest,
    signResult,
    fulfillSigned,
    fulfillZk,
    refund,
    watchRequests,
  };
}

export type OpgClient = ReturnType<typeof createOpgClient>;
