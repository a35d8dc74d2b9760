/**
 * Webhooks: the firings of plugins' triggers received over HTTP by `relais serve`.
 *
 * A plugin that declares `trigger.webhook` reads and checks one message (`receive`); the server
 * does the rest, the same for every plugin:
 *
 * - **Authentication**: OAuth 2 client credentials (RFC 6749 §4.4). The sender (the vendor's system) asks
 *   `POST /hooks/<plugin>/token` for a token with the client id and secret of the server's
 *   configuration, then sends it with each message. Tokens are short-lived and stateless: an
 *   HMAC over the plugin and the expiry, keyed from the client secret, so any worker of a
 *   cluster accepts a token another issued, and none is stored.
 * - **A durable record before answering 2xx**: each accepted message is a row of
 *   `relais_webhook_messages` (key: the plugin's `messageKey`), written before the answer; a
 *   resend finds its row (counted as a duplicate, nothing more). A refused message is a row of
 *   `relais_webhook_rejections` with its status and reason, for the operator; nothing starts.
 * - **Debouncing**: a message waits `debounce` before it starts anything; a newer message about
 *   the same subject (`ObjectType:ObjectId`) within that time supersedes it, so a burst of
 *   changes to one object starts one run, with the last message.
 * - **Dispatching**: a due message starts every served workflow whose trigger of this plugin
 *   `matches` it, through the server's one `Start` function, with the message as `trigger.*`.
 *   The run id comes from the message and the workflow, so two workers dispatching the same row
 *   start one run; the row then says which runs it started.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { type Plugin, RunStore } from "@relais/core"
import { Clock, Duration, Effect, Either, Option, Redacted, Schema } from "effect"
import * as Crypto from "node:crypto"
import type * as Load from "../yaml/Load.js"
import * as Api from "./Api.js"
import type * as Start from "./Start.js"
import type * as Workflows from "./Workflows.js"

/**
 * A webhook the server receives: a plugin's, with the OAuth client the sender uses.
 *
 * @since 0.1.0
 */
export interface Hook {
  readonly plugin: Plugin.Plugin
  readonly webhook: Plugin.Webhook
  /** The OAuth client the sender authenticates as (`auth: oauth-client-credentials`). */
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
  /** The plugin's settings, decoded with its `webhook.settings`. */
  readonly settings: unknown
  /** How long a message waits for a newer one about the same subject. */
  readonly debounce: Duration.Duration
  /** How long a token lives. */
  readonly tokenLifetime: Duration.Duration
}

/**
 * What the server answers a webhook request: a status and a JSON body (a problem for 4xx).
 *
 * @since 0.1.0
 */
export interface Answer {
  readonly status: number
  readonly body: unknown
  readonly headers?: Readonly<Record<string, string>> | undefined
}

// -----------------------------------------------------------------------------
// Tokens
// -----------------------------------------------------------------------------

const keyOf = (hook: Hook) =>
  Crypto.createHmac("sha256", Redacted.value(hook.clientSecret)).update(`relais webhook token ${hook.plugin.name}`).digest()

/** A token: `<plugin>.<expiry in seconds>.<HMAC>`, nothing secret in it but the MAC. */
const issue = (hook: Hook, nowMillis: number): { readonly token: string; readonly expiresIn: number } => {
  const expiresIn = Math.max(1, Math.round(Duration.toSeconds(hook.tokenLifetime)))
  const expiry = Math.floor(nowMillis / 1000) + expiresIn
  const payload = `${hook.plugin.name}.${expiry}`
  const mac = Crypto.createHmac("sha256", keyOf(hook)).update(payload).digest("base64url")
  return { token: `${payload}.${mac}`, expiresIn }
}

/** Whether a presented token is one this server issued for this plugin, and still valid. */
const tokenState = (hook: Hook, token: string, nowMillis: number): "valid" | "expired" | "invalid" => {
  const parts = token.split(".")
  if (parts.length !== 3 || parts[0] !== hook.plugin.name || !/^\d+$/.test(parts[1]!)) return "invalid"
  const expected = Crypto.createHmac("sha256", keyOf(hook)).update(`${parts[0]}.${parts[1]}`).digest()
  const given = Buffer.from(parts[2]!, "base64url")
  if (given.length !== expected.length || !Crypto.timingSafeEqual(given, expected)) return "invalid"
  return Number(parts[1]) * 1000 > nowMillis ? "valid" : "expired"
}

const sameText = (a: string, b: string): boolean => {
  const x = Crypto.createHash("sha256").update(a).digest()
  const y = Crypto.createHash("sha256").update(b).digest()
  return Crypto.timingSafeEqual(x, y)
}

