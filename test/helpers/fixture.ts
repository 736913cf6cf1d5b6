import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { network } from "hardhat";
import { keccak256, recoverAddress, toHex, type Address, type Hex } from "viem";
import {
  findEvent,
  openedFrom,
  signResultWithEthers,
  signSignerBindingWithEthers,
  type OpenedRequest,
} from "../../src/ethers/index.js";
import {
  compactSignature,
  operatorRegistryDomain,
  resultClaim,
  resultDigest,
  resultMessage,
  signatureModeDomain,
  VerificationMode,
  type InferenceRequest,
  type ModelSpecInput,
  type ResultClaim,
  type ResultFields,
  type ResultMessage,
} from "../../src/protocol/index.js";
import {
  resolveWiring,
  WIRING_CALLS,
  WIRING_CONTRACTS,
  type WiredContract,
  type WiringParameter,
  type WiringValue,
} from "../../src/protocol/wiring.js";
import type {
  InferenceSettlement,
  ModelRegistry,
  OperatorRegistry,
  OPGToken,
  QuietMode,
  SignatureMode,
  TestMode,
  ZkMode,
} from "../../typechain-types/index.js";

/** One Hardhat network per test file; fixtures snapshot and restore it. */
export const connection = await network.create();
export const { ethers, networkHelpers } = connection;

export const OPG = 10n ** 18n;
export const SUPPLY = 1_000_000_000n * OPG;
export const MIN_STAKE = 1_000n * OPG;
export const UNBONDING_DELAY = 7n * 24n * 3600n;
export const PROTOCOL_FEE_BPS = 500;
export const MODEL_FEE = 10n * OPG;
export const ROYALTY_BPS = 1_000;
/** `SignatureMode`'s equivocation penalty and reporter share in the fixture. */
export const PENALTY = 600n * OPG;
export const REWARD_BPS = 2_500;
export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000" as const;
export const ZERO_HASH = `0x${"0".repeat(64)}` as const;
/** A mode bit no production mode uses, for `TestMode`. */
export const TEST_MODE_BIT = 8;

/** Quiet mode's windows in these tests (seconds): short, like a test chain's. */
export const QUIET_WINDOWS = {
  commitWindow: 600n,
  challengeWindow: 900n,
  maxTtl: 3_600n,
  noticePeriod: 5_100n,
} as const;

/** `IInferenceSettlement.RequestStatus`. */
export const STATUS = { None: 0, Pending: 1, Fulfilled: 2, FulfilledCallbackFailed: 3, Refunded: 4 } as const;

/** Deterministic operator signing keys (never funded: they only sign). */
export const SIGNER_KEYS = [
  "0x1111111111111111111111111111111111111111111111111111111111111111",
  "0x2222222222222222222222222222222222222222222222222222222222222222",
  "0x3333333333333333333333333333333333333333333333333333333333333333",
] as const;

/** An ethers wallet, the shape signing keys have in these tests. */
export type Wallet = InstanceType<typeof ethers.Wallet>;

export function modelSpec(overrides: Partial<ModelSpecInput> = {}): ModelSpecInput {
  return {
    name: "iris-mlp",
    fileHash: keccak256(toHex("model file bytes")),
    runtimeHash: keccak256(toHex("runtime descriptor")),
    zkCommitment: ZERO_HASH,
    zkVerifier: ZERO_ADDRESS,
    zkVerifierCodeHash: ZERO_HASH,
    uri: "ipfs://bafy-example",
    fee: MODEL_FEE,
    royaltyBps: ROYALTY_BPS,
    modes: VerificationMode.Signature,
    ...overrides,
  };
}

export interface Protocol {
  token: OPGToken;
  models: ModelRegistry;
  operators: OperatorRegistry;
  settlement: InferenceSettlement;
  signatureMode: SignatureMode;
  zkMode: ZkMode;
  quietMode: QuietMode;
  governance: HardhatEthersSigner;
  treasury: HardhatEthersSigner;
  modelOwner: HardhatEthersSigner;
  operator: HardhatEthersSigner;
  payout: HardhatEthersSigner;
  requester: HardhatEthersSigner;
  other: HardhatEthersSigner;
  reporter: HardhatEthersSigner;
  signer: Wallet;
  modelId: Hex;
  chainId: bigint;
}

