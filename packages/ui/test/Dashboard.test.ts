/**
 * The dashboard in a real browser: Debian's Chromium (/usr/bin/chromium, see
 * scripts/ensure-chromium.sh) driven by playwright-core, against a real `relais serve` child
 * (the runner's bundle) on 127.0.0.1 with a SQLite store and a token. Runs are seeded through
 * the API; the page is read as a user reads it: the token form, the runs list and its status
 * filter, a compensated run's timeline and what was undone, a new run appearing by itself, and
 * no secret in the page (a redacted input, the token). axe-core checks each page. Every wait
 * is on a selector or an event, never a sleep.
 */
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import { type Browser, type Page } from "playwright-core"
import { launchChromium } from "./harness/Browser.js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Net from "node:net"
import * as Path from "node:path"
import { collect, ensureBundle, spawnChild, stackTrace, tmpDir, writeFile } from "../../runner/test/harness/Cli.js"
import { parser } from "../src/Sse.js"
import { call, isProblem, kill, readEvents, type Served, serve } from "../../runner/test/harness/Serve.js"
import { greet, naps, vigil } from "../../runner/test/harness/Workflows.js"

const LIMIT = 240_000
const TOKEN = "relais-ui-test-token-7f3a91c2"
/** A token that may only read (scope read): actions are refused with a 403. */
const READER = "relais-ui-reader-token-0b5e62aa"
const CANARY = "canary-password-d41c7e9b"

const ok = greet

const undo = `version: 1
name: enrol
description: Create, then fail and undo
inputs:
  password: { type: string, description: "a secret the run must never show" }
steps:
  - id: create
    uses: core/set
    with: { created: 42 }
    compensate:
      uses: core/set
      with: { deleted: 42 }
  - id: boom
    uses: core/fail
    with: { message: "the convention was refused" }
`

/** Thirty one-second naps, cancelled from the page between two of them. */
const napping = naps(30)
/** A few short naps, to watch a run live. */
const steady = `version: 1
name: steady
description: Set, then nap, step after step
steps:
  - id: first
    uses: core/set
    with: { ready: true }
${Array.from({ length: 4 }, (_, i) => `  - id: rest${i + 1}\n    uses: core/sleep\n    with: { for: 1s }`).join("\n")}
`

/** Every kind of node: a parallel block, a loop, a group with a condition, a step never reached. */
const shapes = `version: 1
name: shapes
description: Every kind of node, and a password written in the file itself
steps:
  - id: login
    uses: core/set
    with: { user: ada, password: "${CANARY}" }
  - id: list
    uses: core/set
    with: { items: [ann, bob] }
  - id: both
    parallel:
      - id: left
        uses: core/set
        with: { side: left }
      - id: right
        uses: core/set
        with: { side: right }
  - id: each
    forEach: \${{ steps.list.output.items }}
    as: learner
    steps:
      - id: hello
        uses: core/set
        with: { who: "\${{ learner }}" }
  - id: tidy
    steps:
      - id: never
        if: \${{ steps.list.output.items[0] == 'zed' }}
        uses: core/set
        with: { x: 1 }
      - id: last
        uses: core/fail
        with: { message: "stop here" }
  - id: unreached
    uses: core/set
    with: { x: 2 }
`

/** A nap, then a failure: a run seen failing live. */
const late = `version: 1
name: late
description: Wait, then fail
steps:
  - id: wait
    uses: core/sleep
    with: { for: 2s }
  - id: boom
    uses: core/fail
    with: { message: "the late refusal" }
`

const sha256 = (text: string) => Crypto.createHash("sha256").update(text).digest("hex")
const auth = { authorization: `Bearer ${TOKEN}` }

let dir: string
let server: Served | undefined
let browser: Browser | undefined
let api: string

/** Start a run through the API and wait for its event stream to end (the run finished). */
const runToEnd = async (workflow: string, inputs: Record<string, unknown>): Promise<string> => {
  const started = await call(`${api}/workflows/${workflow}/runs`, { body: { inputs }, headers: auth })
  expect(started.status).toBe(202)
  const runId: string = started.json.runId
  const stream = await readEvents(`${api}/runs/${runId}/events`, auth)
  expect(stream.events.at(-1)?.event).toBe("RunFinished")
  return runId
}

const axeSource = Fs.readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8")

/** axe-core's serious and critical violations on the page as it is (injected past the CSP). */
const seriousViolations = async (page: Page): Promise<ReadonlyArray<string>> => {
  await page.evaluate(axeSource)
  const violations = await page.evaluate(
    `axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } })
       .then((r) => r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
       .map((v) => v.id + ": " + v.help + " (" + v.nodes.map((n) => n.target.join(" ")).join(", ") + ")"))`
  ) as ReadonlyArray<string>
  return violations
}

/** Neither the canary nor the token anywhere in the page's markup or text. */
const expectNoSecret = async (page: Page) => {
  const html = await page.content()
  const text = await page.locator("body").innerText()
  for (const secret of [CANARY, TOKEN]) {
    expect(html).not.toContain(secret)
    expect(text).not.toContain(secret)
  }
}