/** The client credentials of a token request: HTTP Basic, or the form's client_id/client_secret. */
const credentialsOf = (
  authorization: string | undefined,
  form: URLSearchParams
): { readonly id: string; readonly secret: string } | undefined => {
  const basic = /^Basic\s+(.+)$/i.exec(authorization ?? "")
  if (basic !== null) {
    const decoded = Buffer.from(basic[1]!, "base64").toString("utf8")
    const colon = decoded.indexOf(":")
    if (colon < 0) return undefined
    // RFC 6749 §2.3.1: both are form-encoded before they are joined.
    const decode = (text: string) => {
      try {
        return decodeURIComponent(text.replace(/\+/g, " "))
      } catch {
        return text
      }
    }
    return { id: decode(decoded.slice(0, colon)), secret: decode(decoded.slice(colon + 1)) }
  }
  const id = form.get("client_id")
  const secret = form.get("client_secret")
  return id !== null && secret !== null ? { id, secret } : undefined
}

const oauthError = (status: number, error: string, description: string, headers?: Record<string, string>): Answer => ({
  status,
  body: { error, error_description: description },
  headers: { "cache-control": "no-store", ...headers }
})

// -----------------------------------------------------------------------------
// Storage
// -----------------------------------------------------------------------------

/**
 * The webhook tables, on SQLite or PostgreSQL.
 *
 * @since 0.1.0
 */
export const migrate: Effect.Effect<void, SqlError, SqlClient.SqlClient> = RunStore.withSchemaLock(
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.all([
      sql`CREATE TABLE IF NOT EXISTS relais_webhook_messages (
        id TEXT PRIMARY KEY,
        plugin TEXT NOT NULL,
        message_key TEXT NOT NULL,
        subject TEXT NOT NULL,
        event TEXT NOT NULL,
        received_at BIGINT NOT NULL,
        due_at BIGINT NOT NULL,
        status TEXT NOT NULL,
        duplicates INTEGER NOT NULL DEFAULT 0,
        runs TEXT,
        detail TEXT
      )`,
      sql`CREATE INDEX IF NOT EXISTS relais_webhook_messages_due ON relais_webhook_messages (status, due_at)`,
      sql`CREATE INDEX IF NOT EXISTS relais_webhook_messages_subject ON relais_webhook_messages (plugin, subject, received_at)`,
      sql`CREATE TABLE IF NOT EXISTS relais_webhook_rejections (
        id TEXT PRIMARY KEY,
        plugin TEXT NOT NULL,
        received_at BIGINT NOT NULL,
        status INTEGER NOT NULL,
        reason TEXT NOT NULL,
        body TEXT
      )`
    ], { discard: true })
  )
)

/**
 * A message as the server recorded it.
 *
 * @since 0.1.0
 */
export interface Recorded {
  readonly id: string
  readonly plugin: string
  readonly messageKey: string
  readonly subject: string
  readonly event: unknown
  readonly receivedAt: number
  /** pending (waiting its debounce), dispatched (runs started), superseded, unmatched. */
  readonly status: "pending" | "dispatched" | "superseded" | "unmatched"
  readonly duplicates: number
  readonly runs: ReadonlyArray<string>
  readonly detail?: string | undefined
}

/**
 * A refused request, as recorded.
 *
 * @since 0.1.0
 */
export interface Rejection {
  readonly plugin: string
  readonly receivedAt: number
  readonly status: number
  readonly reason: string
  /** The start of the body (at most 2 KiB). */
  readonly body?: string | undefined
}

interface MessageRow {
  readonly id: string
  readonly plugin: string
  readonly message_key: string
  readonly subject: string
  readonly event: string
  readonly received_at: number | string
  readonly status: string
  readonly duplicates: number | string
  readonly runs: string | null
  readonly detail: string | null
}

const fromRow = (row: MessageRow): Recorded => ({
  id: row.id,
  plugin: row.plugin,
  messageKey: row.message_key,
  subject: row.subject,
  event: JSON.parse(row.event) as unknown,
  receivedAt: Number(row.received_at),
  status: row.status as Recorded["status"],
  duplicates: Number(row.duplicates),
  runs: row.runs === null ? [] : JSON.parse(row.runs) as Array<string>,
  ...(row.detail !== null ? { detail: row.detail } : {})
})

/**
 * The messages recorded, newest first.
 *
 * @since 0.1.0
 */
