/** The operator node's logger on the command line: for people on a terminal, JSON lines otherwise. */
import { pino, type Logger } from "pino";
import PinoPretty from "pino-pretty";

export interface OperatorLoggerOptions {
  /** Human-readable lines (pino-pretty, as a stream in this thread: no transport worker); else JSON lines. */
  pretty: boolean;
  /** Where the lines go (default stdout). */
  destination?: NodeJS.WritableStream;
  /** The logger's name in JSON lines (default `opg-operator`; the watcher's is `opg-watch`). */
  name?: string;
}

/**
 * A pino logger for `opg operator serve`: pretty (colour, local time, no pid/hostname) when `pretty`, else JSON lines
 * for log collectors.
 */
export function operatorLogger(options: OperatorLoggerOptions): Logger {
  const destination = options.destination ?? process.stdout;
  const name = options.name ?? "opg-operator";
  if (!options.pretty) return pino({ name }, destination);
  const stream = PinoPretty({
    destination,
    colorize: destination === process.stdout && process.stdout.isTTY,
    translateTime: "SYS:HH:MM:ss.l",
    ignore: "pid,hostname,name",
    sync: true,
  });
  return pino({ name }, stream);
}