export type Deployed = Omit<Protocol, "modelId" | "signer">;

const ROLES = [
  "governance",
  "treasury",
  "modelOwner",
  "operator",
  "payout",
  "requester",
  "other",
  "reporter",
] as const;
type Role = (typeof ROLES)[number];

/** Hardhat's first accounts, one per role. */
export async function namedAccounts(): Promise<Record<Role, HardhatEthersSigner>> {
  const all = await ethers.getSigners();
  const named = {} as Record<Role, HardhatEthersSigner>;
  ROLES.forEach((role, i) => {
    const signer = all[i];
    if (signer === undefined) throw new Error(`the network has no account #${i} for ${role}`);
    named[role] = signer;
  });
  return named;
}

/**
 * Deploy token, registries, the settlement core and both verification modes; bind the core as the only slasher and
 * each mode contract to its bit; fund accounts. No model or operator is registered yet.
 */
export async function deployProtocol(): Promise<Deployed> {
  const { governance, treasury, modelOwner, operator, payout, requester, other, reporter } =
    await namedAccounts();
  const token = await ethers.deployContract("OPGToken", [governance.address, SUPPLY]);
  // The contracts and governance calls of `src/protocol/wiring.ts`, as every deployment makes them.
  const parameters: Record<WiringParameter, unknown> = {
    governance: governance.address,
    treasury: treasury.address,
    minStake: MIN_STAKE,
    unbondingDelay: UNBONDING_DELAY,
    protocolFeeBps: PROTOCOL_FEE_BPS,
    equivocationPenalty: PENALTY,
    reporterRewardBps: REWARD_BPS,
    quietCommitWindow: QUIET_WINDOWS.commitWindow,
    quietChallengeWindow: QUIET_WINDOWS.challengeWindow,
    quietMaxTtl: QUIET_WINDOWS.maxTtl,
    quietNoticePeriod: QUIET_WINDOWS.noticePeriod,
    quietPenalty: PENALTY,
    quietRewardBps: REWARD_BPS,
  };
  const addresses: Partial<Record<WiredContract, string>> = { token: await token.getAddress() };
  const contracts: Partial<Record<WiredContract, Awaited<ReturnType<typeof ethers.deployContract>>>> = {};
  const resolve = (values: readonly WiringValue[]) =>
    resolveWiring<unknown>(
      values,
      (key) => addresses[key]!,
      (name) => parameters[name],
      (bit) => bit,
    );
  for (const { key, artifact, args } of WIRING_CONTRACTS) {
    const deployed = await ethers.deployContract(artifact, resolve(args));
    contracts[key] = deployed;
    addresses[key] = await deployed.getAddress();
  }
  for (const { on, functionName, args } of WIRING_CALLS) {
    const target = contracts[on]!.connect(governance) as unknown as Record<
      string,
      (...a: unknown[]) => Promise<{ wait(): Promise<unknown> }>
    >;
    await (await target[functionName]!(...resolve(args))).wait();
  }
  const models = contracts.models as unknown as ModelRegistry;
  const operators = contracts.operators as unknown as OperatorRegistry;
  const settlement = contracts.settlement as unknown as InferenceSettlement;
  const signatureMode = contracts.signatureMode as unknown as SignatureMode;
  const zkMode = contracts.zkMode as unknown as ZkMode;
  const quietMode = contracts.quietMode as unknown as QuietMode;
  for (const account of [modelOwner, operator, requester, other, reporter]) {
    await token.connect(governance).transfer(account.address, 100_000n * OPG);
  }
  const chainId = (await ethers.provider.getNetwork()).chainId;
  return {
    token,
    models,
    operators,
    settlement,
    signatureMode,
    zkMode,
    quietMode,
    governance,
    treasury,
    modelOwner,
    operator,
    payout,
    requester,
    other,
    reporter,
    chainId,
  };
}