beforeAll(async () => {
  ensureBundle()
  dir = tmpDir("relais-ui-")
  writeFile(dir, "workflows/greet.yaml", ok)
  writeFile(dir, "workflows/enrol.yaml", undo)
  writeFile(dir, "workflows/naps.yaml", napping)
  writeFile(dir, "workflows/steady.yaml", steady)
  writeFile(dir, "workflows/shapes.yaml", shapes)
  writeFile(dir, "workflows/late.yaml", late)
  writeFile(dir, "workflows/vigil.yaml", vigil())
  writeFile(
    dir,
    "relais.config.yaml",
    `serve:\n  tokens:\n    - { name: ops, hash: "sha256:${sha256(TOKEN)}", scopes: [admin] }\n    - { name: viewer, hash: "sha256:${sha256(READER)}", scopes: [read] }\n`
  )
  server = await serve(["--workflows", "workflows", "--listen", "127.0.0.1:0", "--store", "store.db"], { cwd: dir })
  api = `${server.url}/api/v1`
  browser = await launchChromium()
}, LIMIT)

afterAll(async () => {
  await browser?.close()
  await kill(server)
})

describe("the dashboard's files under /ui", () => {
  it("answers the page and its assets with their content types, and nothing outside them", async () => {
    for (const path of ["/ui", "/ui/", "/ui/index.html"]) {
      const page = await call(`${server!.url}${path}`)
      expect(page.status, path).toBe(200)
      expect(page.contentType).toBe("text/html; charset=utf-8")
      expect(page.text).toContain(`<script type="module" src="/ui/app.js">`)
      expect(page.headers.get("content-security-policy")).toContain("default-src 'self'")
    }
    expect((await call(`${server!.url}/ui/app.js`)).contentType).toBe("text/javascript; charset=utf-8")
    expect((await call(`${server!.url}/ui/app.css`)).contentType).toBe("text/css; charset=utf-8")
    for (const path of ["/ui/../package.json", "/ui/%2e%2e/package.json", "/ui/..%2fpackage.json", "/ui/.hidden", "/ui/nope.js", "/ui/dist/app.js"]) {
      const answer = await call(`${server!.url}${path}`)
      expect(isProblem(answer, 404), path).toBe(true)
      expect(answer.text).not.toContain("@relais/ui")
    }
    // The API is as it was: the token is still needed there.
    expect(isProblem(await call(`${api}/runs`), 401)).toBe(true)
  })
})

