import type { PublicClient } from "viem";

/** Block timestamps (unix seconds), each asked once. */
export class BlockTimes {
  private readonly times = new Map<bigint, Promise<bigint>>();

  constructor(private readonly client: PublicClient) {}

  /** The timestamp of block `blockNumber`. */
  of(blockNumber: bigint): Promise<bigint> {
    let time = this.times.get(blockNumber);
    if (time === undefined) {
      time = this.client.getBlock({ blockNumber }).then((b) => b.timestamp);
      this.times.set(blockNumber, time);
    }
    return time;
  }

  /** The timestamps of several blocks, keyed by number. */
  async ofAll(blockNumbers: Iterable<bigint>): Promise<Map<bigint, bigint>> {
    const unique = [...new Set(blockNumbers)];
    const times = await Promise.all(unique.map((n) => this.of(n)));
    return new Map(unique.map((n, i) => [n, times[i]!]));
  }
}