/** Register a model version and return its id (from the event). */
export async function registerModel(
  models: ModelRegistry,
  owner: HardhatEthersSigner,
  spec: ModelSpecInput,
): Promise<Hex> {
  const receipt = await (await models.connect(owner).registerModel(spec)).wait();
  return findEvent(models, receipt, "ModelRegistered").args.getValue("modelId") as Hex;
}

/** `extcodehash` of an account, as the registry and `ZkMode` read it. */
export async function codeHashOf(address: string): Promise<Hex> {
  return keccak256((await ethers.provider.getCode(address)) as Hex);
}

/** A pure verifier (the generated Iris Groth16 verifier): its address and code hash, ready for a `ModelSpec`. */
export async function deployVerifier(): Promise<{ zkVerifier: Address; zkVerifierCodeHash: Hex }> {
  const verifier = await ethers.deployContract("IrisMlpVerifier");
  const zkVerifier = (await verifier.getAddress()) as Address;
  return { zkVerifier, zkVerifierCodeHash: await codeHashOf(zkVerifier) };
}

type RegistryRef = Pick<Protocol, "operators" | "chainId">;

/**
 * A signing key's proof of possession: its EIP-712 signature over `SignerBinding(operator, signer)` under the
 * registry's domain (this deployment's by default).
 */
export async function signerProof(
  p: RegistryRef,
  key: Wallet,
  operator: string,
  domain: { chainId?: bigint; registry?: Address } = {},
): Promise<Hex> {
  return signSignerBindingWithEthers(
    key,
    operatorRegistryDomain(
      domain.chainId ?? p.chainId,
      domain.registry ?? ((await p.operators.getAddress()) as Address),
    ),
    { operator: operator as Address, signer: key.address as Address },
  );
}

/** Register `account` as an operator with `key` (and its proof), `payout` and a first stake (approved here). */
export async function registerOperator(
  p: RegistryRef & Pick<Protocol, "token">,
  account: HardhatEthersSigner,
  key: Wallet,
  payout: string,
  stake: bigint = MIN_STAKE,
): Promise<void> {
  if (stake > 0n) await p.token.connect(account).approve(await p.operators.getAddress(), stake);
  const proof = await signerProof(p, key, account.address);
  await (await p.operators.connect(account).register(key.address, payout, stake, proof)).wait();
}

/** Rotate `account`'s signing key to `key`, with the new key's proof. */
export async function rotateSigner(p: RegistryRef, account: HardhatEthersSigner, key: Wallet) {
  const proof = await signerProof(p, key, account.address);
  return p.operators.connect(account).rotateSigner(key.address, proof);
}

/** The full system with one registered model, one staked operator and a funded, prepaid requester. */
export async function protocolFixture(): Promise<Protocol> {
  const base = await deployProtocol();
  const { token, models, settlement, modelOwner, operator, payout, requester } = base;
  const modelId = await registerModel(models, modelOwner, modelSpec());
  const signer = new ethers.Wallet(SIGNER_KEYS[0]);
  await registerOperator(base, operator, signer, payout.address);
  await token.connect(requester).approve(await settlement.getAddress(), ethers.MaxUint256);
  await settlement.connect(requester).deposit(1_000n * OPG);
  return { ...base, modelId, signer };
}

export interface RequestOptions {
  modelId: Hex;
  inputHash: Hex;
  maxFee: bigint;
  deadline: bigint;
  mode: number;
  operator: Address;
  callback: Address;
  callbackGasLimit: number;
  inputUri: string;
}

export async function requestParams(
  p: Pick<Protocol, "modelId">,
  overrides: Partial<RequestOptions> = {},
): Promise<RequestOptions> {
  const now = BigInt(await networkHelpers.time.latest());
  return {
    modelId: p.modelId,
    inputHash: keccak256(toHex("input: 5.1 3.5 1.4 0.2")),
    maxFee: MODEL_FEE,
    deadline: now + 3600n,
    mode: VerificationMode.Signature,
    operator: ZERO_ADDRESS,
    callback: ZERO_ADDRESS,
    callbackGasLimit: 0,
    inputUri: "",
    ...overrides,
  };
}

