import { expect } from "chai";
import fc from "fast-check";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { keccak256, toHex, type Address } from "viem";
import { splitFee, type InferenceRequest } from "../src/protocol/index.js";
import {
  MIN_STAKE,
  networkHelpers,
  OPG,
  openedFrom,
  protocolFixture,
  requestParams,
  SIGNER_KEYS,
  signResult,
  ethers,
  type Protocol,
} from "./helpers/fixture.js";

/**
 * Escrow conservation over random sequences of operations. A TypeScript model of the ledger runs beside the
 * contracts; after every step the test checks, exactly:
 *   - every tracked account's ledger balance and the accrued protocol fees equal the model's;
 *   - token.balanceOf(settlement) == Σ balances + Σ pending fees + protocolFees (what it holds = what it owes);
 *   - token.balanceOf(operatorRegistry) == Σ (stake + unbonding);
 *   - an operation reverts exactly when the model says it must.
 */

type Op =
  | { kind: "deposit"; who: number; amount: bigint }
  | { kind: "open"; who: number; transfer: boolean }
  | { kind: "fulfil"; pick: number; operator: number }
  | { kind: "refund"; pick: number }
  | { kind: "wait"; seconds: number }
  | { kind: "withdraw"; who: number; fraction: number }
  | { kind: "collect" }
  | { kind: "setFee"; fee: bigint }
  | { kind: "equivocate"; operator: number }
  | { kind: "unbond"; operator: number; amount: bigint };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant("deposit" as const),
    who: fc.nat(2),
    amount: fc.bigInt({ min: 0n, max: 50n * OPG }),
  }),
  fc.record({ kind: fc.constant("open" as const), who: fc.nat(2), transfer: fc.boolean() }),
  fc.record({ kind: fc.constant("open" as const), who: fc.nat(2), transfer: fc.boolean() }),
  fc.record({ kind: fc.constant("fulfil" as const), pick: fc.nat(), operator: fc.nat(1) }),
  fc.record({ kind: fc.constant("fulfil" as const), pick: fc.nat(), operator: fc.nat(1) }),
  fc.record({ kind: fc.constant("refund" as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant("wait" as const), seconds: fc.integer({ min: 1, max: 2_000 }) }),
  fc.record({
    kind: fc.constant("withdraw" as const),
    who: fc.nat(5),
    fraction: fc.integer({ min: 0, max: 120 }),
  }),
  fc.record({ kind: fc.constant("collect" as const) }),
  fc.record({ kind: fc.constant("setFee" as const), fee: fc.bigInt({ min: 0n, max: 30n * OPG }) }),
  fc.record({ kind: fc.constant("equivocate" as const), operator: fc.nat(1) }),
  fc.record({
    kind: fc.constant("unbond" as const),
    operator: fc.nat(1),
    amount: fc.bigInt({ min: 0n, max: MIN_STAKE }),
  }),
);

interface Pending {
  requestId: bigint;
  request: InferenceRequest;
}

interface World {
  p: Protocol;
  requesters: HardhatEthersSigner[];
  operators: {
    account: HardhatEthersSigner;
    payout: HardhatEthersSigner;
    key: InstanceType<typeof ethers.Wallet>;
  }[];
}

async function worldFixture(): Promise<World> {
  const p = await protocolFixture();
  const signers = await ethers.getSigners();
  const second = { account: signers[8]!, payout: signers[9]!, key: new ethers.Wallet(SIGNER_KEYS[1]) };
  await p.token.connect(p.governance).transfer(second.account.address, 10_000n * OPG);
  await p.token.connect(second.account).approve(await p.operators.getAddress(), MIN_STAKE);
  await p.operators.connect(second.account).register(second.key.address, second.payout.address, MIN_STAKE);
  await p.settlement.connect(p.governance).setSlashParams(400n * OPG, 5_000);
  for (const who of [p.other, p.reporter]) {
    await p.token.connect(who).approve(await p.settlement.getAddress(), ethers.MaxUint256);
  }
  return {
    p,
    requesters: [p.requester, p.other, p.reporter],
    operators: [{ account: p.operator, payout: p.payout, key: p.signer }, second],
  };
}

