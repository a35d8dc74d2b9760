/**
 * The HTTP API of `relais serve`, described once: the routes, what they take and answer, their
 * errors and their security. The server (`serve/Server.ts`) implements this description, and
 * the OpenAPI document served at `GET /openapi.json` is derived from it (`OpenApi.fromApi`), so
 * the two cannot drift apart.
 *
 * Every error is an RFC 9457 problem (`application/problem+json`: `type`, `title`, `status`,
 * `detail`, and `issues` where each names what it is about). The routes under `/api/v1` need a
 * bearer token with the right scope when tokens are configured (`serve.tokens`); `/health` and
 * `/ready`, probes that tell nothing but "up" and "ready", do not.
 *
 * Webhook intake (`POST /hooks/<plugin>`, a plugin's triggers) is a group of its own added to
 * `Api` below, outside `/api/v1` and without `Authorization` (a webhook authenticates its own
 * way); its handler reads the raw body (`handleRaw`). The server's guard applies the body cap to
 * every route but checks the JSON content type only under `/api/`, so such a route takes what
 * its sender posts. Its runs start through the server's `Start` function (`serve/Start.ts`).
 *
 * @since 0.1.0
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import * as OpenApi from "@effect/platform/OpenApi"
import { Run } from "@relais/core"
import { Context, Schema } from "effect"
import { runStatuses } from "../cli/Commands.js"
import type * as Auth from "./Auth.js"

/**
 * The prefix of the API's routes (the version is part of the path: a breaking change gets a
 * new prefix).
 *
 * @since 0.1.0
 */
export const prefix = "/api/v1"

// -----------------------------------------------------------------------------
// Problems (RFC 9457)
// -----------------------------------------------------------------------------

/**
 * One thing wrong with a request: what it is about (an input's name, a query parameter, a
 * header) and why.
 *
 * @since 0.1.0
 */
export const Issue = Schema.Struct({
  /** The input, parameter or header the issue is about, when there is one. */
  at: Schema.optional(Schema.String),
  message: Schema.String
}).annotations({ identifier: "Issue" })

/**
 * @since 0.1.0
 */
export type Issue = typeof Issue.Type

/** The problems of this API, by status, with their title. */
const problemTitles = {
  400: "Bad request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not found",
  409: "Conflict",
  413: "Payload too large",
  415: "Unsupported media type",
  422: "Unprocessable content",
  500: "Internal server error",
  503: "Service unavailable"
} as const

/**
 * A status this API answers with a problem.
 *
 * @since 0.1.0
 */
export type ProblemStatus = keyof typeof problemTitles

/**
 * The `type` URI of a problem of this status (a stable identifier; it is not fetched).
 *
 * @since 0.1.0
 */
export const problemType = (status: ProblemStatus): string =>
  `https://relais.dev/problems/${problemTitles[status].toLowerCase().replace(/ /g, "-")}`

const problemSchema = <S extends ProblemStatus>(status: S) =>
  Schema.Struct({
    type: Schema.String,
    title: Schema.String,
    // A literal: the errors of an endpoint are told apart (and encoded with their status) by it.
    status: Schema.Literal(status),
    detail: Schema.String,
    issues: Schema.optional(Schema.Array(Issue))
  }).pipe(
    HttpApiSchema.withEncoding({ kind: "Json", contentType: "application/problem+json" }),
    (schema) => schema.annotations(HttpApiSchema.annotations({ status, identifier: `Problem${status}`, description: problemTitles[status] }))
  )

/** @since 0.1.0 */
export const BadRequest = problemSchema(400)
/** @since 0.1.0 */
export const Unauthorized = problemSchema(401)
/** @since 0.1.0 */
export const Forbidden = problemSchema(403)
/** @since 0.1.0 */
export const NotFound = problemSchema(404)
/** @since 0.1.0 */
export const Conflict = problemSchema(409)
/** @since 0.1.0 */
export const PayloadTooLarge = problemSchema(413)
/** @since 0.1.0 */
export const UnsupportedMediaType = problemSchema(415)
/** @since 0.1.0 */
export const Unprocessable = problemSchema(422)
/** @since 0.1.0 */
export const Unavailable = problemSchema(503)

/**
 * A problem of one status, as a value.
 *
 * @since 0.1.0
 */
export interface Problem<S extends ProblemStatus = ProblemStatus> {
  readonly type: string
  readonly title: string
  readonly status: S
  readonly detail: string
  readonly issues?: ReadonlyArray<Issue> | undefined
}

