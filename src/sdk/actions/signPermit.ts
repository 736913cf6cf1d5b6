import { parseSignature, type Address, type Hex } from "viem";
import { opgTokenAbi } from "../../abi/index.js";
import { PERMIT_TYPES } from "../../protocol/permit.js";
import { requireAccount, type OpgContext } from "../context.js";

export interface SignPermitParams {
  spender: Address;
  value: bigint;
  /** Unix seconds. */
  deadline: bigint;
}

/** An EIP-2612 permit in the split form the contracts take. */
export interface SignedPermit {
  value: bigint;
  deadline: bigint;
  v: number;
  r: Hex;
  s: Hex;
}

/** An EIP-2612 permit signed by the wallet's account for `spender`, under the token's own domain and nonce. */
export async function signPermit(ctx: OpgContext<"token">, params: SignPermitParams): Promise<SignedPermit> {
  const from = requireAccount(ctx);
  const [domain, nonce] = await Promise.all([
    ctx.publicClient.readContract({
      address: ctx.addresses.token,
      abi: opgTokenAbi,
      functionName: "eip712Domain",
    }),
    ctx.publicClient.readContract({
      address: ctx.addresses.token,
      abi: opgTokenAbi,
      functionName: "nonces",
      args: [from.address],
    }),
  ]);
  const [, name, version, chainId, verifyingContract] = domain;
  const signature = await ctx.walletClient!.signTypedData({
    account: from,
    domain: { name, version, chainId, verifyingContract },
    types: PERMIT_TYPES,
    primaryType: "Permit",
    message: {
      owner: from.address,
      spender: params.spender,
      value: params.value,
      nonce,
      deadline: params.deadline,
    },
  });
  const { r, s, v, yParity } = parseSignature(signature);
  return { value: params.value, deadline: params.deadline, v: Number(v ?? BigInt(yParity + 27)), r, s };
}
