/**
 * Every command of `relais`, declared as data: arguments, options (with a description each),
 * summaries and examples. `Args.parse` reads this table, `Help` renders it, and `Cli.ts` maps
 * each command to its handler in `commands/*.ts`, loaded only when that command runs.
 *
 * Nothing here imports Effect: the binary answers `--version`, `--help` and usage errors from
 * this table alone.
 *
 * @since 0.1.0
 */
import type { Run } from "@relais/core"
import * as Args from "./Args.js"

/**
 * The version `relais --version` prints (the package's, checked by a test).
 *
 * @since 0.1.0
 */
export const version = "0.1.0"

/**
 * The run store used when neither `--store` nor `RELAIS_STORE` names one (core's
 * `Engine.defaultFilename`, checked by a test; repeated here so that parsing loads no engine).
 *
 * @since 0.1.0
 */
export const defaultStore = ".relais/relais.db"

/**
 * The statuses `runs list --status` accepts (core's `Run.RunStatus`, checked by a test).
 *
 * @since 0.1.0
 */
export const runStatuses = [
  "running",
  "compensating",
  "succeeded",
  "succeeded_with_failures",
  "failed",
  "compensated",
  "compensation_failed",
  "interrupted",
  "cancelled"
] as const satisfies ReadonlyArray<Run.RunStatus>

// Every status of core is listed: a status added there without being added here fails to compile.
const _everyStatus: ReadonlyArray<(typeof runStatuses)[number]> = [] as ReadonlyArray<Run.RunStatus>
void _everyStatus

// -----------------------------------------------------------------------------
// Options shared by several commands
// -----------------------------------------------------------------------------

const json = Args.boolean("json", {
  description: "Machine-readable output: JSON on stdout, one object per line; messages stay on stderr"
})

const store = Args.optional(Args.text("store", {
  placeholder: "<file|url>",
  description:
    `The run store: a SQLite file, or postgres://user@host:port/db shared by workers (password from PGPASSWORD) (default: RELAIS_STORE, else ${defaultStore})`
}))

const profile = Args.optional(Args.text("profile", {
  placeholder: "<name>",
  description: "The profile of the configuration file to run against (default: RELAIS_PROFILE, else its defaultProfile)"
}))

const config = Args.optional(Args.text("config", {
  placeholder: "<file>",
  description: "The configuration file (default: RELAIS_CONFIG, else ./relais.config.yaml if there is one)"
}))

const sandbox = Args.boolean("sandbox", {
  description:
    "Run against the simulators of the plugins the workflow uses, started in-process with seeded data: no configuration or credentials needed"
})

const seed = Args.optional(Args.integer("seed", {
  description: "With --sandbox: the seed of the simulators' generated data (default: their own fixed seed)"
}))

const faultText =
  "inject a fault into a plugin's simulator: the plugin, then a rule in the sandbox kit's syntax ([METHOD] PATH KIND [xN] [after N]), e.g. \"<plugin>:* latency:200\" or \"<plugin>:POST /api/things 429:2 x1\"; relais sandbox --list gives an example for each"

const fault = Args.repeatable(Args.text("fault", {
  placeholder: "<plugin:rule>",
  description: `With --sandbox: ${faultText}`
}))

const sandboxSetText =
  "set how a plugin's simulator behaves where the real service depends on its vendor's setup; relais sandbox --list shows each simulator's settings and their values"

const sandboxSet = Args.repeatable(Args.text("sandbox-set", {
  placeholder: "<plugin:name=value>",
  description: `With --sandbox: ${sandboxSetText}; a resumed run keeps the settings it started with`
}))

const runIdArgument = (description: string) => Args.argument("runId", { description })

// -----------------------------------------------------------------------------
// The commands
// -----------------------------------------------------------------------------

