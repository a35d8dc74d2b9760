/**
 * Who may call `relais serve`: tokens with scopes (401 with WWW-Authenticate without a valid
 * token, 403 without the scope), the probes left open, `relais token create`, the refusal to
 * expose a server without tokens or over plain HTTP off loopback, HTTPS with `serve.tls`, and
 * the canary: a plugin credential and the tokens never appear in a response, the event stream,
 * or the server's output.
 */
import { execFileSync } from "node:child_process"
import * as Crypto from "node:crypto"
import * as Http from "node:http"
import * as Https from "node:https"
import type { AddressInfo } from "node:net"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { child, stackTrace, tmpDir, writeFile } from "./harness/Cli.js"
import { type Answer, call, isProblem, kill, readEvents, type Served, serve } from "./harness/Serve.js"

const LIMIT = 240_000

const sha256 = (text: string) => Crypto.createHash("sha256").update(text, "utf8").digest("hex")

/** The plugin credential: the `http` connection's bearer token, read from the environment. */
const canary = "Canary-echo-7f3a91-never-shown"
const readToken = `relais_reader-${Crypto.randomBytes(16).toString("hex")}`
const runToken = `relais_runner-${Crypto.randomBytes(16).toString("hex")}`

const echoWorkflow = `version: 1
name: echo
description: Call the echo service, which answers with the Authorization header it got
inputs:
  note: { type: string, default: hi }
steps:
  - id: call
    uses: http/request
    with:
      connection: echo
      path: /whoami
`

let dir: string
let echo: Http.Server
let server: Served | undefined
const answers: Array<string> = []

const record = (answer: Answer) => {
  answers.push(answer.text)
  return answer
}

beforeAll(async () => {
  echo = Http.createServer((request, response) => {
    response.setHeader("content-type", "application/json")
    response.end(JSON.stringify({ got: request.headers.authorization ?? null }))
  })
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve))
  const port = (echo.address() as AddressInfo).port
  dir = tmpDir("relais-serve-auth-")
  writeFile(dir, "workflows/echo.yaml", echoWorkflow)
  writeFile(
    dir,
    "relais.config.yaml",
    `profiles:
  test:
    http:
      connections:
        echo: { url: "http://127.0.0.1:${port}", auth: { bearer: { env: ECHO_TOKEN } } }
serve:
  workflows: workflows
  tokens:
    - { name: reader, hash: "sha256:${sha256(readToken)}", scopes: [read] }
    - { name: runner, hash: "sha256:${sha256(runToken)}", scopes: [read, run] }
`
  )
  server = await serve(["--listen", "127.0.0.1:0", "--store", "store.db", "--profile", "test"], { cwd: dir, env: { ECHO_TOKEN: canary } })
}, LIMIT)

afterAll(async () => {
  await kill(server)
  echo?.close()
})

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

describe("relais serve with tokens", () => {
  it("no token, or a wrong one: 401 with WWW-Authenticate; the probes answer without one", async () => {
    const api = `${server!.url}/api/v1`
    expect(server!.stderr()).not.toMatch(/the API is open/)
    for (const headers of [{}, bearer("relais_not-a-token"), { authorization: "Basic dXNlcjpwYXNz" }, { authorization: readToken }]) {
      const answer = record(await call(`${api}/workflows`, { headers }))
      expect(isProblem(answer, 401)).toBe(true)
      expect(answer.headers.get("www-authenticate")).toBe(`Bearer realm="relais"`)
    }
    expect(isProblem(record(await call(`${server!.url}/openapi.json`)), 401)).toBe(true)
    expect(record(await call(`${server!.url}/health`)).status).toBe(200)
    expect(record(await call(`${server!.url}/ready`)).status).toBe(200)
  })

  it("the scope decides: read reads, but only run starts", async () => {
    const api = `${server!.url}/api/v1`
    expect(record(await call(`${api}/workflows`, { headers: bearer(readToken) })).status).toBe(200)
    expect(record(await call(`${server!.url}/openapi.json`, { headers: bearer(readToken) })).status).toBe(200)
    const refused = record(await call(`${api}/workflows/echo/runs`, { body: {}, headers: bearer(readToken) }))
    expect(isProblem(refused, 403)).toBe(true)
    expect(refused.json.detail).toMatch(/"reader" has the scopes read; POST \/api\/v1\/workflows\/echo\/runs needs run/)
    expect(isProblem(record(await call(`${api}/runs/x/resume`, { method: "POST", headers: bearer(readToken) })), 403)).toBe(true)
    expect(record(await call(`${api}/runs`, { headers: bearer(readToken) })).json.runs).toEqual([])
  })

  it("a run calls a service with a plugin credential: the credential and the tokens appear in no answer, no event and no output", async () => {
    const api = `${server!.url}/api/v1`
    const started = record(await call(`${api}/workflows/echo/runs`, { body: { inputs: { note: "canary run" } }, headers: { ...bearer(runToken), "idempotency-key": "k" } }))
    expect(started.status).toBe(202)
    const stream = await readEvents(`${api}/runs/${started.json.runId}/events`, bearer(readToken))
    answers.push(stream.text)
    expect(stream.events.at(-1)).toMatchObject({ event: "RunFinished", data: { status: "succeeded" } })
    const detail = record(await call(`${api}/runs/${started.json.runId}`, { headers: bearer(readToken) }))
    const call_ = detail.json.events.find((e: { event: { _tag: string } }) => e.event._tag === "StepSucceeded")
    // The service did get the credential (the echo proves the call carried it)...
    expect(call_.event.output.body.got).toMatch(/^Bearer /)
    // ...and what the run kept of it is redacted.
    expect(call_.event.output.body.got).not.toContain(canary)
    record(await call(`${api}/runs?limit=50`, { headers: bearer(readToken) }))
    record(await call(`${api}/workflows/echo`, { headers: bearer(readToken) }))
    for (const text of [...answers, server!.stdout(), server!.stderr()]) {
      expect(text).not.toContain(canary)
      expect(text).not.toContain(readToken)
      expect(text).not.toContain(runToken)
      expect(text).not.toMatch(stackTrace)
    }
    expect(server!.stderr()).toMatch(/started by api \(runner\)/)
  })
}, LIMIT)

