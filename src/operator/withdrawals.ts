import type { Logger } from "pino";
import {
  encodeFunctionData,
  formatUnits,
  keccak256,
  type Address,
  type Hex,
  type PrivateKeyAccount,
  type PublicClient,
} from "viem";
import { inferenceSettlementAbi, operatorRegistryAbi } from "../abi/index.js";
import { errorSummary } from "./backoff.js";
import { decodeProtocolError } from "../sdk/errors.js";
import type { OperatorStore, StoredWithdrawal } from "./store.js";

/** What `Withdrawals` needs from the node. */
export interface WithdrawalsOptions {
  client: PublicClient;
  store: OperatorStore;
  settlement: Address;
  chainId: number;
  /** The operator (staking) account. */
  account: PrivateKeyAccount;
  /** The registered payout account, when the node has its key. */
  payoutAccount?: PrivateKeyAccount;
  /** Withdraw ledger earnings at most this often (ms); undefined: never start a withdrawal. */
  intervalMs?: number;
  /** Withdraw a ledger balance only from this amount (token base units, default: any positive balance). */
  minimum?: bigint;
  log: Logger;
}

/**
 * Gas for `withdraw(to, amount)`: a ledger write and a token transfer (under 70k, checked in the tests). Fixed,
 * not estimated, so a reserved withdrawal can always be signed again with its nonce after a crash, even if it
 * would now revert.
 */
const WITHDRAW_GAS = 100_000n;

/** Scheduled withdrawals of the node's ledger earnings, persisted in the store like fulfilments. */
export class Withdrawals {
  private lastRound?: number;
  /** Warnings about withdrawals that are logged once, not on every round. */
  private readonly warned = new Set<string>();

  constructor(private readonly options: WithdrawalsOptions) {}

  /**
   * Move earnings out of the settlement ledger: first advance the withdrawals in flight (also after a restart),
   * then, at most every `withdrawIntervalMs`, withdraw each balance the node can sign for that has reached
   * `withdrawMinimum`, to the registered payout. Signature-mode fees are credited to the payout account,
   * zk-mode fees to the operator account (`fulfillZk` pays `msg.sender`). RPC failures are thrown (the pass
   * backs off).
   */
  async run(): Promise<void> {
    const { client, store, settlement, account: operator, payoutAccount } = this.options;
    for (const open of store.openWithdrawals()) await this.advance(open);
    const interval = this.options.intervalMs;
    if (interval === undefined) return;
    if (this.lastRound !== undefined && Date.now() - this.lastRound < interval) return;
    const operatorsAddress = await client.readContract({
      address: settlement,
      abi: inferenceSettlementAbi,
      functionName: "operators",
    });
    const { payout } = await client.readContract({
      address: operatorsAddress,
      abi: operatorRegistryAbi,
      functionName: "getOperator",
      args: [operator.address],
    });
    const same = (a: Address, b: Address) => a.toLowerCase() === b.toLowerCase();
    const accounts: { account: PrivateKeyAccount; nonceAccount?: Address }[] = [{ account: operator }];
    if (!same(payout, operator.address)) {
      if (payoutAccount === undefined) {
        this.warnOnce(
          `no-payout-key:${payout}`,
          { payout },
          "signature-mode fees are credited to the payout account, and this node has no key for it: they are " +
            "not withdrawn (pass --payout-key-env, or withdraw them with `opg withdraw` from the payout account)",
        );
      } else if (!same(payoutAccount.address, payout)) {
        this.warnOnce(
          `payout-key-mismatch:${payout}`,
          { payout, payoutKeyAccount: payoutAccount.address },
          "the payout key is not the registered payout's: its balance is not withdrawn",
        );
      } else {
        accounts.push({ account: payoutAccount, nonceAccount: payoutAccount.address });
      }
    }
    const minimum = this.options.minimum ?? 0n;
    for (const { account, nonceAccount } of accounts) {
      if (store.openWithdrawal(account.address) !== undefined) continue;
      const balance = await client.readContract({
        address: settlement,
        abi: inferenceSettlementAbi,
        functionName: "balances",
        args: [account.address],
      });
      if (balance === 0n || balance < minimum) continue;
      const data = withdrawCalldata(payout, balance);
      try {
        await client.call({
          account: account.address,
          to: settlement,
          data,
          gas: WITHDRAW_GAS,
        });
      } catch (error) {
        const reason = decodeProtocolError(error)?.name;
        if (reason === undefined) throw error; // an RPC failure: the pass backs off
        this.options.log.warn({ account: account.address, reason }, "withdrawal would revert; not sent");
        continue;
      }
      const pending = await client.getTransactionCount({
        address: account.address,
        blockTag: "pending",
      });
      const reserved = store.reserveWithdrawal(account.address, payout, balance, pending, nonceAccount);
      await this.advance(reserved);
    }
    // Only a completed round waits for the next interval; one cut short by an RPC failure is retried.
    this.lastRound = Date.now();
  }

