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
import { type Browser, chromium, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ensureBundle, stackTrace, tmpDir, writeFile } from "../../runner/test/harness/Cli.js"
import { call, isProblem, kill, readEvents, type Served, serve } from "../../runner/test/harness/Serve.js"

const LIMIT = 240_000
const TOKEN = "relais-ui-test-token-7f3a91c2"
const CANARY = "canary-password-d41c7e9b"

const ok = `version: 1
name: greet
description: Say hello
inputs:
  who: { type: string, default: world }
steps:
  - id: hello
    uses: core/set
    with:
      text: hello \${{ inputs.who }}
`

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
const naps = `version: 1
name: naps
description: Sleep, step after step
steps:
${Array.from({ length: 30 }, (_, i) => `  - id: nap${i + 1}\n    uses: core/sleep\n    with: { for: 1s }`).join("\n")}
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
  writeFile(dir, "workflows/naps.yaml", naps)
  writeFile(dir, "relais.config.yaml", `serve:\n  tokens:\n    - { name: ops, hash: "sha256:${sha256(TOKEN)}", scopes: [admin] }\n`)
  server = await serve(["--workflows", "workflows", "--listen", "127.0.0.1:0", "--store", "store.db"], { cwd: dir })
  api = `${server.url}/api/v1`
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] })
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

  it("cancels a running run from its page, after a confirmation that says what it does", async () => {
    const started = await call(`${api}/workflows/naps/runs`, { body: {}, headers: auth })
    expect(started.status).toBe(202)
    const runId: string = started.json.runId
    const context = await browser!.newContext({ locale: "fr-FR" })
    await context.addInitScript(`sessionStorage.setItem("relais.token", ${JSON.stringify(TOKEN)})`)
    const page = await context.newPage()
    await page.goto(`${server!.url}/ui#/runs/${runId}`)
    await page.getByRole("button", { name: "Annuler cette exécution…" }).click()
    const confirmation = page.getByRole("group", { name: "Annuler l'exécution" })
    await confirmation.waitFor()
    expect(await confirmation.innerText()).toContain("ce qu'elle a fait est défait")
    expect(await seriousViolations(page)).toEqual([])
    await confirmation.getByRole("button", { name: "Annuler l'exécution" }).click()
    await page.getByRole("status").filter({ hasText: "Annulation demandée" }).waitFor()
    // The page follows the run to its end: cancelled, the naps after the request skipped.
    await page.locator("h1 [data-status]").filter({ hasText: "annulée" }).waitFor({ timeout: 120_000 })
    const record = await call(`${api}/runs/${runId}`, { headers: auth })
    expect(record.json.status).toBe("cancelled")
    expect(record.json.events.some((e: { event: { _tag: string; reason?: string } }) => e.event._tag === "StepSkipped" && e.event.reason === "the run was cancelled")).toBe(true)
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
