import type { NetworkConnection } from "hardhat/types/network";
import LocalOPGProtocol from "../../deploy/modules/LocalOPGProtocol.js";
import {
  InferenceSettlement__factory,
  ModelRegistry__factory,
  OperatorRegistry__factory,
  OPGToken__factory,
  QuietMode__factory,
  SignatureMode__factory,
  ZkMode__factory,
  type InferenceSettlement,
  type ModelRegistry,
  type OperatorRegistry,
  type OPGToken,
  type QuietMode,
  type SignatureMode,
  type ZkMode,
} from "../../typechain-types/index.js";

/** A deployed system with typed contracts connected to the deployer (governance). */
export interface LocalSystem {
  token: OPGToken;
  models: ModelRegistry;
  operators: OperatorRegistry;
  settlement: InferenceSettlement;
  signatureMode: SignatureMode;
  zkMode: ZkMode;
  quietMode: QuietMode;
  chainId: bigint;
}

/**
 * Deploy the whole protocol with a local OPG token through the Ignition module. Pass a `deploymentId` to keep
 * Ignition's journal (and `deployed_addresses.json`) under `deploy/deployments/<deploymentId>/` on a network
 * reached over HTTP.
 */
export async function deployLocalSystem(
  connection: NetworkConnection,
  deploymentId?: string,
): Promise<LocalSystem> {
  const deployed = await connection.ignition.deploy(LocalOPGProtocol, {
    displayUi: false,
    ...(deploymentId === undefined ? {} : { deploymentId }),
  });
  const [deployer] = await connection.ethers.getSigners();
  if (deployer === undefined) throw new Error("the network has no accounts to deploy from");
  const at = async (c: { getAddress(): Promise<string> }) => c.getAddress();
  return {
    token: OPGToken__factory.connect(await at(deployed.token), deployer),
    models: ModelRegistry__factory.connect(await at(deployed.models), deployer),
    operators: OperatorRegistry__factory.connect(await at(deployed.operators), deployer),
    settlement: InferenceSettlement__factory.connect(await at(deployed.settlement), deployer),
    signatureMode: SignatureMode__factory.connect(await at(deployed.signatureMode), deployer),
    zkMode: ZkMode__factory.connect(await at(deployed.zkMode), deployer),
    quietMode: QuietMode__factory.connect(await at(deployed.quietMode), deployer),
    chainId: (await connection.ethers.provider.getNetwork()).chainId,
  };
}