export const messages = (limit = 100): Effect.Effect<ReadonlyArray<Recorded>, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<MessageRow>`SELECT id, plugin, message_key, subject, event, received_at, status, duplicates, runs, detail
      FROM relais_webhook_messages ORDER BY received_at DESC, id DESC LIMIT ${limit}`).pipe(Effect.map((rows) => rows.map(fromRow)))

/**
 * The refused requests recorded, newest first.
 *
 * @since 0.1.0
 */
export const rejections = (limit = 100): Effect.Effect<ReadonlyArray<Rejection>, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ plugin: string; received_at: number | string; status: number | string; reason: string; body: string | null }>`
      SELECT plugin, received_at, status, reason, body FROM relais_webhook_rejections
      ORDER BY received_at DESC, id DESC LIMIT ${limit}`).pipe(
      Effect.map((rows) =>
        rows.map((row) => ({
          plugin: row.plugin,
          receivedAt: Number(row.received_at),
          status: Number(row.status),
          reason: row.reason,
          ...(row.body !== null ? { body: row.body } : {})
        }))
      )
    )

// -----------------------------------------------------------------------------
// Receiving
// -----------------------------------------------------------------------------

/**
 * The intake of a server's webhooks.
 *
 * @since 0.1.0
 */
export interface Intake {
  /** The plugins whose webhooks are received (their routes exist). */
  readonly plugins: ReadonlyArray<string>
  /** `POST /hooks/<plugin>/token`: an access token for the configured client. */
  readonly token: (plugin: string, request: { readonly authorization?: string | undefined; readonly body: string }) => Effect.Effect<Answer>
  /** `POST /hooks/<plugin>`: a message, recorded before the answer. */
  readonly receive: (plugin: string, request: { readonly authorization?: string | undefined; readonly body: string }) => Effect.Effect<Answer>
  /** Start the runs of the messages that are due (every worker calls it; see `dispatchLoop`). */
  readonly dispatch: Effect.Effect<number, SqlError>
  /** Record a request refused before it reached `receive` (a body over the size cap). */
  readonly refused: (plugin: string, status: number, reason: string) => Effect.Effect<void>
}

const problem = (status: Api.ProblemStatus, detail: string, headers?: Record<string, string>): Answer => ({
  status,
  body: Api.problem(status, detail),
  headers: { "content-type": "application/problem+json", ...headers }
})

/** A run id for a message and a workflow: the same on every worker ([A-Za-z0-9._:-], short). */
export const runIdOf = (plugin: string, messageId: string, workflow: string): string => {
  const digest = Crypto.createHash("sha256").update(`${messageId}\n${workflow}`).digest("hex").slice(0, 20)
  const name = workflow.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 40)
  return `hook.${plugin}.${name}.${digest}`
}

/** The served workflows that declare a trigger of this plugin, with their options. */
const subscribers = (catalog: Workflows.Catalog, plugin: string) => {
  const found: Array<{ readonly loaded: Load.LoadedWorkflow; readonly options: ReadonlyArray<unknown> }> = []
  for (const loaded of catalog.workflows.values()) {
    const options = loaded.triggers.flatMap((t) => (t._tag === "Plugin" && t.plugin === plugin ? [t.options] : []))
    if (options.length > 0) found.push({ loaded, options })
  }
  return found
}

/**
 * Build the intake over the server's catalog, its `Start` and the store's `SqlClient` (the
 * tables are created here).
 *
 * @since 0.1.0
 */
