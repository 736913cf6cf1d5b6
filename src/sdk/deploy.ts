import {
  getAddress,
  type Abi,
  type Account,
  type Address,
  type Chain,
  type ContractConstructorArgs,
  type DeployContractParameters,
  type Hex,
  type PublicClient,
  type SimulateContractParameters,
  type WalletClient,
  type WriteContractParameters,
} from "viem";
import {
  inferenceSettlementAbi,
  irisMlpVerifierAbi,
  modelRegistryAbi,
  operatorRegistryAbi,
  opgTokenAbi,
  quietModeAbi,
  signatureModeAbi,
  zkModeAbi,
} from "../abi/index.js";
import { protocolBytecode } from "../abi/bytecode.js";
import { PROTOCOL_DEFAULTS } from "../protocol/defaults.js";
import { ProtocolLimits } from "../protocol/limits.js";
import { modeName } from "../protocol/modes.js";
import {
  resolveWiring,
  WIRING_CALLS,
  WIRING_CONTRACTS,
  type WiredContract,
  type WiringValue,
} from "../protocol/wiring.js";
import type { ProtocolAddresses } from "./addresses.js";
import { explain, OpgError } from "./errors.js";
import { checkBps, checkProtocolFee, checkUnbondingDelay } from "./limits.js";

/**
 * What a deployment creates: the token (unless an existing one was used), the registries, the settlement core, the
 * two verification mode contracts bound to it, and the Iris Groth16 verifier when asked for.
 */
/** The ABI and creation bytecode of each contract the wiring creates, and its name for messages. */
const WIRED_ARTIFACTS: Record<Exclude<WiredContract, "token">, { name: string; abi: Abi; bytecode: Hex }> = {
  models: { name: "ModelRegistry", abi: modelRegistryAbi, bytecode: protocolBytecode.modelRegistry },
  operators: {
    name: "OperatorRegistry",
    abi: operatorRegistryAbi,
    bytecode: protocolBytecode.operatorRegistry,
  },
  settlement: {
    name: "InferenceSettlement",
    abi: inferenceSettlementAbi,
    bytecode: protocolBytecode.inferenceSettlement,
  },
  signatureMode: { name: "SignatureMode", abi: signatureModeAbi, bytecode: protocolBytecode.signatureMode },
  zkMode: { name: "ZkMode", abi: zkModeAbi, bytecode: protocolBytecode.zkMode },
  quietMode: { name: "QuietMode", abi: quietModeAbi, bytecode: protocolBytecode.quietMode },
};

/** A governance call's step name: `OperatorRegistry.bindSettlement`, `InferenceSettlement.bindMode(zk)`. */
function callName(on: Exclude<WiredContract, "token">, functionName: string, args: readonly WiringValue[]) {
  const modes = args.flatMap((value) => ("mode" in value ? [modeName(value.mode)] : []));
  return `${WIRED_ARTIFACTS[on].name}.${functionName}${modes.length === 0 ? "" : `(${modes.join(", ")})`}`;
}

export interface DeployedAddresses extends ProtocolAddresses {
  signatureMode: Address;
  zkMode: Address;
  quietMode: Address;
  irisVerifier?: Address;
}

/** One transaction of a deployment, in the order sent. */
export interface DeployStep {
  /** The contract deployed, or the wiring call (`OperatorRegistry.bindSettlement`, …). */
  name: string;
  hash: Hex;
  gasUsed: bigint;
  blockNumber: bigint;
  /** The new contract, for a deployment. */
  address?: Address;
}

/** The parameters a deployment was made with, defaults filled in. */
export interface DeployParameters {
  /** `undefined` when an existing token was used. */
  supply?: bigint;
  treasury: Address;
  minStake: bigint;
  unbondingDelay: bigint;
  protocolFeeBps: number;
  equivocationPenalty: bigint;
  reporterRewardBps: number;
  /** Quiet mode's windows (seconds), penalty (OPG wei) and challenger reward (bps); see docs/quiet.md. */
  quietCommitWindow: bigint;
  quietChallengeWindow: bigint;
  quietMaxTtl: bigint;
  quietNoticePeriod: bigint;
  quietPenalty: bigint;
  quietRewardBps: number;
}

