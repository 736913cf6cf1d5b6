import { expect } from "chai";
import fc from "fast-check";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { keccak256, toHex, type Address } from "viem";
import { ProtocolLimits, splitFee, VerificationMode, type InferenceRequest } from "../src/protocol/index.js";
import type { TestMode } from "../typechain-types/index.js";
import {
  bindTestMode,
  ethers,
  fulfilSigned,
  MIN_STAKE,
  modelSpec,
  networkHelpers,
  OPG,
  openedFrom,
  protocolFixture,
  registerModel,
  registerOperator,
  reportEquivocation,
  requestParams,
  rotateSigner,
  SIGNER_KEYS,
  signResult,
  TEST_MODE_BIT,
  twoResults,
  type Protocol,
  type Wallet,
} from "./helpers/fixture.js";

/**
 * Escrow conservation over random sequences of operations on every entry point of the core and its modes. A
 * TypeScript model of the ledger runs beside the contracts; after every step the test checks, exactly:
 *   - every tracked account's ledger balance, each mode's protocol fees and each mode allowance equal the model's;
 *   - totalOwed == Σ balances + Σ pending fees + protocolFees (the definition), and
 *     token.balanceOf(core) == totalOwed + what was sent to it by mistake and not yet swept;
 *   - token.balanceOf(operatorRegistry) == Σ (stake + unbonding), per operator as the model says;
 *   - an operation reverts exactly when the model says it must.
 */

const { Signature: SIG } = VerificationMode;
const PENALTY = 400n * OPG;
const REWARD_BPS = 5_000;
const MAX = 2n ** 256n - 1n;