describe("the dashboard in Chromium", () => {
  it("asks for the token, lists the runs, filters them, shows a compensated run and a new run live, with no secret in the page", async () => {
    const succeeded = await runToEnd("greet", { who: "Ada" })
    const compensated = await runToEnd("enrol", { password: CANARY })
    const context = await browser!.newContext({ locale: "fr-FR" })
    const page = await context.newPage()
    const errors: Array<string> = []
    page.on("pageerror", (error) => errors.push(error.message))

    // 401: the token form, in French (the browser prefers it).
    await page.goto(`${server!.url}/ui`)
    await page.getByRole("heading", { name: "Un jeton d'API est nécessaire" }).waitFor()
    expect(await page.evaluate("document.documentElement.lang")).toBe("fr")
    await page.getByRole("textbox", { name: "Jeton d'API" }).fill(TOKEN)
    await page.getByRole("button", { name: "Utiliser ce jeton" }).click()

    // The runs, newest first.
    const rows = page.locator("table.runs tbody tr")
    await page.locator(`tr[data-run="${compensated}"]`).waitFor()
    await page.locator(`tr[data-run="${succeeded}"]`).waitFor()
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-run")))).toEqual([compensated, succeeded])
    expect(await page.locator(`tr[data-run="${compensated}"] [data-status]`).innerText()).toBe("compensée")
    await expectNoSecret(page)
    expect(await seriousViolations(page)).toEqual([])

    // Filtered by status: only the compensated run.
    await page.getByLabel("Statut").selectOption("compensated")
    await page.locator(`tr[data-run="${succeeded}"]`).waitFor({ state: "detached" })
    await page.locator(`tr[data-run="${compensated}"]`).waitFor()
    expect(await rows.count()).toBe(1)
    await page.getByLabel("Statut").selectOption("succeeded")
    await page.locator(`tr[data-run="${succeeded}"]`).waitFor()
    await page.locator(`tr[data-run="${compensated}"]`).waitFor({ state: "detached" })
    await page.getByLabel("Statut").selectOption("compensated")

    // The compensated run: what failed, what was undone, its timeline.
    await page.getByRole("link", { name: compensated }).click()
    await page.getByRole("heading", { name: "Ce qui a été annulé" }).waitFor()
    expect(await page.locator(".failure").innerText()).toContain("the convention was refused")
    expect(await page.locator(".undone li").count()).toBe(1)
    expect(await page.locator(".undone").innerText()).toContain("create")
    expect(await page.locator('[data-step="create"] .outcome').innerText()).toBe("succeeded")
    expect(await page.locator('[data-step="boom"] .outcome').innerText()).toBe("failed")
    expect(await page.locator('[data-compensation="create"] .outcome').innerText()).toBe("succeeded")
    expect(await page.locator("[data-trigger]").innerText()).toContain("API")
    // Nothing to undo by hand here.
    expect(await page.locator(".remaining").count()).toBe(0)
    // The input is there, its secret masked by the server.
    const inputs = await page.getByRole("region", { name: "Entrées", exact: true }).innerText()
    expect(inputs).toContain("[redacted]")
    await expectNoSecret(page)
    expect(await seriousViolations(page)).toEqual([])

    // Back to the list: a run started meanwhile appears without a reload.
    await page.getByRole("link", { name: "Toutes les exécutions" }).click()
    await page.locator(`tr[data-run="${compensated}"]`).waitFor()
    const navigations: Array<string> = []
    page.on("framenavigated", (frame) => navigations.push(frame.url()))
    const fresh = await runToEnd("greet", { who: "Grace" })
    await page.locator(`tr[data-run="${fresh}"]`).waitFor({ timeout: 60_000 })
    expect(navigations.filter((url) => !url.includes("#"))).toEqual([])

    // Workflows and webhooks read without error.
    await page.getByRole("link", { name: "Workflows" }).click()
    await page.locator('[data-workflow="enrol"]').waitFor()
    expect(await page.locator('[data-workflow="enrol"]').innerText()).toContain("password")
    expect(await seriousViolations(page)).toEqual([])
    await page.getByRole("link", { name: "Webhooks" }).click()
    await page.getByRole("heading", { name: "Messages reçus" }).waitFor()
    await page.getByText("Aucun message reçu.").waitFor()
    await expectNoSecret(page)

    expect(errors).toEqual([])
    expect(server!.stderr()).not.toMatch(stackTrace)
    expect(server!.stderr()).not.toContain(CANARY)
    await context.close()
  }, LIMIT)

  it("cancels a running run from its page, after a confirmation that says what it does: the sleep under way is stopped at once", async () => {
    const started = await call(`${api}/workflows/vigil/runs`, { body: {}, headers: auth })
    expect(started.status).toBe(202)
    const runId: string = started.json.runId
    const context = await browser!.newContext({ locale: "fr-FR" })
    await context.addInitScript(`sessionStorage.setItem("relais.token", ${JSON.stringify(TOKEN)})`)
    const page = await context.newPage()
    await page.goto(`${server!.url}/ui#/runs/${runId}`)
    await page.locator('[data-step="wait"]').waitFor()
    await page.getByRole("button", { name: "Annuler cette exécution…" }).click()
    const confirmation = page.getByRole("group", { name: "Annuler l'exécution" })
    await confirmation.waitFor()
    expect(await confirmation.innerText()).toContain("ce que l'exécution a fait est défait")
    expect(await confirmation.innerText()).toContain("portée « run »")
    expect(await seriousViolations(page)).toEqual([])
    await confirmation.getByRole("button", { name: "Annuler l'exécution" }).click()
    await page.getByRole("status").filter({ hasText: "Annulation demandée" }).waitFor()
    // The page follows the run to its end: cancelled, the hour's sleep stopped (long before its
    // end: the test's limit is minutes), the step after it never started.
    await page.locator("h1 [data-status]").filter({ hasText: "annulée" }).waitFor({ timeout: 120_000 })
    const record = await call(`${api}/runs/${runId}`, { headers: auth })
    expect(record.json.status).toBe("cancelled")
    expect(record.json.failure).toMatchObject({ path: "wait", reason: "cancelled" })
    await page.locator('[data-step="wait"] .outcome').filter({ hasText: "stopped" }).waitFor()
    expect(await page.locator('[data-step="wait"] .step-stop').innerText()).toContain("the run was cancelled during this step")
    // Where it was stopped, not "what failed".
    await page.getByRole("heading", { name: "Où elle a été arrêtée" }).waitFor()
    expect(await page.getByRole("heading", { name: "Ce qui a échoué" }).count()).toBe(0)
    expect(await page.locator('[data-step="after"]').count()).toBe(0)
    expect(await page.locator('[data-node="wait"] > .node-head [data-node-state]').getAttribute("data-node-state")).toBe("stopped")
    expect(await page.locator('[data-node="wait"] > .node-head').innerText()).toContain("arrêtée (annulation)")
    expect(await page.locator('[data-node="after"] > .node-head [data-node-state]').getAttribute("data-node-state")).toBe("notReached")
    expect(await seriousViolations(page)).toEqual([])
    expect(await page.getByRole("button", { name: "Annuler cette exécution…" }).count()).toBe(0)
    await expectNoSecret(page)
    await context.close()
  }, LIMIT)

  it("restarts a run from a step it reached, and refuses, saying why, when what it did was undone", async () => {
    const greeted = await runToEnd("greet", { who: "Lin" })
    const compensated = await runToEnd("enrol", { password: CANARY })
    const context = await browser!.newContext({ locale: "fr-FR" })
    await context.addInitScript(`sessionStorage.setItem("relais.token", ${JSON.stringify(TOKEN)})`)
    const page = await context.newPage()

    // The compensated run: its failed step is proposed; the server refuses, and the page says why.
    await page.goto(`${server!.url}/ui#/runs/${compensated}`)
    await page.getByRole("button", { name: "Reprendre depuis une étape…" }).click()
    const confirmation = page.getByRole("group", { name: "Lancer la nouvelle exécution" })
    expect(await confirmation.getByLabel("Reprendre depuis").inputValue()).toBe("boom")
    expect(await seriousViolations(page)).toEqual([])
    await confirmation.getByRole("button", { name: "Lancer la nouvelle exécution" }).click()
    await page.getByRole("alert").filter({ hasText: "ne peut pas être reprise" }).waitFor()
    expect(await page.getByRole("alert").innerText()).toContain("what create did was undone")

    // A run that ended: restarted from its step, the new run's page shows what it came from.
    await page.goto(`${server!.url}/ui#/runs/${greeted}`)
    await page.getByRole("button", { name: "Reprendre depuis une étape…" }).click()
    await page.getByRole("group", { name: "Lancer la nouvelle exécution" }).getByRole("button", { name: "Lancer la nouvelle exécution" }).click()
    await page.locator("[data-restart-of]").waitFor()
    expect(await page.locator("[data-restart-of]").innerText()).toContain(`Reprise depuis hello de l'exécution ${greeted}`)
    const newId = decodeURIComponent(new URL(page.url()).hash.replace("#/runs/", ""))
    expect(newId).not.toBe(greeted)
    await page.locator("h1 [data-status]").filter({ hasText: "réussie" }).waitFor({ timeout: 120_000 })
    const record = await call(`${api}/runs/${newId}`, { headers: auth })
    expect(record.json.restartOf).toEqual({ runId: greeted, from: "hello", reused: [] })
    // In the list, the new run links to the run it restarts.
    await page.goto(`${server!.url}/ui#/runs?workflow=greet`)
    const link = page.locator(`tr[data-run="${newId}"] a[data-restart-of]`)
    await link.waitFor()
    expect(await link.innerText()).toContain(`reprise de ${greeted} depuis hello`)
    await link.click()
    await page.locator("h1 [data-status]").filter({ hasText: "réussie" }).waitFor()
    expect(decodeURIComponent(new URL(page.url()).hash)).toBe(`#/runs/${greeted}`)
    await expectNoSecret(page)
    await context.close()
  }, LIMIT)

  it("speaks English to a browser that prefers it, with dates in Europe/Paris", async () => {
    const context = await browser!.newContext({ locale: "en-US", timezoneId: "America/New_York" })
    await context.addInitScript(`sessionStorage.setItem("relais.token", ${JSON.stringify(TOKEN)})`)
    const page = await context.newPage()
    await page.goto(`${server!.url}/ui#/runs`)
    await page.getByRole("heading", { name: "Runs" }).waitFor()
    const first = page.locator("table.runs tbody tr").first()
    await first.waitFor()
    const id = await first.getAttribute("data-run")
    const run = await call(`${api}/runs/${id}`, { headers: auth })
    const expected = new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/Paris", dateStyle: "medium", timeStyle: "medium" }).format(new Date(run.json.createdAt))
    expect(await first.locator("td").nth(3).innerText()).toBe(expected)
    await context.close()
  }, LIMIT)
})