/**
 * A problem of this status, with its title and type.
 *
 * @since 0.1.0
 */
export const problem = <S extends ProblemStatus>(status: S, detail: string, issues?: ReadonlyArray<Issue>): Problem<S> => ({
  type: problemType(status),
  title: problemTitles[status],
  status,
  detail,
  ...(issues !== undefined && issues.length > 0 ? { issues } : {})
})

// -----------------------------------------------------------------------------
// Security
// -----------------------------------------------------------------------------

/**
 * The caller of a request, as the authorization middleware recognised it.
 *
 * @since 0.1.0
 */
export class CurrentCaller extends Context.Tag("@relais/runner/serve/CurrentCaller")<CurrentCaller, Auth.Caller>() {}

/**
 * Bearer tokens with scopes: `read` for GET, `run` to start and resume runs, `admin` for
 * everything. 401 without a valid token (with `WWW-Authenticate`), 403 without the scope.
 *
 * @since 0.1.0
 */
export class Authorization extends HttpApiMiddleware.Tag<Authorization>()("@relais/runner/serve/Authorization", {
  failure: Schema.Union(Unauthorized, Forbidden),
  provides: CurrentCaller,
  security: {
    bearer: HttpApiSecurity.bearer.pipe(
      HttpApiSecurity.annotate(OpenApi.Description, "An API token of serve.tokens (relais token create): Authorization: Bearer <token>")
    )
  }
}) {}

// -----------------------------------------------------------------------------
// Workflows
// -----------------------------------------------------------------------------

/**
 * A declared input of a workflow.
 *
 * @since 0.1.0
 */
export const InputInfo = Schema.Struct({
  name: Schema.String,
  type: Schema.Literal("string", "integer", "number", "boolean", "array", "object"),
  required: Schema.Boolean,
  default: Schema.optional(Schema.Unknown),
  description: Schema.optional(Schema.String),
  enum: Schema.optional(Schema.Array(Schema.Union(Schema.String, Schema.Number)))
}).annotations({ identifier: "Input" })

/**
 * A workflow the server runs.
 *
 * @since 0.1.0
 */
export const WorkflowInfo = Schema.Struct({
  name: Schema.String,
  description: Schema.String,
  /** The file it was loaded from. */
  file: Schema.String,
  /** The hash of its definition: runs started from it keep it. */
  hash: Schema.String,
  inputs: Schema.Array(InputInfo),
  /** What starts it besides this API (schedules, webhooks), as its file declares them. */
  triggers: Schema.Array(Schema.Struct({
    /** `schedule`, or the plugin whose trigger it is. */
    kind: Schema.String,
    name: Schema.optional(Schema.String),
    cron: Schema.optional(Schema.String),
    timezone: Schema.optional(Schema.String),
    missed: Schema.optional(Schema.String),
    inputs: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
    /** A schedule's next fire times, in its time zone (ISO with offset). */
    next: Schema.optional(Schema.Array(Schema.String)),
    /** A plugin trigger's options, as decoded by the plugin. */
    options: Schema.optional(Schema.Unknown)
  }).annotations({ identifier: "Trigger" }))
}).annotations({ identifier: "Workflow" })

/**
 * @since 0.1.0
 */
export type WorkflowInfo = typeof WorkflowInfo.Type

const WorkflowName = Schema.Struct({ name: Schema.String })

// -----------------------------------------------------------------------------
// Runs
// -----------------------------------------------------------------------------

const RunStatus = Schema.Literal(...runStatuses)

/**
 * A run in a listing.
 *
 * @since 0.1.0
 */
export const RunSummary = Schema.Struct({
  id: Schema.String,
  workflow: Schema.String,
  status: RunStatus,
  /** ISO 8601 date-times. */
  createdAt: Schema.String,
  updatedAt: Schema.String,
  finishedAt: Schema.optional(Schema.String),
  /** How many times it started executing: 1, plus one per resume. */
  executions: Schema.Number,
  /**
   * What started it: `manual`, `api`, `schedule` or a plugin's name (`input.$trigger.kind`;
   * `manual` when the input has none). A run's detail shows the whole trigger instead.
   */
  trigger: Schema.String,
  /** Started again from a step of another run: that run, and the step. */
  restartOf: Schema.optional(Schema.Struct({ runId: Schema.String, from: Schema.String }))
}).annotations({ identifier: "RunSummary" })

/**
 * @since 0.1.0
 */
export type RunSummary = typeof RunSummary.Type

/**
 * A page of runs, newest first; `next` is the cursor of the following page.
 *
 * @since 0.1.0
 */
