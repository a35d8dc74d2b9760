/**
 * The workflow format, described once: an Effect Schema of a workflow document as YAML gives it
 * (mappings, lists, texts, numbers, booleans). The rest is derived from it:
 *
 * - the reader (`Model.read`) walks a located YAML tree along this schema and reports, at their
 *   `file:line:col`, unknown keys (with "did you mean", from the keys declared here), missing
 *   keys and every value that does not fit, in the words of the {@link Message} annotations;
 * - the editor JSON Schema (`JsonSchema.make`) is `JSONSchema.make(Workflow)`, with each
 *   registered step's `with` spliced in;
 * - `Schema.decodeUnknown(Workflow)` accepts what the reader accepts (test/Format.test.ts), and
 *   `Definition` reads a stored definition with the same reader.
 *
 * Each check is written once, as a filter, with the message a person reads and, where JSON
 * Schema can say it, the keyword an editor checks as you type. The schema describes the
 * document only: whether a step exists, what its `with` takes and what expressions mean is
 * checked against the registry afterwards (`Check.ts`).
 *
 * @since 0.1.0
 */
import { RetryPolicy, Suggest } from "@relais/core"
import { Either, Schema, SchemaAST } from "effect"
import * as Cron from "../schedule/Cron.js"
import * as Expression from "./Expression.js"

// -----------------------------------------------------------------------------
// Annotations read by the reader
// -----------------------------------------------------------------------------

/**
 * What a person is told when a value does not fit: `actual` is the value (as JSON), `what` names
 * it where it is (`retry.backoff`, `timeout`, `the type of input "x"`). The reader uses the
 * innermost message on the way to the failure (`must be between 1 and 100` rather than `must be
 * a whole number` when only the range is wrong).
 *
 * @since 0.1.0
 */
export type Message = (actual: unknown, what: string) => string

/** @since 0.1.0 */
export const MessageId: unique symbol = Symbol.for("@relais/runner/yaml/Format/Message")

/**
 * On a property signature: what to say when the key is missing, given where (`forEach "each"`).
 *
 * @since 0.1.0
 */
export const MissingId: unique symbol = Symbol.for("@relais/runner/yaml/Format/Missing")

/**
 * On a mapping: how messages name it (`where`, for "unknown key ... in <where>", from the fields
 * read so far and the name its parent gives it) and its keys (`field`, `retry.maxAttempts`).
 *
 * @since 0.1.0
 */
export interface Naming {
  readonly where?: (fields: Readonly<Record<string, unknown>>, what: string) => string
  readonly field?: (key: string, where: string) => string
}

/** @since 0.1.0 */
export const NamingId: unique symbol = Symbol.for("@relais/runner/yaml/Format/Naming")

/**
 * On a text's filter: where in the text its problem is (an offset from the first character), so
 * that the reader points at it (`hour: 25 is out of range 0-23` at the 25 of `0 25 * * *`).
 *
 * @since 0.1.0
 */
export const LocateId: unique symbol = Symbol.for("@relais/runner/yaml/Format/Locate")

/**
 * On a rule across the parts of a mapping: it reads which parts are there, so it waits until
 * every part that is there could be read (a `schedule:` with a bad cron is still one kind).
 *
 * @since 0.1.0
 */
export const AllPartsId: unique symbol = Symbol.for("@relais/runner/yaml/Format/AllParts")

/** @since 0.1.0 */
export type Locate = (actual: unknown) => number | undefined

const says = (message: Message) => ({ [MessageId]: message })
const missing = (message: (where: string) => string) => ({ [MissingId]: message })
const naming = (n: Naming) => ({ [NamingId]: n })

/**
 * A short description of a value, for messages: `a mapping`, `the text "abc"`, `the number 2`.
 *
 * @since 0.1.0
 */
export const describe = (actual: unknown): string => {
  if (Array.isArray(actual)) return "a list"
  if (actual === null || actual === undefined) return "nothing"
  if (typeof actual === "object") return "a mapping"
  if (typeof actual === "string") return `the text "${actual.length > 30 ? `${actual.slice(0, 27)}...` : actual}"`
  return `${typeof actual === "number" ? "the number" : "the boolean"} ${String(actual)}`
}

