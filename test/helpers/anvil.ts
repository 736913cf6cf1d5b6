/**
 * Anvil (Foundry's node, a second EVM implementation next to Hardhat's EDR) from the `@foundry-rs/anvil` npm
 * package, for integration tests. The package's launcher (`bin.mjs`) only picks the platform package and spawns
 * its binary; this spawns the binary directly so the test owns the process and can always kill it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";

/** `@foundry-rs/anvil-<platform>` for this machine, as the launcher's `const.mjs` maps it; undefined: none. */
export function anvilPlatformPackage(): string | undefined {
  const arch = process.arch === "x64" ? "amd64" : process.arch === "arm64" ? "arm64" : undefined;
  if (arch === undefined) return undefined;
  if (process.platform === "linux" || process.platform === "darwin") {
    return `@foundry-rs/anvil-${process.platform}-${arch}`;
  }
  if (process.platform === "win32" && arch === "amd64") return "@foundry-rs/anvil-win32-amd64";
  return undefined;
}

/**
 * The anvil executable installed by npm (the optional platform package of the `@foundry-rs/anvil` devDependency),
 * or undefined when this platform has none.
 */
export function anvilBinary(): string | undefined {
  const pkg = anvilPlatformPackage();
  if (pkg === undefined) return undefined;
  const binary = process.platform === "win32" ? "anvil.exe" : "anvil";
  try {
    return createRequire(import.meta.url).resolve(`${pkg}/bin/${binary}`);
  } catch {
    throw new Error(
      `${pkg} is not installed: run npm ci (it is an optional dependency of @foundry-rs/anvil)`,
    );
  }
}

export interface Anvil {
  url: string;
  port: number;
  process: ChildProcess;
  /** Stop anvil (SIGTERM, then SIGKILL after 5 s) and wait for it to exit. */
  close(): Promise<void>;
}

/**
 * Start anvil on 127.0.0.1 with a free port chosen by the OS (`--port 0`; the port is read from its
 * `Listening on 127.0.0.1:<port>` line). Its accounts are the same mnemonic's as Hardhat's, chain id 31337.
 */
export async function startAnvil(binary: string, args: readonly string[] = []): Promise<Anvil> {
  const child = spawn(binary, ["--host", "127.0.0.1", "--port", "0", "--color", "never", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => {
      resolve();
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`anvil did not report its port within 20 s:\n${output}`));
    }, 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Listening on 127\.0\.0\.1:(\d+)/.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`anvil exited with code ${code}:\n${output}`));
    });
  });
  // Keep draining its log (one line per RPC call): a full pipe would block anvil.
  child.stdout.removeAllListeners("data");
  child.stderr.removeAllListeners("data");
  child.stdout.resume();
  child.stderr.resume();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    process: child,
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      child.kill("SIGTERM");
      await exited;
      clearTimeout(timer);
    },
  };
}