/** Quiet mode's parameters for a deployment; each defaults to `PROTOCOL_DEFAULTS`. */
export interface QuietModeParameters {
  commitWindow?: bigint;
  challengeWindow?: bigint;
  maxTtl?: bigint;
  /** At least `maxTtl + commitWindow + challengeWindow` (the contract refuses less: `InvalidWindows`). */
  noticePeriod?: bigint;
  penalty?: bigint;
  rewardBps?: number;
}

export interface DeployProtocolOptions {
  publicClient: PublicClient;
  /** Its account sends every transaction and becomes the owner (governance) of the registry and settlement. */
  walletClient: WalletClient;
  /** An existing OPG token (ERC-20, 18 decimals, EIP-2612); default: deploy a new `OPGToken`. */
  token?: Address;
  /** Supply of a new token, minted to the deployer (default 1,000,000,000 OPG); not with `token`. */
  supply?: bigint;
  /** Receives protocol fees (default: the deployer). */
  treasury?: Address;
  /** Minimum operator stake in OPG wei. */
  minStake?: bigint;
  /** Seconds before unbonded stake can be withdrawn. */
  unbondingDelay?: bigint;
  protocolFeeBps?: number;
  /** Stake slashed for an equivocation, in OPG wei. */
  equivocationPenalty?: bigint;
  reporterRewardBps?: number;
  /** Quiet mode's windows, penalty and reward. */
  quiet?: QuietModeParameters;
  /** Also deploy `IrisMlpVerifier`, the Groth16 verifier of the example Iris model. */
  irisVerifier?: boolean;
  /** Called after each transaction is mined (progress output). */
  onStep?: (step: DeployStep) => void;
}

/** A finished deployment. */
export interface ProtocolDeployment {
  chainId: number;
  deployer: Address;
  addresses: DeployedAddresses;
  /** Whether the token was deployed here (`false` when an existing one was passed). */
  tokenDeployed: boolean;
  parameters: DeployParameters;
  steps: DeployStep[];
  /** Gas of every transaction together. */
  gasUsed: bigint;
}

const UINT96_MAX = 2n ** 96n - 1n;

function checkRange(value: bigint, max: bigint, what: string): bigint {
  if (value < 0n || value > max)
    throw new OpgError("BadInput", `${what} is out of range (0..${max}): ${value}`);
  return value;
}

/**
 * Check that `token` is a contract answering as an 18-decimal ERC-20 with EIP-2612 (`nonces`), so a typo or an
 * EOA is refused before any gas is spent.
 */
async function checkToken(publicClient: PublicClient, token: Address, chainId: number): Promise<void> {
  const code = await publicClient.getCode({ address: token });
  if (code === undefined || code === "0x") {
    throw new OpgError(
      "BadInput",
      `the token ${token} has no contract code on chain ${chainId}: give the address of the deployed OPG token, or deploy a new one`,
    );
  }
  let decimals: number;
  try {
    [decimals] = await Promise.all([
      publicClient.readContract({ address: token, abi: opgTokenAbi, functionName: "decimals" }),
      publicClient.readContract({
        address: token,
        abi: opgTokenAbi,
        functionName: "nonces",
        args: [token],
      }),
    ]);
  } catch {
    throw new OpgError(
      "BadInput",
      `the contract at ${token} is not an ERC-20 token with EIP-2612 permits (decimals() or nonces() failed): give the OPG token's address`,
    );
  }
  if (decimals !== 18) {
    throw new OpgError("BadInput", `the token ${token} has ${decimals} decimals; OPG amounts assume 18`);
  }
}