const choices = (values: ReadonlyArray<string>) =>
  values.length <= 3 ? `${values.slice(0, -1).join(", ")} or ${values[values.length - 1]}` : `one of ${values.join(", ")}`

const didYouMean = (value: string, candidates: ReadonlyArray<string>) => {
  const s = Suggest.closest(value, candidates, 1)
  return s.length > 0 ? ` (did you mean "${s[0]}"?)` : ""
}

const notText: Message = (actual, what) => `${what} must be a text, not ${describe(actual)}`

// -----------------------------------------------------------------------------
// Values
// -----------------------------------------------------------------------------

/** A text that is taken as written: no expression. */
const Text = Schema.String.annotations(says(notText)).pipe(
  Schema.filter((s) => !Expression.hasExpression(s), {
    // Rendered (as its `from`) with the descriptions given to what is built on it.
    jsonSchema: {},
    ...says((_, what) => `${what} cannot contain expressions`)
  })
)

/** One of a few words, with a suggestion for a near miss. */
const oneOf = <const L extends ReadonlyArray<string>>(values: L, description?: string) =>
  Schema.Literal(...values).annotations({
    ...says((actual, what) =>
      typeof actual !== "string"
        ? notText(actual, what)
        : Expression.hasExpression(actual)
        ? `${what} cannot contain expressions`
        : `${what} is ${choices(values)}, not "${actual}"${didYouMean(actual, values)}`
    ),
    ...(description !== undefined ? { description } : {})
  })

/** Names that expressions cannot read (`constructor`): refused wherever a name is declared. */
const notReserved = (what: string) => <I>(self: Schema.Schema<string, I>) =>
  self.pipe(Schema.filter((name) => !Expression.reserved.has(name), {
    jsonSchema: {},
    ...says((actual) => `"${String(actual)}" cannot be the name of ${what}: expressions cannot read it; choose another name`)
  }))

const integer = (min: number, max: number, description?: string) => {
  const whole: Message = (actual, what) => `${what} must be a whole number, not ${describe(actual)}`
  return Schema.Number.annotations(says(whole)).pipe(
    Schema.filter(Number.isInteger, { jsonSchema: { type: "integer" }, ...says(whole) }),
    Schema.filter((n) => n >= min && n <= max, {
      jsonSchema: { minimum: min, maximum: max },
      ...says((actual, what) => `${what} must be between ${min} and ${max}, not ${String(actual)}`),
      ...(description !== undefined ? { description } : {})
    })
  )
}

const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/
const UNIT_MILLIS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/**
 * A duration: `500ms`, `30s`, `2m`, `1h`, `1.5s`, or a number of milliseconds; decodes to
 * milliseconds.
 *
 * @since 0.1.0
 */
export const Duration = Schema.Union(
  Schema.Number.pipe(Schema.filter((n) => Number.isFinite(n) && n >= 0, { jsonSchema: { minimum: 0 } })),
  Schema.transform(
    Schema.String.pipe(Schema.filter((s) => DURATION.test(s), { jsonSchema: { pattern: DURATION.source } })),
    Schema.Number,
    {
      strict: true,
      decode: (s) => {
        const [, n, unit] = DURATION.exec(s)!
        return Math.round(Number(n) * UNIT_MILLIS[unit!]!)
      },
      encode: (millis) => `${millis}ms`
    }
  )
).annotations({
  identifier: "duration",
  description: "A duration: 500ms, 30s, 2m, 1h (or milliseconds)",
  ...says((actual, what) => `${what} must be a duration like 500ms, 30s, 2m or 1h, not ${describe(actual)}`)
})

/**
 * On an expression's schema: the reader gives back the parsed template (`Model.Text`), and
 * reports a syntax error where it is in the text.
 *
 * @since 0.1.0
 */
export const TemplateId: unique symbol = Symbol.for("@relais/runner/yaml/Format/Template")

const isWhole = (text: string) => {
  const parsed = Expression.parseTemplate(text)
  return "template" in parsed && parsed.template._tag === "Whole"
}

/**
 * A text that is one expression, `${{ … }}`.
 *
 * @since 0.1.0
 */