/** @since 0.1.0 */
export const run = Args.command({
  name: "run",
  summary: "Check a workflow file, run it durably, show its progress and its outcome",
  description: [
    "The file is checked completely first (nothing is called if it has a problem). The run is",
    "journaled in the run store: Ctrl-C leaves it interrupted, and relais resume continues it."
  ],
  args: { file: Args.argument("file", { description: "The workflow file (YAML)" }) },
  options: {
    input: Args.repeatable(Args.text("input", {
      placeholder: "<name=value>",
      description: "A workflow input; the value is read as the input's declared type (a JSON list or object for those types)"
    })),
    inputFile: Args.optional(Args.text("input-file", {
      placeholder: "<file>",
      description: "Workflow inputs from a JSON or YAML file holding one object of names and values; --input wins over it"
    })),
    profile,
    config,
    sandbox,
    seed,
    fault,
    sandboxSet,
    store,
    json,
    runId: Args.optional(Args.text("run-id", {
      placeholder: "<id>",
      description: "The run's id (letters, digits, - _ .); running again with the same id shows that run's outcome, or continues it"
    })),
    detach: Args.boolean("detach", {
      description: "On a PostgreSQL store: submit the run to the workers, print its id and exit (the run goes on)"
    })
  },
  examples: [
    "relais run examples/convention-apprentissage.yaml --sandbox",
    "relais run convention.yaml --profile preprod --input email=jeanne.martin@example.org --input nom=MARTIN",
    "relais run workflow.yaml --sandbox --fault \"<plugin>:* 503 x1\" --sandbox-set <plugin>:<name>=<value>"
  ]
})

/** @since 0.1.0 */
export const validate = Args.command({
  name: "validate",
  summary: "Check workflow files and report every problem as file:line:col (no credentials, no database)",
  description: ["Exit 0 when every file is valid, 2 otherwise."],
  args: { files: Args.argument("file", { description: "The workflow files to check", arity: "atLeastOne" }) },
  options: { config, json },
  examples: ["relais validate examples/*.yaml"]
})

/** The options of the commands that continue an existing run (resume, cancel, restart): its target and store. */
const runAgainOptions = { profile, config, sandbox, seed, fault, sandboxSet, store, json }

/** @since 0.1.0 */
export const resume = Args.command({
  name: "resume",
  summary: "Resume an interrupted run with the definition it started with",
  description: [
    "Completed steps are replayed from the journal; the step that was in flight is reconciled",
    "before the run goes on. The run continues on the target it started on (same profile, or",
    "--sandbox), which is checked."
  ],
  args: { runId: runIdArgument("The interrupted run (relais runs list --status interrupted lists them)") },
  options: runAgainOptions,
  examples: ["relais resume run_mx10atq9mdodir --profile preprod"]
})

/** @since 0.1.0 */
export const restart = Args.command({
  name: "restart",
  summary: "Start a run again from one of its steps, reusing what the steps before it did",
  description: [
    "A new run, linked to the ended one, reuses the recorded outcomes of the steps completed",
    "before --from (they are not executed again) and executes from there, with the definition",
    "the run started with, or a corrected file (--definition, checked first). Refused when it",
    "would be unsafe: the run has not ended, never reached the step, or what it did was undone."
  ],
  args: { runId: runIdArgument("The ended run (relais runs list --status failed lists them)") },
  options: {
    from: Args.text("from", { placeholder: "<step>", description: "The step to execute from: its id, or its path in a loop (contrats[3]/convention)" }),
    definition: Args.optional(Args.text("definition", { placeholder: "<file>", description: "A corrected workflow file (the steps to reuse must be the same in it)" })),
    ...runAgainOptions
  },
  examples: ["relais restart run_mx10atq9mdodir --from publish", "relais restart run_mx10atq9mdodir --from publish --definition fixed.yaml"]
})

