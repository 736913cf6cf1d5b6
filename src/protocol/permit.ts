/** EIP-2612 `Permit` typed data (the OPG token's permit), in viem's `as const` shape. */
export const PERMIT_TYPES = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

/** The same types in the mutable shape ethers' `signTypedData(domain, types, value)` takes. */
export function permitTypesForEthers(): Record<string, { name: string; type: string }[]> {
  return { Permit: PERMIT_TYPES.Permit.map((field) => ({ ...field })) };
}
