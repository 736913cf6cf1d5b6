import { expect } from "chai";
import { network } from "hardhat";
import LocalOPGProtocol from "../deploy/modules/LocalOPGProtocol.js";
import OPGProtocol from "../deploy/modules/OPGProtocol.js";
import { DEFAULTS } from "../deploy/modules/protocol.js";
import { deployLocalSystem } from "../src/devnet/deploy.js";

describe("Ignition modules", () => {
  it("LocalOPGProtocol deploys a local OPG and wires registries, settlement, slasher and slashing parameters", async () => {
    const connection = await network.create();
    const { token, models, operators, settlement } = await deployLocalSystem(connection);
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
    expect(await settlement.equivocationPenalty()).to.equal(DEFAULTS.equivocationPenalty);
    expect(await settlement.reporterRewardBps()).to.equal(DEFAULTS.reporterRewardBps);
    expect(await settlement.owner()).to.equal(deployer!.address);
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