export const RunPage = Schema.Struct({
  runs: Schema.Array(RunSummary),
  next: Schema.optional(Schema.String)
}).annotations({ identifier: "RunPage" })

/**
 * An event of a run as the store records it: `seq` orders the events (and resumes a stream).
 *
 * @since 0.1.0
 */
export const StoredEvent = Schema.Struct({ seq: Schema.Number, event: Run.RunEvent }).annotations({ identifier: "StoredEvent" })

/**
 * A node of a workflow's structure. Its `id` is the step id written in the YAML (unique in the
 * workflow). The run's events name a node by their `path` (their `step` is the step type, e.g.
 * `core/set`, or for a skipped loop, group or parallel node its kind):
 * - a `path` is the node's `id` prefixed by one `<loopId>[<index>]/` per enclosing `forEach`,
 *   outermost first (`prepare`, `contrats[3]/convention`, `a[0]/b[2]/c`); groups and parallel
 *   nodes add no segment (a step in a branch or a group: `inner`, not `both/right/inner`);
 * - step events (started, attempts, retries, reconciled, succeeded, failed, replayed,
 *   compensations) have the step's path; `StepSkipped` (an `if:` false) the skipped node's path,
 *   whatever its kind;
 * - `ItemFailed` has the item's path `<loop path>[<index>]` (and the `index`).
 * So an event's node is the last segment of its path without its `[<index>]`
 * (`path.split("/").at(-1).replace(/\[\d+\]$/, "")`), and the `[<index>]`s before it say
 * which loop item.
 *
 * @since 0.1.0
 */
export interface GraphNode {
  readonly id: string
  readonly kind: "step" | "forEach" | "parallel" | "group"
  readonly uses?: string | undefined
  readonly condition?: string | undefined
  readonly compensates?: boolean | undefined
  readonly steps?: ReadonlyArray<GraphNode> | undefined
  readonly branches?: ReadonlyArray<GraphNode> | undefined
}

/**
 * @since 0.1.0
 */
export const GraphNode: Schema.Schema<GraphNode> = Schema.Struct({
  id: Schema.String,
  kind: Schema.Literal("step", "forEach", "parallel", "group"),
  /** Kind `step`: the step type, e.g. `core/set`. */
  uses: Schema.optional(Schema.String),
  /** The `if:` expression's source, when there is one. */
  condition: Schema.optional(Schema.String),
  /** Kind `step`: false when `compensate: off`. */
  compensates: Schema.optional(Schema.Boolean),
  /** Kinds `forEach` and `group`: the body, in order. */
  steps: Schema.optional(Schema.Array(Schema.suspend((): Schema.Schema<GraphNode> => GraphNode))),
  /** Kind `parallel`: one node per branch. */
  branches: Schema.optional(Schema.Array(Schema.suspend((): Schema.Schema<GraphNode> => GraphNode)))
}).annotations({ identifier: "GraphNode" })

/**
 * A workflow's structure, read from the definition a run started with (see `GraphNode`).
 *
 * @since 0.1.0
 */
export const WorkflowGraph = Schema.Struct({
  name: Schema.String,
  steps: Schema.Array(GraphNode)
}).annotations({ identifier: "WorkflowGraph" })

/**
 * A run: its record (input, outcome, what was compensated) and its events.
 *
 * @since 0.1.0
 */
export const RunDetail = Schema.Struct({
  ...RunSummary.fields,
  input: Schema.Unknown,
  /** What started it (`trigger.*` in the workflow's expressions): `{ kind: "api" }`, a schedule's slot... */
  trigger: Schema.optional(Schema.Unknown),
  output: Schema.optional(Schema.Unknown),
  failure: Schema.optional(Schema.Unknown),
  compensated: Schema.optional(Schema.Array(Schema.Unknown)),
  remaining: Schema.optional(Schema.Array(Schema.Unknown)),
  failedItems: Schema.optional(Schema.Array(Schema.Unknown)),
  definition: Schema.optional(Schema.Struct({
    hash: Schema.String,
    source: Schema.optional(Schema.String),
    /** The definition's text as the run started with it (as stored: redacted). */
    text: Schema.optional(Schema.String),
    /** Its structure; absent when the text cannot be read as a YAML workflow. */
    graph: Schema.optional(WorkflowGraph)
  })),
  /** Started again from a step of another run: that run, the step, the steps reused. */
  restartOf: Schema.optional(Schema.Struct({ runId: Schema.String, from: Schema.String, reused: Schema.Array(Schema.String) })),
  /** Its restart, when it was restarted (a run is restarted once; restart that one in turn). */
  restartedAs: Schema.optional(Schema.String),
  events: Schema.Array(StoredEvent)
}).annotations({ identifier: "Run" })