  /**
   * One step of a withdrawal: sign a reserved one (with its reserved nonce) and keep the raw transaction before
   * broadcasting it; check a submitted one's receipt, re-broadcasting the same bytes while it is unmined.
   */
  private async advance(withdrawal: StoredWithdrawal): Promise<void> {
    const { client, store } = this.options;
    const { id, account, recipient, amount, nonce } = withdrawal;
    const log = {
      withdrawal: id,
      account,
      to: recipient,
      amount: amount.toString(),
      opg: formatUnits(amount, 18),
    };
    if (withdrawal.state === "reserved") {
      const signer = [this.options.account, this.options.payoutAccount].find((a) => a?.address === account);
      if (signer === undefined) {
        this.warnOnce(
          `no-key:${account}`,
          log,
          "a reserved withdrawal waits for its account's key (payout key)",
        );
        return;
      }
      const fees = await client.estimateFeesPerGas();
      const rawTx = await signer.signTransaction({
        chainId: this.options.chainId,
        type: "eip1559",
        to: this.options.settlement,
        data: withdrawCalldata(recipient, amount),
        nonce,
        gas: WITHDRAW_GAS,
        maxFeePerGas: fees.maxFeePerGas,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
      });
      const txHash = keccak256(rawTx);
      store.markWithdrawalSubmitted(id, rawTx, txHash);
      this.options.log.info({ ...log, txHash, nonce }, "withdrawal sent");
      await this.broadcast(id, rawTx);
      return;
    }
    const receipt = await client.getTransactionReceipt({ hash: withdrawal.txHash! }).catch(() => undefined);
    if (receipt !== undefined) {
      if (receipt.status === "success") {
        store.finishWithdrawal(id, "confirmed");
        this.options.log.info({ ...log, txHash: withdrawal.txHash, nonce }, "withdrawal confirmed");
      } else {
        store.finishWithdrawal(id, "failed", "transaction reverted");
        this.options.log.warn({ ...log, txHash: withdrawal.txHash, nonce }, "withdrawal reverted");
      }
      return;
    }
    const mined = await client.getTransactionCount({ address: account, blockTag: "latest" });
    if (mined > nonce) {
      // Its nonce was used by another transaction (the key used elsewhere): this one can never be mined.
      store.finishWithdrawal(id, "failed", `nonce ${nonce} was used by another transaction`);
      this.options.log.warn(
        { ...log, txHash: withdrawal.txHash, nonce },
        "withdrawal replaced by another transaction",
      );
      return;
    }
    await this.broadcast(id, withdrawal.rawTx!);
  }

  private async broadcast(id: number, rawTx: Hex): Promise<void> {
    try {
      await this.options.client.sendRawTransaction({ serializedTransaction: rawTx });
    } catch (error) {
      // Already known, or mined meanwhile: the receipt check on the next pass decides.
      this.options.log.warn(
        { withdrawal: id, err: errorSummary(error) },
        "withdrawal broadcast failed; will check and retry",
      );
    }
  }

  private warnOnce(key: string, fields: Record<string, unknown>, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.options.log.warn(fields, message);
  }
}

/** The calldata of `withdraw(to, amount)`. */
function withdrawCalldata(to: Address, amount: bigint): Hex {
  return encodeFunctionData({ abi: inferenceSettlementAbi, functionName: "withdraw", args: [to, amount] });
}
