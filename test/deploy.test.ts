import { expect } from "chai";
import { network } from "hardhat";
import LocalOPGProtocol from "../deploy/modules/LocalOPGProtocol.js";
import OPGProtocol from "../deploy/modules/OPGProtocol.js";
import { DEFAULTS } from "../deploy/modules/protocol.js";
import { deployLocalSystem } from "../src/devnet/deploy.js";
import { VerificationMode } from "../src/protocol/index.js";

describe("Ignition modules", () => {
  it("LocalOPGProtocol deploys a local OPG and wires registries, the core, both modes, slasher and slashing parameters", async () => {
    const connection = await network.create();
    const { token, models, operators, settlement, signatureMode, zkMode, chainId } =
      await deployLocalSystem(connection);
    const [deployer] = await connection.ethers.getSigners();
    expect(await token.symbol()).to.equal("OPG");
    expect(await token.balanceOf(deployer!.address)).to.equal(1_000_000_000n * 10n ** 18n);
    expect(await models.token()).to.equal(await token.getAddress());
    expect(await operators.token()).to.equal(await token.getAddress());
    expect(await operators.settlement()).to.equal(await settlement.getAddress());
    expect(await operators.minStake()).to.equal(DEFAULTS.minStake);
    expect(await operators.unbondingDelay()).to.equal(DEFAULTS.unbondingDelay);
    expect(await settlement.token()).to.equal(await token.getAddress());
    expect(await settlement.models()).to.equal(await models.getAddress());
    expect(await settlement.operators()).to.equal(await operators.getAddress());
    expect(await settlement.protocolFeeBps()).to.equal(DEFAULTS.protocolFeeBps);
    expect(await settlement.treasury()).to.equal(deployer!.address);
    expect(await settlement.owner()).to.equal(deployer!.address);
    expect(await operators.owner()).to.equal(deployer!.address);
    expect(chainId).to.equal((await connection.ethers.provider.getNetwork()).chainId);
    // Both verification modes, bound to their bits and pointing back at this core.
    expect(await settlement.openModes()).to.equal(
      BigInt(VerificationMode.Signature | VerificationMode.Zk | VerificationMode.Quiet),
    );
    expect(await settlement.modeContract(VerificationMode.Signature)).to.equal(
      await signatureMode.getAddress(),
    );
    expect(await settlement.modeContract(VerificationMode.Zk)).to.equal(await zkMode.getAddress());
    expect(await signatureMode.mode()).to.equal(BigInt(VerificationMode.Signature));
    expect(await signatureMode.settlement()).to.equal(await settlement.getAddress());
    expect(await signatureMode.operators()).to.equal(await operators.getAddress());
    expect(await signatureMode.owner()).to.equal(deployer!.address);
    expect(await signatureMode.equivocationPenalty()).to.equal(DEFAULTS.equivocationPenalty);
    expect(await signatureMode.reporterRewardBps()).to.equal(DEFAULTS.reporterRewardBps);
    expect(await zkMode.mode()).to.equal(BigInt(VerificationMode.Zk));
    expect(await zkMode.settlement()).to.equal(await settlement.getAddress());
    expect(await zkMode.models()).to.equal(await models.getAddress());
    // Every bit is bound once: the deployment cannot be re-wired afterwards.
    await expect(
      settlement.connect(deployer).bindMode(VerificationMode.Zk, await signatureMode.getAddress()),
    ).to.be.revertedWithCustomError(settlement, "ModeAlreadyBound");
  });

  it("OPGProtocol plugs into an existing OPG token given as a parameter, with overridden parameters", async () => {
    const connection = await network.create();
    const [deployer, treasury] = await connection.ethers.getSigners();
    const existing = await connection.ethers.deployContract("OPGToken", [deployer!.address, 5n * 10n ** 18n]);
    const deployed = await connection.ignition.deploy(OPGProtocol, {
      displayUi: false,
      parameters: {
        OPGProtocol: {
          opgToken: await existing.getAddress(),
          treasury: treasury!.address,
          minStake: 42n,
          protocolFeeBps: 250n,
          equivocationPenalty: 7n,
          reporterRewardBps: 10_000n,
        },
      },
    });
    expect(await deployed.token.getAddress()).to.equal(await existing.getAddress());
    expect(await deployed.settlement.getFunction("token")()).to.equal(await existing.getAddress());
    expect(await deployed.settlement.getFunction("treasury")()).to.equal(treasury!.address);
    expect(await deployed.settlement.getFunction("protocolFeeBps")()).to.equal(250n);
    expect(await deployed.operators.getFunction("minStake")()).to.equal(42n);
    expect(await deployed.operators.getFunction("settlement")()).to.equal(
      await deployed.settlement.getAddress(),
    );
    expect(await deployed.signatureMode.getFunction("equivocationPenalty")()).to.equal(7n);
    expect(await deployed.signatureMode.getFunction("reporterRewardBps")()).to.equal(10_000n);
    expect(await deployed.settlement.getFunction("modeContract")(VerificationMode.Signature)).to.equal(
      await deployed.signatureMode.getAddress(),
    );
    expect(await deployed.settlement.getFunction("modeContract")(VerificationMode.Zk)).to.equal(
      await deployed.zkMode.getAddress(),
    );
    expect(await deployed.zkMode.getFunction("settlement")()).to.equal(
      await deployed.settlement.getAddress(),
    );
  });

  it("OPGProtocol refuses to run without the opgToken parameter", async () => {
    const connection = await network.create();
    let failure: unknown;
    try {
      await connection.ignition.deploy(OPGProtocol, { displayUi: false });
    } catch (error) {
      failure = error;
    }
    expect(String(failure)).to.match(/opgToken/);
  });

  it("is exported for both modules under distinct ids", () => {
    expect(LocalOPGProtocol.id).to.equal("LocalOPGProtocol");
    expect(OPGProtocol.id).to.equal("OPGProtocol");
  });
});
