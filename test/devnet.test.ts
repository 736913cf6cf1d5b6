import { expect } from "chai";
import hre from "hardhat";
import { createPublicClient, http } from "viem";
import {
  inferenceSettlementAbi,
  irisMlpVerifierCodeHash,
  modelRegistryAbi,
  operatorRegistryAbi,
  opgTokenAbi,
} from "../src/abi/index.js";
import { registerDevnetOperator, startDevnet, type Devnet } from "../src/devnet/devnet.js";
import { VerificationMode } from "../src/protocol/index.js";
import { readAddresses } from "../src/sdk/addresses.js";

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
    expect(model.modes).to.equal(VerificationMode.Signature | VerificationMode.Zk | VerificationMode.Quiet);
    expect(model.zkVerifier).to.equal(devnet.addresses.irisVerifier);
    expect(model.zkVerifierCodeHash).to.equal(irisMlpVerifierCodeHash);
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

  it("binds the three mode contracts to the core and writes them to the addresses file the CLI reads", async () => {
    const client = createPublicClient({ transport: http(devnet.url) });
    for (const [mode, contract] of [
      [VerificationMode.Signature, devnet.addresses.signatureMode],
      [VerificationMode.Zk, devnet.addresses.zkMode],
      [VerificationMode.Quiet, devnet.addresses.quietMode],
    ] as const) {
      expect(
        await client.readContract({
          address: devnet.addresses.settlement,
          abi: inferenceSettlementAbi,
          functionName: "modeContract",
          args: [mode],
        }),
      ).to.equal(contract);
    }
    expect(await readAddresses(devnet.deploymentDir)).to.deep.equal({
      token: devnet.addresses.token,
      models: devnet.addresses.models,
      operators: devnet.addresses.operators,
      settlement: devnet.addresses.settlement,
      signatureMode: devnet.addresses.signatureMode,
      zkMode: devnet.addresses.zkMode,
      quietMode: devnet.addresses.quietMode,
    });
  });

  it("registers an operator whose signing key proves possession", async () => {
    const key = `0x${"77".repeat(32)}` as const;
    const { operator, signer } = await registerDevnetOperator(devnet, 2, key, 1_000n * 10n ** 18n);
    const client = createPublicClient({ transport: http(devnet.url) });
    const record = await client.readContract({
      address: devnet.addresses.operators,
      abi: operatorRegistryAbi,
      functionName: "getOperator",
      args: [operator],
    });
    expect(record).to.include({ signer, payout: operator, stake: 1_000n * 10n ** 18n });
  });
});
