/**
 * Where the application writes, and the one place that decides how.
 *
 * - stdout carries the command's result: the run summary, lists, the graph, the schema, and with
 *   `--json` one JSON object per line and nothing else.
 * - stderr carries everything said along the way: progress, warnings, banners and errors.
 *
 * Every write goes through the `Redactor`, so a secret that slipped into a message is masked on
 * the way out as well.
 *
 * @since 0.1.0
 */
import { Redactor } from "@relais/core"
import { Cause, Config, Context, Effect, Layer, Logger, LogLevel, Option } from "effect"
import * as Style from "./Style.js"

/**
 * @since 0.1.0
 */
export interface Service {
  /** Write to stdout as is (no newline added). */
  readonly writeOut: (text: string) => Effect.Effect<void>
  /** Write to stderr as is (no newline added). */
  readonly writeErr: (text: string) => Effect.Effect<void>
  /** Whether stderr (where progress goes) is an interactive terminal that can redraw. */
  readonly interactive: boolean
  /** Styling for stdout and for stderr (each off unless its stream is a colour terminal). */
  readonly styleOut: Style.Style
  readonly styleErr: Style.Style
  /** Width of the terminal on stderr (80 when unknown). */
  readonly columns: number
}

/**
 * @since 0.1.0
 * @category Tags
 */
export class Output extends Context.Tag("@relais/runner/Output")<Output, Service>() {}

/**
 * Write lines to stdout (a newline is added to each).
 *
 * @since 0.1.0
 */
export const out = (...lines: ReadonlyArray<string>): Effect.Effect<void, never, Output> =>
  Effect.flatMap(Output, (o) => o.writeOut(lines.map((l) => `${l}\n`).join("")))

/**
 * Write lines to stderr (a newline is added to each).
 *
 * @since 0.1.0
 */
export const err = (...lines: ReadonlyArray<string>): Effect.Effect<void, never, Output> =>
  Effect.flatMap(Output, (o) => o.writeErr(lines.map((l) => `${l}\n`).join("")))

/**
 * A warning on stderr.
 *
 * @since 0.1.0
 */
export const warn = (message: string): Effect.Effect<void, never, Output> =>
  Effect.flatMap(Output, (o) => o.writeErr(`${o.styleErr.yellow("warning:")} ${message}\n`))

/**
 * An informational note on stderr.
 *
 * @since 0.1.0
 */
export const note = (message: string): Effect.Effect<void, never, Output> =>
  Effect.flatMap(Output, (o) => o.writeErr(`${o.styleErr.dim(message)}\n`))

/**
 * Whether colours are wanted at all: `NO_COLOR` (any non-empty value, https://no-color.org)
 * and `TERM=dumb` turn them off (`Style.wanted`, read through `Config` here).
 *
 * @since 0.1.0
 */
export const colorWanted: Config.Config<boolean> = Config.all({
  noColor: Config.option(Config.string("NO_COLOR")),
  term: Config.option(Config.string("TERM"))
}).pipe(
  Config.map(({ noColor, term }) => Style.wanted({ NO_COLOR: Option.getOrUndefined(noColor), TERM: Option.getOrUndefined(term) }))
)

/**
 * The process's stdout and stderr.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerNode: Layer.Layer<Output, never, Redactor.Redactor> = Layer.effect(
  Output,
  Effect.gen(function*() {
    const redactor = yield* Redactor.Redactor
    const colors = yield* Effect.orElseSucceed(colorWanted, () => true)
    const term = yield* Effect.orElseSucceed(Config.option(Config.string("TERM")), () => Option.none<string>())
    const dumb = Option.isSome(term) && term.value === "dumb"
    // The same rule as the help the binary prints before this layer exists (`Style.forStream`).
    const style = (stream: NodeJS.WriteStream) => colors && stream.isTTY === true ? Style.ansi : Style.plain
    return {
      writeOut: (text) => Effect.sync(() => void process.stdout.write(redactor.redactText(text))),
      writeErr: (text) => Effect.sync(() => void process.stderr.write(redactor.redactText(text))),
      interactive: process.stderr.isTTY === true && !dumb,
      styleOut: style(process.stdout),
      styleErr: style(process.stderr),
      columns: process.stderr.columns !== undefined && process.stderr.columns > 0 ? process.stderr.columns : 80
    }
  })
)

/**
 * What a captured output holds.
 *
 * @since 0.1.0
 */
export interface Capture {
  readonly layer: Layer.Layer<Output, never, Redactor.Redactor>
  readonly stdout: () => string
  readonly stderr: () => string
}

/**
 * An output captured in memory, for tests.
 *
 * @since 0.1.0
 */
export const capture = (options: { readonly interactive?: boolean; readonly color?: boolean } = {}): Capture => {
  let stdout = ""
  let stderr = ""
  const style = options.color === true ? Style.ansi : Style.plain
  return {
    layer: Layer.effect(
      Output,
      Effect.map(Redactor.Redactor, (redactor) => ({
        writeOut: (text) =>
          Effect.sync(() => {
            stdout += redactor.redactText(text)
          }),
        writeErr: (text) =>
          Effect.sync(() => {
            stderr += redactor.redactText(text)
          }),
        interactive: options.interactive === true,
        styleOut: style,
        styleErr: style,
        columns: 100
      }))
    ),
    stdout: () => stdout,
    stderr: () => stderr
  }
}

/**
 * Logs (warnings and errors from the engine and libraries) go to stderr, redacted, never to
 * stdout. Below `Warning` they are dropped.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerLogger: Layer.Layer<never, never, Redactor.Redactor> = Layer.merge(
  Logger.replaceEffect(
    Logger.defaultLogger,
    Effect.map(Redactor.Redactor, (redactor) =>
      Logger.make(({ cause, logLevel, message }) => {
        const text = (Array.isArray(message) ? message : [message])
          .map((m) => (typeof m === "string" ? m : safeJson(m)))
          .join(" ")
        // What went wrong, in a line: a library's warning is not a bug report (no stack trace).
        const trace = Cause.isEmpty(cause) ? "" : `: ${causeLine(cause)}`
        process.stderr.write(redactor.redactText(`${logLevel.label.toLowerCase()}: ${text}${trace}\n`))
      }))
  ),
  Logger.minimumLogLevel(LogLevel.Warning)
)

/** A cause in one line: the error's name and message, and what it was caused by. */
const causeLine = (cause: Cause.Cause<unknown>): string => {
  const parts: Array<string> = []
  let current: unknown = Cause.squash(cause)
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    const text = current instanceof Error ? `${current.name}: ${current.message}` : typeof current === "object" ? safeJson(current) : String(current)
    parts.push(text.split("\n")[0]!)
    current = current instanceof Error ? (current as { readonly cause?: unknown }).cause : undefined
  }
  return parts.join(" (cause: ") + ")".repeat(Math.max(0, parts.length - 1))
}

const safeJson = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}
