/**
 * The workflows a server runs: the YAML files of a directory, each checked at start-up with the
 * loader `relais validate` uses. A file that fails is reported (its located problems) and not
 * served; the others are. Two files that declare the same workflow name: the first (in file
 * name order) is served, the second reported.
 *
 * @since 0.1.0
 */
import type { Plugin } from "@relais/core"
import { Effect, Either } from "effect"
import * as Fs from "node:fs"
import * as NodePath from "node:path"
import { UsageError } from "../Errors.js"
import { Temporal } from "temporal-polyfill"
import * as Cron from "../schedule/Cron.js"
import * as Load from "../yaml/Load.js"
import type * as Api from "./Api.js"

/**
 * A file that could not be served, and why (each line located, `file:line:col: message`).
 *
 * @since 0.1.0
 */
export interface Rejected {
  readonly file: string
  readonly problems: ReadonlyArray<string>
}

/**
 * The workflows served, by name, and the files refused.
 *
 * @since 0.1.0
 */
export interface Catalog {
  readonly directory: string
  readonly workflows: ReadonlyMap<string, Load.LoadedWorkflow>
  readonly rejected: ReadonlyArray<Rejected>
}

const problemsOf = (error: Load.InvalidWorkflow | Load.WorkflowFileError): ReadonlyArray<string> =>
  error._tag === "InvalidWorkflow"
    ? error.diagnostics.map((d) => d.line > 0 ? `${d.file}:${d.line}:${d.column}: ${d.message}` : `${d.file}: ${d.message}`)
    : [error.message]

/**
 * Load every `.yaml` / `.yml` file of a directory (not its subdirectories).
 *
 * @since 0.1.0
 */
export const loadDirectory = (
  directory: string
): Effect.Effect<Catalog, UsageError, Plugin.PluginRegistry> =>
  Effect.gen(function*() {
    const names = yield* Effect.try({
      try: () => Fs.readdirSync(directory, { withFileTypes: true }),
      catch: (error) => {
        const code = (error as { readonly code?: unknown }).code
        return new UsageError({
          reason: `the workflows directory ${directory} ${
            code === "ENOENT" ? "does not exist" : code === "ENOTDIR" ? "is not a directory" : `cannot be read (${String(code ?? error)})`
          }: give one with --workflows <dir>, or serve.workflows in the configuration`
        })
      }
    })
    const files = names
      .filter((entry) => entry.isFile() && /\.ya?ml$/i.test(entry.name))
      .map((entry) => NodePath.join(directory, entry.name))
      .sort()
    const workflows = new Map<string, Load.LoadedWorkflow>()
    const rejected: Array<Rejected> = []
    for (const file of files) {
      const loaded = yield* Effect.either(Load.loadFile(file))
      if (Either.isLeft(loaded)) {
        rejected.push({ file, problems: problemsOf(loaded.left) })
        continue
      }
      const taken = workflows.get(loaded.right.name)
      if (taken !== undefined) {
        rejected.push({ file, problems: [`${file}: the workflow name "${loaded.right.name}" is already served from ${taken.file}; give each workflow its own name`] })
        continue
      }
      workflows.set(loaded.right.name, loaded.right)
    }
    return { directory, workflows, rejected }
  })

/**
 * What the API says of a workflow, with what its file declares under `triggers:`.
 *
 * @since 0.1.0
 */
export const info = (loaded: Load.LoadedWorkflow): Api.WorkflowInfo => ({
  name: loaded.name,
  description: loaded.description,
  file: loaded.file,
  hash: loaded.definition.hash,
  inputs: loaded.inputs.map((input) => ({
    name: input.name,
    type: input.type,
    required: input.required,
    ...(input.default !== undefined ? { default: input.default } : {}),
    ...(input.description !== undefined ? { description: input.description } : {}),
    ...(input.enum !== undefined ? { enum: input.enum } : {})
  })),
  triggers: loaded.triggers.map((trigger) =>
    trigger._tag === "Schedule"
      ? {
        kind: "schedule",
        ...(trigger.name !== undefined ? { name: trigger.name } : {}),
        cron: trigger.cron.text,
        timezone: trigger.timezone,
        missed: trigger.missed,
        inputs: trigger.inputs,
        next: Cron.upcoming(trigger.cron, Temporal.Now.instant(), trigger.timezone, 3).map((at) => at.toString({ timeZoneName: "never" }))
      }
      : { kind: trigger.plugin, options: trigger.options }
  )
})