export const make = (options: {
  readonly hooks: ReadonlyArray<Hook>
  readonly catalog: Workflows.Catalog
  readonly start: Start.Start
  readonly log: (text: string) => Effect.Effect<void>
}): Effect.Effect<Intake, SqlError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* migrate
    const byPlugin = new Map(options.hooks.map((hook) => [hook.plugin.name, hook]))

    const refused = (plugin: string, status: number, reason: string, body?: string) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const id = `${now}.${Crypto.randomBytes(6).toString("hex")}`
        const start = body === undefined ? null : body.slice(0, 2048)
        yield* sql`INSERT INTO relais_webhook_rejections (id, plugin, received_at, status, reason, body)
          VALUES (${id}, ${plugin}, ${now}, ${status}, ${reason}, ${start})`
        yield* options.log(`webhook ${plugin}: refused (${status}): ${reason}`)
      }).pipe(Effect.catchAll((error) => options.log(`webhook ${plugin}: a refusal could not be recorded: ${error.message}`)))

    // A request for a plugin this server does not receive (a sender's wrong URL): refused and
    // recorded too, so that the operator sees it.
    const unknownPlugin = (plugin: string, body?: string) =>
      Effect.as(
        refused(plugin.slice(0, 100), 404, `no webhook "${plugin.slice(0, 100)}" here`, body),
        problem(404, `no webhook "${plugin}" here${byPlugin.size > 0 ? `; this server receives ${[...byPlugin.keys()].join(", ")}` : ""}`)
      )

    const token: Intake["token"] = (plugin, request) =>
      Effect.gen(function*() {
        const hook = byPlugin.get(plugin)
        if (hook === undefined) return yield* unknownPlugin(plugin)
        const form = new URLSearchParams(request.body)
        if (form.get("grant_type") !== "client_credentials") {
          yield* refused(plugin, 400, "token request without grant_type=client_credentials")
          return oauthError(400, "unsupported_grant_type", "only grant_type=client_credentials is supported")
        }
        const credentials = credentialsOf(request.authorization, form)
        if (
          credentials === undefined || !sameText(credentials.id, hook.clientId) ||
          !sameText(credentials.secret, Redacted.value(hook.clientSecret))
        ) {
          yield* refused(plugin, 401, "token request with an unknown client or a wrong secret")
          return oauthError(401, "invalid_client", "unknown client or wrong secret", { "www-authenticate": `Basic realm="relais"` })
        }
        const issued = issue(hook, yield* Clock.currentTimeMillis)
        return { status: 200, body: { access_token: issued.token, token_type: "Bearer", expires_in: issued.expiresIn }, headers: { "cache-control": "no-store" } }
      })

    const receive: Intake["receive"] = (plugin, request) =>
      Effect.gen(function*() {
        const hook = byPlugin.get(plugin)
        if (hook === undefined) return yield* unknownPlugin(plugin, request.body)
        const now = yield* Clock.currentTimeMillis
        if (hook.webhook.auth === "oauth-client-credentials") {
          const bearer = /^Bearer\s+(\S+)$/i.exec(request.authorization ?? "")
          const state = bearer === null ? "missing" : tokenState(hook, bearer[1]!, now)
          if (state !== "valid") {
            const reason = state === "missing"
              ? "no access token (Authorization: Bearer <token> from POST /hooks/" + plugin + "/token)"
              : state === "expired"
              ? "the access token has expired; ask for a new one"
              : "the access token is not one this server issued"
            yield* refused(plugin, 401, reason, request.body)
            return problem(401, reason, { "www-authenticate": `Bearer realm="relais", error="invalid_token"` })
          }
        }
        const received = hook.webhook.receive(request.body, hook.settings)
        if (Either.isLeft(received)) {
          yield* refused(plugin, received.left.status, received.left.reason, request.body)
          return problem(received.left.status, received.left.reason)
        }
        const message = received.right
        const event = yield* Schema.encodeUnknown(hook.plugin.trigger!.event)(message.event).pipe(Effect.orDie)
        const id = `${plugin}:${message.messageKey}`
        const due = now + Duration.toMillis(hook.debounce)
        const inserted = yield* sql<{ id: string }>`INSERT INTO relais_webhook_messages
            (id, plugin, message_key, subject, event, received_at, due_at, status, duplicates)
          VALUES (${id}, ${plugin}, ${message.messageKey}, ${message.subject}, ${JSON.stringify(event)}, ${now}, ${due}, 'pending', 0)
          ON CONFLICT (id) DO NOTHING RETURNING id`.pipe(Effect.either)
        if (Either.isLeft(inserted)) {
          yield* options.log(`webhook ${plugin}: a message could not be recorded: ${inserted.left.message}`)
          // Not recorded: not accepted. The sender sends it again later.
          return problem(503, "the message could not be recorded; send it again later")
        }
        if (inserted.right.length === 0) {
          yield* sql`UPDATE relais_webhook_messages SET duplicates = duplicates + 1 WHERE id = ${id}`.pipe(Effect.ignore)
          return { status: 200, body: { id, duplicate: true } }
        }
        return { status: 202, body: { id, duplicate: false } }
      })

    const dispatchOne = (row: MessageRow & { readonly superseded: unknown }) =>
      Effect.gen(function*() {
        const claim = (status: Recorded["status"], runs: ReadonlyArray<string>, detail?: string) =>
          sql`UPDATE relais_webhook_messages SET status = ${status}, runs = ${runs.length > 0 ? JSON.stringify(runs) : null},
            detail = ${detail ?? null} WHERE id = ${row.id} AND status = 'pending'`
        if (row.superseded === true || row.superseded === 1 || row.superseded === "1") {
          return yield* claim("superseded", [])
        }
        const hook = byPlugin.get(row.plugin)
        const kind = hook?.plugin.trigger
        if (hook === undefined || kind === undefined) return
        const encoded = JSON.parse(row.event) as unknown
        const event = Schema.decodeUnknownOption(kind.event)(encoded)
        if (Option.isNone(event)) return yield* claim("unmatched", [], "its event no longer reads as this plugin's")
        const matching = subscribers(options.catalog, row.plugin).filter((s) => s.options.some((o) => kind.matches(o, event.value)))
        if (matching.length === 0) return yield* claim("unmatched", [], "no served workflow's trigger matches it")
        const runs: Array<string> = []
        const failures: Array<string> = []
        for (const { loaded } of matching) {
          const runId = runIdOf(row.plugin, row.id, loaded.name)
          const started = yield* options.start({
            workflow: loaded.name,
            inputs: {},
            runId,
            trigger: { kind: row.plugin, by: row.message_key, data: encoded as Record<string, unknown> }
          }).pipe(Effect.either)
          if (Either.isRight(started)) runs.push(started.right.runId)
          else failures.push(`${loaded.name}: ${started.left.message}`)
        }
        if (failures.length > 0) {
          yield* options.log(`webhook ${row.plugin}: message ${row.id}: ${failures.join("; ")}`)
          // A store failure is tried again at the next round; a refusal (inputs) is final.
          if (runs.length === 0 && failures.every((f) => f.includes("the run store failed"))) return
        }
        yield* claim("dispatched", runs, failures.length > 0 ? failures.join("; ") : undefined)
      })

    const dispatch: Intake["dispatch"] = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const due = yield* sql<MessageRow & { readonly superseded: unknown }>`SELECT m.id, m.plugin, m.message_key, m.subject, m.event,
          m.received_at, m.status, m.duplicates, m.runs, m.detail,
          EXISTS (SELECT 1 FROM relais_webhook_messages n WHERE n.plugin = m.plugin AND n.subject = m.subject
            AND (n.received_at > m.received_at OR (n.received_at = m.received_at AND n.id > m.id))) AS superseded
        FROM relais_webhook_messages m WHERE m.status = 'pending' AND m.due_at <= ${now}
        ORDER BY m.received_at, m.id LIMIT 200`
      for (const row of due) yield* dispatchOne(row)
      return due.length
    })

    return {
      plugins: [...byPlugin.keys()],
      token,
      receive,
      dispatch,
      refused: (plugin, status, reason) => refused(plugin.slice(0, 100), status, reason)
    } satisfies Intake
  })