/** @since 0.1.0 */
export const cancel = Args.command({
  name: "cancel",
  summary: "Cancel a running or waiting run, and undo what it did",
  description: [
    "No step of the run starts any more. A step that waits (a poll, a sleep, a retry's delay) is",
    "stopped at once; one that may have written something (a create in flight) finishes first. Then",
    "what it completed is undone by its compensations, and it ends cancelled. The process executing",
    "it stops it: a worker, relais serve, or relais run; an interrupted run is continued here to",
    "that end, on the target it started on (same flags as resume)."
  ],
  args: { runId: runIdArgument("The run to cancel (relais runs list --status running lists them)") },
  options: {
    noCompensate: Args.boolean("no-compensate", { description: "Leave what the run did as it is (listed as left to undo)" }),
    ...runAgainOptions
  },
  examples: ["relais cancel run_mx10atq9mdodir", "relais cancel run_mx10atq9mdodir --no-compensate"]
})

/** @since 0.1.0 */
export const runsList = Args.command({
  name: "list",
  summary: "List runs, newest first",
  options: {
    status: Args.repeatable(Args.choice("status", runStatuses, {
      placeholder: "<status>",
      description: `Only runs with this status: ${runStatuses.join(", ")}`
    })),
    workflow: Args.optional(Args.text("workflow", { placeholder: "<name>", description: "Only runs of this workflow (its name)" })),
    limit: Args.withDefault(Args.integer("limit", { min: 1, description: "At most this many runs" }), 20),
    json,
    store
  }
})

/** @since 0.1.0 */
export const runsShow = Args.command({
  name: "show",
  summary: "Show a run: its record, the timeline of its events, and its outcome",
  args: { runId: runIdArgument("The run's id (relais runs list shows them)") },
  options: { json, store }
})

/** @since 0.1.0 */
export const runs = Args.group({
  name: "runs",
  summary: "The run history, read from the store only (works while a run is going on)",
  commands: [runsList, runsShow]
})

/** @since 0.1.0 */
export const graph = Args.command({
  name: "graph",
  summary: "Print a workflow as a Mermaid flowchart",
  args: { file: Args.argument("file", { description: "The workflow file (YAML)" }) },
  options: { config }
})

/** @since 0.1.0 */
export const schema = Args.command({
  name: "schema",
  summary: "Write the JSON Schema of workflow files (with every step's inputs) or of relais.config.yaml, for editors",
  description: [
    "Point an editor at it with the first line of a workflow:",
    "# yaml-language-server: $schema=./relais.schema.json",
    "relais schema config writes the schema of relais.config.yaml, with each plugin's section."
  ],
  args: {
    what: Args.argument("what", { description: "workflow (the default) or config (relais.config.yaml)", arity: "optional" })
  },
  options: {
    output: Args.optional(Args.text("output", {
      alias: "o",
      placeholder: "<file>",
      description: "Where to write it; - for stdout (default: relais.schema.json, or relais.config.schema.json for config)"
    })),
    config
  },
  examples: ["relais schema", "relais schema config -o relais.config.schema.json"]
})

/** @since 0.1.0 */
export const steps = Args.command({
  name: "steps",
  summary: "List the available steps, or show one step's inputs and output",
  args: { name: Args.argument("name", { description: "A step by its full name, <plugin>/<step> (relais steps lists them)", arity: "optional" }) },
  options: { config, json }
})

