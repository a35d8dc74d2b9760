/**
 * The AIMAIRA webhook loop end to end, every piece a child process: the AIMAIRA sandbox
 * (`relais sandbox --json --plugin aimaira`) configured to send its webhooks to `relais serve`
 * (OAuth client credentials against the server's token route), the server recording each
 * message, debouncing, and starting the workflows whose `aimaira:` trigger matches, whose step
 * `aimaira/get-object` reads the object back from the sandbox.
 *
 * - a change made through the sandbox's API: one run, its output right, the message dispatched
 *   with that run id, the run's trigger `{ kind: aimaira, ... }`;
 * - a burst about one object (a create and two updates): one run, with the last message;
 * - a resend: `200 duplicate: true`, counted, no second run;
 * - every refusal a 4xx with a problem (or OAuth) body, recorded, nothing started;
 * - 1,000 messages (500 objects, each sent twice) at 50 at a time: all answered 2xx, 500 rows
 *   with one duplicate each, 500 runs;
 * - the client secret (a canary) nowhere in the server's output, answers or store;
 * - the same loop on the embedded PostgreSQL, `relais serve` beside a `relais worker`.
 *
 * Everything waits on events (a line on stderr, an API answer polled), never on a fixed sleep.
 */
import { Webhook } from "@relais/aimaira"
import { Postgres } from "@relais/testing"
import { type ChildProcess } from "node:child_process"
import * as Crypto from "node:crypto"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { spawnChild, stackTrace, storeBytes, tmpDir, waitForStdout, writeFile } from "./harness/Cli.js"
import { type Answer, call, isProblem, kill, pool, type Served, serve } from "./harness/Serve.js"

const LIMIT = 400_000
const SECRET = "canary-hook-secret-4b1d9e7c"
const CLIENT_ID = "aimaira-sandbox"
const CUSTOMER = "ECOLE-TEST"
const DEBOUNCE_MS = 1000

/** A change to a Mail: read it back from AIMAIRA. */
const mailWorkflow = `version: 1
name: mail-changed
description: A Mail changed in AIMAIRA; read what happened to it
triggers:
  - aimaira: { objectTypes: [core.T_MAIL] }
steps:
  - id: object
    uses: aimaira/get-object
    with: { id: "\${{ trigger.ObjectId ?? 0 }}" }
outputs:
  id: \${{ trigger.ObjectId }}
  type: \${{ steps.object.output.type }}
  change: \${{ steps.object.output.change }}
  date: \${{ trigger.Date }}
`

/** A candidate noted (no call out): the runs of the burst. */
const candidateWorkflow = `version: 1
name: candidate-noted
description: A candidate changed in AIMAIRA
triggers:
  - aimaira: { objectTypes: [recrutement.T_CANDIDAT] }
steps:
  - id: note
    uses: core/set
    with:
      id: \${{ trigger.ObjectId }}
outputs:
  id: \${{ steps.note.output.id }}
`

const config = (bodyLimit: string) => `serve:
  bodyLimit: ${bodyLimit}
  webhooks:
    aimaira:
      clientId: ${CLIENT_ID}
      clientSecret: { env: RELAIS_TEST_HOOK_SECRET }
      settings: { customerName: ${CUSTOMER} }
      debounce: ${DEBOUNCE_MS}ms
`

interface SandboxInfo {
  readonly plugin: string
  readonly url: string
  readonly env: Record<string, string>
}

/** The answers the tests got from a server (polls aside), to look for the secret in. */
const answers: Array<string> = []
const record = (answer: Answer): Answer => {
  answers.push(answer.text, JSON.stringify([...answer.headers]))
  return answer
}