describe("Escrow conservation (random operation sequences)", () => {
  it("holds exactly what it owes after every step", async function () {
    this.timeout(120_000);
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 15, maxLength: 45 }), async (ops) => {
        const world = await networkHelpers.loadFixture(worldFixture);
        const { p } = world;
        const settlementAddress = await p.settlement.getAddress();
        const registryAddress = await p.operators.getAddress();

        // The model: ledger balances per account, pending requests, accrued protocol fees, stakes.
        const tracked = [
          ...world.requesters,
          ...world.operators.map((o) => o.payout),
          p.modelOwner,
          p.treasury,
        ];
        const ledger = new Map<string, bigint>();
        for (const a of tracked) ledger.set(a.address, await p.settlement.balances(a.address));
        let protocolFees = await p.settlement.protocolFees();
        let fee = (await p.models.getModel(p.modelId)).fee;
        const pending: Pending[] = [];
        const stakes = await Promise.all(
          world.operators.map((o) => p.operators.getOperator(o.account.address)),
        );
        const stake = stakes.map((s) => s.stake);
        const unbonding = stakes.map((s) => s.unbonding);
        const usedEvidence = new Set<bigint>();
        const credit = (who: string, amount: bigint) => ledger.set(who, (ledger.get(who) ?? 0n) + amount);

        const attempt = async (expectOk: boolean, send: () => Promise<unknown>) => {
          if (expectOk) await send();
          else await expect(send()).to.revert(ethers);
          return expectOk;
        };

        for (const op of ops) {
          const now = BigInt(await networkHelpers.time.latest());
          switch (op.kind) {
            case "deposit": {
              const who = world.requesters[op.who]!;
              if (
                await attempt(op.amount > 0n, () =>
                  p.settlement
                    .connect(who)
                    .deposit(op.amount)
                    .then((t) => t.wait()),
                )
              ) {
                credit(who.address, op.amount);
              }
              break;
            }
            case "open": {
              const who = world.requesters[op.who]!;
              const params = await requestParams(p, {
                maxFee: fee,
                inputHash: keccak256(toHex(`input ${pending.length}`)),
              });
              const ok = op.transfer || (ledger.get(who.address) ?? 0n) >= fee;
              const send = () =>
                (op.transfer
                  ? p.settlement.connect(who).openRequestWithTransfer(params)
                  : p.settlement.connect(who).openRequest(params)
                ).then((t) => t.wait());
              if (ok) {
                const opened = openedFrom(p.settlement, await send());
                pending.push(opened);
                if (!op.transfer) credit(who.address, -fee);
              } else {
                await attempt(false, send);
              }
              break;
            }
            case "fulfil": {
              if (pending.length === 0) break;
              const index = op.pick % pending.length;
              const { requestId, request } = pending[index]!;
              const operator = world.operators[op.operator]!;
              const { result, signature } = await signResult(p, requestId, request, {
                signer: operator.key,
                operator: operator.account.address as Address,
              });
              // The next block is at least one second later than `now`.
              const ok = now + 1n <= request.deadline && stake[op.operator]! >= MIN_STAKE;
              if (
                await attempt(ok, () =>
                  p.settlement.fulfillSigned(request, requestId, result, signature).then((t) => t.wait()),
                )
              ) {
                const split = splitFee(request.fee, request.royaltyBps, request.protocolFeeBps);
                credit(operator.payout.address, split.operator);
                credit(request.modelOwner, split.royalty);
                protocolFees += split.protocol;
                pending.splice(index, 1);
              }
              break;
            }
            case "refund": {
              if (pending.length === 0) break;
              const index = op.pick % pending.length;
              const { requestId, request } = pending[index]!;
              const ok = now + 1n > request.deadline;
              if (await attempt(ok, () => p.settlement.refund(request, requestId).then((t) => t.wait()))) {
                credit(request.requester, request.fee);
                pending.splice(index, 1);
              }
              break;
            }
            case "wait":
              await networkHelpers.time.increase(op.seconds);
              break;
            case "withdraw": {
              const who = tracked[op.who % tracked.length]!;
              const balance = ledger.get(who.address) ?? 0n;
              const amount = (balance * BigInt(op.fraction)) / 100n;
              const ok = amount > 0n && amount <= balance;
              if (
                await attempt(ok, () =>
                  p.settlement
                    .connect(who)
                    .withdraw(who.address, amount)
                    .then((t) => t.wait()),
                )
              ) {
                credit(who.address, -amount);
              }
              break;
            }
            case "collect":
              if (
                await attempt(protocolFees > 0n, () =>
                  p.settlement.collectProtocolFees().then((t) => t.wait()),
                )
              ) {
                protocolFees = 0n;
              }
              break;
            case "setFee":
              await (await p.models.connect(p.modelOwner).setTerms(p.modelId, op.fee, 1_000)).wait();
              fee = op.fee;
              break;
            case "equivocate": {
              const operator = world.operators[op.operator]!;
              const requestId = 1_000_000n + BigInt(op.operator) * 1_000n + BigInt(ops.indexOf(op));
              const claim = {
                modelId: p.modelId,
                inputHash: keccak256(toHex("x")),
                outputHash: keccak256(toHex("a")),
              };
              const claimB = { ...claim, outputHash: keccak256(toHex("b")) };
              const request = {
                ...pending[0]?.request,
                modelId: claim.modelId,
                inputHash: claim.inputHash,
              } as InferenceRequest;
              const signer = {
                signer: operator.key,
                operator: operator.account.address as Address,
                output: "0x" as const,
              };
              const a = await signResult(p, requestId, request, { ...signer, outputHash: claim.outputHash });
              const b = await signResult(p, requestId, request, { ...signer, outputHash: claimB.outputHash });
              const fresh = !usedEvidence.has(requestId);
              const report = () =>
                p.settlement
                  .reportEquivocation(
                    requestId,
                    operator.account.address,
                    claim,
                    a.signature,
                    claimB,
                    b.signature,
                  )
                  .then((t) => t.wait());
              if (await attempt(fresh, report)) {
                usedEvidence.add(requestId);
                const penalty = 400n * OPG;
                const fromStake = penalty < stake[op.operator]! ? penalty : stake[op.operator]!;
                const rest = penalty - fromStake;
                const fromUnbonding = rest < unbonding[op.operator]! ? rest : unbonding[op.operator]!;
                const slashed = fromStake + fromUnbonding;
                stake[op.operator] = stake[op.operator]! - fromStake;
                unbonding[op.operator] = unbonding[op.operator]! - fromUnbonding;
                const reward = slashed / 2n;
                credit(p.governance.address, reward);
                if (!tracked.includes(p.governance)) tracked.push(p.governance);
                protocolFees += slashed - reward;
              }
              break;
            }
            case "unbond": {
              const operator = world.operators[op.operator]!;
              const ok = op.amount > 0n && op.amount <= stake[op.operator]!;
              if (
                await attempt(ok, () =>
                  p.operators
                    .connect(operator.account)
                    .unbond(op.amount)
                    .then((t) => t.wait()),
                )
              ) {
                stake[op.operator] = stake[op.operator]! - op.amount;
                unbonding[op.operator] = unbonding[op.operator]! + op.amount;
              }
              break;
            }
          }

          // Invariants, exactly.
          let owed = protocolFees;
          for (const a of tracked) {
            expect(await p.settlement.balances(a.address), `${op.kind}: ledger of ${a.address}`).to.equal(
              ledger.get(a.address) ?? 0n,
            );
            owed += ledger.get(a.address) ?? 0n;
          }
          for (const { request } of pending) owed += request.fee;
          expect(await p.settlement.protocolFees(), `${op.kind}: protocol fees`).to.equal(protocolFees);
          expect(
            await p.token.balanceOf(settlementAddress),
            `${op.kind}: settlement holds what it owes`,
          ).to.equal(owed);
          let staked = 0n;
          for (let i = 0; i < world.operators.length; i++) {
            const record = await p.operators.getOperator(world.operators[i]!.account.address);
            expect([record.stake, record.unbonding]).to.deep.equal([stake[i], unbonding[i]]);
            staked += record.stake + record.unbonding;
          }
          expect(await p.token.balanceOf(registryAddress), `${op.kind}: registry holds the stake`).to.equal(
            staked,
          );
        }
      }),
      { numRuns: 25 },
    );
  });
});
