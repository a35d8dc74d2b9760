/**
 * The dashboard against the real sandboxes, in Debian's Chromium (playwright-core), as an
 * operator uses it: the AIMAIRA and Campus Skills sandboxes each in its own process (`relais
 * sandbox`), `relais serve` pointed at them by a profile (the AIMAIRA password from a file, the
 * Campus Skills token from the environment), serving a trimmed convention workflow
 * (fixtures/convention.yaml) and its variant that keeps what it wrote when a step fails.
 *
 * - A run started through the API appears by itself on the runs page; a fault of the sandbox
 *   (every `POST Remuneration` answers 503) makes its `pay` step fail for good after the
 *   convention, company and master were created: its page shows it failed there, with why.
 * - The fault removed, "Restart from a step…" on that page: the new run links to the original,
 *   replays the steps before `pay` and succeeds; the sandboxes hold exactly one convention,
 *   company, master and pay for the learner, and one contract in Campus Skills (the request logs
 *   show one create of each).
 * - A compensation that fails (every `DELETE Entreprise` answers 500 while `pay` fails): the
 *   run ends compensation_failed, its page puts "to undo by hand" first, naming the company
 *   that is still in AIMAIRA (and only it: the rest was deleted).
 * - No credential in any page; axe-core finds no serious or critical violation.
 *
 * Every wait is on a selector, a process line or an event stream, never a sleep.
 */
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Path from "node:path"
import { type Browser, type Page } from "playwright-core"
import { launchChromium } from "./harness/Browser.js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ensureBundle, stackTrace, storeBytes, tmpDir, writeFile } from "../../runner/test/harness/Cli.js"
import { call, kill, readEvents, type Served, serve } from "../../runner/test/harness/Serve.js"
import * as Sandboxes from "./harness/Sandboxes.js"

const LIMIT = 300_000
const TOKEN = "relais-ui-sandbox-token-5be08d13"

/** The workflow of the fixture, and its variant whose writes are not undone when a step fails. */
const conventionYaml = Fs.readFileSync(Path.join(import.meta.dirname, "fixtures", "convention.yaml"), "utf8")
const keptYaml = conventionYaml
  .replace(/^name: convention$/m, "name: convention-kept")
  .replace(/^(\s+)uses: (aimaira\/(?:find-or-create-learner|create-[a-z-]+|update-convention))$/gm, "$1uses: $2\n$1compensate: false")

const sha256 = (text: string) => Crypto.createHash("sha256").update(text).digest("hex")
const auth = { authorization: `Bearer ${TOKEN}` }

let dir: string
let aimaira: Sandboxes.Sandbox | undefined
let campus: Sandboxes.Sandbox | undefined
let server: Served | undefined
let browser: Browser | undefined
let api: string
/** Every form the credentials take: none may reach a page. */
let secrets: ReadonlyArray<string>
/** Seeded learners without a convention: one per scenario. */
let learners: Array<{ readonly id: number; readonly email: string }>

const axeSource = Fs.readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8")

/** axe-core's serious and critical violations on the page as it is (as Dashboard.test.ts). */
const seriousViolations = async (page: Page): Promise<ReadonlyArray<string>> => {
  await page.evaluate(axeSource)
  return await page.evaluate(
    `axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } })
       .then((r) => r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
       .map((v) => v.id + ": " + v.help + " (" + v.nodes.map((n) => n.target.join(" ")).join(", ") + ")"))`
  ) as ReadonlyArray<string>
}

/** No credential anywhere in the page's markup or text (details opened: their text counts too). */
const expectNoSecret = async (page: Page) => {
  const html = await page.content()
  const text = await page.locator("body").innerText()
  for (const secret of secrets) {
    expect(html, "a credential in the page's markup").not.toContain(secret)
    expect(text, "a credential in the page's text").not.toContain(secret)
  }
}

/** The page as a user leaves it after reading it: no credential, no serious violation. */
const checkPage = async (page: Page) => {
  await expectNoSecret(page)
  expect(await seriousViolations(page)).toEqual([])
}

/** A page with the token already given (the token form is Dashboard.test.ts's concern). */
const openPage = async (hash: string) => {
  const context = await browser!.newContext({ locale: "fr-FR" })
  await context.addInitScript(`sessionStorage.setItem("relais.token", ${JSON.stringify(TOKEN)})`)
  const page = await context.newPage()
  const errors: Array<string> = []
  page.on("pageerror", (error) => errors.push(error.message))
  await page.goto(`${server!.url}/ui${hash}`)
  return { context, page, errors }
}

