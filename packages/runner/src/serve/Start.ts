/**
 * The one place `relais serve` starts runs: the API's start route uses it, and so does anything
 * else the server runs that starts workflows (the scheduler, webhook triggers), through the
 * `Start` function the server builds once.
 *
 * A start names its run id. That id is the request's idempotency key: starting an id that
 * exists returns that run (`replayed`) when it is the same workflow, definition and inputs, and
 * is refused otherwise. Concurrent starts of one id in this process take turns; a start that
 * loses a race with another process (PostgreSQL) finds the run the other created.
 *
 * @since 0.1.0
 */
import { Engine, Redactor, Run, RunStore, Suggest } from "@relais/core"
import { Effect, Either, Option, Schema } from "effect"
import * as Crypto from "node:crypto"
import * as Check from "../yaml/Check.js"
import * as Model from "../yaml/Model.js"
import * as Source from "../yaml/Source.js"
import type * as Load from "../yaml/Load.js"
import type * as Api from "./Api.js"
import type * as Workflows from "./Workflows.js"

/**
 * What started a run: `api` (with the token's name in `by`), `schedule`, a webhook... with what
 * the trigger wants logged about it.
 *
 * @since 0.1.0
 */
export interface Trigger {
  readonly kind: string
  /** Who or what, for the log: a token's name, a schedule's slot, a webhook message id. */
  readonly by?: string | undefined
  /** What the firing carries, as JSON: `trigger.*` in the workflow's expressions, with `kind`. */
  readonly data?: Readonly<Record<string, unknown>> | undefined
}

/**
 * A request to start a run of a served workflow.
 *
 * @since 0.1.0
 */
export interface StartRequest {
  /** The workflow's name (as its file declares it). */
  readonly workflow: string
  /** Its inputs by name, as JSON values; defaults apply to those left out. */
  readonly inputs: Readonly<Record<string, unknown>>
  /** The run's id: a deterministic id makes the start idempotent ([A-Za-z0-9._:-], short). */
  readonly runId: string
  readonly trigger: Trigger
}

/**
 * A run started, or found started already under its id.
 *
 * @since 0.1.0
 */
export interface Started {
  readonly runId: string
  readonly workflow: string
  readonly status: Run.RunStatus
  /** True when the run existed already (the same id started before). */
  readonly replayed: boolean
}

/**
 * Why a start was refused: no such workflow, inputs that do not fit (each issue names its
 * input), a run id taken by another workflow, definition or inputs, or the store failed.
 *
 * @since 0.1.0
 */
export class StartError extends Schema.TaggedError<StartError>("@relais/runner/StartError")("StartError", {
  reason: Schema.Literal("UnknownWorkflow", "InvalidInputs", "RunIdTaken", "Store"),
  detail: Schema.String,
  issues: Schema.optional(Schema.Array(Schema.Struct({ at: Schema.optional(Schema.String), message: Schema.String })))
}) {
  override get message(): string {
    return `${this.detail}${this.issues !== undefined && this.issues.length > 0 ? `: ${this.issues.map((i) => i.at !== undefined ? `${i.at}: ${i.message}` : i.message).join("; ")}` : ""}`
  }
}

/**
 * Start a run: the seam every trigger of the server goes through.
 *
 * @since 0.1.0
 */
export type Start = (request: StartRequest) => Effect.Effect<Started, StartError>

/**
 * The run id of an API request with an `Idempotency-Key`: the same token and key give the same
 * id (`api.` and 20 hex digits of a SHA-256), so a retried request finds the run it started.
 *
 * @since 0.1.0
 */
export const idempotentRunId = (tokenName: string, key: string): string =>
  `api.${Crypto.createHash("sha256").update(`${tokenName}\n${key}`, "utf8").digest("hex").slice(0, 20)}`

/**
 * Check inputs against a workflow's declared inputs: their types, `enum`s and nesting, unknown
 * names and missing required inputs, each issue named by its input. `Right` holds the complete
 * inputs, defaults applied.
 *
 * @since 0.1.0
 */
export const checkInputs = (
  loaded: Pick<Load.LoadedWorkflow, "name" | "inputs">,
  given: Readonly<Record<string, unknown>>
): Either.Either<Record<string, unknown>, ReadonlyArray<Api.Issue>> => {
  const issues: Array<Api.Issue> = []
  const specs = new Map(loaded.inputs.map((input) => [input.name, input]))
  const values = new Map<string, unknown>()
  for (const [name, value] of Object.entries(given)) {
    const spec = specs.get(name)
    if (spec === undefined) {
      const close = Suggest.closest(name, specs.keys(), 1)
      issues.push({
        at: name,
        message: `${loaded.name} has no input "${name}"${
          close.length > 0 ? ` (did you mean "${close[0]}"?)` : specs.size > 0 ? `; its inputs are ${[...specs.keys()].join(", ")}` : "; it takes no input"
        }`
      })
      continue
    }
    const expected = spec.type === "integer" ? "an integer" : spec.type === "array" || spec.type === "object" ? `an ${spec.type}` : `a ${spec.type}`
    if (!Model.matchesInputType(value, spec.type)) {
      issues.push({ at: name, message: `expects ${expected}, not ${describe(value)}` })
    } else if (spec.type === "integer" && !Number.isSafeInteger(value)) {
      issues.push({ at: name, message: `is a whole number too large to be exact (over ${Number.MAX_SAFE_INTEGER} in size)` })
    } else if (spec.enum !== undefined && !spec.enum.includes(value as string | number)) {
      issues.push({ at: name, message: `expects one of ${spec.enum.join(", ")}, not ${describe(value)}` })
    } else if (Source.tooDeep(value, Source.maxDepth) !== undefined) {
      issues.push({ at: name, message: `is nested more than ${Source.maxDepth} levels: flatten it` })
    } else {
      values.set(name, value)
    }
  }
  for (const spec of loaded.inputs) {
    if (Object.hasOwn(given, spec.name)) continue
    if (spec.default !== undefined) values.set(spec.name, spec.default)
    else if (spec.required) {
      issues.push({ at: spec.name, message: `is required (${spec.type}${spec.description !== undefined ? `: ${spec.description}` : ""})` })
    }
  }
  return issues.length > 0 ? Either.left(issues) : Either.right(Object.fromEntries(values))
}

