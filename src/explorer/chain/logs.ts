import {
  parseEventLogs,
  type Abi,
  type Address,
  type Hex,
  type Log,
  type ParseEventLogsReturnType,
  type PublicClient,
} from "viem";

/** A log as kept in the cache (plain JSON once its numbers are strings). */
interface StoredLog {
  address: Address;
  topics: [Hex, ...Hex[]] | [];
  data: Hex;
  blockNumber: string;
  blockHash: Hex;
  transactionHash: Hex;
  transactionIndex: number;
  logIndex: number;
}

/** What has been read of one contract's logs: every log up to `scannedTo`, whose hash was `scannedHash`. */
interface Scan {
  scannedTo: bigint;
  scannedHash: Hex;
  logs: StoredLog[];
}

/** Counters of what the store asked the node, for the page's footer and the tests. */
export interface LogStats {
  /** `eth_getLogs` calls made. */
  calls: number;
  /** Logs held. */
  logs: number;
  /** Contracts whose logs were restored from sessionStorage. */
  restored: number;
}

export interface LogStoreOptions {
  /** Blocks per `eth_getLogs` call (halved, down to one block, when the node refuses a range). Default 5,000. */
  range?: bigint;
  /** Where scans survive a reload (sessionStorage in the page); none: memory only. */
  storage?: Pick<Storage, "getItem" | "setItem" | "removeItem">;
}

/**
 * Every log of a few contracts, read from the deployment block in bounded ranges (`eth_getLogs` over at most `range`
 * blocks per call), kept in memory and, when given a storage, in sessionStorage: a later read only asks for the blocks
 * after the last one scanned. A restored scan is kept only if the chain still has the block it ended at (same hash),
 * so a restarted devnet or a reorganised tip is read afresh.
 */
export class LogStore {
  readonly stats: LogStats = { calls: 0, logs: 0, restored: 0 };
  private readonly scans = new Map<Address, Scan>();
  private readonly pending = new Map<Address, Promise<StoredLog[]>>();
  private readonly range: bigint;

  constructor(
    private readonly client: PublicClient,
    private readonly chainId: number,
    private readonly fromBlock: bigint,
    private readonly options: LogStoreOptions = {},
  ) {
    this.range = options.range ?? 5_000n;
  }

  /** The decoded events of `abi` among `address`'s logs, oldest first (logs of other events are left out). */
  async events<const A extends Abi>(
    address: Address,
    abi: A,
  ): Promise<ParseEventLogsReturnType<A, undefined, true>> {
    const logs = (await this.logs(address)).map(toViemLog);
    return parseEventLogs({ abi, logs, strict: true });
  }

  /** Every log of `address` from the first block to the head (one read at a time per contract). */
  logs(address: Address): Promise<StoredLog[]> {
    const running = this.pending.get(address);
    if (running !== undefined) return running;
    const read = this.scan(address).finally(() => this.pending.delete(address));
    this.pending.set(address, read);
    return read;
  }

  private async scan(address: Address): Promise<StoredLog[]> {
    const head = await this.client.getBlock({ blockTag: "latest" });
    let scan = this.scans.get(address) ?? (await this.restore(address));
    if (scan !== undefined && scan.scannedTo > head.number) scan = undefined;
    let from = scan === undefined ? this.fromBlock : scan.scannedTo + 1n;
    const logs = scan?.logs ?? [];
    let range = this.range;
    while (from <= head.number) {
      const to = from + range - 1n < head.number ? from + range - 1n : head.number;
      let found: Log[];
      try {
        this.stats.calls++;
        found = await this.client.getLogs({ address, fromBlock: from, toBlock: to });
      } catch (error) {
        if (range === 1n) throw error;
        range = range / 2n;
        continue;
      }
      for (const log of found) logs.push(toStored(log));
      from = to + 1n;
    }
    const done: Scan = { scannedTo: head.number, scannedHash: head.hash, logs };
    this.scans.set(address, done);
    this.stats.logs = [...this.scans.values()].reduce((n, s) => n + s.logs.length, 0);
    this.save(address, done);
    return logs;
  }

  private key(address: Address): string {
    return `opg-explorer/v1/${this.chainId}/${address}/${this.fromBlock}`;
  }

  private async restore(address: Address): Promise<Scan | undefined> {
    const storage = this.options.storage;
    const text = storage?.getItem(this.key(address));
    if (storage === undefined || text == null) return undefined;
    try {
      const saved = JSON.parse(text) as { scannedTo: string; scannedHash: Hex; logs: StoredLog[] };
      const scannedTo = BigInt(saved.scannedTo);
      const block = await this.client.getBlock({ blockNumber: scannedTo });
      if (block.hash !== saved.scannedHash) throw new Error("another chain");
      this.stats.restored++;
      return { scannedTo, scannedHash: saved.scannedHash, logs: saved.logs };
    } catch {
      storage.removeItem(this.key(address));
      return undefined;
    }
  }

  private save(address: Address, scan: Scan): void {
    try {
      this.options.storage?.setItem(
        this.key(address),
        JSON.stringify({
          scannedTo: scan.scannedTo.toString(),
          scannedHash: scan.scannedHash,
          logs: scan.logs,
        }),
      );
    } catch {
      // Full or unavailable: the memory cache still holds the scan.
    }
  }
}

function toStored(log: Log): StoredLog {
  if (log.blockNumber === null || log.blockHash === null || log.transactionHash === null) {
    throw new Error("the node returned a pending log for a mined range");
  }
  return {
    address: log.address,
    topics: log.topics,
    data: log.data,
    blockNumber: log.blockNumber.toString(),
    blockHash: log.blockHash,
    transactionHash: log.transactionHash,
    transactionIndex: log.transactionIndex ?? 0,
    logIndex: log.logIndex ?? 0,
  };
}

function toViemLog(log: StoredLog): Log<bigint, number, false> {
  return { ...log, blockNumber: BigInt(log.blockNumber), removed: false };
}