/** @since 0.1.0 */
export const sandboxCommand = Args.command({
  name: "sandbox",
  summary: "Serve the simulators of the plugins that have one until Ctrl-C",
  description: [
    "It prints their addresses, the configuration that points each plugin at its simulator (whose",
    "credentials only open it) and the export lines to use them from another shell."
  ],
  options: {
    plugin: Args.repeatable(Args.text("plugin", {
      placeholder: "<name>",
      description: "Serve this plugin's simulator only (repeatable; default: every plugin that has one)"
    })),
    port: Args.repeatable(Args.text("port", {
      placeholder: "<plugin:port>",
      description: "The port of a plugin's simulator on 127.0.0.1 (default: a free one)"
    })),
    seed: Args.optional(Args.integer("seed", { description: "The seed of the simulators' generated data (default: their own fixed seed)" })),
    fault: Args.repeatable(Args.text("fault", {
      placeholder: "<plugin:rule>",
      description: `${faultText.charAt(0).toUpperCase()}${faultText.slice(1)}`
    })),
    sandboxSet: Args.repeatable(Args.text("sandbox-set", {
      placeholder: "<plugin:name=value>",
      description: `${sandboxSetText.charAt(0).toUpperCase()}${sandboxSetText.slice(1)}`
    })),
    list: Args.boolean("list", {
      description: "List the simulators, their settings (with their values and defaults) and a fault example for each, then exit"
    }),
    config,
    json
  },
  examples: ["relais sandbox --list", "relais sandbox --plugin <plugin> --port <plugin>:8081 --json"]
})

/** @since 0.1.0 */
export const configCommand = Args.command({
  name: "config",
  summary: "Show which profile and credentials a run would use (never the secrets) and what is missing",
  description: ["Lists every plugin, its fields and where each value comes from. Exit 0 when every plugin is configured, 4 otherwise."],
  options: { profile, config, json }
})

/** @since 0.1.0 */
export const worker = Args.command({
  name: "worker",
  summary: "Join the workers of a PostgreSQL store and execute runs until stopped",
  description: [
    "Any run started from a workflow file (relais run --store postgres://...) is executed from its",
    "stored definition, with this worker's plugins and configuration (--profile, else the environment).",
    "SIGTERM or Ctrl-C drains: steps in flight finish (within --grace), then the other workers take",
    "over its runs at once; a second signal stops at once. A worker that dies is replaced within seconds."
  ],
  options: {
    store,
    listen: Args.optional(Args.text("listen", {
      placeholder: "<host:port>",
      description: "Where to listen for the other workers (default 127.0.0.1:34431)"
    })),
    advertise: Args.optional(Args.text("advertise", {
      placeholder: "<host:port>",
      description: "The address the other workers reach this one at (default: the --listen address)"
    })),
    grace: Args.optional(Args.text("grace", {
      placeholder: "<duration>",
      description: "On SIGTERM, how long the steps in flight may take to finish (default 30s)"
    })),
    profile,
    config
  },
  examples: [
    "PGPASSWORD=... relais worker --store postgres://relais@db.example:5432/relais --listen 10.0.0.5:34431 --profile prod"
  ]
})

/** @since 0.1.0 */
export const serve = Args.command({
  name: "serve",
  summary: "Serve an HTTP API that starts and follows runs of workflow files, and execute those runs",
  description: [
    "The workflows are the YAML files of --workflows (or serve.workflows), each checked at start-up:",
    "a file with a problem is reported and not served. The API (under /api/v1, described at",
    "/openapi.json) starts runs, lists them, streams their events and resumes them. On SQLite this",
    "process executes the runs; on PostgreSQL it joins the workers as relais worker does. Tokens come",
    "from serve.tokens (relais token create): with none, the API is open, on a loopback address only.",
    "SIGTERM or Ctrl-C stops accepting requests, drains (steps in flight finish, within --grace), exits 0."
  ],
  options: {
    workflows: Args.optional(Args.text("workflows", {
      placeholder: "<dir>",
      description: "The directory of the workflow files to serve (default: serve.workflows of the configuration)"
    })),
    listen: Args.optional(Args.text("listen", {
      placeholder: "<host:port>",
      description: "Where the API listens (default: serve.listen, else 127.0.0.1:8080; port 0 picks a free one)"
    })),
    store,
    grace: Args.optional(Args.text("grace", {
      placeholder: "<duration>",
      description: "On SIGTERM, how long the steps in flight may take to finish (default 30s)"
    })),
    workerListen: Args.optional(Args.text("worker-listen", {
      placeholder: "<host:port>",
      description: "On PostgreSQL: where to listen for the other workers (default 127.0.0.1:34431)"
    })),
    workerAdvertise: Args.optional(Args.text("worker-advertise", {
      placeholder: "<host:port>",
      description: "On PostgreSQL: the address the other workers reach this one at (default: the --worker-listen address)"
    })),
    profile,
    config
  },
  examples: [
    "relais serve --workflows ./workflows",
    "relais serve --config relais.config.yaml --profile prod --store postgres://relais@db.example:5432/relais"
  ]
})

