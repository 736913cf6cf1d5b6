import { expect } from "chai";
import fc from "fast-check";
import { hashTypedData, keccak256, recoverAddress, toHex, type Address, type Hex } from "viem";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { OperatorRegistry, OPGToken } from "../typechain-types/index.js";
import { operatorRegistryDomain, signerBindingTypedData } from "../src/protocol/index.js";
import {
  deployProtocol,
  ethers,
  impersonate,
  MIN_STAKE,
  modelSpec,
  networkHelpers,
  OPG,
  setNextRequestId,
  SIGNER_KEYS,
  signerProof,
  UNBONDING_DELAY,
  ZERO_ADDRESS,
  type Wallet,
} from "./helpers/fixture.js";

const { time } = networkHelpers;
const loadFixture = networkHelpers.loadFixture.bind(networkHelpers);

const MAX_UINT96 = 2n ** 96n - 1n;
const MAX_UNBONDING_DELAY = 90n * 24n * 3600n;

const CHAIN_ID = (await ethers.provider.getNetwork()).chainId;

/** Signing keys: the fixture's three, then more derived deterministically. Never funded; they only sign. */
const WALLETS: Wallet[] = [
  ...SIGNER_KEYS.map((k) => new ethers.Wallet(k)),
  ...[4, 5, 6].map((i) => new ethers.Wallet(keccak256(toHex(`operator key ${i}`)))),
];
function wallet(i: number): Wallet {
  const w = WALLETS[i];
  if (w === undefined) throw new Error(`no key #${i}`);
  return w;
}
function key(i: number): Address {
  return wallet(i).address as Address;
}

/** The account `registry` is connected to. */
async function caller(registry: OperatorRegistry): Promise<string> {
  const runner = registry.runner as { getAddress?: () => Promise<string> } | null;
  if (runner?.getAddress === undefined) throw new Error("the registry is not connected to a signer");
  return runner.getAddress();
}

/** Key `i`'s proof of possession for the caller of `registry`, under that registry's domain. */
async function proofOf(registry: OperatorRegistry, i: number, operator?: string): Promise<Hex> {
  return signerProof(
    { operators: registry, chainId: CHAIN_ID },
    wallet(i),
    operator ?? (await caller(registry)),
  );
}

/** `register(key(i), payout, amount, proof)` from the caller of `registry`, with key `i`'s proof. */
async function registerKey(registry: OperatorRegistry, i: number, payout: string, amount: bigint) {
  return registry.register(key(i), payout, amount, await proofOf(registry, i));
}

/** `rotateSigner(key(i), proof)` from the caller of `registry`, with key `i`'s proof. */
async function rotateKey(registry: OperatorRegistry, i: number) {
  return registry.rotateSigner(key(i), await proofOf(registry, i));
}

/** The protocol, with operator, other and requester having approved the registry for everything. */
async function operatorsFixture() {
  const p = await deployProtocol();
  for (const account of [p.operator, p.other, p.requester]) {
    await p.token.connect(account).approve(await p.operators.getAddress(), ethers.MaxUint256);
  }
  return p;
}

const STAKE = 2n * MIN_STAKE;

/** As `operatorsFixture`, with `operator` registered (key 0, `payout`) and staked at twice the minimum. */
async function stakedFixture() {
  const p = await operatorsFixture();
  await registerKey(p.operators.connect(p.operator), 0, p.payout.address, STAKE);
  return p;
}

/**
 * The protocol with `operator` registered (key 0) with `MIN_STAKE`, and `slasher`: the settlement core itself,
 * impersonated, so `slash` can be called on the registry directly with any amount and recipient.
 */
async function slashFixture() {
  const p = await operatorsFixture();
  await registerKey(p.operators.connect(p.operator), 0, p.payout.address, MIN_STAKE);
  const slasher = await impersonate(await p.settlement.getAddress());
  return { ...p, registry: p.operators, slasher };
}

async function record(registry: OperatorRegistry, operator: HardhatEthersSigner | string) {
  const r = await registry.getOperator(typeof operator === "string" ? operator : operator.address);
  return {
    signer: r.signer,
    stake: r.stake,
    payout: r.payout,
    unbonding: r.unbonding,
    unbondingEnd: r.unbondingEnd,
  };
}

/** `token.balanceOf(registry) == Σ (stake + unbonding)` over `operators`, and return that sum. */
async function expectConserved(token: OPGToken, registry: OperatorRegistry, operators: readonly string[]) {
  let sum = 0n;
  for (const operator of operators) {
    const r = await registry.getOperator(operator);
    sum += r.stake + r.unbonding;
  }
  expect(await token.balanceOf(await registry.getAddress())).to.equal(sum);
  return sum;
}

/** Fix the next block's timestamp and return it, so an unbonding end is exactly predictable. */
async function nextTimestamp(): Promise<bigint> {
  const ts = BigInt(await time.latest()) + 1n;
  await time.setNextBlockTimestamp(ts);
  return ts;
}