const startRun = async (workflow: string, inputs: Record<string, unknown>): Promise<string> => {
  const started = await call(`${api}/workflows/${workflow}/runs`, { body: { inputs }, headers: auth })
  expect(started.status, started.text).toBe(202)
  return started.json.runId
}

const runRecord = async (runId: string) => {
  const record = await call(`${api}/runs/${runId}`, { headers: auth })
  expect(record.status).toBe(200)
  return record.json
}

interface AimairaState {
  readonly collections: Record<string, ReadonlyArray<Record<string, any>>>
}

const aimairaState = () => Sandboxes.state<AimairaState>(aimaira!).then((s) => s.collections)

/** How many requests of `method` on `path` (`*` wildcards) the sandbox answered since its log was cleared. */
const count = async (sandbox: Sandboxes.Sandbox, method: string, path: string) => (await Sandboxes.requests(sandbox, { method, path })).length

beforeAll(async () => {
  ensureBundle()
  dir = tmpDir("relais-ui-sandbox-")
  // Each sandbox in its own process, on a free port.
  ;[aimaira, campus] = await Promise.all([
    Sandboxes.startSandbox("aimaira", { cwd: dir }),
    Sandboxes.startSandbox("campus-skills", { cwd: dir })
  ])
  const password = aimaira.env.AIMAIRA_PASSWORD!
  const username = aimaira.env.AIMAIRA_USERNAME!
  const campusToken = campus.env.CAMPUS_SKILLS_TOKEN!
  secrets = [password, Buffer.from(`${username}:${password}`).toString("base64"), campusToken, TOKEN]
  // The password in a file, the token in the environment: never in the configuration's text.
  writeFile(dir, "aimaira-password", password)
  writeFile(dir, "relais.config.yaml", `defaultProfile: sandboxes
profiles:
  sandboxes:
    aimaira: { url: "${aimaira.env.AIMAIRA_URL}", username: ${username}, password: { file: aimaira-password } }
    campusSkills: { url: "${campus.env.CAMPUS_SKILLS_URL}", token: { env: CAMPUS_SKILLS_TOKEN }, sandbox: true }
serve:
  tokens:
    - { name: ops, hash: "sha256:${sha256(TOKEN)}", scopes: [admin] }
`)
  writeFile(dir, "workflows/convention.yaml", conventionYaml)
  writeFile(dir, "workflows/convention-kept.yaml", keptYaml)
  server = await serve(["--workflows", "workflows", "--listen", "127.0.0.1:0", "--store", "store.db"], {
    cwd: dir,
    env: { CAMPUS_SKILLS_TOKEN: campusToken }
  })
  api = `${server.url}/api/v1`
  // The learners the sandbox seeded without a convention.
  const { Apprenant, Convention, Mail } = await aimairaState()
  const withConvention = new Set(Convention!.map((c) => c.ApprenantId))
  learners = Apprenant!.filter((a) => !withConvention.has(a.Id)).map((a) => ({ id: a.Id, email: Mail!.find((m) => m.Id === a.MailId)!.Adresse }))
  expect(learners.length).toBeGreaterThanOrEqual(2)
  browser = await launchChromium()
}, LIMIT)

afterAll(async () => {
  await browser?.close()
  await kill(server)
  await Sandboxes.stopSandbox(aimaira)
  await Sandboxes.stopSandbox(campus)
})

