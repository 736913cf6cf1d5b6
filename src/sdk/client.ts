import type { AuditResult } from "../audit/audit.js";
import { PERMIT_TYPES } from "../protocol/permit.js";
import type { ZkProofArgs } from "../protocol/zk.js";
import {
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
import { inferenceSettlementAbi, modelRegistryAbi, operatorRegistryAbi, opgTokenAbi } from "../abi/index.js";
import { ModelStatus, RequestStatus, VerificationMode } from "../protocol/modes.js";
import { toInferenceRequest, type InferenceRequest } from "../protocol/request.js";
import { resultTypedData, settlementDomain, type ResultMessage } from "../protocol/typed-data.js";
import type { ProtocolAddresses } from "./addresses.js";
import { OpgError } from "./errors.js";

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
  /** Seconds from the latest block; default 3600. */
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

/** A result as `fulfillSigned` takes it; `outputHash` defaults to `keccak256(output)` computed by the contract. */
export interface SignedResult {
  operator: Address;
  outputHash: Hex;
  output: Hex;
  outputUri?: string;
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
  async function registerModel(spec: ModelSpec): Promise<WriteResult & { modelId: Hex }> {
    const zk = spec.zkVerifier !== undefined && spec.zkVerifier !== zeroAddress;
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
    return { ...result, modelId: event.args.modelId };
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
  /** Register the wallet's account as an operator, approving the registry for `amount` first if needed. */
  async function registerOperator(signer: Address, payout: Address, amount: bigint): Promise<WriteResult> {
    await ensureAllowance(addresses.operators, amount);
    return write({
      address: addresses.operators,
      abi: operatorRegistryAbi,
      functionName: "register",
      args: [signer, payout, amount],
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
    const maxFee = params.maxFee ?? (await getModel(params.modelId)).fee;
    const deadline = params.deadline ?? (await latestTimestamp()) + (params.ttl ?? 3600n);
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

  /** The EIP-712 result signature an operator's key gives, over this deployment's domain. */
  async function signResult(signer: Account, message: ResultMessage): Promise<Hex> {
    const domain = settlementDomain(await publicClient.getChainId(), addresses.settlement);
    const typedData = resultTypedData(domain, message);
    if (signer.type === "local") return signer.signTypedData(typedData);
    if (walletClient === undefined) {
      throw new OpgError("NoAccount", "a JSON-RPC account can only sign through a wallet client");
    }
    return walletClient.signTypedData({ account: signer, ...typedData });
  }

  function fulfillSigned(
    request: InferenceRequest,
    requestId: bigint,
    result: SignedResult,
    signature: Hex,
  ): Promise<WriteResult> {
    return write({
      address: addresses.settlement,
      abi: inferenceSettlementAbi,
      functionName: "fulfillSigned",
      args: [
        request,
        requestId,
        {
          operator: result.operator,
          outputHash: result.outputHash,
          output: result.output,
          outputUri: result.outputUri ?? "",
        },
        signature,
      ],
    });
  }

  function fulfillZk(
    request: InferenceRequest,
    requestId: bigint,
    output: bigint,
    proof: ZkProofArgs,
  ): Promise<WriteResult> {
    return write({
      address: addresses.settlement,
      abi: inferenceSettlementAbi,
      functionName: "fulfillZk",
      args: [request, requestId, output, proof],
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
    // token
    allowance,
    tokenBalance,
    approve,
    transferToken,
    signPermit,
    // models
    registerModel,
    getModel,
    listModels,
    setModelStatus,
    revokeModel,
    // operators
    registerOperator,
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