/**
 * @since 0.1.0
 */
export type RunDetail = typeof RunDetail.Type

/**
 * What starting (or resuming) a run answers: the run, and whether this request started it or
 * found it started already (the same `Idempotency-Key`).
 *
 * @since 0.1.0
 */
export const RunAccepted = Schema.Struct({
  runId: Schema.String,
  workflow: Schema.String,
  status: RunStatus,
  /** True when the run existed already (a retried request with the same key). */
  replayed: Schema.Boolean,
  /** Where to read it, and its live events. */
  links: Schema.Struct({ run: Schema.String, events: Schema.String })
}).annotations({ identifier: "RunAccepted" })

/**
 * @since 0.1.0
 */
export type RunAccepted = typeof RunAccepted.Type

/**
 * The body of a start request.
 *
 * @since 0.1.0
 */
export const StartRequest = Schema.Struct({
  inputs: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })).annotations({
    description: "The workflow's inputs by name (see the workflow's inputs); defaults apply to those left out"
  })
}).annotations({ identifier: "StartRequest" })

const RunId = Schema.Struct({ id: Schema.String })

/**
 * The query of a run listing.
 *
 * @since 0.1.0
 */
export const RunQuery = Schema.Struct({
  status: Schema.optional(Schema.Array(RunStatus)).annotations({ description: "Only runs with one of these statuses (repeat the parameter)" }),
  workflow: Schema.optional(Schema.String).annotations({ description: "Only runs of this workflow" }),
  trigger: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(100))).annotations({
    description: "Only runs started this way: manual, api, schedule or a plugin's name (input.$trigger.kind; manual when none)"
  }),
  q: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))).annotations({
    description: "Only runs with an input or output value (a string or number, at any depth, not a key; $trigger left out) containing this text, in any case. Redacted values are not searchable"
  }),
  since: Schema.optional(Schema.DateTimeUtc).annotations({ description: "Only runs created at or after this ISO 8601 date-time" }),
  until: Schema.optional(Schema.DateTimeUtc).annotations({ description: "Only runs created before this ISO 8601 date-time" }),
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 500))).annotations({
    description: "At most this many runs (default 50, at most 500)"
  }),
  cursor: Schema.optional(Schema.String).annotations({ description: "The next cursor of the previous page" })
})

/**
 * The stream of a run's events (`text/event-stream`): one message per event, `id` its `seq`,
 * `event` its type, `data` the event as JSON; it ends when the run finishes or stops.
 *
 * @since 0.1.0
 */
export const EventStream = Schema.String.pipe(
  HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/event-stream" }),
  (schema) =>
    schema.annotations({
      identifier: "EventStream",
      description: "Server-sent events: id: <seq>, event: <type>, data: <the event as JSON>; ends when the run finishes"
    })
)

// -----------------------------------------------------------------------------
// The API
// -----------------------------------------------------------------------------

/**
 * The workflows the server runs, and starting a run of one.
 *
 * @since 0.1.0
 */
export class Workflows extends HttpApiGroup.make("workflows")
  .add(
    HttpApiEndpoint.get("list", "/workflows")
      .addSuccess(Schema.Struct({ workflows: Schema.Array(WorkflowInfo) }))
      .annotate(OpenApi.Summary, "The workflows served, with their inputs and triggers")
  )
  .add(
    HttpApiEndpoint.get("get", "/workflows/:name")
      .setPath(WorkflowName)
      .addSuccess(WorkflowInfo)
      .addError(NotFound)
      .annotate(OpenApi.Summary, "One workflow")
  )
  .add(
    HttpApiEndpoint.post("start", "/workflows/:name/runs")
      .setPath(WorkflowName)
      .setHeaders(Schema.Struct({
        "idempotency-key": Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256))).annotations({
          description: "A retried request with the same key (and the same body) returns the same run instead of starting another"
        })
      }))
      .setPayload(StartRequest)
      .addSuccess(RunAccepted, { status: 202 })
      .addError(NotFound)
      .addError(Conflict)
      .addError(Unprocessable)
      .annotate(OpenApi.Summary, "Start a run of a workflow with its inputs")
  )
  .middleware(Authorization)
  .prefix(prefix)
{}

/**
 * The run history, live events and resume.
 *
 * @since 0.1.0
 */
