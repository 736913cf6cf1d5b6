import { access, mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { formatUnits } from "viem";
import { DEPLOYED_ADDRESSES_FILE, deploymentDir } from "../../sdk/addresses.js";
import {
  deployProtocol,
  type DeployedAddresses,
  type DeployProtocolOptions,
  type DeployStep,
  type ProtocolDeployment,
} from "../../sdk/deploy.js";
import { OpgError } from "../../sdk/errors.js";
import type { Command } from "commander";
import { PROTOCOL_DEFAULTS } from "../../protocol/defaults.js";
import { parseAddress } from "../../sdk/addresses.js";
import { envOf, emit, type CliEnv } from "../action.js";
import { createChainContext, type GlobalOptions } from "../context.js";
import { progressReporter } from "../io.js";
import { parseId, parseOpg } from "../parse.js";

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
export type DeploymentFile = DeployedAddresses & { chainId: number };

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

interface DeployFlags {
  token?: string;
  supply?: string;
  treasury?: string;
  minStake?: string;
  unbondingDelay?: string;
  protocolFeeBps?: string;
  equivocationPenalty?: string;
  reporterRewardBps?: string;
  withIrisVerifier?: boolean;
  out?: string;
  force?: boolean;
}

/** `undefined` for an absent option, else the parsed value. */
const given = <T>(value: string | undefined, parse: (value: string) => T) =>
  value === undefined ? undefined : parse(value);

/** `opg deploy`: the protocol from the key's account, and its addresses file. */
export function addDeployCommand(parent: Command, cli: CliEnv): Command {
  return parent
    .command("deploy")
    .description(
      "deploy the protocol from the key's account (governance) over JSON-RPC and write its addresses file",
    )
    .option("--token <address>", "use this existing OPG token (default: deploy a new OPG token)")
    .option(
      "--supply <OPG>",
      `supply of a new token, minted to the deployer (default ${formatUnits(PROTOCOL_DEFAULTS.opgSupply, 18)})`,
    )
    .option("--treasury <address>", "receives the protocol fees (default: the deployer)")
    .option(
      "--min-stake <OPG>",
      `minimum operator stake (default ${formatUnits(PROTOCOL_DEFAULTS.minStake, 18)})`,
    )
    .option(
      "--unbonding-delay <seconds>",
      `seconds before unbonded stake can be withdrawn (default ${PROTOCOL_DEFAULTS.unbondingDelay})`,
    )
    .option("--protocol-fee-bps <bps>", `protocol fee (default ${PROTOCOL_DEFAULTS.protocolFeeBps})`)
    .option(
      "--equivocation-penalty <OPG>",
      `stake slashed for an equivocation (default ${formatUnits(PROTOCOL_DEFAULTS.equivocationPenalty, 18)})`,
    )
    .option(
      "--reporter-reward-bps <bps>",
      `reporter's share of a slashed penalty (default ${PROTOCOL_DEFAULTS.reporterRewardBps})`,
    )
    .option(
      "--with-iris-verifier",
      "also deploy IrisMlpVerifier, the Groth16 verifier of the example Iris model",
    )
    .option(
      "--out <file>",
      "addresses file to write (default deploy/deployments/chain-<id>/deployed_addresses.json)",
    )
    .option("--force", "overwrite an existing --out file")
    .action(async (opts: DeployFlags, command: Command) => {
      if (opts.token !== undefined && opts.supply !== undefined) {
        throw new OpgError("BadInput", "--supply is only for a new token: drop --supply or --token");
      }
      const globals = command.optsWithGlobals<GlobalOptions>();
      const json = globals.json === true;
      const progress = progressReporter(cli.io, json);
      const output = await runDeploy(
        globals,
        {
          token: given(opts.token, (v) => parseAddress(v, "--token")),
          supply: given(opts.supply, (v) => parseOpg(v, "--supply")),
          treasury: given(opts.treasury, (v) => parseAddress(v, "--treasury")),
          minStake: given(opts.minStake, (v) => parseOpg(v, "--min-stake")),
          unbondingDelay: given(opts.unbondingDelay, (v) => parseId(v, "--unbonding-delay")),
          protocolFeeBps: given(opts.protocolFeeBps, (v) => Number(parseId(v, "--protocol-fee-bps"))),
          equivocationPenalty: given(opts.equivocationPenalty, (v) => parseOpg(v, "--equivocation-penalty")),
          reporterRewardBps: given(opts.reporterRewardBps, (v) =>
            Number(parseId(v, "--reporter-reward-bps")),
          ),
          irisVerifier: opts.withIrisVerifier === true,
          out: opts.out,
          force: opts.force === true,
          progress,
        },
        envOf(cli.io),
      );
      emit(cli, json, output);
    });
}