describe("the dashboard against the AIMAIRA and Campus Skills sandboxes", () => {
  it("shows a run failed at its step by a sandbox fault, and restarts it from that step once fixed: nothing is created twice", async () => {
    const learner = learners[0]!
    const inputs = { email: learner.email, entreprise: "Boulangerie Reprise SARL", maitreEmail: "claire.reprise@boulangerie-exemple.fr" }
    await Sandboxes.clearRequests(aimaira!)
    await Sandboxes.clearRequests(campus!)
    const { context, errors, page } = await openPage("#/runs")
    await page.getByRole("heading", { name: "Exécutions" }).waitFor()
    const navigations: Array<string> = []
    page.on("framenavigated", (frame) => navigations.push(frame.url()))

    // AIMAIRA refuses every pay for good; the run is started through the API while the runs
    // page is open, and appears there by itself.
    await Sandboxes.addFault(aimaira!, "POST /GraphV1/Remuneration 503 #pay-down")
    const original = await startRun("convention-kept", inputs)
    const row = page.locator(`tr[data-run="${original}"]`)
    await row.waitFor({ timeout: 60_000 })
    expect(await row.innerText()).toContain("convention-kept")
    expect(navigations.filter((url) => !url.includes("#"))).toEqual([])
    await checkPage(page)

    // Its page: failed at pay, with the sandbox's answer; what came before it succeeded.
    await row.getByRole("link", { name: original }).click()
    await page.locator('h1 [data-status="failed"]').waitFor({ timeout: 120_000 })
    const failure = await page.locator(".failure").innerText()
    expect(failure).toContain("pay")
    expect(failure).toContain("AIMAIRA unavailable on POST /GraphV1/Remuneration (503)")
    expect(failure).toContain("sandbox fault pay-down")
    for (const step of ["learner", "sequences", "convention", "entreprise", "maitre", "enseignants", "complete"]) {
      expect(await page.locator(`[data-step="${step}"] .outcome`).innerText(), step).toBe("succeeded")
    }
    expect(await page.locator('[data-step="pay"] .outcome').innerText()).toBe("failed")
    expect(await page.locator('[data-step="pay"] .attempts li').count()).toBe(2)
    expect(await page.locator('[data-step="publish"]').count()).toBe(0)
    expect(await page.locator(".remaining").count()).toBe(0)
    await checkPage(page)
    // In the sandbox: the convention exists, once, and has no pay.
    const atFailure = await aimairaState()
    const conventionsAtFailure = atFailure.Convention!.filter((c) => c.ApprenantId === learner.id)
    expect(conventionsAtFailure.length).toBe(1)
    expect(atFailure.Remuneration!.filter((r) => r.ConventionId === conventionsAtFailure[0]!.Id)).toEqual([])
    expect((await Sandboxes.faults(aimaira!)).find((f) => f.id === "pay-down")?.applied).toBe(2)

    // The cause fixed: the fault removed. Restart from the failed step, proposed first.
    await Sandboxes.removeFault(aimaira!, "pay-down")
    await page.getByRole("button", { name: "Reprendre depuis une étape…" }).click()
    const confirmation = page.getByRole("group", { name: "Lancer la nouvelle exécution" })
    await confirmation.waitFor()
    expect(await confirmation.getByLabel("Reprendre depuis").inputValue()).toBe("pay")
    expect(await confirmation.innerText()).toContain("elles ne sont pas refaites")
    await checkPage(page)
    await confirmation.getByRole("button", { name: "Lancer la nouvelle exécution" }).click()

    // The new run's page: where it comes from (a link to the original), followed to its end.
    const restartOf = page.locator("[data-restart-of]")
    await restartOf.waitFor({ timeout: 60_000 })
    const restarted = decodeURIComponent(new URL(page.url()).hash.replace("#/runs/", ""))
    expect(restarted).not.toBe(original)
    expect(await restartOf.innerText()).toContain(`Reprise depuis pay de l'exécution ${original}`)
    expect(await restartOf.getByRole("link").getAttribute("href")).toBe(`#/runs/${encodeURIComponent(original)}`)
    await page.locator('h1 [data-status="succeeded"]').waitFor({ timeout: 120_000 })
    for (const step of ["learner", "sequences", "convention", "entreprise", "maitre", "enseignants", "complete"]) {
      expect(await page.locator(`[data-step="${step}"] .outcome`).innerText(), step).toBe("replayed")
    }
    for (const step of ["pay", "aggregate", "contrat", "publish", "integrated"]) {
      expect(await page.locator(`[data-step="${step}"] .outcome`).innerText(), step).toBe("succeeded")
    }
    await checkPage(page)
    const record = await runRecord(restarted)
    expect(record.restartOf).toEqual({
      runId: original,
      from: "pay",
      reused: ["learner", "sequences", "convention", "entreprise", "maitre", "enseignants", "complete"]
    })
    expect(record.status).toBe("succeeded")

    // The sandboxes: exactly one of everything the two runs wrote, for this learner.
    const after = await aimairaState()
    const conventions = after.Convention!.filter((c) => c.ApprenantId === learner.id)
    expect(conventions.map((c) => c.Id)).toEqual([record.output.conventionId])
    const entreprises = after.Entreprise!.filter((e) => e.Nom === inputs.entreprise)
    expect(entreprises.map((e) => e.Id)).toEqual([record.output.entrepriseId])
    expect(conventions[0]!.EntrepriseId).toBe(record.output.entrepriseId)
    const masters = after.Professionnel!.filter((p) => p.EntrepriseId === record.output.entrepriseId)
    expect(masters.length).toBe(1)
    expect(conventions[0]!.MaitreId).toBe(masters[0]!.Id)
    expect(after.Mail!.filter((m) => m.Adresse === inputs.maitreEmail).length).toBe(1)
    expect(after.Remuneration!.filter((r) => r.ConventionId === record.output.conventionId).length).toBe(1)
    // And the request logs: each create sent once over both runs (a replay sends nothing).
    expect(await count(aimaira!, "POST", "/GraphV1/Convention")).toBe(1)
    expect(await count(aimaira!, "POST", "/GraphV1/Entreprise")).toBe(1)
    expect(await count(aimaira!, "POST", "/GraphV1/Professionnel")).toBe(1)
    expect(await count(aimaira!, "PUT", "/GraphV1/Convention*")).toBe(1)
    // pay: its two refused attempts, then the restart's one.
    expect((await Sandboxes.requests(aimaira!, { method: "POST", path: "/GraphV1/Remuneration" })).map((r) => r.status)).toEqual([503, 503, 201])
    const contracts = (await Sandboxes.state(campus!)).transmitted as ReadonlyArray<{ codeContrat: string; status: string; integration: string }>
    expect(contracts.filter((c) => c.codeContrat === record.output.contrat)).toMatchObject([{ status: "active", integration: "integrated" }])

    // Back to the original from the link: still failed, as it was, and restarted once: its page
    // points at the restart instead of offering another (which would pay a second time).
    await restartOf.getByRole("link").click()
    await page.locator('h1 [data-status="failed"]').waitFor()
    expect(decodeURIComponent(new URL(page.url()).hash)).toBe(`#/runs/${original}`)
    const restartedAs = page.locator("[data-restarted-as]")
    await restartedAs.waitFor()
    expect(await restartedAs.getByRole("link").getAttribute("href")).toBe(`#/runs/${encodeURIComponent(restarted)}`)
    expect(await page.getByRole("button", { name: "Reprendre depuis une étape…" }).count()).toBe(0)
    await checkPage(page)
    // Through the API: the same restart again answers the same run; another step is refused.
    const again = await fetch(`${api}/runs/${encodeURIComponent(original)}/restart`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ from: "pay" })
    })
    expect(again.status).toBe(202)
    expect(((await again.json()) as { runId: string }).runId).toBe(restarted)
    const other = await fetch(`${api}/runs/${encodeURIComponent(original)}/restart`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ from: "complete" })
    })
    expect(other.status).toBe(409)
    expect(((await other.json()) as { detail: string }).detail).toContain(`it was restarted already, as ${restarted} (from pay)`)
    expect((await Sandboxes.requests(aimaira!, { method: "POST", path: "/GraphV1/Remuneration" })).map((r) => r.status)).toEqual([503, 503, 201])
    expect(errors).toEqual([])
    await context.close()
  }, LIMIT)

  it("shows a compensation that failed: the company left in AIMAIRA is listed first, to undo by hand", async () => {
    const learner = learners[1]!
    const inputs = { email: learner.email, entreprise: "Garage Compensation SARL", maitreEmail: "paul.compensation@garage-exemple.fr" }
    await Sandboxes.clearRequests(aimaira!)
    // pay fails for good, and AIMAIRA refuses to delete a company.
    await Sandboxes.addFault(aimaira!, "POST /GraphV1/Remuneration 503 #pay-down-2")
    await Sandboxes.addFault(aimaira!, "DELETE /GraphV1/Entreprise* 500 #no-company-delete")
    const runId = await startRun("convention", inputs)
    const { context, errors, page } = await openPage(`#/runs/${encodeURIComponent(runId)}`)
    await page.locator('h1 [data-status="compensation_failed"]').waitFor({ timeout: 120_000 })
    const record = await runRecord(runId)
    expect(record.status).toBe("compensation_failed")
    await Sandboxes.removeFault(aimaira!, "pay-down-2")
    await Sandboxes.removeFault(aimaira!, "no-company-delete")

    // To undo by hand: first on the page, above what failed and the timeline, naming the company.
    const remaining = page.locator(".remaining")
    await remaining.getByRole("heading", { name: /À annuler à la main/ }).waitFor()
    expect(await remaining.isVisible()).toBe(true)
    const [remainingBox, failureBox, timelineBox] = await Promise.all([remaining, page.locator(".failure"), page.locator(".timeline")].map((l) => l.boundingBox()))
    expect(remainingBox!.y).toBeLessThan(failureBox!.y)
    expect(remainingBox!.y).toBeLessThan(timelineBox!.y)
    const items = remaining.locator("ol > li")
    expect(await items.count()).toBe(1)
    const item = await items.first().innerText()
    expect(item).toContain("delete the company")
    expect(item).toContain("entreprise")
    expect(item).toMatch(/AIMAIRA unavailable on DELETE \/GraphV1\/Entreprise\/\d+ \(500\)/)
    await items.first().locator("summary").click()
    const output = JSON.parse(await items.first().getByLabel("entreprise Sortie").innerText()) as { Id: number; Nom: string }
    expect(output.Nom).toBe(inputs.entreprise)
    expect(item).toContain(`DELETE /GraphV1/Entreprise/${output.Id} (500)`)
    // The same company in the run's record, and in AIMAIRA: still there, alone of what the run wrote.
    expect(record.remaining.map((r: { path: string; output: { Id: number } }) => [r.path, r.output.Id])).toEqual([["entreprise", output.Id]])
    const after = await aimairaState()
    expect(after.Entreprise!.filter((e) => e.Nom === inputs.entreprise).map((e) => e.Id)).toEqual([output.Id])
    expect(after.Convention!.filter((c) => c.ApprenantId === learner.id)).toEqual([])
    expect(after.Professionnel!.filter((p) => p.EntrepriseId === output.Id)).toEqual([])
    expect(after.Mail!.filter((m) => m.Adresse === inputs.maitreEmail)).toEqual([])
    // The refused deletes are in the sandbox's log, each answered 500.
    const deletes = await Sandboxes.requests(aimaira!, { method: "DELETE", path: "/GraphV1/Entreprise*" })
    expect(deletes.length).toBeGreaterThan(0)
    expect(deletes.every((d) => d.status === 500 && d.faultId === "no-company-delete")).toBe(true)
    // What was undone is listed too; the company's compensation failed in the timeline.
    expect(await page.locator('[data-compensation="entreprise"] .outcome').innerText()).toBe("failed")
    expect(await page.locator('[data-compensation="convention"] .outcome').innerText()).toBe("succeeded")
    await checkPage(page)
    // A restart from pay would reuse a convention that no longer exists: refused, saying why.
    await page.getByRole("button", { name: "Reprendre depuis une étape…" }).click()
    const confirmation = page.getByRole("group", { name: "Lancer la nouvelle exécution" })
    // The failed step is proposed first, also when the page saw the run end over its event
    // stream before it read the run's failure again (soft: the rest is checked either way).
    expect.soft(await confirmation.getByLabel("Reprendre depuis").inputValue(), "the step proposed").toBe("pay")
    await confirmation.getByLabel("Reprendre depuis").selectOption("pay")
    await confirmation.getByRole("button", { name: "Lancer la nouvelle exécution" }).click()
    const refusal = page.getByRole("alert").filter({ hasText: "ne peut pas être reprise" })
    await refusal.waitFor()
    expect(await refusal.innerText()).toContain("what complete, maitre, convention did was undone")
    expect(decodeURIComponent(new URL(page.url()).hash)).toBe(`#/runs/${runId}`)
    await checkPage(page)
    expect(errors).toEqual([])
    await context.close()
  }, LIMIT)

  it("leaves no credential in the server's output or the store", async () => {
    // Every run of this file has ended (each scenario waited for its end on its page).
    const runs = await call(`${api}/runs`, { headers: auth })
    expect(runs.json.runs.length).toBeGreaterThanOrEqual(3)
    for (const run of runs.json.runs) await readEvents(`${api}/runs/${run.id}/events`, auth)
    const bytes = storeBytes(Path.join(dir, "store.db"))
    for (const secret of secrets) {
      expect(server!.stderr()).not.toContain(secret)
      expect(server!.stdout()).not.toContain(secret)
      expect(bytes).not.toContain(secret)
    }
    expect(server!.stderr()).not.toMatch(stackTrace)
  }, LIMIT)
})