/**
 * Deploy the protocol with viem against any JSON-RPC node, wired exactly as the Ignition modules do
 * (`deploy/modules/protocol.ts`): `ModelRegistry(token)`, `OperatorRegistry(token, governance, minStake,
 * unbondingDelay)`, `InferenceSettlement(token, models, operators, governance, treasury, protocolFeeBps)`,
 * `SignatureMode(settlement, governance, penalty, rewardBps)`, `ZkMode(settlement)`, then
 * `operators.bindSettlement(settlement)`, `settlement.bindMode(1, signatureMode)` and `settlement.bindMode(2,
 * zkMode)`; the wallet's account is governance. Without `token` a new `OPGToken` is deployed first, its supply
 * minted to the deployer; with `irisVerifier` the Iris Groth16 verifier is deployed last. Defaults:
 * {@link PROTOCOL_DEFAULTS}; the parameters are checked against `ProtocolLimits` before anything is sent.
 *
 * Transactions are sent one at a time, each estimated (so a constructor revert is reported by name before it is
 * sent) and mined before the next. If one fails, the `OpgError` lists the contracts already deployed.
 *
 * @returns the addresses, the resolved parameters and every transaction with its gas.
 */
export async function deployProtocol(options: DeployProtocolOptions): Promise<ProtocolDeployment> {
  const { publicClient, walletClient } = options;
  const maybeAccount: Account | undefined = walletClient.account;
  if (maybeAccount === undefined) {
    throw new OpgError(
      "NoAccount",
      "deploying sends transactions: configure a wallet with an account (private key)",
    );
  }
  if (options.token !== undefined && options.supply !== undefined) {
    throw new OpgError(
      "BadInput",
      "a supply is only for a new token: give either an existing token or a supply",
    );
  }
  const account: Account = maybeAccount;
  const chainId = await publicClient.getChainId();
  const deployer = account.address;
  const parameters: DeployParameters = {
    ...(options.token === undefined
      ? {
          supply: checkRange(
            options.supply ?? PROTOCOL_DEFAULTS.opgSupply,
            2n ** 256n - 1n,
            "the token supply",
          ),
        }
      : {}),
    treasury: options.treasury === undefined ? deployer : getAddress(options.treasury),
    minStake: checkRange(options.minStake ?? PROTOCOL_DEFAULTS.minStake, UINT96_MAX, "the minimum stake"),
    unbondingDelay: checkUnbondingDelay(options.unbondingDelay ?? PROTOCOL_DEFAULTS.unbondingDelay),
    protocolFeeBps: checkProtocolFee(options.protocolFeeBps ?? Number(PROTOCOL_DEFAULTS.protocolFeeBps)),
    equivocationPenalty: checkRange(
      options.equivocationPenalty ?? PROTOCOL_DEFAULTS.equivocationPenalty,
      UINT96_MAX,
      "the equivocation penalty",
    ),
    reporterRewardBps: checkBps(
      options.reporterRewardBps ?? Number(PROTOCOL_DEFAULTS.reporterRewardBps),
      ProtocolLimits.BPS,
      "the reporter reward",
    ),
    quietCommitWindow: options.quiet?.commitWindow ?? PROTOCOL_DEFAULTS.quietCommitWindow,
    quietChallengeWindow: options.quiet?.challengeWindow ?? PROTOCOL_DEFAULTS.quietChallengeWindow,
    quietMaxTtl: options.quiet?.maxTtl ?? PROTOCOL_DEFAULTS.quietMaxTtl,
    quietNoticePeriod: options.quiet?.noticePeriod ?? PROTOCOL_DEFAULTS.quietNoticePeriod,
    quietPenalty: checkRange(
      options.quiet?.penalty ?? PROTOCOL_DEFAULTS.quietPenalty,
      UINT96_MAX,
      "the quiet-mode penalty",
    ),
    quietRewardBps: checkBps(
      options.quiet?.rewardBps ?? Number(PROTOCOL_DEFAULTS.quietRewardBps),
      ProtocolLimits.BPS,
      "the quiet-mode challenger reward",
    ),
  };
  if (options.token !== undefined) await checkToken(publicClient, getAddress(options.token), chainId);

  const chain: Chain | null = walletClient.chain ?? null;
  const steps: DeployStep[] = [];
  const deployed: Partial<DeployedAddresses> = {};

  async function mined(name: string, hash: Hex): Promise<DeployStep> {
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`transaction ${hash} reverted`);
    const step: DeployStep = {
      name,
      hash,
      gasUsed: receipt.gasUsed,
      blockNumber: receipt.blockNumber,
      ...(receipt.contractAddress == null ? {} : { address: getAddress(receipt.contractAddress) }),
    };
    steps.push(step);
    options.onStep?.(step);
    return step;
  }

  /** Run one step; a failure names the step and what is already on chain. */
  async function step<T>(name: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      const done = Object.entries(deployed)
        .map(([key, address]) => `${key} ${address}`)
        .join(", ");
      throw new OpgError(
        "DeployFailed",
        `deploying stopped at ${name}: ${explain(error)}${done === "" ? "" : `; already deployed: ${done}`}`,
      );
    }
  }

  async function create<const abi extends Abi>(
    name: string,
    abi: abi,
    bytecode: Hex,
    args: ContractConstructorArgs<abi>,
  ): Promise<Address> {
    return step(name, async () => {
      // The arguments are checked against the constructor at the call site; viem's conditional parameter type
      // cannot be resolved for a generic ABI here.
      const hash = await walletClient.deployContract({
        abi,
        bytecode,
        args,
        account,
        chain,
      } as unknown as DeployContractParameters);
      const { address } = await mined(name, hash);
      if (address === undefined) throw new Error(`no contract address in the receipt of ${hash}`);
      return address;
    });
  }

  const token =
    options.token === undefined
      ? await create("OPGToken", opgTokenAbi, protocolBytecode.opgToken, [deployer, parameters.supply!])
      : getAddress(options.token);
  if (options.token === undefined) deployed.token = token;
  // The contracts and governance calls of `src/protocol/wiring.ts`, in order.
  const resolve = (values: readonly WiringValue[]) =>
    resolveWiring<unknown>(
      values,
      (key) => (key === "token" ? token : deployed[key]!),
      (name) => (name === "governance" ? deployer : parameters[name]),
      (value) => value,
    );
  for (const { key, artifact, args } of WIRING_CONTRACTS) {
    const { abi, bytecode } = WIRED_ARTIFACTS[key];
    deployed[key] = await create(artifact, abi, bytecode, resolve(args) as ContractConstructorArgs);
  }
  for (const { on, functionName, args } of WIRING_CALLS) {
    const name = callName(on, functionName, args);
    await step(name, async () => {
      const { request } = await publicClient.simulateContract({
        address: deployed[on]!,
        abi: WIRED_ARTIFACTS[on].abi,
        functionName,
        args: resolve(args),
        account,
      } as unknown as SimulateContractParameters);
      await mined(name, await walletClient.writeContract(request as unknown as WriteContractParameters));
    });
  }
  const { models, operators, settlement, signatureMode, zkMode, quietMode } = deployed as Required<
    typeof deployed
  >;
  if (options.irisVerifier === true) {
    deployed.irisVerifier = await create(
      "IrisMlpVerifier",
      irisMlpVerifierAbi,
      protocolBytecode.irisMlpVerifier,
      [],
    );
  }

  return {
    chainId,
    deployer,
    addresses: {
      token,
      models,
      operators,
      settlement,
      signatureMode,
      zkMode,
      quietMode,
      ...(deployed.irisVerifier === undefined ? {} : { irisVerifier: deployed.irisVerifier }),
    },
    tokenDeployed: options.token === undefined,
    parameters,
    steps,
    gasUsed: steps.reduce((sum, s) => sum + s.gasUsed, 0n),
  };
}