describe("exposure", () => {
  it("refuses a network address without tokens, and without TLS unless trustProxy", async () => {
    const work = tmpDir("relais-serve-expose-")
    writeFile(work, "workflows/echo.yaml", echoWorkflow)
    const open = await child(["serve", "--workflows", "workflows", "--listen", "0.0.0.0:0"], { cwd: work })
    expect(open.code).toBe(2)
    expect(open.stderr).toMatch(/reachable from the network with no token: add serve\.tokens/)
    writeFile(work, "relais.config.yaml", `serve:\n  tokens:\n    - { name: a, hash: "sha256:${sha256("x")}", scopes: [admin] }\n`)
    const plain = await child(["serve", "--workflows", "workflows", "--listen", "0.0.0.0:0"], { cwd: work })
    expect(plain.code).toBe(2)
    expect(plain.stderr).toMatch(/would carry tokens over plain HTTP: set serve\.tls/)
    for (const result of [open, plain]) expect(result.stderr).not.toMatch(stackTrace)
    writeFile(work, "relais.config.yaml", `serve:\n  trustProxy: true\n  tokens:\n    - { name: a, hash: "sha256:${sha256("x")}", scopes: [admin] }\n`)
    const proxied = await serve(["--workflows", "workflows", "--listen", "0.0.0.0:0", "--store", "store.db"], { cwd: work })
    try {
      expect(proxied.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/)
      expect(await proxied.stop()).toBe(0)
    } finally {
      await kill(proxied)
    }
  })

  it("a configuration with a wrong token entry is refused, located", async () => {
    const work = tmpDir("relais-serve-badconfig-")
    writeFile(work, "workflows/echo.yaml", echoWorkflow)
    writeFile(work, "relais.config.yaml", `serve:\n  tokens:\n    - { name: a, hash: "${readToken}", scopes: [read, write] }\n`)
    const result = await child(["serve", "--workflows", "workflows", "--listen", "127.0.0.1:0"], { cwd: work })
    // A configuration problem, as for every command (exit 4).
    expect(result.code).toBe(4)
    expect(result.stderr).toMatch(/relais\.config\.yaml:3:\d+: serve\.tokens\[0\]\.hash: expected sha256:<64 lower-case hex digits>/)
    expect(result.stderr).toMatch(/serve\.tokens\[0\]\.scopes: expected scopes among read, run, admin/)
    expect(result.stderr).not.toContain(readToken)
  })

  it("serves HTTPS with serve.tls", async () => {
    const work = tmpDir("relais-serve-tls-")
    writeFile(work, "workflows/echo.yaml", echoWorkflow)
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", Path.join(work, "key.pem"), "-out", Path.join(work, "cert.pem"),
      "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"
    ], { stdio: "ignore" })
    writeFile(work, "relais.config.yaml", `serve:\n  tls: { cert: cert.pem, key: key.pem }\n  tokens:\n    - { name: a, hash: "sha256:${sha256(readToken)}", scopes: [read] }\n`)
    const served = await serve(["--workflows", "workflows", "--listen", "127.0.0.1:0", "--store", "store.db"], { cwd: work })
    try {
      expect(served.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
      const ca = execFileSync("cat", [Path.join(work, "cert.pem")])
      const body = await new Promise<string>((resolve, reject) => {
        Https.get(`${served.url}/api/v1/workflows`, { ca, headers: bearer(readToken) }, (response) => {
          let text = ""
          response.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")))
          response.on("end", () => resolve(text))
        }).on("error", reject)
      })
      expect(JSON.parse(body).workflows.map((w: { name: string }) => w.name)).toEqual(["echo"])
      expect(await served.stop()).toBe(0)
    } finally {
      await kill(served)
    }
  })
}, LIMIT)

describe("relais token create", () => {
  it("prints a fresh token once and the configuration line with its hash", async () => {
    const first = await child(["token", "create", "--name", "admission-portal", "--scopes", "read,run"])
    const second = await child(["token", "create", "--name", "admission-portal", "--scopes", "read,run"])
    expect(first.code).toBe(0)
    const token = /^token: (relais_[A-Za-z0-9_-]{43})$/m.exec(first.stdout)![1]!
    expect(first.stdout).toContain(`- { name: admission-portal, hash: "sha256:${sha256(token)}", scopes: [read, run] }`)
    expect(first.stderr).toMatch(/shown this once and kept nowhere/)
    expect(second.stdout).not.toContain(token)
    const bad = await child(["token", "create", "--name", "x", "--scopes", "read,write"])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/"write" is not a scope; the scopes are read, run, admin/)
  })
}, LIMIT)