/** A page of the dashboard with the token of `token` in its tab (no token form). */
const openPage = async (token: string = TOKEN, locale = "fr-FR") => {
  const context = await browser!.newContext({ locale })
  await context.addInitScript(`sessionStorage.setItem("relais.token", ${JSON.stringify(token)})`)
  const page = await context.newPage()
  const errors: Array<string> = []
  page.on("pageerror", (error) => errors.push(error.message))
  return { context, page, errors }
}

/** The ids of the runs listed, in order. */
const listed = (page: Page) => page.locator("table.runs tbody tr").evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-run")))

/** The route's query (after `#/runs?`) of the page's address. */
const routeQuery = (page: Page) => new URLSearchParams(new URL(page.url()).hash.replace(/^#\/runs\??/, ""))

/** Resolve once the run's event stream has delivered its first event (the run has started). */
const firstEvent = async (runId: string): Promise<void> => {
  const abort = new AbortController()
  const response = await fetch(`${api}/runs/${runId}/events`, { headers: { accept: "text/event-stream", ...auth }, signal: abort.signal })
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
  const parse = parser()
  for (;;) {
    const { done, value } = await reader.read()
    if (done || parse(value).some((m) => m.id !== undefined)) break
  }
  abort.abort()
}

describe("the SSE parser of the run page", () => {
  it("reads messages cut anywhere, with CRLF, comments, multi-line data and a field without a value", () => {
    const text = ": run r1\r\n\r\nid: 1\r\nevent: RunStarted\r\ndata: {\"a\":1}\r\n\r\nid: 2\nevent: StepStarted\ndata: line one\ndata: line two\n\n: keep-alive\n\nevent: error\ndata\n\nid: 3\rdata:x\r\r"
    for (const size of [1, 2, 3, 7, text.length]) {
      const parse = parser()
      const messages = []
      for (let i = 0; i < text.length; i += size) messages.push(...parse(text.slice(i, i + size)))
      expect(messages, `chunks of ${size}`).toEqual([
        { id: "1", event: "RunStarted", data: "{\"a\":1}" },
        { id: "2", event: "StepStarted", data: "line one\nline two" },
        { id: undefined, event: "error", data: "" },
        { id: "3", event: "message", data: "x" }
      ])
    }
  })
})

describe("the runs page: search, trigger, the address, paging", () => {
  it("narrows the list by an input value and by what started the runs, keeps every filter in the address (reload, back), and pages", async () => {
    const email = `ada.lovelace+${Date.now()}@example.org`
    const found = await runToEnd("greet", { who: email })
    const other = await runToEnd("greet", { who: "Grace Hopper" })
    const { context, page, errors } = await openPage()
    await page.goto(`${server!.url}/ui#/runs`)
    await page.locator(`tr[data-run="${other}"]`).waitFor()
    // What started each run is shown: the API.
    expect(await page.locator(`tr[data-run="${found}"] [data-trigger]`).innerText()).toBe("API")

    // Search by a part of the e-mail, in another case: only that run.
    await page.getByRole("searchbox", { name: "Rechercher" }).fill(email.slice(0, 20).toUpperCase())
    await page.getByRole("button", { name: "Appliquer" }).click()
    await page.locator(`tr[data-run="${other}"]`).waitFor({ state: "detached" })
    expect(await listed(page)).toEqual([found])
    expect(routeQuery(page).get("q")).toBe(email.slice(0, 20).toUpperCase())
    expect(await seriousViolations(page)).toEqual([])

    // What started them: the API (still found), a schedule (none).
    await page.getByLabel("Déclenchée par").selectOption("api")
    await page.waitForURL(/trigger=api/)
    await page.locator(`tr[data-run="${found}"]`).waitFor()
    expect(await listed(page)).toEqual([found])
    await page.getByLabel("Déclenchée par").selectOption("schedule")
    await page.getByText("Aucune exécution ne correspond.").waitFor()
    expect(routeQuery(page).get("trigger")).toBe("schedule")
    expect(routeQuery(page).get("q")).toBe(email.slice(0, 20).toUpperCase())

    // Back: the API filter again; reloaded: the same filtered list, the fields as they were.
    await page.goBack()
    await page.locator(`tr[data-run="${found}"]`).waitFor()
    expect(routeQuery(page).get("trigger")).toBe("api")
    await page.reload()
    await page.locator(`tr[data-run="${found}"]`).waitFor()
    expect(await listed(page)).toEqual([found])
    expect(await page.getByRole("searchbox", { name: "Rechercher" }).inputValue()).toBe(email.slice(0, 20).toUpperCase())
    expect(await page.getByLabel("Déclenchée par").inputValue()).toBe("api")
    // Back twice more: the search alone, then the whole list.
    await page.goBack()
    await page.waitForURL((url) => !url.hash.includes("trigger="))
    await page.locator(`tr[data-run="${found}"]`).waitFor()
    await page.goBack()
    await page.locator(`tr[data-run="${other}"]`).waitFor()

    // A shared address opens the same view in another tab.
    const shared = await openPage(TOKEN, "en-US")
    await shared.page.goto(`${server!.url}/ui#/runs?q=${encodeURIComponent(email)}&trigger=api`)
    await shared.page.locator(`tr[data-run="${found}"]`).waitFor()
    expect(await listed(shared.page)).toEqual([found])
    await shared.context.close()

    // Paging: 10 a page over the greet runs (more than 10 seeded), older then newer.
    const before = (await call(`${api}/runs?workflow=greet&limit=500`, { headers: auth })).json.runs.length as number
    const seeded = await Promise.all(Array.from({ length: Math.max(0, 12 - before) }, (_, i) => runToEnd("greet", { who: `page-${i}` })))
    expect(before + seeded.length).toBeGreaterThan(10)
    const all: Array<string> = (await call(`${api}/runs?workflow=greet&limit=500`, { headers: auth })).json.runs.map((r: { id: string }) => r.id)
    await page.goto(`${server!.url}/ui#/runs?workflow=greet&limit=10`)
    await page.locator(`tr[data-run="${all[0]}"]`).waitFor()
    expect(await listed(page)).toEqual(all.slice(0, 10))
    await page.getByRole("button", { name: "Plus anciennes" }).click()
    await page.locator(`tr[data-run="${all[10]}"]`).waitFor()
    expect(await listed(page)).toEqual(all.slice(10, 20))
    expect(routeQuery(page).get("cursor")).not.toBeNull()
    expect(routeQuery(page).get("limit")).toBe("10")
    // The second page reloaded is the same page.
    await page.reload()
    await page.locator(`tr[data-run="${all[10]}"]`).waitFor()
    expect(await listed(page)).toEqual(all.slice(10, 20))
    await page.getByRole("button", { name: "Plus récentes", exact: true }).click()
    await page.locator(`tr[data-run="${all[0]}"]`).waitFor()
    expect(routeQuery(page).get("cursor")).toBeNull()
    expect(await seriousViolations(page)).toEqual([])
    await expectNoSecret(page)
    expect(errors).toEqual([])
    await context.close()
  }, LIMIT)
})

describe("a run's page: live, its definition and graph, refusals in French", () => {
  it("follows a run over its event stream, reconnecting with Last-Event-ID after a drop, with no reload and no polling", async () => {
    const started = await call(`${api}/workflows/steady/runs`, { body: {}, headers: auth })
    expect(started.status).toBe(202)
    const runId: string = started.json.runId
    await firstEvent(runId)
    const { context, page, errors } = await openPage()
    const streams: Array<Record<string, string>> = []
    const reads: Array<string> = []
    page.on("request", (request) => {
      if (request.url().endsWith(`/api/v1/runs/${runId}`)) reads.push(request.url())
    })
    // The first stream is cut at once (the server "could not read the store"): the page asks again.
    await page.route(`**/api/v1/runs/${runId}/events`, async (route) => {
      streams.push(route.request().headers())
      if (streams.length === 1) {
        await route.fulfill({ status: 200, contentType: "text/event-stream", body: `: cut\n\nevent: error\ndata: {"status":503}\n\n` })
      } else {
        await route.continue()
      }
    })
    const navigations: Array<string> = []
    page.on("framenavigated", (frame) => navigations.push(frame.url()))
    await page.goto(`${server!.url}/ui#/runs/${runId}`)
    // The steps appear as they run, then the run's end.
    await page.locator('[data-step="first"]').waitFor()
    for (const step of ["rest1", "rest2", "rest3", "rest4"]) await page.locator(`[data-step="${step}"] .outcome`).filter({ hasText: "succeeded" }).waitFor({ timeout: 60_000 })
    await page.locator("h1 [data-status]").filter({ hasText: "réussie" }).waitFor({ timeout: 60_000 })
    await page.locator("[data-live=off]").waitFor({ state: "attached" })
    // Asked again after the cut, after the last event the page had (its Last-Event-ID).
    expect(streams.length).toBeGreaterThanOrEqual(2)
    expect(streams[0]!.accept).toBe("text/event-stream")
    expect(streams[0]!.authorization).toBe(`Bearer ${TOKEN}`)
    expect(Number(streams[1]!["last-event-id"])).toBeGreaterThanOrEqual(1)
    // Each step once in the timeline (no event counted twice), the graph says they succeeded.
    expect(await page.locator('[data-step="rest2"]').count()).toBe(1)
    expect(await page.locator('[data-node="rest4"] > .node-head [data-node-state]').getAttribute("data-node-state")).toBe("succeeded")
    // Read once when the page opened and once when the stream ended: not polled.
    expect(reads.length).toBeLessThanOrEqual(3)
    expect(navigations.filter((url) => !url.includes(`#/runs/${runId}`))).toEqual([])
    expect(errors).toEqual([])
    await context.close()
  }, LIMIT)

  it("proposes the failed step for a restart of a run it saw fail live", async () => {
    const started = await call(`${api}/workflows/late/runs`, { body: {}, headers: auth })
    const runId: string = started.json.runId
    const { context, page, errors } = await openPage()
    await page.goto(`${server!.url}/ui#/runs/${runId}`)
    await page.locator('[data-step="wait"]').waitFor()
    await page.getByRole("button", { name: "Reprendre depuis une étape…" }).click({ timeout: 60_000 })
    const confirmation = page.getByRole("group", { name: "Lancer la nouvelle exécution" })
    expect(await confirmation.getByLabel("Reprendre depuis").inputValue()).toBe("boom")
    // Once the record is read again (the failure in it), the proposal is the same.
    await page.locator(".failure").filter({ hasText: "the late refusal" }).waitFor()
    expect(await confirmation.getByLabel("Reprendre depuis").inputValue()).toBe("boom")
    // A choice made stays.
    await confirmation.getByLabel("Reprendre depuis").selectOption("wait")
    expect(await confirmation.getByLabel("Reprendre depuis").inputValue()).toBe("wait")
    expect(errors).toEqual([])
    await context.close()
  }, LIMIT)

  it("shows the definition's text and its graph, the failed step failed and the undone one undone, with a legend, and no secret", async () => {
    const compensated = await runToEnd("enrol", { password: CANARY })
    const { context, page, errors } = await openPage()
    await page.goto(`${server!.url}/ui#/runs/${compensated}`)
    await page.getByRole("heading", { name: "Graphe du workflow" }).waitFor()
    const state = (id: string) => page.locator(`[data-node="${id}"] > .node-head [data-node-state]`)
    expect(await state("boom").getAttribute("data-node-state")).toBe("failed")
    expect(await state("boom").innerText()).toContain("échouée")
    expect(await state("create").getAttribute("data-node-state")).toBe("compensated")
    expect(await state("create").innerText()).toContain("défaite")
    expect(await page.locator('[data-node="create"] .node-kind').innerText()).toBe("core/set")
    const legend = page.getByRole("group", { name: "Légende" })
    for (const word of ["non atteinte", "en cours", "réussie", "échouée", "défaite", "sautée", "rejouée"]) expect(await legend.innerText()).toContain(word)
    // The text, folded until asked for, in monospace.
    await page.getByText("Son texte").click()
    const text = page.getByRole("region", { name: "Définition" }).locator("pre.yaml")
    await text.waitFor()
    expect(await text.innerText()).toContain("the convention was refused")
    expect(await page.evaluate(`getComputedStyle(document.querySelector("pre.yaml")).fontFamily`)).toMatch(/mono/i)
    expect(await seriousViolations(page)).toEqual([])
    await expectNoSecret(page)
    expect(errors).toEqual([])
    await context.close()
  }, LIMIT)

  it("draws every kind of node: parallel branches side by side, a loop and a group framed, a condition labelled, each with its state in words", async () => {
    const failed = await runToEnd("shapes", {})
    const { context, page, errors } = await openPage(TOKEN, "en-US")
    await page.goto(`${server!.url}/ui#/runs/${failed}`)
    await page.getByRole("heading", { name: "Workflow graph" }).waitFor()
    const state = (key: string) => page.locator(`[data-node="${key}"] > .node-head [data-node-state]`).getAttribute("data-node-state")
    expect(await state("list")).toBe("succeeded")
    expect(await state("both")).toBe("succeeded")
    expect(await state("left")).toBe("succeeded")
    expect(await state("each")).toBe("succeeded")
    // A loop's body is keyed without the item index: each[0]/hello and each[1]/hello.
    expect(await state("each/hello")).toBe("succeeded")
    expect(await state("tidy")).toBe("failed")
    expect(await state("never")).toBe("skipped")
    expect(await state("last")).toBe("failed")
    expect(await state("unreached")).toBe("notReached")
    expect(await page.locator('[data-node="last"] > .node-head').innerText()).toContain("failed")
    expect(await page.locator('[data-node="unreached"] > .node-head').innerText()).toContain("not reached")
    expect(await page.locator('[data-node="never"] .node-condition').innerText()).toBe("if steps.list.output.items[0] == 'zed'")
    expect(await page.locator('[data-node="each"] > .node-head').innerText()).toContain("for each item")
    expect(await page.evaluate(`getComputedStyle(document.querySelector('[data-node="tidy"]')).borderStyle`)).toBe("dashed")
    // The two branches side by side: the same top, different lefts.
    const left = (await page.locator('[data-node="left"]').boundingBox())!
    const right = (await page.locator('[data-node="right"]').boundingBox())!
    expect(Math.abs(left.y - right.y)).toBeLessThan(2)
    expect(right.x).toBeGreaterThan(left.x + left.width - 1)
    // The password written in the file is masked in the text shown.
    await page.getByText("Its text").click()
    const text = await page.locator("pre.yaml").innerText()
    expect(text).toContain('password: "[redacted]"')
    expect(text).toContain("stop here")
    await expectNoSecret(page)
    expect(await seriousViolations(page)).toEqual([])
    expect(errors).toEqual([])
    await context.close()
  }, LIMIT)

  it("says in French why the server refuses (no such run, a token that may only read), with the server's detail underneath", async () => {
    const { context, page, errors } = await openPage(READER)
    await page.goto(`${server!.url}/ui#/runs/run_nosuchrun`)
    const missing = page.getByRole("alert")
    await missing.filter({ hasText: "Cette exécution n'existe pas dans ce stockage." }).waitFor()
    expect(await missing.locator(".problem-detail").innerText()).toContain("run_nosuchrun")
    // A reader may look, not act: cancelling a running run is refused (403), the scope named.
    const started = await call(`${api}/workflows/naps/runs`, { body: {}, headers: auth })
    const runId: string = started.json.runId
    await page.goto(`${server!.url}/ui#/runs/${runId}`)
    await page.getByRole("button", { name: "Annuler cette exécution…" }).click()
    await page.getByRole("group", { name: "Annuler l'exécution" }).getByRole("button", { name: "Annuler l'exécution" }).click()
    const refused = page.getByRole("alert").filter({ hasText: "Votre jeton ne le permet pas" })
    await refused.waitFor()
    expect(await refused.innerText()).toContain("« run »")
    expect(await refused.locator(".problem-detail").innerText()).toContain("viewer")
    expect(await seriousViolations(page)).toEqual([])
    expect(errors).toEqual([])
    // The run goes on, then is cancelled by someone who may.
    expect((await call(`${api}/runs/${runId}/cancel`, { method: "POST", headers: auth })).status).toBe(202)
    await readEvents(`${api}/runs/${runId}/events`, auth)
    await context.close()
  }, LIMIT)
})

/** A free port on loopback, for a server the page must find again at the same address. */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = Net.createServer()
    probe.once("error", reject)
    probe.listen(0, "127.0.0.1", () => {
      const port = (probe.address() as Net.AddressInfo).port
      probe.close(() => resolve(port))
    })
  })