type Op =
  | { kind: "deposit"; who: number; amount: bigint }
  | { kind: "open"; who: number; transfer: boolean; testMode: boolean }
  | { kind: "fulfil"; pick: number; operator: number }
  | { kind: "refund"; pick: number }
  | { kind: "wait"; seconds: number }
  | { kind: "withdraw"; who: number; fraction: number }
  | { kind: "transfer"; from: number; to: number; fraction: number }
  | { kind: "collect" }
  | { kind: "setFee"; fee: bigint }
  | { kind: "setProtocolFee"; bps: number }
  | { kind: "equivocate"; pick: number; operator: number; key: number }
  | { kind: "unbond"; operator: number; amount: bigint }
  | { kind: "rotate"; operator: number }
  | { kind: "approve"; who: number; amount: bigint }
  | { kind: "pull"; who: number; amount: bigint }
  | { kind: "payFee"; fee: bigint; royaltyBps: number }
  | { kind: "modeSlash"; operator: number; amount: bigint; bps: number }
  | { kind: "stray"; amount: bigint }
  | { kind: "sweep" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant("deposit" as const),
    who: fc.nat(2),
    amount: fc.bigInt({ min: 0n, max: 50n * OPG }),
  }),
  {
    arbitrary: fc.record({
      kind: fc.constant("open" as const),
      who: fc.nat(2),
      transfer: fc.boolean(),
      testMode: fc.boolean(),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({ kind: fc.constant("fulfil" as const), pick: fc.nat(), operator: fc.nat(1) }),
    weight: 2,
  },
  fc.record({ kind: fc.constant("refund" as const), pick: fc.nat() }),
  fc.record({
    kind: fc.constant("wait" as const),
    seconds: fc.oneof(fc.integer({ min: 1, max: 2_000 }), fc.constant(4 * 86_400)),
  }),
  fc.record({
    kind: fc.constant("withdraw" as const),
    who: fc.nat(6),
    fraction: fc.integer({ min: 0, max: 120 }),
  }),
  fc.record({
    kind: fc.constant("transfer" as const),
    from: fc.nat(6),
    to: fc.nat(6),
    fraction: fc.integer({ min: 0, max: 120 }),
  }),
  fc.record({ kind: fc.constant("collect" as const) }),
  fc.record({ kind: fc.constant("setFee" as const), fee: fc.bigInt({ min: 0n, max: 30n * OPG }) }),
  fc.record({ kind: fc.constant("setProtocolFee" as const), bps: fc.integer({ min: 0, max: 2_000 }) }),
  {
    arbitrary: fc.record({
      kind: fc.constant("equivocate" as const),
      pick: fc.nat(),
      operator: fc.nat(1),
      key: fc.nat(2),
    }),
    weight: 2,
  },
  fc.record({
    kind: fc.constant("unbond" as const),
    operator: fc.nat(1),
    amount: fc.bigInt({ min: 0n, max: MIN_STAKE }),
  }),
  fc.record({ kind: fc.constant("rotate" as const), operator: fc.nat(1) }),
  fc.record({
    kind: fc.constant("approve" as const),
    who: fc.nat(2),
    amount: fc.oneof(fc.bigInt({ min: 0n, max: 40n * OPG }), fc.constant(MAX)),
  }),
  fc.record({
    kind: fc.constant("pull" as const),
    who: fc.nat(2),
    amount: fc.bigInt({ min: 0n, max: 30n * OPG }),
  }),
  fc.record({
    kind: fc.constant("payFee" as const),
    fee: fc.bigInt({ min: 0n, max: 20n * OPG }),
    royaltyBps: fc.integer({ min: 0, max: 8_000 }),
  }),
  fc.record({
    kind: fc.constant("modeSlash" as const),
    operator: fc.nat(1),
    amount: fc.bigInt({ min: 0n, max: 300n * OPG }),
    bps: fc.integer({ min: 0, max: 10_000 }),
  }),
  fc.record({ kind: fc.constant("stray" as const), amount: fc.bigInt({ min: 1n, max: 5n * OPG }) }),
  fc.record({ kind: fc.constant("sweep" as const) }),
);

interface Opened {
  requestId: bigint;
  request: InferenceRequest;
  pending: boolean;
}

interface OperatorWorld {
  account: HardhatEthersSigner;
  payout: HardhatEthersSigner;
  keys: Wallet[];
}

interface World {
  p: Protocol;
  mode: TestMode;
  modeAddress: Address;
  anyModeModel: `0x${string}`;
  requesters: HardhatEthersSigner[];
  operators: OperatorWorld[];
}

async function worldFixture(): Promise<World> {
  const p = await protocolFixture();
  const signers = await ethers.getSigners();
  const second: OperatorWorld = {
    account: signers[8]!,
    payout: signers[9]!,
    keys: [
      SIGNER_KEYS[1],
      keccak256(toHex("second operator, key 1")),
      keccak256(toHex("second operator, key 2")),
    ].map((k) => new ethers.Wallet(k)),
  };
  await p.token.connect(p.governance).transfer(second.account.address, 10_000n * OPG);
  await registerOperator(p, second.account, second.keys[0]!, second.payout.address);
  await p.signatureMode.connect(p.governance).setSlashParams(PENALTY, REWARD_BPS);
  for (const who of [p.other, p.reporter]) {
    await p.token.connect(who).approve(await p.settlement.getAddress(), ethers.MaxUint256);
  }
  const mode = await bindTestMode(p);
  // The test mode starts with a balance of its own and allowances from two payers, so its hooks get exercised.
  await p.settlement.connect(p.requester).transferBalance(await mode.getAddress(), 100n * OPG);
  await p.settlement.connect(p.requester).approveMode(TEST_MODE_BIT, ethers.MaxUint256);
  await p.settlement.connect(p.other).approveMode(TEST_MODE_BIT, 20n * OPG);
  // Both fixture models' terms change together: the signature-only one and one that also allows the test bit.
  const anyModeModel = await registerModel(
    p.models,
    p.modelOwner,
    modelSpec({ name: "any-mode", modes: SIG | TEST_MODE_BIT }),
  );
  return {
    p,
    mode,
    modeAddress: (await mode.getAddress()) as Address,
    anyModeModel,
    requesters: [p.requester, p.other, p.reporter],
    operators: [
      {
        account: p.operator,
        payout: p.payout,
        keys: [
          p.signer,
          ...["first operator, key 1", "first operator, key 2"].map(
            (s) => new ethers.Wallet(keccak256(toHex(s))),
          ),
        ],
      },
      second,
    ],
  };
}

describe("Escrow conservation (random operation sequences over the core, both modes and the hooks)", () => {
  it("holds exactly what it owes after every step", async function () {
    this.timeout(120_000);
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 15, maxLength: 40 }), async (ops) => {
        const world = await networkHelpers.loadFixture(worldFixture);
        const { p, mode, modeAddress } = world;
        const core = await p.settlement.getAddress();
        const registryAddress = await p.operators.getAddress();

        // The model.
        const ledgerAccounts: string[] = [
          ...world.requesters.map((a) => a.address),
          ...world.operators.map((o) => o.payout.address),
          p.modelOwner.address,
          modeAddress,
        ];
        const ledger = new Map<string, bigint>();
        for (const a of ledgerAccounts) ledger.set(a, await p.settlement.balances(a));
        const fees = new Map<number, bigint>([
          [SIG, await p.settlement.protocolFeesOf(SIG)],
          [TEST_MODE_BIT, await p.settlement.protocolFeesOf(TEST_MODE_BIT)],
        ]);
        const allowance = await Promise.all(
          world.requesters.map((who) => p.settlement.modeAllowance(who.address, TEST_MODE_BIT)),
        );
        let fee = (await p.models.getModel(p.modelId)).fee;
        let protocolFeeBps = await p.settlement.protocolFeeBps();
        let excess = 0n;
        const opened: Opened[] = [];
        const records = await Promise.all(
          world.operators.map((o) => p.operators.getOperator(o.account.address)),
        );
        const stake = records.map((r) => r.stake);
        const unbonding = records.map((r) => r.unbonding);
        const currentKey = world.operators.map(() => 0);
        const retiredAt = world.operators.map(() => [] as bigint[]); // retiredAtRequest per retired key index
        const usedEvidence = new Set<string>();
        let nextId = await p.settlement.nextRequestId();

        const balance = (who: string) => ledger.get(who) ?? 0n;
        const credit = (who: string, amount: bigint) => ledger.set(who, balance(who) + amount);
        const addFees = (bit: number, amount: bigint) => fees.set(bit, (fees.get(bit) ?? 0n) + amount);
        const slashModel = (i: number, amount: bigint) => {
          const fromStake = amount < stake[i]! ? amount : stake[i]!;
          const rest = amount - fromStake;
          const fromUnbonding = rest < unbonding[i]! ? rest : unbonding[i]!;
          stake[i] = stake[i]! - fromStake;
          unbonding[i] = unbonding[i]! - fromUnbonding;
          return fromStake + fromUnbonding;
        };
        const attempt = async (expectOk: boolean, send: () => Promise<{ wait(): Promise<unknown> }>) => {
          if (expectOk) await (await send()).wait();
          else await expect(send()).to.revert(ethers);
          return expectOk;
        };
        const pendingOnes = () => opened.filter((o) => o.pending);

        for (const op of ops) {
          // Every transaction of this step lands exactly one second after the last block.
          const now = BigInt(await networkHelpers.time.latest());
          const at = now + 1n;
          if (op.kind !== "wait") await networkHelpers.time.setNextBlockTimestamp(at);
          switch (op.kind) {
            case "deposit": {
              const who = world.requesters[op.who]!;
              if (await attempt(op.amount > 0n, () => p.settlement.connect(who).deposit(op.amount)))
                credit(who.address, op.amount);
              break;
            }
            case "open": {
              const who = world.requesters[op.who]!;
              const params = await requestParams(p, {
                modelId: op.testMode ? world.anyModeModel : p.modelId,
                mode: op.testMode ? TEST_MODE_BIT : SIG,
                maxFee: fee,
                inputHash: keccak256(toHex(`input ${opened.length}`)),
                deadline: at + 3_600n,
              });
              const ok = op.transfer || balance(who.address) >= fee;
              const send = () =>
                op.transfer
                  ? p.settlement.connect(who).openRequestWithTransfer(params)
                  : p.settlement.connect(who).openRequest(params);
              if (ok) {
                const { requestId, request } = openedFrom(p.settlement, await (await send()).wait());
                expect(requestId).to.equal(nextId);
                nextId++;
                opened.push({ requestId, request, pending: true });
                if (!op.transfer) credit(who.address, -fee);
              } else {
                await attempt(false, send);
              }
              break;
            }
            case "fulfil": {
              const pending = pendingOnes();
              if (pending.length === 0) break;
              const target = pending[op.pick % pending.length]!;
              const { requestId, request } = target;
              const operator = world.operators[op.operator]!;
              const inTime = at <= request.deadline;
              let ok: boolean;
              if (request.mode === SIG) {
                const signed = await signResult(p, requestId, request, {
                  signer: operator.keys[currentKey[op.operator]!]!,
                  operator: operator.account.address as Address,
                });
                ok = await attempt(inTime && stake[op.operator]! >= MIN_STAKE, () =>
                  fulfilSigned(p, target, signed),
                );
              } else {
                const output = toHex(`test mode output ${requestId}`);
                const result = {
                  operator: operator.account.address,
                  outputHash: keccak256(output),
                  output,
                  outputUri: "",
                };
                ok = await attempt(inTime, () =>
                  mode.settle(request, requestId, result, operator.payout.address, ethers.ZeroAddress),
                );
              }
              if (ok) {
                const split = splitFee(request.fee, request.royaltyBps, request.protocolFeeBps);
                credit(operator.payout.address, split.operator);
                credit(request.modelOwner, split.royalty);
                addFees(request.mode, split.protocol);
                target.pending = false;
              }
              break;
            }
            case "refund": {
              const pending = pendingOnes();
              if (pending.length === 0) break;
              const target = pending[op.pick % pending.length]!;
              if (
                await attempt(at > target.request.deadline, () =>
                  p.settlement.refund(target.request, target.requestId),
                )
              ) {
                credit(target.request.requester, target.request.fee);
                target.pending = false;
              }
              break;
            }
            case "wait":
              await networkHelpers.time.increase(op.seconds);
              break;
            case "withdraw": {
              const who = ledgerAccounts[op.who % ledgerAccounts.length]!;
              if (who === modeAddress) break; // the mode contract moves its balance with transferBalance
              const amount = (balance(who) * BigInt(op.fraction)) / 100n;
              const signer = await ethers.getSigner(who);
              if (
                await attempt(amount > 0n && amount <= balance(who), () =>
                  p.settlement.connect(signer).withdraw(who, amount),
                )
              )
                credit(who, -amount);
              break;
            }
            case "transfer": {
              const from = ledgerAccounts[op.from % ledgerAccounts.length]!;
              const to = ledgerAccounts[op.to % ledgerAccounts.length]!;
              const amount = (balance(from) * BigInt(op.fraction)) / 100n;
              const ok = amount > 0n && amount <= balance(from);
              const send =
                from === modeAddress
                  ? () => mode.transferBalance(to, amount)
                  : async () =>
                      p.settlement.connect(await ethers.getSigner(from)).transferBalance(to, amount);
              if (await attempt(ok, send)) {
                credit(from, -amount);
                credit(to, amount);
              }
              break;
            }
            case "collect": {
              const total = [...fees.values()].reduce((a, b) => a + b, 0n);
              if (await attempt(total > 0n, () => p.settlement.collectProtocolFees())) {
                for (const bit of fees.keys()) fees.set(bit, 0n);
              }
              break;
            }
            case "setFee":
              for (const id of [p.modelId, world.anyModeModel]) {
                await networkHelpers.time.setNextBlockTimestamp(
                  BigInt(await networkHelpers.time.latest()) + 1n,
                );
                await (await p.models.connect(p.modelOwner).setTerms(id, op.fee, 1_000)).wait();
              }
              fee = op.fee;
              break;
            case "setProtocolFee":
              await (await p.settlement.connect(p.governance).setProtocolFee(op.bps)).wait();
              protocolFeeBps = BigInt(op.bps);
              break;
            case "equivocate": {
              if (opened.length === 0) break;
              const target = opened[op.pick % opened.length]!;
              if (target.request.mode !== SIG) break;
              const operator = world.operators[op.operator]!;
              const keyIndex = Math.min(op.key, currentKey[op.operator]!);
              const evidence = await twoResults(p, target.requestId, target.request, {
                signer: operator.keys[keyIndex]!,
                operator: operator.account.address as Address,
              });
              const retired = retiredAt[op.operator]![keyIndex];
              const evidenceKey = `${target.requestId}/${op.operator}`;
              const slashable = stake[op.operator]! + unbonding[op.operator]! > 0n;
              const ok =
                at <= target.request.deadline + ProtocolLimits.EVIDENCE_WINDOW &&
                (retired === undefined || target.requestId < retired) &&
                !usedEvidence.has(evidenceKey) &&
                slashable;
              if (
                await attempt(ok, () =>
                  reportEquivocation(p, target, evidence, { operator: operator.account.address }),
                )
              ) {
                usedEvidence.add(evidenceKey);
                const slashed = slashModel(op.operator, PENALTY);
                const reward = (slashed * BigInt(REWARD_BPS)) / 10_000n;
                credit(p.reporter.address, reward);
                addFees(SIG, slashed - reward);
              }
              break;
            }
            case "unbond": {
              const operator = world.operators[op.operator]!;
              if (
                await attempt(op.amount > 0n && op.amount <= stake[op.operator]!, () =>
                  p.operators.connect(operator.account).unbond(op.amount),
                )
              ) {
                stake[op.operator] = stake[op.operator]! - op.amount;
                unbonding[op.operator] = unbonding[op.operator]! + op.amount;
              }
              break;
            }
            case "rotate": {
              const operator = world.operators[op.operator]!;
              const next = currentKey[op.operator]! + 1;
              if (next >= operator.keys.length) break;
              await (await rotateSigner(p, operator.account, operator.keys[next]!)).wait();
              retiredAt[op.operator]![currentKey[op.operator]!] = nextId;
              currentKey[op.operator] = next;
              break;
            }
            case "approve": {
              const who = world.requesters[op.who]!;
              await (await p.settlement.connect(who).approveMode(TEST_MODE_BIT, op.amount)).wait();
              allowance[op.who] = op.amount;
              break;
            }
            case "pull": {
              const who = world.requesters[op.who]!;
              const ok =
                op.amount > 0n && op.amount <= allowance[op.who]! && op.amount <= balance(who.address);
              if (await attempt(ok, () => mode.pull(who.address, op.amount))) {
                credit(who.address, -op.amount);
                credit(modeAddress, op.amount);
                if (allowance[op.who] !== MAX) allowance[op.who] = allowance[op.who]! - op.amount;
              }
              break;
            }
            case "payFee": {
              const payout = world.operators[0]!.payout.address;
              const ok = op.fee > 0n && op.fee <= balance(modeAddress);
              if (await attempt(ok, () => mode.payFee(op.fee, p.modelOwner.address, op.royaltyBps, payout))) {
                const split = splitFee(op.fee, op.royaltyBps, Number(protocolFeeBps));
                credit(modeAddress, -op.fee);
                credit(payout, split.operator);
                credit(p.modelOwner.address, split.royalty);
                addFees(TEST_MODE_BIT, split.protocol);
              }
              break;
            }
            case "modeSlash": {
              const operator = world.operators[op.operator]!;
              await (
                await mode.slash(operator.account.address, op.amount, p.reporter.address, op.bps)
              ).wait();
              const slashed = slashModel(op.operator, op.amount);
              const reward = (slashed * BigInt(op.bps)) / 10_000n;
              credit(p.reporter.address, reward);
              addFees(TEST_MODE_BIT, slashed - reward);
              break;
            }
            case "stray":
              await (await p.token.connect(p.governance).transfer(core, op.amount)).wait();
              excess += op.amount;
              break;
            case "sweep":
              if (
                await attempt(excess > 0n, () =>
                  p.settlement.connect(p.governance).sweep(p.token, p.governance.address),
                )
              )
                excess = 0n;
              break;
          }

          // Invariants, exactly.
          const label = op.kind;
          let owed = 0n;
          for (const a of ledgerAccounts) {
            expect(await p.settlement.balances(a), `${label}: ledger of ${a}`).to.equal(balance(a));
            owed += balance(a);
          }
          for (const [bit, amount] of fees) {
            expect(await p.settlement.protocolFeesOf(bit), `${label}: protocol fees of mode ${bit}`).to.equal(
              amount,
            );
            owed += amount;
          }
          for (const o of pendingOnes()) owed += o.request.fee;
          for (const [i, who] of world.requesters.entries()) {
            expect(await p.settlement.modeAllowance(who.address, TEST_MODE_BIT)).to.equal(allowance[i]);
          }
          expect(await p.settlement.totalOwed(), `${label}: totalOwed is its definition`).to.equal(owed);
          expect(await p.token.balanceOf(core), `${label}: the core holds what it owes plus strays`).to.equal(
            owed + excess,
          );
          let staked = 0n;
          for (const [i, o] of world.operators.entries()) {
            const record = await p.operators.getOperator(o.account.address);
            expect([record.stake, record.unbonding], `${label}: stake of operator ${i}`).to.deep.equal([
              stake[i],
              unbonding[i],
            ]);
            staked += record.stake + record.unbonding;
          }
          expect(await p.token.balanceOf(registryAddress), `${label}: registry holds the stake`).to.equal(
            staked,
          );
        }
      }),
      { numRuns: 40 },
    );
  });
});