/** @since 0.1.0 */
export const ui = Args.command({
  name: "ui",
  summary: "Serve the dashboard over a store: the runs, what they did and undid (read-only without tokens)",
  description: [
    "The dashboard (/ui) and the API's reading routes over the runs of a store, served by a process that",
    "executes nothing. With no token (serve.tokens) it is read-only, on a loopback address only. With tokens,",
    "each caller may act as its scopes allow: on PostgreSQL the workers cancel, resume and restart runs; on",
    "SQLite the process that holds the store stops a run whose cancellation is asked here, and resuming or",
    "restarting is done there (relais serve) or with relais resume and relais restart."
  ],
  options: {
    store,
    listen: Args.optional(Args.text("listen", {
      placeholder: "<host:port>",
      description: "Where the dashboard listens (default 127.0.0.1:8090; port 0 picks a free one)"
    })),
    config
  },
  examples: [
    "relais ui --store .relais/runs.db",
    "PGPASSWORD=... relais ui --store postgres://relais@db.example:5432/relais --config relais.config.yaml"
  ]
})

/** @since 0.1.0 */
export const tokenCreate = Args.command({
  name: "create",
  summary: "Make a new API token for relais serve: prints it once, and the configuration line with its hash",
  description: [
    "The token is printed once and kept nowhere: give it to its caller now. The configuration keeps",
    "only its hash (serve.tokens). Scopes: read (GET routes), run (start and resume runs), admin (all)."
  ],
  options: {
    name: Args.text("name", { placeholder: "<name>", description: "The token's name: who uses it (letters, digits, . _ -), shown in the server's log" }),
    scopes: Args.text("scopes", { placeholder: "<scopes>", description: "Its scopes, comma-separated: read, run, admin" })
  },
  examples: ["relais token create --name admission-portal --scopes read,run"]
})

/** @since 0.1.0 */
export const token = Args.group({
  name: "token",
  summary: "API tokens of relais serve",
  commands: [tokenCreate]
})

/** @since 0.1.0 */
export const schedules = Args.command({
  name: "schedules",
  summary: "List the schedules of workflow files (triggers: - schedule:) and their next fire times",
  description: [
    "Each schedule with its workflow, cron, time zone and policy for missed slots, and its next fire times",
    "in its own time zone, with the offset (a change of daylight saving time shows). The files are checked",
    "as relais validate checks them: exit 0 when all are valid, 2 otherwise. No credentials, no database."
  ],
  args: { files: Args.argument("file", { description: "The workflow files (YAML)", arity: "any" }) },
  options: {
    workflows: Args.optional(Args.text("workflows", {
      placeholder: "<dir>",
      description: "Every workflow file (.yaml, .yml) of this directory, as relais serve reads it (default without files: serve.workflows of the configuration)"
    })),
    count: Args.withDefault(Args.integer("count", { min: 1, max: 100, description: "How many fire times to show per schedule" }), 5),
    config,
    json
  },
  examples: ["relais schedules examples/*.yaml", "relais schedules --workflows ./workflows --count 10 --json"]
})

/**
 * The root of the command line.
 *
 * @since 0.1.0
 */
export const root = Args.group({
  name: "relais",
  summary: "Typed, durable workflows between the systems its plugins connect",
  commands: [run, validate, resume, cancel, restart, runs, graph, schema, steps, sandboxCommand, configCommand, worker, serve, ui, token, schedules]
})