describe("OperatorRegistry", () => {
  describe("deployment", () => {
    it("wires token, governance, minimum stake, delay and the bound settlement", async () => {
      const p = await loadFixture(operatorsFixture);
      expect(await p.operators.token()).to.equal(await p.token.getAddress());
      expect(await p.operators.owner()).to.equal(p.governance.address);
      expect(await p.operators.pendingOwner()).to.equal(ZERO_ADDRESS);
      expect(await p.operators.minStake()).to.equal(MIN_STAKE);
      expect(await p.operators.unbondingDelay()).to.equal(UNBONDING_DELAY);
      expect(await p.operators.MAX_UNBONDING_DELAY()).to.equal(MAX_UNBONDING_DELAY);
      expect(await p.operators.settlement()).to.equal(await p.settlement.getAddress());
    });

    it("announces its minimum stake and delay at construction", async () => {
      const p = await loadFixture(operatorsFixture);
      const registry = await ethers.deployContract("OperatorRegistry", [
        await p.token.getAddress(),
        p.governance.address,
        5n,
        MAX_UNBONDING_DELAY,
      ]);
      const tx = registry.deploymentTransaction();
      await expect(tx).to.emit(registry, "MinStakeSet").withArgs(5n);
      await expect(tx).to.emit(registry, "UnbondingDelaySet").withArgs(MAX_UNBONDING_DELAY);
      expect(await registry.settlement()).to.equal(ZERO_ADDRESS);
      expect(await registry.minStake()).to.equal(5n);
      expect(await registry.unbondingDelay()).to.equal(MAX_UNBONDING_DELAY);
    });

    it("refuses bad constructor arguments", async () => {
      const p = await loadFixture(operatorsFixture);
      const token = await p.token.getAddress();
      const deploy = (governance: string, min: bigint, delay: bigint) =>
        ethers.deployContract("OperatorRegistry", [token, governance, min, delay]);
      await expect(deploy(p.governance.address, 0n, UNBONDING_DELAY)).to.be.revertedWithCustomError(
        p.operators,
        "InvalidMinStake",
      );
      await expect(
        deploy(p.governance.address, MAX_UINT96 + 1n, UNBONDING_DELAY),
      ).to.be.revertedWithCustomError(p.operators, "InvalidMinStake");
      await expect(deploy(p.governance.address, MIN_STAKE, MAX_UNBONDING_DELAY + 1n))
        .to.be.revertedWithCustomError(p.operators, "UnbondingDelayTooLong")
        .withArgs(MAX_UNBONDING_DELAY + 1n, MAX_UNBONDING_DELAY);
      await expect(deploy(ZERO_ADDRESS, MIN_STAKE, UNBONDING_DELAY))
        .to.be.revertedWithCustomError(p.operators, "OwnableInvalidOwner")
        .withArgs(ZERO_ADDRESS);
    });
  });

  describe("register", () => {
    it("registers without stake: recorded, announced, but not eligible", async () => {
      const p = await loadFixture(operatorsFixture);
      const tx = registerKey(p.operators.connect(p.operator), 0, p.payout.address, 0n);
      await expect(tx)
        .to.emit(p.operators, "OperatorRegistered")
        .withArgs(p.operator.address, key(0), p.payout.address);
      await expect(tx).to.not.emit(p.operators, "Staked");
      await expect(tx).to.changeTokenBalances(ethers, p.token, [p.operator, p.operators], [0n, 0n]);
      expect(await record(p.operators, p.operator)).to.deep.equal({
        signer: key(0),
        stake: 0n,
        payout: p.payout.address,
        unbonding: 0n,
        unbondingEnd: 0n,
      });
      expect(await p.operators.operatorOfSigner(key(0))).to.equal(p.operator.address);
      expect(await p.operators.isEligible(p.operator.address)).to.equal(false);
      await expect(p.operators.payoutFor(p.operator.address, key(0)))
        .to.be.revertedWithCustomError(p.operators, "StakeBelowMinimum")
        .withArgs(p.operator.address, 0n, MIN_STAKE);
    });

    it("registers with a first stake pulled from the caller, and becomes eligible", async () => {
      const p = await loadFixture(operatorsFixture);
      const tx = registerKey(p.operators.connect(p.operator), 0, p.payout.address, MIN_STAKE);
      await expect(tx)
        .to.emit(p.operators, "OperatorRegistered")
        .withArgs(p.operator.address, key(0), p.payout.address);
      await expect(tx).to.emit(p.operators, "Staked").withArgs(p.operator.address, MIN_STAKE, MIN_STAKE);
      await expect(tx).to.changeTokenBalances(
        ethers,
        p.token,
        [p.operator, p.operators],
        [-MIN_STAKE, MIN_STAKE],
      );
      expect((await record(p.operators, p.operator)).stake).to.equal(MIN_STAKE);
      expect(await p.operators.isEligible(p.operator.address)).to.equal(true);
      expect(await p.operators.payoutFor(p.operator.address, key(0))).to.equal(p.payout.address);
    });

    it("is atomic: a first stake without allowance leaves nothing registered", async () => {
      const p = await loadFixture(operatorsFixture);
      await p.token.connect(p.operator).approve(await p.operators.getAddress(), 0n);
      await expect(registerKey(p.operators.connect(p.operator), 0, p.payout.address, MIN_STAKE))
        .to.be.revertedWithCustomError(p.token, "ERC20InsufficientAllowance")
        .withArgs(await p.operators.getAddress(), 0n, MIN_STAKE);
      expect((await record(p.operators, p.operator)).signer).to.equal(ZERO_ADDRESS);
      expect(await p.operators.operatorOfSigner(key(0))).to.equal(ZERO_ADDRESS);
    });

    it("refuses a second registration, even with a new key", async () => {
      const p = await loadFixture(stakedFixture);
      await expect(registerKey(p.operators.connect(p.operator), 1, p.payout.address, 0n))
        .to.be.revertedWithCustomError(p.operators, "AlreadyRegistered")
        .withArgs(p.operator.address);
      expect(await p.operators.operatorOfSigner(key(1))).to.equal(ZERO_ADDRESS);
    });

    it("refuses a zero signer and a zero payout", async () => {
      const p = await loadFixture(operatorsFixture);
      await expect(
        p.operators.connect(p.operator).register(ZERO_ADDRESS, p.payout.address, 0n, "0x"),
      ).to.be.revertedWithCustomError(p.operators, "ZeroAddress");
      await expect(
        registerKey(p.operators.connect(p.operator), 0, ZERO_ADDRESS, 0n),
      ).to.be.revertedWithCustomError(p.operators, "ZeroAddress");
      expect(await p.operators.operatorOfSigner(key(0))).to.equal(ZERO_ADDRESS);
    });

    it("refuses a key another operator registered", async () => {
      const p = await loadFixture(stakedFixture);
      await expect(registerKey(p.operators.connect(p.other), 0, p.other.address, 0n))
        .to.be.revertedWithCustomError(p.operators, "SignerAlreadyUsed")
        .withArgs(key(0));
      expect(await p.operators.operatorOfSigner(key(0))).to.equal(p.operator.address);
      expect((await record(p.operators, p.other)).signer).to.equal(ZERO_ADDRESS);
    });

    it("refuses a first stake that could not fit in 96 bits before touching the token", async () => {
      const p = await loadFixture(operatorsFixture);
      await expect(
        registerKey(p.operators.connect(p.operator), 0, p.payout.address, MAX_UINT96 + 1n),
      ).to.be.revertedWithCustomError(p.operators, "InvalidAmount");
      expect((await record(p.operators, p.operator)).signer).to.equal(ZERO_ADDRESS);
    });
  });

  describe("proof of possession", () => {
    it("signs the EIP-712 SignerBinding the TypeScript definition describes", async () => {
      const p = await loadFixture(operatorsFixture);
      const domain = operatorRegistryDomain(CHAIN_ID, (await p.operators.getAddress()) as Address);
      const message = { operator: p.operator.address as Address, signer: key(0) };
      const digest = hashTypedData(signerBindingTypedData(domain, message));
      expect(await p.operators.signerBindingDigest(p.operator.address, key(0))).to.equal(digest);
      expect(await p.operators.SIGNER_BINDING_TYPEHASH()).to.equal(
        keccak256(toHex("SignerBinding(address operator,address signer)")),
      );
      const proof = await proofOf(p.operators.connect(p.operator), 0);
      expect(await recoverAddress({ hash: digest, signature: proof })).to.equal(key(0));
    });

    it("refuses a key without its own signature binding it to the caller", async () => {
      const p = await loadFixture(operatorsFixture);
      const op = p.operators.connect(p.operator);
      const digest = (await p.operators.signerBindingDigest(p.operator.address, key(0))) as Hex;
      const otherRegistry = await ethers.deployContract("OperatorRegistry", [
        await p.token.getAddress(),
        p.governance.address,
        MIN_STAKE,
        UNBONDING_DELAY,
      ]);
      const wrong: [string, Hex][] = [
        [
          "signed by another key",
          await signerProof({ operators: p.operators, chainId: CHAIN_ID }, wallet(1), p.operator.address),
        ],
        ["for another operator", await proofOf(op, 0, p.other.address)],
        [
          "for another chain",
          await signerProof(
            { operators: p.operators, chainId: CHAIN_ID + 1n },
            wallet(0),
            p.operator.address,
          ),
        ],
        ["for another registry", await proofOf(otherRegistry.connect(p.operator), 0)],
      ];
      for (const [what, proof] of wrong) {
        await expect(op.register(key(0), p.payout.address, 0n, proof), what)
          .to.be.revertedWithCustomError(p.operators, "SignerProofInvalid")
          .withArgs(key(0), await recoverAddress({ hash: digest, signature: proof }));
      }
      for (const proof of ["0x", `0x${"00".repeat(64)}`, `0x${"00".repeat(65)}`] as const) {
        await expect(op.register(key(0), p.payout.address, 0n, proof)).to.be.revertedWithCustomError(
          p.operators,
          "InvalidSignature",
        );
      }
      expect(await p.operators.operatorOfSigner(key(0))).to.equal(ZERO_ADDRESS);
      // Only the 65-byte form: a real proof in EIP-2098 compact form is refused as malformed.
      const { r, yParityAndS } = ethers.Signature.from(await proofOf(op, 0));
      await expect(
        op.register(key(0), p.payout.address, 0n, ethers.concat([r, yParityAndS])),
      ).to.be.revertedWithCustomError(p.operators, "InvalidSignature");
      await expect(registerKey(op, 0, p.payout.address, 0n))
        .to.emit(p.operators, "OperatorRegistered")
        .withArgs(p.operator.address, key(0), p.payout.address);
    });

    it("needs the new key's proof to rotate, and records when the old key retired", async () => {
      const p = await loadFixture(stakedFixture);
      const op = p.operators.connect(p.operator);
      await expect(op.rotateSigner(key(1), await proofOf(op, 2)))
        .to.be.revertedWithCustomError(p.operators, "SignerProofInvalid")
        .withArgs(
          key(1),
          await recoverAddress({
            hash: (await p.operators.signerBindingDigest(p.operator.address, key(1))) as Hex,
            signature: await proofOf(op, 2),
          }),
        );
      await expect(
        op.rotateSigner(key(1), await proofOf(p.operators.connect(p.other), 1)),
      ).to.be.revertedWithCustomError(p.operators, "SignerProofInvalid");
      expect(await p.operators.signerRecord(key(0))).to.deep.equal([p.operator.address, 0n, 0n]);
      // Requests opened so far move the core's counter; the retirement records it.
      await p.models.connect(p.modelOwner).registerModel(modelSpec());
      const ts = await nextTimestamp();
      await rotateKey(op, 1);
      const next = await p.settlement.nextRequestId();
      expect(await p.operators.signerRecord(key(0))).to.deep.equal([p.operator.address, ts, next]);
      expect(await p.operators.signerRecord(key(1))).to.deep.equal([p.operator.address, 0n, 0n]);
      expect(await p.operators.signerRecord(key(5))).to.deep.equal([ZERO_ADDRESS, 0n, 0n]);
      // A second rotation retires the second key at the counter's new value.
      await setNextRequestId(p, 41n);
      await rotateKey(op, 2);
      expect((await p.operators.signerRecord(key(1))).retiredAtRequest).to.equal(41n);
      expect((await p.operators.signerRecord(key(0))).retiredAtRequest).to.equal(next);
    });

    it("records retirement at request 0 on a registry with no settlement bound (no request can exist)", async () => {
      const p = await loadFixture(operatorsFixture);
      const registry = await ethers.deployContract("OperatorRegistry", [
        await p.token.getAddress(),
        p.governance.address,
        MIN_STAKE,
        UNBONDING_DELAY,
      ]);
      const op = registry.connect(p.operator);
      await registerKey(op, 0, p.payout.address, 0n);
      await rotateKey(op, 1);
      const retired = await registry.signerRecord(key(0));
      expect(retired.operator).to.equal(p.operator.address);
      expect(retired.retiredAt).to.be.greaterThan(0n);
      expect(retired.retiredAtRequest).to.equal(0n);
    });
  });

  describe("stake", () => {
    it("adds stake, pulling tokens and reporting the new total", async () => {
      const p = await loadFixture(stakedFixture);
      const tx = p.operators.connect(p.operator).stake(123n);
      await expect(tx)
        .to.emit(p.operators, "Staked")
        .withArgs(p.operator.address, 123n, STAKE + 123n);
      await expect(tx).to.changeTokenBalances(ethers, p.token, [p.operator, p.operators], [-123n, 123n]);
      expect((await record(p.operators, p.operator)).stake).to.equal(STAKE + 123n);
    });

    it("makes an operator eligible exactly at the minimum", async () => {
      const p = await loadFixture(operatorsFixture);
      await registerKey(p.operators.connect(p.operator), 0, p.payout.address, MIN_STAKE - 1n);
      expect(await p.operators.isEligible(p.operator.address)).to.equal(false);
      await expect(p.operators.payoutFor(p.operator.address, key(0)))
        .to.be.revertedWithCustomError(p.operators, "StakeBelowMinimum")
        .withArgs(p.operator.address, MIN_STAKE - 1n, MIN_STAKE);
      await p.operators.connect(p.operator).stake(1n);
      expect(await p.operators.isEligible(p.operator.address)).to.equal(true);
      expect(await p.operators.payoutFor(p.operator.address, key(0))).to.equal(p.payout.address);
    });

    it("requires registration and a positive amount", async () => {
      const p = await loadFixture(stakedFixture);
      await expect(p.operators.connect(p.other).stake(MIN_STAKE))
        .to.be.revertedWithCustomError(p.operators, "UnknownOperator")
        .withArgs(p.other.address);
      await expect(p.operators.connect(p.operator).stake(0n)).to.be.revertedWithCustomError(
        p.operators,
        "InvalidAmount",
      );
    });

    it("guards the 96-bit total before any transfer (fixture supply is below 2^96)", async () => {
      // SUPPLY is 1e27 < 2^96 - 1 (~7.9e28), so the fixture token cannot reach the bound; the guard runs before
      // transferFrom, so the boundary still shows: one above the room left is InvalidAmount, exactly the room
      // left passes the guard and only fails in the token for lack of balance.
      const p = await loadFixture(stakedFixture);
      await p.operators.connect(p.operator).unbond(MIN_STAKE / 2n);
      const { stake, unbonding } = await record(p.operators, p.operator);
      const room = MAX_UINT96 - stake - unbonding;
      await expect(p.operators.connect(p.operator).stake(room + 1n)).to.be.revertedWithCustomError(
        p.operators,
        "InvalidAmount",
      );
      const balance = await p.token.balanceOf(p.operator.address);
      await expect(p.operators.connect(p.operator).stake(room))
        .to.be.revertedWithCustomError(p.token, "ERC20InsufficientBalance")
        .withArgs(p.operator.address, balance, room);
    });

    it("caps stake plus unbonding at 2^96 - 1 exactly (token with a larger supply)", async () => {
      const p = await loadFixture(operatorsFixture);
      const big = await ethers.deployContract("OPGToken", [p.operator.address, 2n ** 97n]);
      const registry = await ethers.deployContract("OperatorRegistry", [
        await big.getAddress(),
        p.governance.address,
        MIN_STAKE,
        0n,
      ]);
      await big.connect(p.operator).approve(await registry.getAddress(), ethers.MaxUint256);
      const op = registry.connect(p.operator);
      await registerKey(op, 0, p.payout.address, MAX_UINT96 - 10n);
      await expect(op.stake(11n)).to.be.revertedWithCustomError(registry, "InvalidAmount");
      await expect(op.stake(10n)).to.emit(registry, "Staked").withArgs(p.operator.address, 10n, MAX_UINT96);
      await expect(op.stake(1n)).to.be.revertedWithCustomError(registry, "InvalidAmount");
      // Unbonding stake still counts against the bound, so a later unbond can never overflow.
      await op.unbond(5n);
      await expect(op.stake(1n)).to.be.revertedWithCustomError(registry, "InvalidAmount");
      await op.withdrawUnbonded(p.operator.address);
      await expect(op.stake(6n)).to.be.revertedWithCustomError(registry, "InvalidAmount");
      await expect(op.stake(5n)).to.emit(registry, "Staked").withArgs(p.operator.address, 5n, MAX_UINT96);
      await op.unbond(MAX_UINT96);
      expect(await record(registry, p.operator)).to.include({ stake: 0n, unbonding: MAX_UINT96 });
      expect(await big.balanceOf(await registry.getAddress())).to.equal(MAX_UINT96);
    });
  });

  describe("rotateSigner", () => {
    it("replaces the key: the old one fails payoutFor, the new one passes, both stay mapped", async () => {
      const p = await loadFixture(stakedFixture);
      await expect(rotateKey(p.operators.connect(p.operator), 1))
        .to.emit(p.operators, "SignerRotated")
        .withArgs(p.operator.address, key(0), key(1));
      expect((await record(p.operators, p.operator)).signer).to.equal(key(1));
      await expect(p.operators.payoutFor(p.operator.address, key(0)))
        .to.be.revertedWithCustomError(p.operators, "SignerMismatch")
        .withArgs(p.operator.address, key(0));
      expect(await p.operators.payoutFor(p.operator.address, key(1))).to.equal(p.payout.address);
      expect(await p.operators.operatorOfSigner(key(0))).to.equal(p.operator.address);
      expect(await p.operators.operatorOfSigner(key(1))).to.equal(p.operator.address);
      expect(await p.operators.isEligible(p.operator.address)).to.equal(true);

      await rotateKey(p.operators.connect(p.operator), 2);
      await expect(p.operators.payoutFor(p.operator.address, key(1)))
        .to.be.revertedWithCustomError(p.operators, "SignerMismatch")
        .withArgs(p.operator.address, key(1));
      expect(await p.operators.operatorOfSigner(key(1))).to.equal(p.operator.address);
    });

    it("never reuses a key: not the current one, not an old one, not another operator's", async () => {
      const p = await loadFixture(stakedFixture);
      await registerKey(p.operators.connect(p.other), 3, p.other.address, 0n);
      const op = p.operators.connect(p.operator);
      await expect(rotateKey(op, 0))
        .to.be.revertedWithCustomError(p.operators, "SignerAlreadyUsed")
        .withArgs(key(0));
      await expect(rotateKey(op, 3))
        .to.be.revertedWithCustomError(p.operators, "SignerAlreadyUsed")
        .withArgs(key(3));
      await rotateKey(op, 1);
      // Rotating back to its own old key.
      await expect(rotateKey(op, 0))
        .to.be.revertedWithCustomError(p.operators, "SignerAlreadyUsed")
        .withArgs(key(0));
      // A retired key cannot be picked up by someone else either.
      await expect(registerKey(p.operators.connect(p.requester), 0, p.requester.address, 0n))
        .to.be.revertedWithCustomError(p.operators, "SignerAlreadyUsed")
        .withArgs(key(0));
      await expect(rotateKey(p.operators.connect(p.other), 0))
        .to.be.revertedWithCustomError(p.operators, "SignerAlreadyUsed")
        .withArgs(key(0));
      expect((await record(p.operators, p.operator)).signer).to.equal(key(1));
      expect(await p.operators.operatorOfSigner(key(0))).to.equal(p.operator.address);
    });

    it("requires registration and a non-zero key", async () => {
      const p = await loadFixture(stakedFixture);
      await expect(rotateKey(p.operators.connect(p.other), 1))
        .to.be.revertedWithCustomError(p.operators, "UnknownOperator")
        .withArgs(p.other.address);
      await expect(
        p.operators.connect(p.operator).rotateSigner(ZERO_ADDRESS, "0x"),
      ).to.be.revertedWithCustomError(p.operators, "ZeroAddress");
      expect(await p.operators.operatorOfSigner(key(1))).to.equal(ZERO_ADDRESS);
    });
  });

  describe("setPayout", () => {
    it("changes where earnings go", async () => {
      const p = await loadFixture(stakedFixture);
      await expect(p.operators.connect(p.operator).setPayout(p.treasury.address))
        .to.emit(p.operators, "PayoutChanged")
        .withArgs(p.operator.address, p.treasury.address);
      expect((await record(p.operators, p.operator)).payout).to.equal(p.treasury.address);
      expect(await p.operators.payoutFor(p.operator.address, key(0))).to.equal(p.treasury.address);
    });

    it("requires registration and a non-zero payout", async () => {
      const p = await loadFixture(stakedFixture);
      await expect(p.operators.connect(p.other).setPayout(p.other.address))
        .to.be.revertedWithCustomError(p.operators, "UnknownOperator")
        .withArgs(p.other.address);
      await expect(p.operators.connect(p.operator).setPayout(ZERO_ADDRESS)).to.be.revertedWithCustomError(
        p.operators,
        "ZeroAddress",
      );
      expect((await record(p.operators, p.operator)).payout).to.equal(p.payout.address);
    });
  });

  describe("setEndpoint", () => {
    const URL = "https://operator.example:8545/quiet";

    it("publishes the caller's gateway URL, announces it, and replaces it on a second call", async () => {
      const p = await loadFixture(stakedFixture);
      expect(await p.operators.endpoint(p.operator.address)).to.equal("");
      await expect(p.operators.connect(p.operator).setEndpoint(URL))
        .to.emit(p.operators, "EndpointSet")
        .withArgs(p.operator.address, URL);
      expect(await p.operators.endpoint(p.operator.address)).to.equal(URL);
      await expect(p.operators.connect(p.operator).setEndpoint("http://10.0.0.7:9000"))
        .to.emit(p.operators, "EndpointSet")
        .withArgs(p.operator.address, "http://10.0.0.7:9000");
      expect(await p.operators.endpoint(p.operator.address)).to.equal("http://10.0.0.7:9000");
      // Another operator's entry is untouched.
      expect(await p.operators.endpoint(p.other.address)).to.equal("");
    });

    it("clears the URL with an empty string (and announces that too)", async () => {
      const p = await loadFixture(stakedFixture);
      await p.operators.connect(p.operator).setEndpoint(URL);
      await expect(p.operators.connect(p.operator).setEndpoint(""))
        .to.emit(p.operators, "EndpointSet")
        .withArgs(p.operator.address, "");
      expect(await p.operators.endpoint(p.operator.address)).to.equal("");
    });

    it("accepts exactly MAX_ENDPOINT_BYTES bytes and refuses one more (counted in bytes, not characters)", async () => {
      const p = await loadFixture(stakedFixture);
      const max = await p.operators.MAX_ENDPOINT_BYTES();
      expect(max).to.equal(256n);
      const base = "https://operator.example/";
      const longest = base + "a".repeat(Number(max) - base.length);
      await expect(p.operators.connect(p.operator).setEndpoint(longest))
        .to.emit(p.operators, "EndpointSet")
        .withArgs(p.operator.address, longest);
      expect(await p.operators.endpoint(p.operator.address)).to.equal(longest);
      await expect(p.operators.connect(p.operator).setEndpoint(longest + "a"))
        .to.be.revertedWithCustomError(p.operators, "EndpointTooLong")
        .withArgs(max + 1n, max);
      // 128 two-byte characters are 256 bytes; one more character is 258.
      const wide = "é".repeat(129);
      await expect(p.operators.connect(p.operator).setEndpoint(wide))
        .to.be.revertedWithCustomError(p.operators, "EndpointTooLong")
        .withArgs(258n, max);
      expect(await p.operators.endpoint(p.operator.address)).to.equal(longest);
    });

    it("refuses an unregistered caller, whoever it names", async () => {
      const p = await loadFixture(stakedFixture);
      await expect(p.operators.connect(p.other).setEndpoint(URL))
        .to.be.revertedWithCustomError(p.operators, "UnknownOperator")
        .withArgs(p.other.address);
      await expect(p.operators.connect(p.other).setEndpoint(""))
        .to.be.revertedWithCustomError(p.operators, "UnknownOperator")
        .withArgs(p.other.address);
      expect(await p.operators.endpoint(p.other.address)).to.equal("");
    });

    it("stores the string as given: the registry does not parse it (clients accept only http(s))", async () => {
      const p = await loadFixture(stakedFixture);
      const hostile = "javascript:alert(1)\u0000\n";
      await p.operators.connect(p.operator).setEndpoint(hostile);
      expect(await p.operators.endpoint(p.operator.address)).to.equal(hostile);
    });

    it("keeps the URL through unbonding and slashing, and lets an unbonded or slashed operator change it", async () => {
      // Documented choice: the URL is a locator, not a permission. Eligibility (`isEligible`) decides whether an
      // operator may serve; clients check it (and every receipt) anyway.
      const p = await loadFixture(slashFixture);
      await p.registry.connect(p.operator).setEndpoint(URL);
      await p.registry.connect(p.slasher).slash(p.operator.address, 1n, p.treasury.address);
      expect(await p.registry.isEligible(p.operator.address)).to.equal(false);
      expect(await p.registry.endpoint(p.operator.address)).to.equal(URL);
      await p.registry.connect(p.operator).unbond(MIN_STAKE - 1n);
      expect((await record(p.registry, p.operator)).stake).to.equal(0n);
      expect(await p.registry.endpoint(p.operator.address)).to.equal(URL);
      await time.increase(UNBONDING_DELAY + 1n);
      await p.registry.connect(p.operator).withdrawUnbonded(p.operator.address);
      expect(await p.registry.endpoint(p.operator.address)).to.equal(URL);
      await expect(p.registry.connect(p.operator).setEndpoint(""))
        .to.emit(p.registry, "EndpointSet")
        .withArgs(p.operator.address, "");
      expect(await p.registry.endpoint(p.operator.address)).to.equal("");
    });

    it("keeps the URL when the operator rotates its signing key (the account, not the key, owns it)", async () => {
      const p = await loadFixture(stakedFixture);
      await p.operators.connect(p.operator).setEndpoint(URL);
      await rotateKey(p.operators.connect(p.operator), 1);
      expect(await p.operators.endpoint(p.operator.address)).to.equal(URL);
    });
  });

  describe("unbond", () => {
    it("moves stake to unbonding, ending one delay from now; tokens stay in the registry", async () => {
      const p = await loadFixture(stakedFixture);
      const ts = await nextTimestamp();
      const tx = p.operators.connect(p.operator).unbond(300n);
      await expect(tx)
        .to.emit(p.operators, "UnbondingStarted")
        .withArgs(p.operator.address, 300n, 300n, ts + UNBONDING_DELAY);
      await expect(tx).to.changeTokenBalances(ethers, p.token, [p.operator, p.operators], [0n, 0n]);
      expect(await record(p.operators, p.operator)).to.deep.equal({
        signer: key(0),
        stake: STAKE - 300n,
        payout: p.payout.address,
        unbonding: 300n,
        unbondingEnd: ts + UNBONDING_DELAY,
      });
      // Still at or above the minimum: still eligible.
      expect(await p.operators.isEligible(p.operator.address)).to.equal(true);
    });

    it("restarts the delay for the whole unbonding amount on a second unbond", async () => {
      const p = await loadFixture(stakedFixture);
      const op = p.operators.connect(p.operator);
      const t1 = await nextTimestamp();
      await op.unbond(100n);
      await time.increase(UNBONDING_DELAY / 2n);
      const t2 = await nextTimestamp();
      await expect(op.unbond(50n))
        .to.emit(p.operators, "UnbondingStarted")
        .withArgs(p.operator.address, 50n, 150n, t2 + UNBONDING_DELAY);
      expect(await record(p.operators, p.operator)).to.include({
        stake: STAKE - 150n,
        unbonding: 150n,
        unbondingEnd: t2 + UNBONDING_DELAY,
      });
      // The first part's own end has passed, but nothing can be withdrawn until the new end.
      await time.increaseTo(t1 + UNBONDING_DELAY);
      await expect(op.withdrawUnbonded(p.operator.address))
        .to.be.revertedWithCustomError(p.operators, "StillUnbonding")
        .withArgs(t2 + UNBONDING_DELAY);
    });

    it("makes the operator ineligible once active stake is below the minimum", async () => {
      const p = await loadFixture(stakedFixture);
      await p.operators.connect(p.operator).unbond(MIN_STAKE);
      expect(await p.operators.isEligible(p.operator.address)).to.equal(true);
      await p.operators.connect(p.operator).unbond(1n);
      expect(await p.operators.isEligible(p.operator.address)).to.equal(false);
      await expect(p.operators.payoutFor(p.operator.address, key(0)))
        .to.be.revertedWithCustomError(p.operators, "StakeBelowMinimum")
        .withArgs(p.operator.address, MIN_STAKE - 1n, MIN_STAKE);
    });

    it("refuses zero, more than the active stake, and unregistered callers", async () => {
      const p = await loadFixture(stakedFixture);
      const op = p.operators.connect(p.operator);
      await expect(op.unbond(0n)).to.be.revertedWithCustomError(p.operators, "InvalidAmount");
      await expect(op.unbond(STAKE + 1n))
        .to.be.revertedWithCustomError(p.operators, "InsufficientStake")
        .withArgs(STAKE, STAKE + 1n);
      // Unbonding stake is no longer active.
      await op.unbond(STAKE - 10n);
      await expect(op.unbond(11n))
        .to.be.revertedWithCustomError(p.operators, "InsufficientStake")
        .withArgs(10n, 11n);
      await expect(p.operators.connect(p.other).unbond(1n))
        .to.be.revertedWithCustomError(p.operators, "UnknownOperator")
        .withArgs(p.other.address);
    });

    it("uses the delay in force when the unbonding starts", async () => {
      const p = await loadFixture(stakedFixture);
      await p.operators.connect(p.governance).setUnbondingDelay(60n);
      const ts = await nextTimestamp();
      await p.operators.connect(p.operator).unbond(1n);
      expect((await record(p.operators, p.operator)).unbondingEnd).to.equal(ts + 60n);
    });
  });

  describe("withdrawUnbonded", () => {
    it("refuses before the end, pays out from the end's own second, and clears the unbonding", async () => {
      const p = await loadFixture(stakedFixture);
      const op = p.operators.connect(p.operator);
      const ts = await nextTimestamp();
      await op.unbond(400n);
      const end = ts + UNBONDING_DELAY;
      await time.setNextBlockTimestamp(end - 1n);
      await expect(op.withdrawUnbonded(p.treasury.address))
        .to.be.revertedWithCustomError(p.operators, "StillUnbonding")
        .withArgs(end);
      await time.setNextBlockTimestamp(end);
      const tx = op.withdrawUnbonded(p.treasury.address);
      await expect(tx)
        .to.emit(p.operators, "Unbonded")
        .withArgs(p.operator.address, p.treasury.address, 400n);
      await expect(tx).to.changeTokenBalances(
        ethers,
        p.token,
        [p.operators, p.treasury, p.operator],
        [-400n, 400n, 0n],
      );
      expect(await record(p.operators, p.operator)).to.include({
        stake: STAKE - 400n,
        unbonding: 0n,
        unbondingEnd: 0n,
      });
      await expect(op.withdrawUnbonded(p.treasury.address)).to.be.revertedWithCustomError(
        p.operators,
        "NothingUnbonding",
      );
    });

    it("pays out after time.increase to any recipient, including the operator itself", async () => {
      const p = await loadFixture(stakedFixture);
      const op = p.operators.connect(p.operator);
      await op.unbond(STAKE);
      await time.increase(UNBONDING_DELAY);
      await expect(op.withdrawUnbonded(p.operator.address)).to.changeTokenBalances(
        ethers,
        p.token,
        [p.operators, p.operator],
        [-STAKE, STAKE],
      );
      expect(await record(p.operators, p.operator)).to.include({ stake: 0n, unbonding: 0n });
      expect(await p.token.balanceOf(await p.operators.getAddress())).to.equal(0n);
    });

    it("refuses nothing unbonding, a zero recipient and unregistered callers", async () => {
      const p = await loadFixture(stakedFixture);
      const op = p.operators.connect(p.operator);
      await expect(op.withdrawUnbonded(p.operator.address)).to.be.revertedWithCustomError(
        p.operators,
        "NothingUnbonding",
      );
      await op.unbond(1n);
      await time.increase(UNBONDING_DELAY);
      await expect(op.withdrawUnbonded(ZERO_ADDRESS)).to.be.revertedWithCustomError(
        p.operators,
        "ZeroAddress",
      );
      await expect(p.operators.connect(p.other).withdrawUnbonded(p.other.address))
        .to.be.revertedWithCustomError(p.operators, "UnknownOperator")
        .withArgs(p.other.address);
      expect((await record(p.operators, p.operator)).unbonding).to.equal(1n);
    });

    it("pays out at once with a zero delay", async () => {
      const p = await loadFixture(stakedFixture);
      await p.operators.connect(p.governance).setUnbondingDelay(0n);
      await p.operators.connect(p.operator).unbond(7n);
      await expect(p.operators.connect(p.operator).withdrawUnbonded(p.other.address))
        .to.emit(p.operators, "Unbonded")
        .withArgs(p.operator.address, p.other.address, 7n);
    });
  });

  describe("slash", () => {
    it("can only be called by the bound settlement", async () => {
      const p = await loadFixture(slashFixture);
      for (const caller of [
        p.other,
        p.operator,
        p.governance,
        await impersonate(await p.signatureMode.getAddress()),
        await impersonate(await p.zkMode.getAddress()),
      ]) {
        await expect(p.registry.connect(caller).slash(p.operator.address, 1n, caller.address))
          .to.be.revertedWithCustomError(p.registry, "NotSettlement")
          .withArgs(caller.address);
      }
      // Not even governance on a registry with no settlement bound yet.
      const unbound = await ethers.deployContract("OperatorRegistry", [
        await p.token.getAddress(),
        p.governance.address,
        MIN_STAKE,
        UNBONDING_DELAY,
      ]);
      await expect(unbound.connect(p.governance).slash(p.operator.address, 0n, p.governance.address))
        .to.be.revertedWithCustomError(unbound, "NotSettlement")
        .withArgs(p.governance.address);
      expect((await record(p.registry, p.operator)).stake).to.equal(MIN_STAKE);
      expect(
        await p.registry.connect(p.slasher).slash.staticCall(p.operator.address, 1n, p.treasury.address),
      ).to.equal(1n);
    });

    it("takes active stake first, then unbonding stake, and caps at what exists", async () => {
      const p = await loadFixture(slashFixture);
      const { registry, slasher, treasury, operator } = p;
      const ts = await nextTimestamp();
      await registry.connect(operator).unbond(300n * OPG);
      const end = ts + UNBONDING_DELAY;
      const slash = registry.connect(slasher);

      // 500 of 700 active.
      expect(await slash.slash.staticCall(operator.address, 500n * OPG, treasury.address)).to.equal(
        500n * OPG,
      );
      let tx = slash.slash(operator.address, 500n * OPG, treasury.address);
      await expect(tx)
        .to.emit(registry, "Slashed")
        .withArgs(operator.address, 500n * OPG, treasury.address);
      await expect(tx).to.changeTokenBalances(
        ethers,
        p.token,
        [registry, treasury],
        [-500n * OPG, 500n * OPG],
      );
      expect(await record(registry, operator)).to.include({
        stake: 200n * OPG,
        unbonding: 300n * OPG,
        unbondingEnd: end,
      });

      // The remaining 200 active, then 200 of the 300 unbonding.
      tx = slash.slash(operator.address, 400n * OPG, treasury.address);
      await expect(tx)
        .to.emit(registry, "Slashed")
        .withArgs(operator.address, 400n * OPG, treasury.address);
      await expect(tx).to.changeTokenBalances(
        ethers,
        p.token,
        [registry, treasury],
        [-400n * OPG, 400n * OPG],
      );
      expect(await record(registry, operator)).to.include({
        stake: 0n,
        unbonding: 100n * OPG,
        unbondingEnd: end,
      });

      // Far more than is left: capped at the last 100.
      expect(await slash.slash.staticCall(operator.address, 10_000n * OPG, p.other.address)).to.equal(
        100n * OPG,
      );
      tx = slash.slash(operator.address, 10_000n * OPG, p.other.address);
      await expect(tx)
        .to.emit(registry, "Slashed")
        .withArgs(operator.address, 100n * OPG, p.other.address);
      await expect(tx).to.changeTokenBalances(
        ethers,
        p.token,
        [registry, p.other],
        [-100n * OPG, 100n * OPG],
      );
      expect(await record(registry, operator)).to.include({ stake: 0n, unbonding: 0n });
      expect(await p.token.balanceOf(await registry.getAddress())).to.equal(0n);

      // Nothing left: returns 0, no event, no transfer.
      expect(await slash.slash.staticCall(operator.address, 1n, treasury.address)).to.equal(0n);
      tx = slash.slash(operator.address, 1n, treasury.address);
      await expect(tx).to.not.emit(registry, "Slashed");
      await expect(tx).to.not.emit(p.token, "Transfer");
      // The slashed unbonding cannot be withdrawn any more.
      await time.increaseTo(end);
      await expect(
        registry.connect(operator).withdrawUnbonded(operator.address),
      ).to.be.revertedWithCustomError(registry, "NothingUnbonding");
    });

    it("leaves the operator registered but ineligible once slashed below the minimum", async () => {
      const p = await loadFixture(slashFixture);
      await p.registry.connect(p.slasher).slash(p.operator.address, 1n, p.treasury.address);
      expect(await p.registry.isEligible(p.operator.address)).to.equal(false);
      await expect(p.registry.payoutFor(p.operator.address, key(0)))
        .to.be.revertedWithCustomError(p.registry, "StakeBelowMinimum")
        .withArgs(p.operator.address, MIN_STAKE - 1n, MIN_STAKE);
      expect((await record(p.registry, p.operator)).signer).to.equal(key(0));
    });

    it("returns 0 without an event for a zero amount, and leaves the stake alone", async () => {
      const p = await loadFixture(slashFixture);
      expect(
        await p.registry.connect(p.slasher).slash.staticCall(p.operator.address, 0n, p.treasury.address),
      ).to.equal(0n);
      const tx = p.registry.connect(p.slasher).slash(p.operator.address, 0n, p.treasury.address);
      await expect(tx).to.not.emit(p.registry, "Slashed");
      await expect(tx).to.changeTokenBalances(ethers, p.token, [p.registry, p.treasury], [0n, 0n]);
      expect((await record(p.registry, p.operator)).stake).to.equal(MIN_STAKE);
    });

    it("refuses an unknown operator and a zero recipient", async () => {
      const p = await loadFixture(slashFixture);
      await expect(p.registry.connect(p.slasher).slash(p.other.address, 1n, p.treasury.address))
        .to.be.revertedWithCustomError(p.registry, "UnknownOperator")
        .withArgs(p.other.address);
      await expect(
        p.registry.connect(p.slasher).slash(p.operator.address, 1n, ZERO_ADDRESS),
      ).to.be.revertedWithCustomError(p.registry, "ZeroAddress");
      expect((await record(p.registry, p.operator)).stake).to.equal(MIN_STAKE);
    });

    it("still reaches an operator that rotated its key away", async () => {
      const p = await loadFixture(slashFixture);
      await rotateKey(p.registry.connect(p.operator), 1);
      await expect(p.registry.connect(p.slasher).slash(p.operator.address, MIN_STAKE, p.treasury.address))
        .to.emit(p.registry, "Slashed")
        .withArgs(p.operator.address, MIN_STAKE, p.treasury.address);
    });
  });

  describe("governance", () => {
    it("binds the settlement once, only by the owner, never to zero", async () => {
      const p = await loadFixture(operatorsFixture);
      const registry = await ethers.deployContract("OperatorRegistry", [
        await p.token.getAddress(),
        p.governance.address,
        MIN_STAKE,
        UNBONDING_DELAY,
      ]);
      await expect(registry.connect(p.other).bindSettlement(p.other.address))
        .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
        .withArgs(p.other.address);
      await expect(registry.connect(p.governance).bindSettlement(ZERO_ADDRESS)).to.be.revertedWithCustomError(
        registry,
        "ZeroAddress",
      );
      await expect(registry.connect(p.governance).bindSettlement(p.reporter.address))
        .to.emit(registry, "SettlementBound")
        .withArgs(p.reporter.address);
      expect(await registry.settlement()).to.equal(p.reporter.address);
      await expect(
        registry.connect(p.governance).bindSettlement(p.other.address),
      ).to.be.revertedWithCustomError(registry, "SettlementAlreadyBound");
      await expect(registry.connect(p.governance).bindSettlement(ZERO_ADDRESS)).to.be.revertedWithCustomError(
        registry,
        "SettlementAlreadyBound",
      );
      expect(await registry.settlement()).to.equal(p.reporter.address);
      // The fixture's registry is bound already, to the settlement contract.
      await expect(
        p.operators.connect(p.governance).bindSettlement(p.other.address),
      ).to.be.revertedWithCustomError(p.operators, "SettlementAlreadyBound");
      expect(await p.operators.settlement()).to.equal(await p.settlement.getAddress());
    });

    it("sets the minimum stake within (0, 2^96 - 1]; raising it makes a staked operator ineligible at once", async () => {
      const p = await loadFixture(operatorsFixture);
      await registerKey(p.operators.connect(p.operator), 0, p.payout.address, MIN_STAKE);
      const gov = p.operators.connect(p.governance);
      expect(await p.operators.isEligible(p.operator.address)).to.equal(true);
      await expect(gov.setMinStake(MIN_STAKE + 1n))
        .to.emit(p.operators, "MinStakeSet")
        .withArgs(MIN_STAKE + 1n);
      expect(await p.operators.minStake()).to.equal(MIN_STAKE + 1n);
      expect(await p.operators.isEligible(p.operator.address)).to.equal(false);
      await expect(p.operators.payoutFor(p.operator.address, key(0)))
        .to.be.revertedWithCustomError(p.operators, "StakeBelowMinimum")
        .withArgs(p.operator.address, MIN_STAKE, MIN_STAKE + 1n);
      await gov.setMinStake(MIN_STAKE);
      expect(await p.operators.payoutFor(p.operator.address, key(0))).to.equal(p.payout.address);

      await expect(gov.setMinStake(0n)).to.be.revertedWithCustomError(p.operators, "InvalidMinStake");
      await expect(gov.setMinStake(MAX_UINT96 + 1n)).to.be.revertedWithCustomError(
        p.operators,
        "InvalidMinStake",
      );
      await expect(gov.setMinStake(MAX_UINT96)).to.emit(p.operators, "MinStakeSet").withArgs(MAX_UINT96);
      await expect(gov.setMinStake(1n)).to.emit(p.operators, "MinStakeSet").withArgs(1n);
      expect(await p.operators.minStake()).to.equal(1n);
      await expect(p.operators.connect(p.other).setMinStake(MIN_STAKE))
        .to.be.revertedWithCustomError(p.operators, "OwnableUnauthorizedAccount")
        .withArgs(p.other.address);
      expect(await p.operators.minStake()).to.equal(1n);
    });

    it("sets the unbonding delay up to 90 days inclusive", async () => {
      const p = await loadFixture(operatorsFixture);
      const gov = p.operators.connect(p.governance);
      await expect(gov.setUnbondingDelay(MAX_UNBONDING_DELAY))
        .to.emit(p.operators, "UnbondingDelaySet")
        .withArgs(MAX_UNBONDING_DELAY);
      expect(await p.operators.unbondingDelay()).to.equal(MAX_UNBONDING_DELAY);
      await expect(gov.setUnbondingDelay(MAX_UNBONDING_DELAY + 1n))
        .to.be.revertedWithCustomError(p.operators, "UnbondingDelayTooLong")
        .withArgs(MAX_UNBONDING_DELAY + 1n, MAX_UNBONDING_DELAY);
      await expect(gov.setUnbondingDelay(2n ** 64n - 1n))
        .to.be.revertedWithCustomError(p.operators, "UnbondingDelayTooLong")
        .withArgs(2n ** 64n - 1n, MAX_UNBONDING_DELAY);
      await expect(gov.setUnbondingDelay(0n)).to.emit(p.operators, "UnbondingDelaySet").withArgs(0n);
      expect(await p.operators.unbondingDelay()).to.equal(0n);
      await expect(p.operators.connect(p.other).setUnbondingDelay(1n))
        .to.be.revertedWithCustomError(p.operators, "OwnableUnauthorizedAccount")
        .withArgs(p.other.address);
    });

    it("does not shorten unbondings already started when the delay is lowered", async () => {
      const p = await loadFixture(stakedFixture);
      const ts = await nextTimestamp();
      await p.operators.connect(p.operator).unbond(10n);
      await p.operators.connect(p.governance).setUnbondingDelay(0n);
      await expect(p.operators.connect(p.operator).withdrawUnbonded(p.operator.address))
        .to.be.revertedWithCustomError(p.operators, "StillUnbonding")
        .withArgs(ts + UNBONDING_DELAY);
      // A further (1-wei) unbond under the new, shorter delay cannot pull the earlier unbonding forward.
      await expect(p.operators.connect(p.operator).unbond(1n))
        .to.emit(p.operators, "UnbondingStarted")
        .withArgs(p.operator.address, 1n, 11n, ts + UNBONDING_DELAY);
      await expect(p.operators.connect(p.operator).withdrawUnbonded(p.operator.address))
        .to.be.revertedWithCustomError(p.operators, "StillUnbonding")
        .withArgs(ts + UNBONDING_DELAY);
      await networkHelpers.time.increaseTo(ts + UNBONDING_DELAY);
      await expect(p.operators.connect(p.operator).withdrawUnbonded(p.operator.address))
        .to.emit(p.operators, "Unbonded")
        .withArgs(p.operator.address, p.operator.address, 11n);
    });

    it("hands ownership over in two steps (Ownable2Step)", async () => {
      const p = await loadFixture(operatorsFixture);
      await expect(p.operators.connect(p.other).transferOwnership(p.other.address))
        .to.be.revertedWithCustomError(p.operators, "OwnableUnauthorizedAccount")
        .withArgs(p.other.address);
      await expect(p.operators.connect(p.governance).transferOwnership(p.other.address))
        .to.emit(p.operators, "OwnershipTransferStarted")
        .withArgs(p.governance.address, p.other.address);
      expect(await p.operators.owner()).to.equal(p.governance.address);
      expect(await p.operators.pendingOwner()).to.equal(p.other.address);
      // Until accepted, the old owner still governs and the new one does not.
      await expect(p.operators.connect(p.governance).setMinStake(2n)).to.emit(p.operators, "MinStakeSet");
      await expect(p.operators.connect(p.other).setMinStake(3n))
        .to.be.revertedWithCustomError(p.operators, "OwnableUnauthorizedAccount")
        .withArgs(p.other.address);
      // Only the pending owner can accept.
      await expect(p.operators.connect(p.requester).acceptOwnership())
        .to.be.revertedWithCustomError(p.operators, "OwnableUnauthorizedAccount")
        .withArgs(p.requester.address);
      await expect(p.operators.connect(p.other).acceptOwnership())
        .to.emit(p.operators, "OwnershipTransferred")
        .withArgs(p.governance.address, p.other.address);
      expect(await p.operators.owner()).to.equal(p.other.address);
      expect(await p.operators.pendingOwner()).to.equal(ZERO_ADDRESS);
      await expect(p.operators.connect(p.other).setUnbondingDelay(1n)).to.emit(
        p.operators,
        "UnbondingDelaySet",
      );
      for (const call of [
        p.operators.connect(p.governance).setMinStake(4n),
        p.operators.connect(p.governance).setUnbondingDelay(2n),
        p.operators.connect(p.governance).bindSettlement(p.governance.address),
        p.operators.connect(p.governance).transferOwnership(p.governance.address),
      ]) {
        await expect(call)
          .to.be.revertedWithCustomError(p.operators, "OwnableUnauthorizedAccount")
          .withArgs(p.governance.address);
      }
    });

    it("lets a pending transfer be overwritten, and refuses to renounce governance", async () => {
      const p = await loadFixture(operatorsFixture);
      const gov = p.operators.connect(p.governance);
      await gov.transferOwnership(p.other.address);
      await gov.transferOwnership(p.requester.address);
      await expect(p.operators.connect(p.other).acceptOwnership())
        .to.be.revertedWithCustomError(p.operators, "OwnableUnauthorizedAccount")
        .withArgs(p.other.address);
      await expect(gov.renounceOwnership()).to.be.revertedWithCustomError(p.operators, "RenounceDisabled");
      await expect(p.operators.connect(p.other).renounceOwnership()).to.be.revertedWithCustomError(
        p.operators,
        "RenounceDisabled",
      );
      expect(await p.operators.owner()).to.equal(p.governance.address);
      await expect(gov.setMinStake(1n)).to.emit(p.operators, "MinStakeSet").withArgs(1n);
    });
  });

  describe("views", () => {
    it("report nothing for an unknown operator or key", async () => {
      const p = await loadFixture(stakedFixture);
      expect(await record(p.operators, p.other)).to.deep.equal({
        signer: ZERO_ADDRESS,
        stake: 0n,
        payout: ZERO_ADDRESS,
        unbonding: 0n,
        unbondingEnd: 0n,
      });
      expect(await p.operators.isEligible(p.other.address)).to.equal(false);
      expect(await p.operators.operatorOfSigner(key(5))).to.equal(ZERO_ADDRESS);
      await expect(p.operators.payoutFor(p.other.address, key(0)))
        .to.be.revertedWithCustomError(p.operators, "UnknownOperator")
        .withArgs(p.other.address);
      // A key is checked against the operator it is presented for, not looked up.
      await expect(p.operators.payoutFor(p.operator.address, key(5)))
        .to.be.revertedWithCustomError(p.operators, "SignerMismatch")
        .withArgs(p.operator.address, key(5));
      await expect(p.operators.payoutFor(p.operator.address, ZERO_ADDRESS))
        .to.be.revertedWithCustomError(p.operators, "SignerMismatch")
        .withArgs(p.operator.address, ZERO_ADDRESS);
    });
  });

  describe("token conservation", () => {
    it("keeps balanceOf(registry) == Σ (stake + unbonding) through stake, unbond, withdraw and slash", async () => {
      const p = await loadFixture(slashFixture);
      const { registry, token, slasher } = p;
      const ops = [p.operator.address, p.other.address, p.requester.address];
      const supplyOutside = async () => {
        let total = 0n;
        for (const a of [p.operator, p.other, p.requester, p.treasury, p.payout])
          total += await token.balanceOf(a);
        return total;
      };
      const before = (await supplyOutside()) + (await expectConserved(token, registry, ops));

      await registerKey(registry.connect(p.other), 1, p.other.address, 3n * MIN_STAKE);
      await expectConserved(token, registry, ops);
      await registerKey(registry.connect(p.requester), 2, p.requester.address, 0n);
      await registry.connect(p.requester).stake(MIN_STAKE / 3n);
      await registry.connect(p.operator).stake(17n);
      await expectConserved(token, registry, ops);
      await registry.connect(p.other).unbond(MIN_STAKE);
      await registry.connect(p.operator).unbond(MIN_STAKE / 2n);
      await expectConserved(token, registry, ops);
      await registry.connect(slasher).slash(p.other.address, 2n * MIN_STAKE + 5n, p.treasury.address);
      await expectConserved(token, registry, ops);
      await time.increase(UNBONDING_DELAY);
      await registry.connect(p.other).withdrawUnbonded(p.payout.address);
      await registry.connect(p.operator).withdrawUnbonded(p.operator.address);
      await expectConserved(token, registry, ops);
      await registry.connect(slasher).slash(p.requester.address, 10n ** 30n, p.treasury.address);
      await registry.connect(slasher).slash(p.operator.address, 1n, p.treasury.address);
      const held = await expectConserved(token, registry, ops);

      // Nothing minted or burned: what left the registry is exactly in the participants' hands.
      expect((await supplyOutside()) + held).to.equal(before);
      expect(await record(registry, p.other)).to.include({ stake: 0n, unbonding: 0n });
      expect(await record(registry, p.requester)).to.include({ stake: 0n, unbonding: 0n });
      expect(await record(registry, p.operator)).to.include({ stake: MIN_STAKE / 2n + 16n, unbonding: 0n });
      expect(await token.balanceOf(p.treasury.address)).to.equal(2n * MIN_STAKE + 5n + MIN_STAKE / 3n + 1n);
      expect(await token.balanceOf(p.payout.address)).to.equal(MIN_STAKE - 5n);
    });

    it("matches a reference model and conserves tokens over random operation sequences", async () => {
      type Model = { stake: bigint; unbonding: bigint; end: bigint };
      const action = fc.oneof(
        fc.record({
          kind: fc.constant("stake" as const),
          who: fc.nat(2),
          amount: fc.bigInt({ min: 0n, max: 2_000n }),
        }),
        fc.record({
          kind: fc.constant("unbond" as const),
          who: fc.nat(2),
          amount: fc.bigInt({ min: 0n, max: 2_500n }),
        }),
        fc.record({ kind: fc.constant("withdraw" as const), who: fc.nat(2) }),
        fc.record({
          kind: fc.constant("slash" as const),
          who: fc.nat(2),
          amount: fc.bigInt({ min: 0n, max: 2_500n }),
        }),
        fc.record({
          kind: fc.constant("wait" as const),
          seconds: fc.constantFrom(1n, UNBONDING_DELAY / 2n, UNBONDING_DELAY),
        }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 14 }), async (actions) => {
          const p = await loadFixture(slashFixture);
          const { registry, token, slasher, treasury } = p;
          const accounts = [p.operator, p.other, p.requester] as const;
          await registerKey(registry.connect(p.other), 1, p.other.address, MIN_STAKE);
          await registerKey(registry.connect(p.requester), 2, p.requester.address, MIN_STAKE);
          const model: Model[] = accounts.map(() => ({ stake: MIN_STAKE, unbonding: 0n, end: 0n }));
          const ops = accounts.map((a) => a.address);
          let slashedTotal = 0n;
          let withdrawnTotal = 0n;
          let stakedTotal = 3n * MIN_STAKE;

          for (const a of actions) {
            if (a.kind === "wait") {
              await time.increase(a.seconds);
              continue;
            }
            const account = accounts[a.who]!;
            const m = model[a.who]!;
            const reg = registry.connect(account);
            const ts = await nextTimestamp();
            switch (a.kind) {
              case "stake":
                if (a.amount === 0n) {
                  await expect(reg.stake(a.amount)).to.be.revertedWithCustomError(registry, "InvalidAmount");
                } else {
                  await expect(reg.stake(a.amount))
                    .to.emit(registry, "Staked")
                    .withArgs(account.address, a.amount, m.stake + a.amount);
                  m.stake += a.amount;
                  stakedTotal += a.amount;
                }
                break;
              case "unbond":
                if (a.amount === 0n) {
                  await expect(reg.unbond(a.amount)).to.be.revertedWithCustomError(registry, "InvalidAmount");
                } else if (a.amount > m.stake) {
                  await expect(reg.unbond(a.amount))
                    .to.be.revertedWithCustomError(registry, "InsufficientStake")
                    .withArgs(m.stake, a.amount);
                } else {
                  await expect(reg.unbond(a.amount))
                    .to.emit(registry, "UnbondingStarted")
                    .withArgs(account.address, a.amount, m.unbonding + a.amount, ts + UNBONDING_DELAY);
                  m.stake -= a.amount;
                  m.unbonding += a.amount;
                  m.end = ts + UNBONDING_DELAY;
                }
                break;
              case "withdraw":
                if (m.unbonding === 0n) {
                  await expect(reg.withdrawUnbonded(account.address)).to.be.revertedWithCustomError(
                    registry,
                    "NothingUnbonding",
                  );
                } else if (ts < m.end) {
                  await expect(reg.withdrawUnbonded(account.address))
                    .to.be.revertedWithCustomError(registry, "StillUnbonding")
                    .withArgs(m.end);
                } else {
                  await expect(reg.withdrawUnbonded(account.address))
                    .to.emit(registry, "Unbonded")
                    .withArgs(account.address, account.address, m.unbonding);
                  withdrawnTotal += m.unbonding;
                  m.unbonding = 0n;
                  m.end = 0n;
                }
                break;
              case "slash": {
                const fromActive = a.amount < m.stake ? a.amount : m.stake;
                const rest = a.amount - fromActive;
                const fromUnbonding = rest < m.unbonding ? rest : m.unbonding;
                const expected = fromActive + fromUnbonding;
                const tx = registry.connect(slasher).slash(account.address, a.amount, treasury.address);
                if (expected === 0n) {
                  await expect(tx).to.not.emit(registry, "Slashed");
                } else {
                  await expect(tx)
                    .to.emit(registry, "Slashed")
                    .withArgs(account.address, expected, treasury.address);
                }
                m.stake -= fromActive;
                m.unbonding -= fromUnbonding;
                slashedTotal += expected;
                break;
              }
            }
            for (const [i, op] of ops.entries()) {
              const r = await registry.getOperator(op);
              const expectedRecord = model[i]!;
              expect([r.stake, r.unbonding]).to.deep.equal([expectedRecord.stake, expectedRecord.unbonding]);
              if (expectedRecord.unbonding > 0n) expect(r.unbondingEnd).to.equal(expectedRecord.end);
              expect(await registry.isEligible(op)).to.equal(expectedRecord.stake >= MIN_STAKE);
            }
            const held = await expectConserved(token, registry, ops);
            expect(held).to.equal(stakedTotal - withdrawnTotal - slashedTotal);
          }
        }),
        { numRuns: 20 },
      );
    });
  });
});