/** A value in a message: its JSON, cut short (never a whole document). */
const describe = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

/** JSON with the keys of every object sorted: equal values give equal texts. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v)

/**
 * The start function of a server: over its catalog of workflows, its engine and its store.
 * `onStarted` is told of each run this function starts (not of replays), for the log.
 *
 * @since 0.1.0
 */
export const make = (options: {
  readonly catalog: Workflows.Catalog
  readonly engine: Engine.Service
  readonly store: RunStore.Service
  readonly redactor: Redactor.Service
  readonly onStarted: (request: StartRequest) => Effect.Effect<void>
}): Effect.Effect<Start> =>
  Effect.gen(function*() {
    const { catalog, engine, store, redactor } = options
    /** One start at a time per run id in this process (the others wait, then find the run). */
    const locks = new Map<string, { readonly semaphore: Effect.Semaphore; users: number }>()
    const withLock = <A, E>(runId: string, effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
      Effect.suspend(() => {
        let entry = locks.get(runId)
        if (entry === undefined) {
          entry = { semaphore: Effect.unsafeMakeSemaphore(1), users: 0 }
          locks.set(runId, entry)
        }
        const held = entry
        held.users += 1
        return held.semaphore.withPermits(1)(effect).pipe(
          Effect.ensuring(Effect.sync(() => {
            held.users -= 1
            if (held.users === 0) locks.delete(runId)
          }))
        )
      })

    const storeFailed = (error: { readonly message: string }) =>
      new StartError({ reason: "Store", detail: `the run store failed: ${error.message}` })

    /** The run under this id, if the same request started it; refused if another did. */
    const existing = (request: StartRequest, loaded: Load.LoadedWorkflow, inputs: Record<string, unknown>) =>
      RunStore.find(request.runId).pipe(
        Effect.provideService(RunStore.RunStore, store),
        Effect.mapError(storeFailed),
        Effect.flatMap(Option.match({
          onNone: () => Effect.succeed(Option.none<Started>()),
          onSome: (record) => {
            const same = record.workflow === loaded.name && record.definition?.hash === loaded.definition.hash &&
              canonical(record.input) === canonical(redactor.redact(inputs))
            return same
              ? Effect.succeed(Option.some<Started>({ runId: record.id, workflow: record.workflow, status: record.status, replayed: true }))
              : Effect.fail(
                new StartError({
                  reason: "RunIdTaken",
                  detail: `run ${record.id} was started by an earlier request with ${
                    record.workflow !== loaded.name
                      ? `another workflow (${record.workflow})`
                      : record.definition?.hash !== loaded.definition.hash
                      ? "another definition of the workflow"
                      : "other inputs"
                  }; a retried request must be the same (or use another key)`
                })
              )
          }
        }))
      )

    const start: Start = (request) =>
      Effect.gen(function*() {
        const loaded = catalog.workflows.get(request.workflow)
        if (loaded === undefined) {
          const close = Suggest.closest(request.workflow, catalog.workflows.keys(), 1)
          return yield* new StartError({
            reason: "UnknownWorkflow",
            detail: `no workflow "${request.workflow}" is served here${close.length > 0 ? ` (did you mean "${close[0]}"?)` : ""}`
          })
        }
        const checked = checkInputs(loaded, request.inputs)
        if (Either.isLeft(checked)) {
          return yield* new StartError({ reason: "InvalidInputs", detail: `the inputs do not fit ${loaded.name}`, issues: checked.left })
        }
        // What started the run goes with its inputs (`trigger.*`; see `Check.triggerInput`).
        const inputs = { ...checked.right, [Check.triggerInput]: { ...request.trigger.data, kind: request.trigger.kind } }
        return yield* withLock(
          request.runId,
          Effect.gen(function*() {
            const found = yield* existing(request, loaded, inputs)
            if (Option.isSome(found)) return found.value
            const started = yield* engine.startUnknown(loaded.workflow as never, inputs, {
              runId: request.runId,
              definition: loaded.definition
            }).pipe(
              Effect.map((runId): Started => ({ runId, workflow: loaded.name, status: "running", replayed: false })),
              Effect.catchTags({
                WorkflowInputError: (error) =>
                  Effect.fail(
                    new StartError({
                      reason: "InvalidInputs",
                      detail: `the inputs do not fit ${loaded.name}`,
                      issues: error.issues.map((issue) => ({
                        ...(issue.path.length > 0 ? { at: issue.path.map(String).join(".") } : {}),
                        message: issue.message
                      }))
                    })
                  ),
                // Another process may have created it meanwhile (a shared store): that run is the answer.
                StoreError: (error) =>
                  Effect.flatMap(existing(request, loaded, inputs), Option.match({
                    onNone: () => Effect.fail(storeFailed(error)),
                    onSome: Effect.succeed
                  }))
              })
            )
            if (!started.replayed) yield* options.onStarted(request)
            return started
          })
        )
      })
    return start
  })