export const ExpressionText = Schema.String.annotations(says(notText)).pipe(
  Schema.filter(isWhole, {
    [TemplateId]: true,
    jsonSchema: { pattern: "\\$\\{\\{.*\\}\\}" },
    description: "An expression: ${{ inputs.x }}, ${{ steps.<id>.output.<field> }}",
    ...says((actual, what) => {
      const parsed = Expression.parseTemplate(String(actual))
      if ("error" in parsed) return `${what}: ${parsed.error.message}`
      return `${what} must be one expression written \${{ … }}, not ${parsed.template._tag === "Text" ? "plain text" : "text with expressions inside"}`
    })
  })
)

/** The inputs of a step: a mapping, or nothing (no field). */
const With = Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.Unknown })).annotations({
  description: "The step's inputs",
  ...says((actual, what) => `${what} must be a mapping of the step's inputs, not ${describe(actual)}`)
})

// -----------------------------------------------------------------------------
// Retry
// -----------------------------------------------------------------------------

const retryFields = {
  maxAttempts: Schema.optionalWith(integer(1, 100, "Attempts in all, the first included"), { exact: true }),
  backoff: Schema.optionalWith(oneOf(RetryPolicy.Backoff.literals), { exact: true }),
  initialDelay: Schema.optionalWith(Duration, { exact: true }),
  maxDelay: Schema.optionalWith(Duration, { exact: true }),
  factor: Schema.optionalWith(
    Schema.Number.annotations(says((_, what) => `${what} must be a number of at least 1`)).pipe(
      Schema.filter((n) => n >= 1, { jsonSchema: { minimum: 1 }, ...says((_, what) => `${what} must be a number of at least 1`) })
    ),
    { exact: true }
  ),
  jitter: Schema.optionalWith(Schema.Boolean.annotations(says((_, what) => `${what} must be true or false`)), { exact: true }),
  retryOn: Schema.optionalWith(
    Schema.Array(
      RetryPolicy.RetryOn.annotations(
        says((_, what) => `${what} items are HTTP statuses (429), 4xx, 5xx, timeout, or error names (Transport)`)
      )
    ).annotations({
      description: "HTTP statuses (429), 4xx, 5xx, timeout, or error names (Transport)",
      ...says((_, what) => `${what} must be a list, e.g. [429, 503, timeout]`)
    }),
    { exact: true }
  )
}

/**
 * A retry override: any subset of a policy's fields (`RetryPolicy`, with durations).
 *
 * @since 0.1.0
 */
export const Retry = Schema.Struct(retryFields).annotations({
  description: "Retry policy (overrides the step's default)",
  ...naming({ where: () => "retry", field: (key) => `retry.${key}` }),
  ...says((actual) => `retry must be a mapping (${Object.keys(retryFields).join(", ")}), not ${describe(actual)}`)
}).pipe(
  Schema.filter(
    (r) =>
      r.initialDelay !== undefined && r.maxDelay !== undefined && r.maxDelay < r.initialDelay
        ? "retry.maxDelay is shorter than retry.initialDelay"
        : true,
    { identifier: "retry" }
  )
)

// -----------------------------------------------------------------------------
// Steps
// -----------------------------------------------------------------------------

const ID = /^[A-Za-z][A-Za-z0-9_-]*$/
const LOOP_VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Where a step's (or a list's) default is declared, for the reader and for editors. */
export const defaults = { as: "item", concurrency: 1, onItemFailure: "fail" } as const

const commonFields = {
  id: Text.pipe(
    Schema.filter((s) => ID.test(s), {
      jsonSchema: { pattern: ID.source },
      description: "Unique in the file; steps.<id>.output reads its output",
      ...says((actual) => `the id "${String(actual)}" must start with a letter and contain only letters, digits, - and _`)
    }),
    notReserved("a step")
  ).pipe(Schema.propertySignature).annotations(missing(() => "this step has no id: add `id: <name>` (letters, digits, - and _)")),
  name: Schema.optionalWith(Text, { exact: true }),
  description: Schema.optionalWith(Text, { exact: true }),
  if: Schema.optionalWith(
    Schema.Union(Schema.Boolean, ExpressionText).annotations({
      description: "Run this only when the expression is true. It must be true or false: compare a text, e.g. ${{ inputs.publish == 'true' }}",
      ...says(notText)
    }),
    { exact: true }
  )
}

