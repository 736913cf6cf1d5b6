import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { network } from "hardhat";
import { keccak256, toHex, type Address, type Hex } from "viem";
import { findEvent, openedFrom, signResultWithEthers, type OpenedRequest } from "../../src/ethers/index.js";
import {
  settlementDomain,
  VerificationMode,
  type InferenceRequest,
  type ModelSpecInput,
} from "../../src/protocol/index.js";
import type {
  InferenceSettlement,
  ModelRegistry,
  OperatorRegistry,
  OPGToken,
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
export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000" as const;
export const ZERO_HASH = `0x${"0".repeat(64)}` as const;

/** Deterministic operator signing keys (never funded: they only sign). */
export const SIGNER_KEYS = [
  "0x1111111111111111111111111111111111111111111111111111111111111111",
  "0x2222222222222222222222222222222222222222222222222222222222222222",
  "0x3333333333333333333333333333333333333333333333333333333333333333",
] as const;

export function modelSpec(overrides: Partial<ModelSpecInput> = {}): ModelSpecInput {
  return {
    name: "iris-mlp",
    fileHash: keccak256(toHex("model file bytes")),
    runtimeHash: keccak256(toHex("runtime descriptor")),
    zkCommitment: ZERO_HASH,
    zkVerifier: ZERO_ADDRESS,
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
  governance: HardhatEthersSigner;
  treasury: HardhatEthersSigner;
  modelOwner: HardhatEthersSigner;
  operator: HardhatEthersSigner;
  payout: HardhatEthersSigner;
  requester: HardhatEthersSigner;
  other: HardhatEthersSigner;
  reporter: HardhatEthersSigner;
  signer: InstanceType<typeof ethers.Wallet>;
  modelId: Hex;
  chainId: bigint;
}

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

/** Deploy token, registries and settlement; bind the slasher; fund accounts. */
export async function deployProtocol(): Promise<Omit<Protocol, "modelId" | "signer">> {
  const { governance, treasury, modelOwner, operator, payout, requester, other, reporter } =
    await namedAccounts();
  const token = await ethers.deployContract("OPGToken", [governance.address, SUPPLY]);
  const models = await ethers.deployContract("ModelRegistry", [await token.getAddress()]);
  const operators = await ethers.deployContract("OperatorRegistry", [
    await token.getAddress(),
    governance.address,
    MIN_STAKE,
    UNBONDING_DELAY,
  ]);
  const settlement = await ethers.deployContract("InferenceSettlement", [
    await token.getAddress(),
    await models.getAddress(),
    await operators.getAddress(),
    governance.address,
    treasury.address,
    PROTOCOL_FEE_BPS,
  ]);
  await operators.connect(governance).bindSettlement(await settlement.getAddress());
  for (const account of [modelOwner, operator, requester, other, reporter]) {
    await token.connect(governance).transfer(account.address, 100_000n * OPG);
  }
  const chainId = (await ethers.provider.getNetwork()).chainId;
  return {
    token: token,
    models: models,
    operators: operators,
    settlement: settlement,
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

/** The full system with one registered model, one staked operator and a funded, prepaid requester. */
export async function protocolFixture(): Promise<Protocol> {
  const base = await deployProtocol();
  const { token, models, operators, settlement, modelOwner, operator, payout, requester } = base;
  const modelId = await registerModel(models, modelOwner, modelSpec());
  const signer = new ethers.Wallet(SIGNER_KEYS[0]);
  await token.connect(operator).approve(await operators.getAddress(), MIN_STAKE);
  await operators.connect(operator).register(signer.address, payout.address, MIN_STAKE);
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
  p: Protocol,
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

export interface SignedResult {
  result: { operator: Address; outputHash: Hex; output: Hex; outputUri: string };
  signature: Hex;
}

/** Sign a result for `request` with `signer` under a domain (this deployment by default). */
export async function signResult(
  p: Protocol,
  requestId: bigint,
  request: InferenceRequest,
  options: {
    output?: Hex;
    signer?: InstanceType<typeof ethers.Wallet>;
    operator?: Address;
    chainId?: bigint;
    verifyingContract?: Address;
    outputHash?: Hex;
    outputUri?: string;
  } = {},
): Promise<SignedResult> {
  const output = options.output ?? toHex(new Uint8Array([1, 2, 3, 4]));
  const outputHash = options.outputHash ?? keccak256(output);
  const operator = options.operator ?? (p.operator.address as Address);
  const domain = settlementDomain(
    options.chainId ?? p.chainId,
    options.verifyingContract ?? ((await p.settlement.getAddress()) as Address),
  );
  const signature = await signResultWithEthers(options.signer ?? p.signer, domain, {
    requestId,
    modelId: request.modelId,
    inputHash: request.inputHash,
    outputHash,
    operator,
  });
  return { result: { operator, outputHash, output, outputUri: options.outputUri ?? "" }, signature };
}

export { findEvent, openedFrom, type OpenedRequest };

export type { ModelSpecInput };