/** Open a request paid from the requester's ledger balance. */
export async function openPrepaid(
  p: Protocol,
  overrides: Partial<RequestOptions> = {},
  from: HardhatEthersSigner = p.requester,
): Promise<OpenedRequest> {
  const params = await requestParams(p, overrides);
  const tx = await p.settlement.connect(from).openRequest(params);
  return openedFrom(p.settlement, await tx.wait());
}

/** A result signed by an operator key, in every shape the contracts take. */
export interface SignedResult {
  /** The `Result` posted to `fulfillSigned`. */
  result: ResultFields;
  /** The typed-data message that was signed. */
  message: ResultMessage;
  /** The 65-byte signature (`reportEquivocation` evidence). */
  signature: Hex;
  /** The EIP-2098 compact form (`fulfillSigned`). */
  r: Hex;
  vs: Hex;
  /** The hashed claim (`reportEquivocation`). */
  claim: ResultClaim;
}

export interface SignOptions {
  output?: Hex;
  outputHash?: Hex;
  outputUri?: string;
  signer?: Wallet;
  operator?: Address;
  /** Sign under another chain id than this deployment's. */
  chainId?: bigint;
  /** Sign for another `SignatureMode` contract than this deployment's. */
  verifyingContract?: Address;
}

/** The default inline output of a signed result. */
export const DEFAULT_OUTPUT = toHex(new Uint8Array([1, 2, 3, 4]));

/** Sign a result for request `requestId` (content `request`) with an operator key, under this deployment's domain. */
export async function signResult(
  p: Pick<Protocol, "signatureMode" | "operator" | "signer" | "chainId">,
  requestId: bigint,
  request: InferenceRequest,
  options: SignOptions = {},
): Promise<SignedResult> {
  const output = options.output ?? DEFAULT_OUTPUT;
  const result: ResultFields = {
    operator: options.operator ?? (p.operator.address as Address),
    outputHash: options.outputHash ?? keccak256(output),
    output,
    outputUri: options.outputUri ?? "",
  };
  const domain = signatureModeDomain(
    options.chainId ?? p.chainId,
    options.verifyingContract ?? ((await p.signatureMode.getAddress()) as Address),
  );
  const message = resultMessage(requestId, request, result);
  const signature = await signResultWithEthers(options.signer ?? p.signer, domain, message);
  const { r, vs } = compactSignature(signature);
  return { result, message, signature, r, vs, claim: resultClaim(message) };
}

/**
 * The key `SignatureMode` recovers from `signature` over `message` (the result as submitted, which may differ from
 * what was signed): the second argument of the `SignerMismatch` a tampered result hits.
 */
export async function recoveredSigner(
  p: Pick<Protocol, "signatureMode" | "chainId">,
  message: ResultMessage,
  signature: Hex,
): Promise<Address> {
  const domain = signatureModeDomain(p.chainId, (await p.signatureMode.getAddress()) as Address);
  return recoverAddress({ hash: resultDigest(domain, message), signature });
}

/** Submit a signed result through `SignatureMode.fulfillSigned` (by `from`, the operator by default). */
export function fulfilSigned(
  p: Pick<Protocol, "signatureMode" | "operator">,
  opened: { requestId: bigint; request: InferenceRequest },
  signed: Pick<SignedResult, "result" | "r" | "vs">,
  from: HardhatEthersSigner = p.operator,
) {
  return p.signatureMode
    .connect(from)
    .fulfillSigned(opened.request, opened.requestId, signed.result, signed.r, signed.vs);
}