/** A promise, or a failure naming what did not answer within `ms`. */
const within = <A>(what: string, promise: Promise<A>, ms = 60_000): Promise<A> => {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

/** Poll `check` until it gives a value (not undefined), at most `timeoutMs`. */
const until = async <A>(what: string, check: () => Promise<A | undefined>, timeoutMs = 120_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await within(what, check())
      if (value !== undefined) return value
    } catch (error) {
      last = error
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last !== undefined ? ` (${String(last)})` : ""}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`

/** A token from the server's token route, as the sandbox asks for it. */
const tokenOf = async (url: string, secret = SECRET): Promise<Answer> =>
  record(
    await call(`${url}/hooks/aimaira/token`, {
      raw: "grant_type=client_credentials",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(CLIENT_ID, secret) }
    })
  )

/** A message with its right hash, as AIMAIRA sends it. */
const message = (fields: { readonly ObjectId: number; readonly ObjectType: string; readonly CustomerName?: string; readonly Date?: string }) =>
  Webhook.sign({
    CustomerName: fields.CustomerName ?? CUSTOMER,
    Date: fields.Date ?? "2026-03-02T10:15:00.1234567+01:00",
    ObjectId: fields.ObjectId,
    ObjectType: fields.ObjectType,
    TriggerName: "tests"
  })

const post = async (url: string, token: string | undefined, body: string, headers: Record<string, string> = {}) =>
  record(
    await within(
      `POST ${url}/hooks/aimaira`,
      call(`${url}/hooks/aimaira`, {
        raw: body,
        headers: { "content-type": "application/json", ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}), ...headers }
      })
    )
  )

interface Message {
  readonly id: string
  readonly subject: string
  readonly status: string
  readonly duplicates: number
  readonly runs: ReadonlyArray<string>
  readonly event: { readonly ObjectId: number; readonly Date: string; readonly ObjectType: string }
}

const messagesOf = async (url: string): Promise<ReadonlyArray<Message>> =>
  (await call(`${url}/api/v1/webhooks/messages?limit=1000`)).json.messages

const rejectionsOf = async (url: string): Promise<ReadonlyArray<{ plugin: string; status: number; reason: string }>> =>
  (await call(`${url}/api/v1/webhooks/rejections?limit=1000`)).json.rejections

/** Every run of the store, through the API's pages. */
const allRuns = async (url: string): Promise<ReadonlyArray<{ id: string; workflow: string; status: string }>> => {
  const runs: Array<{ id: string; workflow: string; status: string }> = []
  let cursor: string | undefined
  do {
    const page = (await call(`${url}/api/v1/runs?limit=200${cursor !== undefined ? `&cursor=${cursor}` : ""}`))
    runs.push(...page.json.runs)
    cursor = page.json.next
  } while (cursor !== undefined)
  return runs
}

/** The messages about one object, once none is pending. */
const settled = (url: string, subject: string, count: number) =>
  until(`${count} messages about ${subject}, none pending`, async () => {
    const about = (await messagesOf(url)).filter((m) => m.subject === subject)
    return about.length >= count && about.every((m) => m.status !== "pending") ? about : undefined
  })

const runOf = (url: string, id: string) =>
  until(`run ${id} finished`, async () => {
    const run = await call(`${url}/api/v1/runs/${id}`)
    return run.status === 200 && ["succeeded", "failed", "cancelled"].includes(run.json.status) ? run.json : undefined
  })

/** The sandbox's webhook document: one webhook to a server. */
const webhookDocument = (server: string, secret = SECRET) => ({
  customerName: CUSTOMER,
  retry: { maxAttempts: 20, initialDelayMs: 200, maxDelayMs: 2000, timeoutMs: 10_000 },
  webhooks: [{
    Code: "WH_RELAIS",
    Nom: "relais",
    Url: `${server}/hooks/aimaira`,
    Entites: ["core.T_MAIL"],
    AuthType: 2,
    AuthClientId: CLIENT_ID,
    AuthClientSecret: secret,
    AuthTokenEndpoint: `${server}/hooks/aimaira/token`
  }]
})

/** The sandbox's deliveries of its webhooks about one object. */
const deliveriesOf = async (objectId: number): Promise<ReadonlyArray<any>> => {
  const document = (await (await fetch(`${sandbox.url}/__sandbox/webhooks`)).json()) as { deliveries: ReadonlyArray<any> }
  return document.deliveries.filter((d) => d.message.ObjectId === objectId)
}

const sandboxCall = async (sandbox: SandboxInfo, method: string, path: string, body?: unknown) => {
  const response = await fetch(`${sandbox.env.AIMAIRA_URL}${path}`, {
    method,
    headers: { authorization: basic(sandbox.env.AIMAIRA_USERNAME!, sandbox.env.AIMAIRA_PASSWORD!), "content-type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {})
  })
  expect(response.status, `${method} ${path}`).toBeLessThan(300)
  return response.json() as Promise<any>
}

let sandboxProc: ChildProcess | undefined
let sandbox: SandboxInfo
let server: Served | undefined
let dir: string

beforeAll(async () => {
  dir = tmpDir("relais-serve-hooks-")
  writeFile(dir, "workflows/mail.yaml", mailWorkflow)
  writeFile(dir, "workflows/candidate.yaml", candidateWorkflow)
  writeFile(dir, "relais.config.yaml", config("16KiB"))
  sandboxProc = spawnChild(["sandbox", "--json", "--plugin", "aimaira"], { cwd: dir })
  const [line] = await waitForStdout(sandboxProc, /\{"type":"sandbox".*\}\n/, LIMIT)
  sandbox = (JSON.parse(line) as { sandboxes: ReadonlyArray<SandboxInfo> }).sandboxes.find((s) => s.plugin === "aimaira")!
  server = await serve(
    ["--workflows", "workflows", "--listen", "127.0.0.1:0", "--store", Path.join(dir, "store.db"), "--config", "relais.config.yaml"],
    { cwd: dir, env: { ...sandbox.env, RELAIS_TEST_HOOK_SECRET: SECRET } }
  )
  await server.waitForStderr(/webhooks: POST \/hooks\/aimaira/)
  const put = await fetch(`${sandbox.url}/__sandbox/webhooks`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(webhookDocument(server.url))
  })
  expect(put.status).toBe(200)
}, LIMIT)

afterAll(async () => {
  await kill(server)
  if (sandboxProc !== undefined && sandboxProc.exitCode === null && sandboxProc.signalCode === null) sandboxProc.kill("SIGKILL")
}, LIMIT)

describe("the AIMAIRA webhook loop: sandbox → relais serve (SQLite) → workflow → sandbox", () => {
  it("a Mail created through the sandbox's API: its webhook starts one run, which reads the object back", async () => {
    const url = server!.url
    const created = await sandboxCall(sandbox, "POST", "/Mail", { Adresse: "loop@ecole-exemple.fr" })
    const subject = `core.T_MAIL:${created.Id}`
    const [received] = await settled(url, subject, 1)
    expect(received).toMatchObject({ status: "dispatched", duplicates: 0, event: { ObjectId: created.Id, ObjectType: "core.T_MAIL" } })
    expect(received!.runs).toHaveLength(1)
    const runId = received!.runs[0]!
    expect(runId).toMatch(/^hook\.aimaira\.mail-changed\.[0-9a-f]{20}$/)
    await server!.waitForStderr(new RegExp(`run ${runId.replace(/\./g, "\\.")} succeeded`))
    const run = await runOf(url, runId)
    expect(run).toMatchObject({
      workflow: "mail-changed",
      status: "succeeded",
      input: {},
      trigger: { kind: "aimaira", ObjectId: created.Id, ObjectType: "core.T_MAIL", CustomerName: CUSTOMER, TriggerName: "relais" },
      output: { id: created.Id, type: "core.T_MAIL", change: "created", date: received!.event.Date }
    })
    // The step did read the object from the sandbox.
    const step = run.events.find((e: any) => e.event._tag === "StepSucceeded")
    expect(step.event.output).toMatchObject({ id: created.Id, type: "core.T_MAIL", active: true, change: "created" })
    // The sandbox says it delivered it (its token from the server's token route).
    expect(await deliveriesOf(created.Id)).toMatchObject([{ outcome: "delivered" }])
    // One run for this object.
    const runs = (await allRuns(url)).filter((r) => r.id === runId || r.workflow === "mail-changed")
    expect(runs.map((r) => r.id)).toEqual([runId])
  }, LIMIT)

  it("a burst about one object (a create, two updates) within the debounce starts one run, with the last message", async () => {
    const url = server!.url
    const before = (await allRuns(url)).length
    const created = await sandboxCall(sandbox, "POST", "/Mail", { Adresse: "burst@ecole-exemple.fr" })
    await sandboxCall(sandbox, "PATCH", `/Mail/${created.Id}`, { Adresse: "burst2@ecole-exemple.fr" })
    await sandboxCall(sandbox, "PATCH", `/Mail/${created.Id}`, { Adresse: "burst3@ecole-exemple.fr" })
    const subject = `core.T_MAIL:${created.Id}`
    const about = await settled(url, subject, 3)
    expect(about).toHaveLength(3)
    // Newest first: the last message dispatched, the two before superseded.
    expect(about.map((m) => m.status)).toEqual(["dispatched", "superseded", "superseded"])
    expect(about.flatMap((m) => m.runs)).toHaveLength(1)
    const runId = about[0]!.runs[0]!
    const run = await runOf(url, runId)
    const dates = about.map((m) => m.event.Date)
    expect(run).toMatchObject({ status: "succeeded", trigger: { Date: dates[0] }, output: { id: created.Id, change: "modified", date: dates[0] } })
    expect(new Set(dates).size).toBe(3)
    expect((await allRuns(url)).length).toBe(before + 1)
  }, LIMIT)

  it("a resend of the same message is answered 200 duplicate: true, counted, and starts nothing more", async () => {
    const url = server!.url
    const token = (await tokenOf(url)).json.access_token as string
    const body = JSON.stringify(message({ ObjectId: 990_001, ObjectType: "recrutement.T_CANDIDAT" }))
    const first = await post(url, token, body)
    expect(first.status).toBe(202)
    expect(first.json).toMatchObject({ duplicate: false })
    const again = await post(url, token, body)
    expect(again.status).toBe(200)
    expect(again.json).toEqual({ id: first.json.id, duplicate: true })
    const [row] = await settled(url, "recrutement.T_CANDIDAT:990001", 1)
    expect(row).toMatchObject({ id: first.json.id, status: "dispatched", duplicates: 1 })
    const run = await runOf(url, row!.runs[0]!)
    expect(run).toMatchObject({ workflow: "candidate-noted", status: "succeeded", output: { id: 990_001 } })
    // After the dispatch: still a duplicate, still one row, one run.
    const late = await post(url, token, body)
    expect(late.status).toBe(200)
    expect(late.json).toEqual({ id: first.json.id, duplicate: true })
    const rows = (await messagesOf(url)).filter((m) => m.subject === "recrutement.T_CANDIDAT:990001")
    expect(rows).toMatchObject([{ duplicates: 2, runs: row!.runs }])
    expect((await allRuns(url)).filter((r) => r.workflow === "candidate-noted").map((r) => r.id)).toEqual(row!.runs)
  }, LIMIT)

  it("every bad request is a 4xx with a problem or OAuth body, recorded for the operator, and starts nothing", async () => {
    const url = server!.url
    const runsBefore = (await allRuns(url)).length
    const messagesBefore = (await messagesOf(url)).length
    const rejectionsBefore = (await rejectionsOf(url)).length
    const token = (await tokenOf(url)).json.access_token as string
    const good = message({ ObjectId: 990_002, ObjectType: "recrutement.T_CANDIDAT" })
    const keyOf = Crypto.createHmac("sha256", SECRET).update("relais webhook token aimaira").digest()
    const expiry = Math.floor(Date.now() / 1000) - 60
    const expired = `aimaira.${expiry}.${Crypto.createHmac("sha256", keyOf).update(`aimaira.${expiry}`).digest("base64url")}`
    const forged = `aimaira.${expiry + 3600}.${Crypto.randomBytes(32).toString("base64url")}`

    const cases: ReadonlyArray<readonly [string, () => Promise<Answer>, number, RegExp]> = [
      ["no token", () => post(url, undefined, JSON.stringify(good)), 401, /no access token/],
      ["an expired token", () => post(url, expired, JSON.stringify(good)), 401, /expired/],
      ["a forged token", () => post(url, forged, JSON.stringify(good)), 401, /not one this server issued/],
      ["a token of another scheme", () => post(url, undefined, JSON.stringify(good), { authorization: basic(CLIENT_ID, SECRET) }), 401, /no access token/],
      ["a wrong hash", () => post(url, token, JSON.stringify({ ...good, Hash: message({ ObjectId: 990_003, ObjectType: "recrutement.T_CANDIDAT" }).Hash })), 422, /Hash does not match/],
      ["another CustomerName", () => post(url, token, JSON.stringify(message({ ObjectId: 990_002, ObjectType: "recrutement.T_CANDIDAT", CustomerName: "AUTRE" }))), 403, /AUTRE/],
      ["malformed JSON", () => post(url, token, `{"CustomerName": "${CUSTOMER}",`), 400, /not JSON/],
      ["a field missing", () => post(url, token, JSON.stringify({ ...good, ObjectId: undefined })), 422, /ObjectId/],
      ["a body over serve.bodyLimit", () => post(url, token, JSON.stringify({ ...good, padding: "x".repeat(20_000) })), 413, /at most 16384/],
      ["an unknown plugin", async () => record(await call(`${url}/hooks/nosuch`, { raw: JSON.stringify(good), headers: { authorization: `Bearer ${token}` } })), 404, /no webhook "nosuch"/]
    ]
    for (const [what, send, status, reason] of cases) {
      const answer = await send()
      expect(isProblem(answer, status), `${what}: ${answer.status} ${answer.text}`).toBe(true)
      expect(answer.json.detail, what).toMatch(reason)
    }
    // The token route answers as OAuth 2 says (RFC 6749 5.2).
    const wrongSecret = await tokenOf(url, "not-the-secret")
    expect(wrongSecret.status).toBe(401)
    expect(wrongSecret.json).toMatchObject({ error: "invalid_client" })
    expect(wrongSecret.headers.get("www-authenticate")).toMatch(/^Basic/)
    const wrongGrant = record(await call(`${url}/hooks/aimaira/token`, {
      raw: "grant_type=password",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(CLIENT_ID, SECRET) }
    }))
    expect(wrongGrant.status).toBe(400)
    expect(wrongGrant.json).toMatchObject({ error: "unsupported_grant_type" })
    const unknownToken = record(await call(`${url}/hooks/nosuch/token`, {
      raw: "grant_type=client_credentials",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(CLIENT_ID, SECRET) }
    }))
    expect(isProblem(unknownToken, 404), unknownToken.text).toBe(true)

    // Each recorded, with its status; nothing recorded as a message, nothing started.
    const recorded = await rejectionsOf(url)
    const rejections = recorded.slice(0, recorded.length - rejectionsBefore)
    expect(rejections.map((r) => r.status).sort(), JSON.stringify(rejections, null, 1)).toEqual([400, 400, 401, 401, 401, 401, 401, 403, 404, 404, 413, 422, 422].sort())
    expect(rejections.filter((r) => r.status === 404).map((r) => r.plugin)).toEqual(["nosuch", "nosuch"])
    expect(rejections.find((r) => r.status === 413)!.reason).toMatch(/serve\.bodyLimit/)
    expect((await messagesOf(url)).length).toBe(messagesBefore)
    expect((await allRuns(url)).length).toBe(runsBefore)
  }, LIMIT)

  it("1,000 messages (500 objects, each sent twice) at 50 at a time: every one answered 2xx, 500 recorded, 500 runs", async () => {
    const url = server!.url
    const token = (await tokenOf(url)).json.access_token as string
    const bodies = Array.from({ length: 500 }, (_, n) => JSON.stringify(message({ ObjectId: 500_000 + n, ObjectType: "recrutement.T_CANDIDAT" })))
    // Each body twice, the two sends apart in the order (so some race, some do not).
    const order = [...bodies, ...bodies].map((body, n) => ({ body, n })).sort((a, b) => (a.n * 7919) % 1000 - (b.n * 7919) % 1000)
    const sent = await pool(order.map(({ body }) => async () => (await post(url, token, body)).status), 50)
    expect(sent.filter((s) => s < 200 || s >= 300)).toEqual([])
    expect(sent.filter((s) => s === 202)).toHaveLength(500)
    expect(sent.filter((s) => s === 200)).toHaveLength(500)
    const rows = await until("the 500 messages dispatched", async () => {
      const burst = (await messagesOf(url)).filter((m) => m.event.ObjectType === "recrutement.T_CANDIDAT" && m.event.ObjectId >= 500_000 && m.event.ObjectId < 500_500)
      return burst.length === 500 && burst.every((m) => m.status === "dispatched") ? burst : undefined
    }, 300_000)
    expect(new Set(rows.map((m) => m.event.ObjectId)).size).toBe(500)
    expect(rows.filter((m) => m.duplicates !== 1)).toEqual([])
    expect(rows.filter((m) => m.runs.length !== 1)).toEqual([])
    const runIds = new Set(rows.flatMap((m) => m.runs))
    expect(runIds.size).toBe(500)
    const runs = await until("the 500 runs succeeded", async () => {
      const found = (await allRuns(url)).filter((r) => runIds.has(r.id))
      return found.length === 500 && found.every((r) => r.status === "succeeded") ? found : undefined
    }, 300_000)
    expect(runs).toHaveLength(500)
  }, LIMIT)

  it("the client secret is nowhere: not in the server's output, its answers, nor its store", async () => {
    const url = server!.url
    // Every run with its events, every message and refusal, as the API shows them.
    const runs = await allRuns(url)
    expect(runs.length).toBeGreaterThan(500)
    for (const run of runs) record(await call(`${url}/api/v1/runs/${run.id}`))
    record(await call(`${url}/api/v1/runs?limit=200`))
    record(await call(`${url}/api/v1/webhooks/messages?limit=1000`))
    record(await call(`${url}/api/v1/webhooks/rejections?limit=1000`))
    record(await call(`${url}/openapi.json`))
    record(await call(`${url}/api/v1/workflows`))
    expect(answers.length).toBeGreaterThan(100)
    const everything = [server!.stdout(), server!.stderr(), ...answers].join("\n")
    expect(everything).toContain("mail-changed")
    expect(everything).not.toContain(SECRET)
    expect(everything).not.toContain(Buffer.from(`${CLIENT_ID}:${SECRET}`).toString("base64"))
    expect(storeBytes(Path.join(dir, "store.db"))).not.toContain(SECRET)
    expect(server!.stderr()).not.toMatch(stackTrace)
    // Stops cleanly.
    expect(await server!.stop("SIGTERM")).toBe(0)
  }, LIMIT)
})

describe("the webhook loop on PostgreSQL: relais serve beside a relais worker", () => {
  let pg: Postgres.Server | undefined
  let worker: ChildProcess | undefined
  let workerLog = ""
  let pgServer: Served | undefined

  beforeAll(async () => {
    pg = await Postgres.start()
    const store = await pg.database()
    const pgDir = tmpDir("relais-serve-hooks-pg-")
    writeFile(pgDir, "workflows/mail.yaml", mailWorkflow)
    writeFile(pgDir, "relais.config.yaml", config("1MiB"))
    const env = { ...sandbox.env, RELAIS_TEST_HOOK_SECRET: SECRET }
    const [workerPort, servePort] = [await Postgres.freePort(), await Postgres.freePort()]
    worker = spawnChild(["worker", "--store", store, "--listen", `127.0.0.1:${workerPort}`], { cwd: pgDir, env })
    await new Promise<void>((resolve, reject) => {
      worker!.stderr?.on("data", (chunk: Buffer) => {
        workerLog += chunk.toString("utf8")
        if (/joined/.test(workerLog)) resolve()
      })
      worker!.on("close", () => reject(new Error(`relais worker exited:\n${workerLog}`)))
    })
    pgServer = await serve(
      ["--workflows", "workflows", "--listen", "127.0.0.1:0", "--store", store, "--worker-listen", `127.0.0.1:${servePort}`, "--config", "relais.config.yaml"],
      { cwd: pgDir, env }
    )
    await pgServer.waitForStderr(/webhooks: POST \/hooks\/aimaira/)
    const put = await fetch(`${sandbox.url}/__sandbox/webhooks`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(webhookDocument(pgServer.url))
    })
    expect(put.status).toBe(200)
  }, LIMIT)

  afterAll(async () => {
    await kill(pgServer)
    if (worker !== undefined && worker.exitCode === null && worker.signalCode === null) worker.kill("SIGKILL")
    await pg?.stop()
  }, LIMIT)

  it("a change in the sandbox: one run, executed by a worker of the cluster, its output read back from the sandbox", async () => {
    const url = pgServer!.url
    const created = await sandboxCall(sandbox, "POST", "/Mail", { Adresse: "pg@ecole-exemple.fr" })
    await sandboxCall(sandbox, "PATCH", `/Mail/${created.Id}`, { Adresse: "pg2@ecole-exemple.fr" })
    const about = await settled(url, `core.T_MAIL:${created.Id}`, 2)
    expect(about.map((m) => m.status)).toEqual(["dispatched", "superseded"])
    const runId = about[0]!.runs[0]!
    const run = await runOf(url, runId)
    expect(run).toMatchObject({
      workflow: "mail-changed",
      status: "succeeded",
      trigger: { kind: "aimaira", ObjectId: created.Id },
      output: { id: created.Id, type: "core.T_MAIL", change: "modified", date: about[0]!.event.Date }
    })
    const picked = `run ${runId} (mail-changed) picked up`
    expect(workerLog.includes(picked) || pgServer!.stderr().includes(picked), `${picked}\n${workerLog}\n${pgServer!.stderr()}`).toBe(true)
    // A resend to this server too: one row, one run.
    const token = (await tokenOf(url)).json.access_token as string
    const delivered = await deliveriesOf(created.Id)
    expect(delivered.map((d) => d.outcome)).toEqual(["delivered", "delivered"])
    const resend = await post(url, token, JSON.stringify(delivered.at(-1).message))
    expect(resend.json).toMatchObject({ duplicate: true })
    expect((await allRuns(url)).map((r) => r.id)).toEqual([runId])
    const everything = [pgServer!.stdout(), pgServer!.stderr(), workerLog].join("\n")
    expect(everything).not.toContain(SECRET)
    expect(everything).not.toMatch(stackTrace)
  }, LIMIT)
})
