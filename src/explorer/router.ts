import { getAddress, isAddress, isHex, type Address, type Hex } from "viem";

/** The page's routes, from the URL's hash (`#/models`, `#/request/7`, …). */
export type Route =
  | { view: "models"; focus?: Hex }
  | { view: "operators"; operator?: Address }
  | { view: "requests"; model?: Hex; operator?: Address }
  | { view: "request"; requestId: bigint }
  | { view: "receipt" }
  | { view: "batches"; operator?: Address }
  | { view: "activity"; model?: Hex }
  | { view: "not-found"; path: string };

/** The route of a location hash; an empty hash is the models view. */
export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#\/?/, "");
  const parts = path.split("/").filter((p) => p !== "");
  const [head, second, third] = parts;
  const bytes32 = (v: string | undefined): v is Hex => v !== undefined && isHex(v) && v.length === 66;
  const address = (v: string | undefined): v is Address => v !== undefined && isAddress(v, { strict: false });
  if (head === undefined || (head === "models" && second === undefined)) return { view: "models" };
  if (head === "models" && bytes32(second)) return { view: "models", focus: second };
  if (head === "operators" && second === undefined) return { view: "operators" };
  if (head === "operator" && address(second)) return { view: "operators", operator: getAddress(second) };
  if (head === "requests" && second === undefined) return { view: "requests" };
  if (head === "requests" && bytes32(second)) return { view: "requests", model: second };
  if (head === "requests" && second === "operator" && address(third)) {
    return { view: "requests", operator: getAddress(third) };
  }
  if (head === "request" && second !== undefined && /^\d{1,77}$/.test(second)) {
    return { view: "request", requestId: BigInt(second) };
  }
  if (head === "receipt") return { view: "receipt" };
  if (head === "batches" && second === undefined) return { view: "batches" };
  if (head === "batches" && address(second)) return { view: "batches", operator: getAddress(second) };
  if (head === "activity" && second === undefined) return { view: "activity" };
  if (head === "activity" && bytes32(second)) return { view: "activity", model: second };
  return { view: "not-found", path };
}

/** The navigation section a route belongs to (for `aria-current`). */
export function section(route: Route): string {
  return route.view === "request" ? "requests" : route.view;
}
