/**
 * Builds the explorer page (`src/explorer/`) as a static site: `npm run explorer` builds it and serves it on
 * 127.0.0.1 with `vite preview`. Two plugins keep the page honest about running without Node: any Node module in the
 * page's import graph fails the build, naming its importer (see docs/explorer.md, "Browser-ready code").
 */
import { readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";

const path = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));

/** Where `npm run explorer` writes the built page (git-ignored with node_modules). */
export const EXPLORER_OUT_DIR = path("../../node_modules/.cache/opg-explorer");

/** Fail the build on any Node built-in module (`node:fs`, `crypto`, …) in the page's graph. */
export function noNodeBuiltins(): Plugin {
  const builtins = new Set(builtinModules);
  return {
    name: "opg:no-node-builtins",
    enforce: "pre",
    resolveId(source, importer) {
      const name = source.startsWith("node:") ? source.slice("node:".length) : source;
      if (source.startsWith("node:") || builtins.has(name) || builtins.has(name.split("/")[0] ?? name)) {
        this.error(
          `"${source}" is a Node module, imported by ${importer ?? "the page"}: the explorer runs in a browser`,
        );
      }
      return null;
    },
  };
}

/** The settlement address of the devnet's deployment (`npm run devnet`), if one was made here. */
function devnetSettlement(): string | undefined {
  try {
    const file = path("../../deploy/deployments/devnet/deployed_addresses.json");
    const entries = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    const found = Object.entries(entries).find(([key]) => key.endsWith("#InferenceSettlement"));
    return typeof found?.[1] === "string" ? found[1] : undefined;
  } catch {
    return undefined;
  }
}

/** After `vite preview` starts: print the page's URL, and the URL pointing at the local devnet when there is one. */
function printUrls(): Plugin {
  return {
    name: "opg:print-urls",
    configurePreviewServer(server) {
      server.httpServer.once("listening", () => {
        const address = server.httpServer.address() as AddressInfo | null;
        if (address === null) return;
        const page = `http://127.0.0.1:${address.port}/`;
        console.log(`  OPG explorer: ${page}`);
        const settlement = devnetSettlement();
        if (settlement !== undefined) {
          console.log(
            `  on the devnet (npm run devnet): ${page}?rpc=http://127.0.0.1:8545&settlement=${settlement}#/models`,
          );
        }
      });
    },
  };
}

/**
 * circomlibjs's entry re-exports all its hashes and contract generators, and with them Node-only dependencies
 * (`assert`, `buffer` through bn.js and readable-stream). The page needs only `buildPoseidon` (the zk input
 * commitment), whose module imports nothing but its constants and ffjavascript (which has a browser build): the page
 * resolves `circomlibjs` to that module. The package's `exports` map forbids the deep import in code, hence the alias.
 */
const CIRCOMLIBJS_POSEIDON = path("../../node_modules/circomlibjs/src/poseidon_wasm.js");

export default defineConfig({
  root: path("."),
  base: "./",
  publicDir: false,
  logLevel: "warn",
  plugins: [noNodeBuiltins(), printUrls()],
  resolve: { alias: [{ find: /^circomlibjs$/, replacement: CIRCOMLIBJS_POSEIDON }] },
  build: {
    outDir: EXPLORER_OUT_DIR,
    emptyOutDir: true,
    target: "es2022",
    reportCompressedSize: false,
  },
  preview: { host: "127.0.0.1", port: 4173 },
  server: { host: "127.0.0.1" },
});