/**
 * The keys every kind of step has.
 *
 * @since 0.1.0
 */
export const commonKeys: ReadonlyArray<string> = Object.keys(commonFields)

/** Any of the four kinds of steps (the reader tells them apart by their keys). */
const node = Schema.suspend((): Schema.Schema<any, any> => Node)

const nodeNaming = (kind: string, lists?: (where: string) => string) =>
  naming({
    where: (fields) => `${kind} "${typeof fields.id === "string" ? fields.id : ""}"`,
    ...(lists !== undefined ? { field: (key, where) => (key === "steps" || key === "parallel" ? lists(where) : key) } : {})
  })

/** A list of steps (`steps:` of the file, of a loop, of a group). */
const Steps: Schema.Schema<ReadonlyArray<any>, ReadonlyArray<any>> = Schema.Array(node).annotations(
  says((actual, what) => `${what} must be a list of steps (each item starting with "- id: ..."), not ${describe(actual)}`)
).pipe(
  Schema.filter((a) => a.length >= 1, { jsonSchema: { minItems: 1 }, ...says((_, what) => `${what} is empty: add at least one step`) })
)

/** The branches of a `parallel`: two or more. */
const Branches = Steps.pipe(
  Schema.filter((a) => a.length >= 2, {
    jsonSchema: { minItems: 2 },
    ...says((_, what) => `${what} has one branch: list two or more, or make it a plain step`)
  })
)

/**
 * A compensation that runs another step.
 *
 * @since 0.1.0
 */
export const Compensate = Schema.Struct({
  uses: Text.pipe(Schema.propertySignature).annotations(
    missing(() => "compensate needs `uses: provider/step` (or write `compensate: false` to turn it off)")
  ),
  with: Schema.optionalWith(With, { exact: true })
}).annotations({ identifier: "compensate", ...naming({ where: () => "compensate", field: (key) => `compensate.${key}` }) })

/**
 * A step that runs a registered step (`uses`).
 *
 * @since 0.1.0
 */
export const Step = Schema.Struct({
  ...commonFields,
  uses: Text.annotations({ description: "The step to run (provider/step-name)" }),
  with: Schema.optionalWith(With, { exact: true }),
  retry: Schema.optionalWith(Retry, { exact: true }),
  timeout: Schema.optionalWith(Duration, { exact: true }),
  compensate: Schema.optionalWith(
    Schema.Union(Schema.Boolean, Compensate).annotations({
      description: "true: the step's own compensation (default); false: none; { uses, with }: another step",
      ...says(() => "compensate is true (the step's own), false (none), or { uses, with } (another step)")
    }),
    { exact: true }
  )
}).annotations({ identifier: "step", ...nodeNaming("step") })

/**
 * A loop: the same steps for each item of a list.
 *
 * @since 0.1.0
 */
export const ForEach = Schema.Struct({
  ...commonFields,
  forEach: ExpressionText.annotations({ description: "The list to iterate over" }),
  as: Schema.optionalWith(
    Text.pipe(
      Schema.filter((s) => LOOP_VARIABLE.test(s), {
        jsonSchema: { pattern: LOOP_VARIABLE.source },
        ...says((actual) => `as names the loop variable: letters, digits and _ (not "${String(actual)}")`)
      }),
      Schema.filter((s) => !["inputs", "steps", "loop"].includes(s), {
        ...says((actual) => `"${String(actual)}" is already a name in expressions: choose another loop variable`)
      }),
      notReserved("a loop variable")
    ).annotations({ description: `The loop variable (default: ${defaults.as})` }),
    { exact: true }
  ),
  concurrency: Schema.optionalWith(integer(1, 64, `Items run at once (default: ${defaults.concurrency})`), { exact: true }),
  onItemFailure: Schema.optionalWith(oneOf(["fail", "compensate-item", "continue"], `What a failed item does (default: ${defaults.onItemFailure})`), {
    exact: true
  }),
  steps: Steps.pipe(Schema.propertySignature).annotations(
    missing((where) => `${where} needs \`steps:\`, the steps to run for each item`)
  )
}).annotations({ identifier: "forEach", ...nodeNaming("forEach", (where) => `the steps of ${where}`) })

/**
 * Branches that run at the same time.
 *
 * @since 0.1.0
 */
