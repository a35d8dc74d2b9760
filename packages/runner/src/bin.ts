#!/usr/bin/env node
/**
 * The `relais` executable.
 *
 * The command line is parsed before anything else is loaded: `--version`, `--help` and usage
 * errors are answered from the command table alone (no Effect, no engine), in a few
 * milliseconds. Only a command that runs loads the runtime, and then only its own code: once
 * bundled (`bundle.mjs`), each command is a file of its own next to this one, loaded with V8's
 * code cache (`cli/CompileCache.ts`); run from the sources, `cli/Node.ts` loads the command's
 * module on demand.
 *
 * @since 0.1.0
 */
import * as Path from "node:path"
import * as Url from "node:url"
import * as Args from "./cli/Args.js"
import * as Commands from "./cli/Commands.js"
import * as CompileCache from "./cli/CompileCache.js"
import * as Help from "./cli/Help.js"
import * as Style from "./Style.js"

/** Defined (true) by the bundler: the commands are bundled next to this file. */
declare const RELAIS_BUNDLED: boolean | undefined

// A reader that goes away (`relais schema -o - | head`) is not an error of the command: the rest
// of the output is dropped, the command finishes as it would.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error
  })
}

// The commands run as scripts (`vm.Script`, for V8's code cache), where Node 20 has no `import()`:
// plugins listed in `plugins:` are ES modules, loaded through this one (see `Loader.importHook`).
;(globalThis as Record<symbol, unknown>)[Symbol.for("@relais/runner/import")] = (url: string) => import(url)

const parsed = Args.parse(Commands.root, process.argv.slice(2))

if (parsed._tag === "Run") {
  if (typeof RELAIS_BUNDLED !== "undefined" && RELAIS_BUNDLED) {
    const here = Path.dirname(Url.fileURLToPath(import.meta.url))
    const bundle = CompileCache.load(Path.join(here, "bundle", `${parsed.path.slice(1).join("-")}.cjs`))
    ;(bundle.run as (parsed: Args.Parsed) => void)(parsed)
  } else {
    const Node = await import("./cli/Node.js")
    Node.run(parsed)
  }
} else {
  const answer = Help.answer(parsed, {
    styleOut: Style.forStream(process.stdout, process.env),
    styleErr: Style.forStream(process.stderr, process.env),
    columns: process.stdout.columns !== undefined && process.stdout.columns > 0 ? process.stdout.columns : 80
  })!
  if (answer.stdout !== "") process.stdout.write(answer.stdout)
  if (answer.stderr !== "") process.stderr.write(answer.stderr)
  process.exitCode = answer.code
}
