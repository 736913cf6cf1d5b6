import type { Command } from "commander";
import type { Hex } from "viem";
import { sha256Hex } from "../../../model/hash.js";
import { DEFAULT_RUNTIME, runtimeHash } from "../../../model/runtime.js";
import { fieldToBytes32 } from "../../../protocol/zk.js";
import { parseAddress } from "../../../sdk/addresses.js";
import { OpgError } from "../../../sdk/errors.js";
import { checkModelName, checkRoyalty } from "../../../sdk/limits.js";
import { contextAction, type CliEnv } from "../../action.js";
import { readModelBytes } from "../../model-file.js";
import { parseOpg } from "../../parse.js";

interface RegisterOptions {
  file: string;
  name: string;
  fee: string;
  royalty: string;
  uri?: string;
  zkVerifier?: string;
}

/** `opg model register`: commit to a model file, the runtime and optionally zk weights. */
export function addModelRegisterCommand(parent: Command, cli: CliEnv): Command {
  return parent
    .command("register")
    .description("register a model version: a commitment to the file, the runtime and optionally zk weights")
    .requiredOption("--file <onnx>", "model file")
    .requiredOption("--name <name>", "family name")
    .requiredOption("--fee <OPG>", "fee per inference in OPG")
    .requiredOption("--royalty <bps>", "model owner's royalty in basis points")
    .option("--uri <uri>", "where the file can be fetched (default: the --file path)")
    .option(
      "--zk-verifier <address>",
      "Groth16 verifier: also commit the quantized weights and the verifier's code hash (read from the chain), and allow zk mode",
    )
    .action(
      contextAction(cli, true, async ({ client, progress }, opts: RegisterOptions) => {
        const bytes = await readModelBytes(opts.file, "--file");
        checkModelName(opts.name);
        const royaltyBps = Number(opts.royalty);
        if (opts.royalty.trim() === "" || !Number.isInteger(royaltyBps)) {
          throw new OpgError("BadInput", `--royalty must be whole basis points, got "${opts.royalty}"`);
        }
        checkRoyalty(royaltyBps, "--royalty");
        const zkVerifier =
          opts.zkVerifier === undefined ? undefined : parseAddress(opts.zkVerifier, "--zk-verifier");
        let zkCommitment: Hex | undefined;
        if (zkVerifier !== undefined) {
          progress("committing to the quantized weights (Poseidon)");
          const [{ weightCommitment }, { quantizedModel }, { releaseZk }] = await Promise.all([
            import("../../../zk/commitment.js"),
            import("../../../sdk/inputs.js"),
            import("../../../zk/prover.js"),
          ]);
          try {
            zkCommitment = fieldToBytes32(await weightCommitment(await quantizedModel(bytes)));
          } finally {
            await releaseZk();
          }
        }
        progress("registering");
        const result = await client.registerModel({
          name: opts.name,
          fileHash: sha256Hex(bytes),
          runtimeHash: runtimeHash(DEFAULT_RUNTIME),
          uri: opts.uri ?? opts.file,
          fee: parseOpg(opts.fee, "--fee"),
          royaltyBps,
          ...(zkVerifier === undefined ? {} : { zkVerifier, zkCommitment }),
        });
        const human = [`registered model ${result.modelId}`];
        if (zkVerifier !== undefined) {
          human.push(
            `  zk verifier ${zkVerifier}: code hash ${result.zkVerifierCodeHash} (keccak256 of its code, read from the chain), pinned in the model id`,
            `  zk weight commitment ${zkCommitment!}`,
          );
        }
        human.push(`  tx ${result.hash}, gas ${result.gasUsed}`);
        return {
          human,
          json: {
            modelId: result.modelId,
            ...(zkVerifier === undefined
              ? {}
              : { zkVerifier, zkVerifierCodeHash: result.zkVerifierCodeHash, zkCommitment }),
            hash: result.hash,
            gasUsed: result.gasUsed,
            blockNumber: result.blockNumber,
          },
        };
      }),
    );
}
