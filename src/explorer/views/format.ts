/// <reference lib="dom" />
import { formatUnits, type Hex } from "viem";
import { h, link } from "./dom.js";

/** `0x1234…abcd`. */
export function short(value: string): string {
  return value.length <= 14 ? value : `${value.slice(0, 6)}…${value.slice(-4)}`;
}

/** A hash or address in full (commitments are compared character by character). */
export function hash(value: string): HTMLElement {
  return h("code", { class: "hash" }, value);
}

/** A hash or address shortened, the full value in its title and for screen readers. */
export function shortHash(value: string): HTMLElement {
  return h("code", { title: value, "aria-label": value }, short(value));
}

/** An OPG amount (18 decimals). */
export function opg(amount: bigint): string {
  return `${formatUnits(amount, 18)} OPG`;
}

/** Basis points as a percentage. */
export function bps(value: number): string {
  return `${(value / 100).toFixed(2)} %`;
}

/** A unix time in UTC, e.g. `2026-11-30 07:36:12 UTC`. */
export function time(seconds: bigint): string {
  return `${new Date(Number(seconds) * 1000).toISOString().replace("T", " ").slice(0, 19)} UTC`;
}

/** A link to an operator's view. */
export function operatorLink(address: string): HTMLAnchorElement {
  return link(`/operator/${address}`, shortHash(address));
}

/** A link to a model version in the models view. */
export function modelLink(modelId: string, name?: string): HTMLAnchorElement {
  return link(
    `/models/${modelId}`,
    name === undefined ? shortHash(modelId) : [name, " ", shortHash(modelId)],
  );
}

/** A link to a request's view. */
export function requestLink(id: bigint): HTMLAnchorElement {
  return link(`/request/${id}`, `#${id}`);
}

/** A block number and transaction. */
export function where(blockNumber: bigint, transactionHash: Hex, seconds?: bigint): HTMLElement {
  return h(
    "span",
    {},
    `block ${blockNumber}`,
    seconds === undefined ? "" : `, ${time(seconds)}`,
    ", tx ",
    shortHash(transactionHash),
  );
}