describe("an interrupted run", () => {
  it("offers to resume it, with a confirmation; relais ui on SQLite refuses and the page says why; relais serve then resumes it, and it restarts with the corrected file", async () => {
    const work = tmpDir("relais-ui-resume-")
    writeFile(work, "workflows/naps.yaml", napping)
    writeFile(work, "relais.config.yaml", `serve:\n  tokens:\n    - { name: ops, hash: "sha256:${sha256(TOKEN)}", scopes: [admin] }\n`)
    const store = Path.join(work, "store.db")
    // relais run, stopped by Ctrl-C during its second nap: the run is interrupted.
    const run = spawnChild(["run", "workflows/naps.yaml", "--store", store, "--run-id", "nap-int"], { cwd: work })
    const result = collect(run, LIMIT)
    await new Promise<void>((resolve, reject) => {
      let seen = ""
      run.stderr?.on("data", (chunk: Buffer) => {
        seen += chunk.toString("utf8")
        if (/step nap2 started/.test(seen)) resolve()
      })
      run.on("close", () => reject(new Error(`relais run ended first:\n${seen}`)))
    })
    run.kill("SIGINT")
    expect((await result).code).toBe(130)

    // relais ui over the store: it executes nothing, so the run stays interrupted.
    const port = await freePort()
    const looker = spawnChild(["ui", "--store", store, "--listen", `127.0.0.1:${port}`], { cwd: work })
    let lookerErr = ""
    await new Promise<void>((resolve, reject) => {
      looker.stderr?.on("data", (chunk: Buffer) => {
        lookerErr += chunk.toString("utf8")
        if (/listening on/.test(lookerErr)) resolve()
      })
      looker.on("close", () => reject(new Error(`relais ui ended first:\n${lookerErr}`)))
    })
    let resumed: Served | undefined
    const { context, page, errors } = await openPage()
    try {
      const origin = `http://127.0.0.1:${port}`
      await page.goto(`${origin}/ui#/runs/nap-int`)
      await page.locator("h1 [data-status]").filter({ hasText: "interrompue" }).waitFor()
      await page.getByRole("button", { name: "Poursuivre cette exécution…" }).click()
      const confirmation = page.getByRole("group", { name: "Poursuivre l'exécution" })
      expect(await confirmation.innerText()).toContain("là où elle s'est arrêtée")
      expect(await seriousViolations(page)).toEqual([])
      await confirmation.getByRole("button", { name: "Poursuivre l'exécution" }).click()
      const refused = page.getByRole("alert").filter({ hasText: "Ce serveur ne peut pas poursuivre cette exécution." })
      await refused.waitFor()
      expect(await refused.locator(".problem-detail").innerText()).toContain("relais ui does not execute runs")
      expect(await page.locator("h1 [data-status]").innerText()).toBe("interrompue")

      // relais ui stops; relais serve takes the store at the same address and resumes the run
      // (an engine resumes the interrupted runs of its store on start-up): the page, left as it
      // is, sees it go on and follows it to its end, without a reload.
      looker.kill("SIGTERM")
      await collect(looker, LIMIT)
      // The file served from now on is a corrected one (another hash than the run's).
      writeFile(work, "workflows/naps.yaml", napping.replace("description: Sleep, step after step", "description: Sleep, corrected"))
      resumed = await serve(["--workflows", "workflows", "--listen", `127.0.0.1:${port}`, "--store", store], { cwd: work })
      await resumed.waitForStderr(/run nap-int \(naps\) continues, execution 2/)
      await page.locator("h1 [data-status]").filter({ hasText: "en cours" }).waitFor({ timeout: 60_000 })
      await page.locator("[data-live=open]").waitFor({ timeout: 60_000 })
      await page.locator("h1 [data-status]").filter({ hasText: "réussie" }).waitFor({ timeout: 120_000 })
      expect(await page.locator(".run-lines").innerText()).toContain("exécution 2 démarrée")
      expect(await page.getByRole("button", { name: "Poursuivre cette exécution…" }).count()).toBe(0)

      // Restarted with the file served now, chosen in the confirmation (it differs).
      await page.getByRole("button", { name: "Reprendre depuis une étape…" }).click()
      const restart = page.getByRole("group", { name: "Lancer la nouvelle exécution" })
      await restart.getByRole("group", { name: "Définition à exécuter" }).waitFor()
      expect(await restart.getByRole("radio", { name: /celle du démarrage/ }).isChecked()).toBe(true)
      await restart.getByLabel("Reprendre depuis").selectOption("nap29")
      await restart.getByRole("radio", { name: /le fichier servi maintenant/ }).check()
      expect(await seriousViolations(page)).toEqual([])
      await restart.getByRole("button", { name: "Lancer la nouvelle exécution" }).click()
      await page.locator("[data-restart-of]").waitFor()
      const newId = decodeURIComponent(new URL(page.url()).hash.replace("#/runs/", ""))
      await page.locator("h1 [data-status]").filter({ hasText: "réussie" }).waitFor({ timeout: 120_000 })
      const headers = { authorization: `Bearer ${TOKEN}` }
      const original = (await call(`${origin}/api/v1/runs/nap-int`, { headers })).json
      const restarted = (await call(`${origin}/api/v1/runs/${newId}`, { headers })).json
      const served = (await call(`${origin}/api/v1/workflows/naps`, { headers })).json
      expect(restarted.restartOf).toMatchObject({ runId: "nap-int", from: "nap29" })
      // Its graph: the steps reused replayed, the ones executed again succeeded.
      const replayed = restarted.events.filter((e: { event: { _tag: string } }) => e.event._tag === "StepReplayed").map((e: { event: { path: string } }) => e.event.path)
      expect(replayed).toContain("nap1")
      expect(await page.locator('[data-node="nap1"] > .node-head [data-node-state]').getAttribute("data-node-state")).toBe("replayed")
      expect(await page.locator('[data-node="nap30"] > .node-head [data-node-state]').getAttribute("data-node-state")).toBe("succeeded")
      expect(restarted.definition.hash).toBe(served.hash)
      expect(restarted.definition.hash).not.toBe(original.definition.hash)
      await expectNoSecret(page)
      expect(errors).toEqual([])
    } finally {
      await context.close()
      if (looker.exitCode === null && looker.signalCode === null) looker.kill("SIGKILL")
      await kill(resumed)
      Fs.rmSync(work, { recursive: true, force: true })
    }
  }, LIMIT)
})