export class Runs extends HttpApiGroup.make("runs")
  .add(
    HttpApiEndpoint.get("list", "/runs")
      .setUrlParams(RunQuery)
      .addSuccess(RunPage)
      .annotate(OpenApi.Summary, "Runs, newest first, filtered and paged")
  )
  .add(
    HttpApiEndpoint.get("get", "/runs/:id")
      .setPath(RunId)
      .addSuccess(RunDetail)
      .addError(NotFound)
      .annotate(OpenApi.Summary, "One run with its events")
  )
  .add(
    HttpApiEndpoint.get("events", "/runs/:id/events")
      .setPath(RunId)
      .setHeaders(Schema.Struct({
        "last-event-id": Schema.optional(Schema.String).annotations({ description: "Resume after this event's seq" })
      }))
      .addSuccess(EventStream)
      .addError(NotFound)
      .annotate(OpenApi.Summary, "The run's events as server-sent events, live, until it finishes")
  )
  .add(
    HttpApiEndpoint.post("resume", "/runs/:id/resume")
      .setPath(RunId)
      .addSuccess(RunAccepted, { status: 202 })
      .addError(NotFound)
      .addError(Conflict)
      .annotate(OpenApi.Summary, "Resume an interrupted run with the definition it started with")
  )
  .add(
    HttpApiEndpoint.post("restart", "/runs/:id/restart")
      .setPath(RunId)
      .setPayload(Schema.Struct({
        from: Schema.String.pipe(Schema.minLength(1)).annotations({ description: "The step to execute from (its path, e.g. publish or contrats[3]/convention)" }),
        definition: Schema.optional(Schema.Literal("original", "served")).annotations({
          description: "original (default): the definition the run started with; served: the file this server serves now (a corrected one)"
        })
      }))
      .addSuccess(RunAccepted, { status: 202 })
      .addError(NotFound)
      .addError(Conflict)
      .annotate(OpenApi.Summary, "Start a new run from a step of an ended one, reusing the steps before it")
  )
  .add(
    HttpApiEndpoint.post("cancel", "/runs/:id/cancel")
      .setPath(RunId)
      .setUrlParams(Schema.Struct({
        compensate: Schema.optional(Schema.Literal("true", "false")).annotations({
          description: "false: leave what the run did as it is (default true: undo it)"
        })
      }))
      .addSuccess(RunAccepted, { status: 202 })
      .addError(NotFound)
      .addError(Conflict)
      .annotate(OpenApi.Summary, "Cancel a run wherever it executes: no step starts any more, what it did is undone, it ends cancelled")
  )
  .middleware(Authorization)
  .prefix(prefix)
{}

/**
 * Probes, and this description.
 *
 * @since 0.1.0
 */
export class System extends HttpApiGroup.make("system")
  .add(
    HttpApiEndpoint.get("health", "/health")
      .addSuccess(Schema.Struct({ status: Schema.Literal("up") }))
      .annotate(OpenApi.Summary, "The process is up")
  )
  .add(
    HttpApiEndpoint.get("ready", "/ready")
      .addSuccess(Schema.Struct({ status: Schema.Literal("ready"), workflows: Schema.Number }))
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "The store is reachable, the workflows are loaded and the engine has started")
  )
{}

/**
 * The OpenAPI document of this API (needs the `read` scope when tokens are configured).
 *
 * @since 0.1.0
 */
export class Document extends HttpApiGroup.make("document")
  .add(
    HttpApiEndpoint.get("openapi", "/openapi.json")
      .addSuccess(Schema.Unknown)
      .annotate(OpenApi.Summary, "This API's OpenAPI 3.1 document")
  )
  .middleware(Authorization)
{}

/**
 * A plugin whose webhook the server receives (`serve.webhooks`).
 *
 * @since 0.1.0
 */
export const HookPlugin = Schema.Struct({ plugin: Schema.String.annotations({ description: "The plugin whose webhook it is" }) })

/**
 * An OAuth 2 error (RFC 6749 §5.2), what a token request is answered when refused.
 *
 * @since 0.1.0
 */
export const OAuthError = (status: 400 | 401) =>
  Schema.Struct({ error: Schema.String, error_description: Schema.String }).annotations(
    HttpApiSchema.annotations({ status, identifier: `OAuthError${status}`, description: "An OAuth 2 error (RFC 6749 5.2)" })
  )

