import { expect } from "chai";
import hre from "hardhat";
import { createPublicClient, http } from "viem";
import { modelRegistryAbi, opgTokenAbi } from "../src/abi/index.js";
import { startDevnet, type Devnet } from "../src/devnet/devnet.js";
import { VerificationMode } from "../src/protocol/index.js";

describe("devnet", () => {
  let devnet: Devnet;
  before(async () => {
    devnet = await startDevnet(hre, "127.0.0.1", 0);
  });
  after(async () => {
    await devnet.close();
  });

  it("serves JSON-RPC over HTTP on loopback with the protocol deployed and the Iris model registered", async () => {
    expect(devnet.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    const client = createPublicClient({ transport: http(devnet.url) });
    expect(BigInt(await client.getChainId())).to.equal(devnet.chainId);
    const model = await client.readContract({
      address: devnet.addresses.models,
      abi: modelRegistryAbi,
      functionName: "getModel",
      args: [devnet.irisModelId],
    });
    expect(model.modes).to.equal(VerificationMode.Signature | VerificationMode.Zk);
    expect(model.zkVerifier).to.equal(devnet.addresses.irisVerifier);
    for (const account of devnet.accounts.slice(1)) {
      const balance = await client.readContract({
        address: devnet.addresses.token,
        abi: opgTokenAbi,
        functionName: "balanceOf",
        args: [account.address],
      });
      expect(balance).to.equal(account.opg);
      expect(balance > 0n).to.equal(true);
    }
  });
});