/**
 * Dispatch due messages for as long as the server runs: every `interval`, at once after a full
 * page. A failed round is logged and tried again.
 *
 * @since 0.1.0
 */
export const dispatchLoop = (
  intake: Intake,
  options: { readonly interval: Duration.DurationInput; readonly log: (text: string) => Effect.Effect<void> }
): Effect.Effect<never, never, SqlClient.SqlClient> =>
  Effect.zipRight(
    // Retention, once an hour on every worker (deletes are idempotent).
    retention.pipe(
      Effect.catchAll((error) => options.log(`webhooks: old records could not be removed: ${error.message}`)),
      Effect.zipRight(Effect.sleep(Duration.hours(1))),
      Effect.forever,
      Effect.forkScoped
    ),
    intake.dispatch.pipe(
      Effect.catchAll((error) => Effect.as(options.log(`webhooks: dispatching failed, trying again: ${error.message}`), 0)),
      // A full page: more may be due at once.
      Effect.flatMap((count) => count >= 200 ? Effect.void : Effect.sleep(options.interval)),
      Effect.forever
    )
  ).pipe(Effect.scoped)

/**
 * How long handled messages and refusals are kept: 30 days. A resend is recognised as long as
 * its message is kept. Refusals are also capped at the newest 10,000 (they can be sent without
 * a token).
 *
 * @since 0.1.0
 */
export const retentionDays = 30

const retention: Effect.Effect<void, SqlError, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const before = (yield* Clock.currentTimeMillis) - retentionDays * 86_400_000
  yield* sql`DELETE FROM relais_webhook_messages WHERE status <> 'pending' AND received_at < ${before}`
  yield* sql`DELETE FROM relais_webhook_rejections WHERE received_at < ${before}`
  yield* sql`DELETE FROM relais_webhook_rejections WHERE id NOT IN (
    SELECT id FROM relais_webhook_rejections ORDER BY received_at DESC, id DESC LIMIT 10000)`
})