export const Parallel = Schema.Struct({ ...commonFields, parallel: Branches }).annotations({
  identifier: "parallel",
  ...nodeNaming("parallel", (where) => where)
})

/**
 * Steps grouped under one id (their outputs read as `steps.<id>.output.<step>`).
 *
 * @since 0.1.0
 */
export const Group = Schema.Struct({ ...commonFields, steps: Steps }).annotations({
  identifier: "group",
  ...nodeNaming("group", (where) => `the steps of ${where}`)
})

/**
 * A step of any kind, told apart by the key that makes it one.
 *
 * @since 0.1.0
 */
export const kinds = { uses: Step, forEach: ForEach, parallel: Parallel, steps: Group } as const

/**
 * @since 0.1.0
 */
export const Node = Schema.Union(Step, ForEach, Parallel, Group).annotations({
  identifier: "node",
  ...says((actual) => `a step is a mapping (id, uses, with...), not ${describe(actual)}`)
})

// -----------------------------------------------------------------------------
// Inputs
// -----------------------------------------------------------------------------

/**
 * The types a workflow input can declare.
 *
 * @since 0.1.0
 */
export const inputTypes = ["string", "integer", "number", "boolean", "object", "array"] as const

/**
 * @since 0.1.0
 */
export type InputType = typeof inputTypes[number]

const InputType = oneOf(inputTypes)

/**
 * The schema of a value of each input type (a default, an `--input`, an `--input-file` entry).
 *
 * @since 0.1.0
 */
export const inputValue: { readonly [K in InputType]: Schema.Schema<any, any> } = {
  string: Schema.String,
  integer: Schema.Int,
  number: Schema.Number,
  boolean: Schema.Boolean,
  object: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  array: Schema.Array(Schema.Unknown)
}

const article = (type: InputType) => (type === "integer" || type === "object" || type === "array" ? `an ${type}` : `a ${type}`)

const InputSpec = Schema.Struct({
  type: InputType.pipe(Schema.propertySignature).annotations(missing((where) => `${where} needs a type (${inputTypes.join(", ")})`)),
  default: Schema.optionalWith(
    Schema.Unknown.pipe(
      Schema.filter((v) => !(typeof v === "string" && Expression.hasExpression(v)), {
        ...says(() => "a default is a plain value, not an expression")
      })
    ),
    { exact: true }
  ),
  description: Schema.optionalWith(Text, { exact: true }),
  required: Schema.optionalWith(Schema.Boolean.annotations(says((_, what) => `${what} must be true or false`)), { exact: true }),
  enum: Schema.optionalWith(
    Schema.Array(
      Schema.Union(Schema.String, Schema.Number).annotations(says((_, what) => `${what} is a list of allowed values, e.g. [APP, STA, PRO]`))
    ).annotations(says((_, what) => `${what} is a list of allowed values, e.g. [APP, STA, PRO]`)),
    { exact: true }
  )
}).annotations(naming({ field: (key, where) => (key === "type" ? `the type of ${where}` : key) }))

const InputName = Schema.String.pipe(
  Schema.filter((s) => LOOP_VARIABLE.test(s), {
    jsonSchema: { pattern: LOOP_VARIABLE.source },
    ...says((actual) => `the input name "${String(actual)}" may contain only letters, digits and _`)
  }),
  notReserved("an input")
)

/** A default fits its input's type and enum. */
const defaultProblems = (name: string, spec: unknown): ReadonlyArray<Schema.FilterIssue> => {
  if (typeof spec !== "object" || spec === null || !("default" in spec)) return []
  const { default: value, type, enum: allowed } = spec as { default: unknown; type: InputType; enum?: ReadonlyArray<unknown> }
  const path = [name, "default"]
  if (!Schema.is(inputValue[type])(value)) {
    return [{ path, message: `the default of input "${name}" must be ${article(type)}, not ${describe(value)}` }]
  }
  if (allowed !== undefined && !allowed.includes(value)) return [{ path, message: `the default of input "${name}" is not one of its enum values` }]
  return []
}

/**
 * The inputs of a workflow: a type (`apprenantId: integer`) or a mapping with a type, a default,
 * a description, whether it is required, and its allowed values.
 *
 * @since 0.1.0
 */