/**
 * Webhooks: plugins' triggers fired over HTTP. The sender gets a short-lived token with the
 * OAuth client credentials of `serve.webhooks.<plugin>` (RFC 6749 4.4), then posts each message
 * with it. A message is recorded before it is answered 2xx (202, or 200 for a resend).
 *
 * @since 0.1.0
 */
export class Hooks extends HttpApiGroup.make("hooks")
  .add(
    HttpApiEndpoint.post("token", "/hooks/:plugin/token")
      .setPath(HookPlugin)
      .setPayload(
        Schema.Struct({
          grant_type: Schema.Literal("client_credentials"),
          client_id: Schema.optional(Schema.String),
          client_secret: Schema.optional(Schema.String)
        }).pipe(HttpApiSchema.withEncoding({ kind: "UrlParams" }))
      )
      .addSuccess(Schema.Struct({ access_token: Schema.String, token_type: Schema.Literal("Bearer"), expires_in: Schema.Number }))
      .addError(OAuthError(400))
      .addError(OAuthError(401))
      .addError(NotFound)
      .annotate(OpenApi.Summary, "An access token for a webhook's sender (client credentials in HTTP Basic, or in the form)")
  )
  .add(
    HttpApiEndpoint.post("receive", "/hooks/:plugin")
      .setPath(HookPlugin)
      .setPayload(Schema.Unknown.annotations({ description: "The plugin's message, as its sender posts it" }))
      .addSuccess(Schema.Struct({ id: Schema.String, duplicate: Schema.Boolean }), { status: 202 })
      .addError(BadRequest)
      .addError(Unauthorized)
      .addError(Forbidden)
      .addError(NotFound)
      .addError(PayloadTooLarge)
      .addError(Unprocessable)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "A webhook message (Authorization: Bearer <token>): recorded, then runs start after the debounce")
  )
{}

/**
 * A webhook message as recorded: pending (its debounce), dispatched (the runs it started),
 * superseded (a newer one about the same subject came), unmatched (no served workflow wants it).
 *
 * @since 0.1.0
 */
export const WebhookMessage = Schema.Struct({
  id: Schema.String,
  plugin: Schema.String,
  subject: Schema.String,
  receivedAt: Schema.String,
  status: Schema.Literal("pending", "dispatched", "superseded", "unmatched"),
  duplicates: Schema.Number.annotations({ description: "Resends of it, recorded once" }),
  runs: Schema.Array(Schema.String),
  event: Schema.Unknown,
  detail: Schema.optional(Schema.String)
}).annotations({ identifier: "WebhookMessage" })

/**
 * A webhook request refused, as recorded.
 *
 * @since 0.1.0
 */
export const WebhookRejection = Schema.Struct({
  plugin: Schema.String,
  receivedAt: Schema.String,
  status: Schema.Number,
  reason: Schema.String
}).annotations({ identifier: "WebhookRejection" })

/**
 * What the webhooks received: messages and refusals, newest first.
 *
 * @since 0.1.0
 */
export class Webhooks extends HttpApiGroup.make("webhooks")
  .add(
    HttpApiEndpoint.get("messages", "/webhooks/messages")
      .setUrlParams(Schema.Struct({ limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1000))) }))
      .addSuccess(Schema.Struct({ messages: Schema.Array(WebhookMessage) }))
      .annotate(OpenApi.Summary, "Webhook messages received, newest first")
  )
  .add(
    HttpApiEndpoint.get("rejections", "/webhooks/rejections")
      .setUrlParams(Schema.Struct({ limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1000))) }))
      .addSuccess(Schema.Struct({ rejections: Schema.Array(WebhookRejection) }))
      .annotate(OpenApi.Summary, "Webhook requests refused, with their reasons, newest first")
  )
  .middleware(Authorization)
  .prefix(prefix)
{}

/**
 * The whole API.
 *
 * @since 0.1.0
 */
export class Api extends HttpApi.make("relais")
  .add(Workflows)
  .add(Runs)
  .add(System)
  .add(Webhooks)
  .add(Hooks)
  .add(Document)
  .addError(BadRequest)
  .addError(PayloadTooLarge)
  .addError(UnsupportedMediaType)
  .addError(Unavailable)
  .annotate(OpenApi.Title, "relais")
  .annotate(OpenApi.Description, "Start and follow the runs of the workflows a relais server runs")
{}

/**
 * The OpenAPI document, derived from `Api`.
 *
 * @since 0.1.0
 */
export const openApi = (version: string): OpenApi.OpenAPISpec => ({
  ...OpenApi.fromApi(Api),
  info: { ...OpenApi.fromApi(Api).info, version }
})