/** Two results with different outputs for one request, signed by `signer`: equivocation evidence. */
export async function twoResults(
  p: Pick<Protocol, "signatureMode" | "operator" | "signer" | "chainId">,
  requestId: bigint,
  request: InferenceRequest,
  options: SignOptions = {},
): Promise<[SignedResult, SignedResult]> {
  const a = await signResult(p, requestId, request, { ...options, output: toHex("class 0") });
  const b = await signResult(p, requestId, request, { ...options, output: toHex("class 2") });
  return [a, b];
}

/** Report two signed results of one request as equivocation by `operator` (the fixture's by default). */
export function reportEquivocation(
  p: Pick<Protocol, "signatureMode" | "operator" | "reporter">,
  opened: { requestId: bigint; request: InferenceRequest },
  [a, b]: readonly [Pick<SignedResult, "claim" | "signature">, Pick<SignedResult, "claim" | "signature">],
  options: { operator?: string; from?: HardhatEthersSigner } = {},
) {
  return p.signatureMode
    .connect(options.from ?? p.reporter)
    .reportEquivocation(
      opened.request,
      opened.requestId,
      options.operator ?? p.operator.address,
      a.claim,
      a.signature,
      b.claim,
      b.signature,
    );
}

/** Deploy a `TestMode` declaring `bit` and bind it (governance): a mode that forwards anything to the core's hooks. */
export async function bindTestMode(
  p: Pick<Protocol, "settlement" | "governance">,
  bit: number = TEST_MODE_BIT,
): Promise<TestMode> {
  const mode = await ethers.deployContract("TestMode", [await p.settlement.getAddress(), bit]);
  await (await p.settlement.connect(p.governance).bindMode(bit, await mode.getAddress())).wait();
  return mode;
}

/** A signer that sends transactions from `address` (a contract, impersonated), funded for gas. */
export async function impersonate(address: string): Promise<HardhatEthersSigner> {
  await networkHelpers.impersonateAccount(address);
  await networkHelpers.setBalance(address, 10n ** 18n);
  return ethers.getSigner(address);
}

/**
 * The core's storage slot that packs treasury (20 bytes), protocol fee (2), `nextRequestId` (8) and the bound and open
 * mode sets (1 each), found by its content rather than assumed, so a layout change fails loudly here.
 */
export async function requestIdSlot(p: Pick<Protocol, "settlement">): Promise<number> {
  const address = await p.settlement.getAddress();
  const [treasury, nextId] = await Promise.all([p.settlement.treasury(), p.settlement.nextRequestId()]);
  for (let slot = 0; slot < 8; slot++) {
    const word = BigInt(await networkHelpers.getStorageAt(address, slot));
    if (word % 2n ** 160n === BigInt(treasury) && (word >> 176n) % 2n ** 64n === nextId) return slot;
  }
  throw new Error("no storage slot holds the treasury and the next request id");
}

/** Set the core's request id counter (`hardhat_setStorageAt`), keeping the rest of its slot. */
export async function setNextRequestId(p: Pick<Protocol, "settlement">, id: bigint): Promise<void> {
  const address = await p.settlement.getAddress();
  const slot = await requestIdSlot(p);
  const word = BigInt(await networkHelpers.getStorageAt(address, slot));
  const mask = (2n ** 64n - 1n) << 176n;
  await networkHelpers.setStorageAt(address, slot, (word & ~mask) | (id << 176n));
  if ((await p.settlement.nextRequestId()) !== id) throw new Error("the request id counter did not move");
}

/**
 * `totalOwed` recomputed from its definition: Σ balances of `accounts` + Σ fees of `pending` requests + protocol fees.
 * Equal to the core's `totalOwed` when `accounts` covers every account with a balance.
 */
export async function owedFromParts(
  p: Pick<Protocol, "settlement">,
  accounts: readonly string[],
  pending: readonly { request: InferenceRequest }[],
): Promise<bigint> {
  let owed = await p.settlement.protocolFees();
  for (const account of new Set(accounts)) owed += await p.settlement.balances(account);
  for (const { request } of pending) owed += request.fee;
  return owed;
}

export { findEvent, openedFrom, type OpenedRequest };

export type { ModelSpecInput };