export const Inputs = Schema.Record({
  key: InputName,
  // The shorthand `apprenantId: integer` says nothing itself: its messages name the input.
  value: Schema.Union(Schema.Literal(...inputTypes), InputSpec).annotations(
    says((actual, what) =>
      typeof actual === "string"
        ? `the type of ${what} is ${choices(inputTypes)}, not "${actual}"${didYouMean(actual, inputTypes)}`
        : `${what} is described by a mapping ({ type: integer, default: ..., description: ... })`
    )
  )
}).annotations({
  ...naming({ field: (key) => `input "${key}"` }),
  ...says((actual, what) => `${what} is a mapping of input names to their types, not ${describe(actual)}`)
}).pipe(Schema.filter((inputs) => Object.entries(inputs).flatMap(([name, spec]) => defaultProblems(name, spec))))

// -----------------------------------------------------------------------------
// Triggers
// -----------------------------------------------------------------------------

const cronOf = (actual: unknown) => Cron.parse(String(actual))

/**
 * A cron expression (`0 2 * * *`, `*\/15 * * * mon-fri`, `@daily`): see `schedule/Cron.ts`.
 *
 * @since 0.1.0
 */
export const CronText = Text.pipe(
  Schema.filter((s) => Either.match(cronOf(s), { onLeft: (problem) => problem.message, onRight: () => true }), {
    jsonSchema: {},
    [LocateId]: ((actual) => Either.match(cronOf(actual), { onLeft: (problem) => problem.offset, onRight: () => undefined })) satisfies Locate,
    description: "When: minute hour day-of-month month day-of-week (0 2 * * *: every day at 02:00), or @hourly, @daily, @weekly, @monthly, @yearly"
  })
)

/**
 * A time zone name (IANA: `Europe/Paris`, `America/New_York`, `UTC`).
 *
 * @since 0.1.0
 */
export const TimeZoneText = Text.pipe(
  Schema.filter((s) => Either.match(Cron.timeZone(s), { onLeft: (problem) => problem, onRight: () => true }), {
    jsonSchema: {},
    description: `The time zone of the cron's times (default: ${Cron.defaultTimeZone})`
  })
)

/**
 * What a schedule does with the slots missed while nothing was running.
 *
 * @since 0.1.0
 */
export const missedPolicies = ["skip", "once"] as const

/**
 * @since 0.1.0
 */
export type MissedPolicy = typeof missedPolicies[number]

/** Where a trigger's default is declared, for the reader and for editors. */
export const scheduleDefaults = { timezone: Cron.defaultTimeZone, missed: "skip" } as const satisfies {
  readonly timezone: string
  readonly missed: MissedPolicy
}

/**
 * A schedule: the workflow starts at each slot of `cron` in `timezone`, with `inputs`.
 *
 * @since 0.1.0
 */
export const Schedule = Schema.Struct({
  name: Schema.optionalWith(
    Text.pipe(
      Schema.filter((s) => ID.test(s), {
        jsonSchema: { pattern: ID.source },
        ...says((actual) => `the schedule name "${String(actual)}" must start with a letter and contain only letters, digits, - and _`)
      })
    ).annotations({ description: "A name for the schedule (in listings and run ids; default: its position)" }),
    { exact: true }
  ),
  cron: CronText.pipe(Schema.propertySignature).annotations(
    missing(() => "a schedule needs `cron:`, e.g. cron: \"0 2 * * *\" (every day at 02:00)")
  ),
  timezone: Schema.optionalWith(TimeZoneText, { exact: true }),
  inputs: Schema.optionalWith(
    Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.Unknown })).annotations({
      description: "The workflow's inputs for each run (checked against its inputs:)",
      ...says((actual, what) => `${what} must be a mapping of the workflow's inputs, not ${describe(actual)}`)
    }),
    { exact: true }
  ),
  missed: Schema.optionalWith(
    oneOf(
      missedPolicies,
      `Slots missed while nothing ran: skip (none is run) or once (the latest one runs at start) (default: ${scheduleDefaults.missed})`
    ),
    { exact: true }
  )
}).annotations({
  identifier: "schedule",
  description: "Start the workflow on a schedule",
  ...naming({ where: () => "schedule", field: (key) => `schedule.${key}` }),
  ...says((actual) => `schedule must be a mapping (cron, timezone, inputs, missed), not ${describe(actual)}`)
})

