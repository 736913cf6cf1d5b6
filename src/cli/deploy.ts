import { access, mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { formatUnits, type Address } from "viem";
import { DEPLOYED_ADDRESSES_FILE, deploymentDir } from "../sdk/addresses.js";
import {
  deployProtocol,
  type DeployProtocolOptions,
  type DeployStep,
  type ProtocolDeployment,
} from "../sdk/deploy.js";
import { OpgError } from "../sdk/errors.js";
import { createChainContext, type GlobalOptions } from "./context.js";

/** `opg deploy`'s options, parsed and checked by the command: the deployment's, plus where to write. */
export type DeployCommandOptions = Omit<DeployProtocolOptions, "publicClient" | "walletClient" | "onStep"> & {
  /** Addresses file to write; default `deploy/deployments/chain-<id>/deployed_addresses.json`. */
  out?: string;
  /** Overwrite an existing `out`. */
  force: boolean;
  /** Receives a line as each transaction is mined (human output goes to stderr while deploying). */
  progress?: (line: string) => void;
};

/**
 * The addresses file `opg deploy` writes: what `parseAddresses` reads (the mode contracts for reference: clients read
 * them from the settlement; extra keys are ignored), plus the Iris verifier and the chain id.
 */
export interface DeploymentFile {
  token: Address;
  models: Address;
  operators: Address;
  settlement: Address;
  signatureMode: Address;
  zkMode: Address;
  irisVerifier?: Address;
  chainId: number;
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

const opg = (wei: bigint) => `${formatUnits(wei, 18)} OPG`;
const gas = (value: bigint) => value.toLocaleString("en-US");

/**
 * `opg deploy`: deploy the protocol from the key's account (see `deployProtocol`) and write its addresses to
 * `--out`, refusing to overwrite an existing file unless `--force` (checked before any gas is spent).
 *
 * @returns the lines to print and the `--json` document.
 */
export async function runDeploy(
  globals: GlobalOptions,
  options: DeployCommandOptions,
  env: NodeJS.ProcessEnv,
): Promise<{ human: string[]; json: unknown }> {
  const ctx = await createChainContext(globals, true, env);
  const defaultOut = join(deploymentDir(ctx.chainId), DEPLOYED_ADDRESSES_FILE);
  const out = options.out ?? defaultOut;
  if (!options.force && (await exists(out))) {
    throw new OpgError(
      "OutputExists",
      `${out} already exists (an earlier deployment?): pass --force to overwrite it, or --out <file> to write elsewhere`,
    );
  }
  try {
    await mkdir(dirname(out), { recursive: true });
  } catch {
    throw new OpgError("BadInput", `cannot create the directory of --out ${out}: choose a writable path`);
  }

  const { out: _out, force: _force, progress, ...parameters } = options;
  const deployment = await deployProtocol({
    ...parameters,
    publicClient: ctx.publicClient,
    walletClient: ctx.walletClient!,
    ...(progress === undefined
      ? {}
      : {
          onStep: (step: DeployStep) => {
            progress(
              `  ${step.name} ${step.address ?? step.hash} (block ${step.blockNumber}, gas ${gas(step.gasUsed)})`,
            );
          },
        }),
  });

  const file: DeploymentFile = { ...deployment.addresses, chainId: deployment.chainId };
  try {
    await writeFile(out, `${JSON.stringify(file, null, 2)}\n`, { flag: options.force ? "w" : "wx" });
  } catch (error) {
    throw new OpgError(
      "OutputExists",
      `deployed, but could not write ${out} (${(error as Error).message}); the addresses: ${JSON.stringify(file)}`,
    );
  }
  return {
    human: humanReport(deployment, out, resolve(out) === resolve(defaultOut)),
    json: {
      ...file,
      out,
      deployer: deployment.deployer,
      tokenDeployed: deployment.tokenDeployed,
      parameters: deployment.parameters,
      steps: deployment.steps,
      gasUsed: deployment.gasUsed,
    },
  };
}

/** The summary: every transaction with its gas, the parameters, the file written and the commands to run next. */
function humanReport(deployment: ProtocolDeployment, out: string, isDefault: boolean): string[] {
  const { addresses, parameters } = deployment;
  const lines = [
    `deployed the OPG protocol on chain ${deployment.chainId} from ${deployment.deployer} (governance)`,
  ];
  for (const step of deployment.steps) {
    const what = step.address === undefined ? `tx ${step.hash}` : step.address;
    lines.push(`  ${step.name.padEnd(40)} ${what.padEnd(66)} gas ${gas(step.gasUsed).padStart(9)}`);
  }
  lines.push(`  ${"total".padEnd(40)} ${"".padEnd(66)} gas ${gas(deployment.gasUsed).padStart(9)}`);
  if (!deployment.tokenDeployed) lines.push(`  token: the existing OPG token ${addresses.token}`);
  else lines.push(`  token: a new OPG token, ${opg(parameters.supply!)} minted to the deployer`);
  lines.push(
    `  min stake ${opg(parameters.minStake)}, unbonding ${parameters.unbondingDelay} s, protocol fee ${parameters.protocolFeeBps} bps to ${parameters.treasury}`,
    `  verification modes bound to the settlement: signature → SignatureMode ${addresses.signatureMode}, zk → ZkMode ${addresses.zkMode}`,
    `  equivocation penalty ${opg(parameters.equivocationPenalty)}, reporter reward ${parameters.reporterRewardBps} bps`,
    `wrote ${out}`,
    `next (with the same --rpc / OPG_RPC_URL${isDefault ? "; the addresses are found there from this directory" : ""}):`,
  );
  const where = isDefault ? "" : ` --addresses ${out}`;
  const zk = addresses.irisVerifier === undefined ? "" : ` --zk-verifier ${addresses.irisVerifier}`;
  lines.push(
    `  opg${where} model register --file models/iris-mlp.onnx --name iris-mlp --fee 1 --royalty 500${zk}`,
    `  OPG_SIGNER_KEY=<signing key> opg${where} operator register --payout <address> --stake ${formatUnits(parameters.minStake, 18)}`,
    `  opg${where} deposit 10 && opg${where} request --model <model id> --input 5.1,3.5,1.4,0.2`,
    `  OPG_SIGNER_KEY=<signing key> opg${where} operator serve --model <model id> --model-file models/iris-mlp.onnx`,
  );
  return lines;
}