/**
 * A trigger: `schedule: { ... }`, or a plugin's kind of trigger under the plugin's name
 * (`<plugin>: { ... }`, checked against the registry afterwards).
 *
 * @since 0.1.0
 */
export const Trigger = Schema.Struct(
  { schedule: Schema.optionalWith(Schedule, { exact: true }) },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
).annotations({
  ...naming({ where: () => "the trigger" }),
  ...says((actual) => `a trigger is a mapping with one kind (schedule: { cron: ... }, or a plugin's), not ${describe(actual)}`)
}).pipe(
  Schema.filter((t) => {
    const kinds = Object.keys(t)
    return kinds.length === 1
      ? true
      : kinds.length === 0
      ? "a trigger says when the workflow starts: schedule: { cron: ... }, or a plugin's kind of trigger"
      : `a trigger has one kind, not ${kinds.join(" and ")}: write each as its own item of the list`
  }, {
    identifier: "trigger",
    description: "One kind of trigger: schedule, or a plugin's (under the plugin's name)",
    jsonSchema: { minProperties: 1, maxProperties: 1 },
    [AllPartsId]: true
  })
)

/**
 * What starts the workflow besides a person: schedules and plugins' triggers (by `relais serve`).
 *
 * @since 0.1.0
 */
export const Triggers = Schema.Array(Trigger).annotations({
  description: "What starts the workflow when relais serve runs: schedules, and plugins' triggers",
  ...says((actual, what) => `${what} must be a list (each item "- schedule: { cron: ... }"), not ${describe(actual)}`)
})

// -----------------------------------------------------------------------------
// The document
// -----------------------------------------------------------------------------

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

/**
 * A workflow file.
 *
 * @since 0.1.0
 */
export const Workflow = Schema.Struct({
  version: Schema.Literal(1).annotations(
    says((actual) => `this relais understands version 1 of the format, not ${describe(actual)}`)
  ).pipe(Schema.propertySignature).annotations(missing(() => "add `version: 1` at the top of the file")),
  name: Text.pipe(
    Schema.filter((s) => NAME.test(s), {
      jsonSchema: { pattern: NAME.source },
      ...says((actual) => `the name "${String(actual)}" may contain only letters, digits, ., - and _`)
    })
  ).pipe(Schema.propertySignature).annotations(missing(() => "add a `name` (e.g. name: convention-apprentissage)")),
  description: Schema.optionalWith(Text, { exact: true }),
  inputs: Schema.optionalWith(Schema.NullOr(Inputs), { exact: true }),
  defaults: Schema.optionalWith(
    Schema.Struct({ retry: Schema.optionalWith(Retry, { exact: true }), timeout: Schema.optionalWith(Duration, { exact: true }) })
      .annotations({
        ...naming({ where: () => "defaults", field: (key) => `defaults.${key}` }),
        ...says(() => "defaults is a mapping with retry and timeout")
      }),
    { exact: true }
  ),
  triggers: Schema.optionalWith(Schema.NullOr(Triggers), { exact: true }),
  steps: Steps.pipe(Schema.propertySignature).annotations(missing(() => "add `steps:`, the list of steps to run")),
  outputs: Schema.optionalWith(
    Schema.Record({ key: Schema.String.pipe(notReserved("an output")), value: Schema.Unknown }).annotations(
      says(() => "outputs is a mapping of names to values, usually expressions")
    ),
    { exact: true }
  )
}).annotations({
  title: "relais workflow",
  ...naming({ where: () => "the workflow" }),
  ...says((actual) => `a workflow file is a mapping (version, name, steps...), not ${describe(actual)}`)
})

/**
 * The keys of a mapping schema (through filters and suspensions).
 *
 * @since 0.1.0
 */
export const keysOf = (ast: SchemaAST.AST): ReadonlyArray<string> => {
  switch (ast._tag) {
    case "Refinement":
      return keysOf(ast.from)
    case "Suspend":
      return keysOf(ast.f())
    case "TypeLiteral":
      return ast.propertySignatures.map((p) => String(p.name))
    case "Union":
      return [...new Set(ast.types.flatMap(keysOf))]
    default:
      return []
  }
}
