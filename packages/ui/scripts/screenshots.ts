/**
 * Screenshots of the dashboard's pages for the README (docs/dashboard-*.png): a real
 * `relais serve` on 127.0.0.1 with a SQLite store in a temporary directory, runs seeded through
 * its API (a success, a compensated failure, a cancelled run, a restart), then each page in
 * Debian's Chromium, in French, with a search and a run's graph.
 *
 * run: cd packages/ui && npx tsx scripts/screenshots.ts   (after `npx -y pnpm@10.34.8 build`)
 */
import * as Path from "node:path"
import { tmpDir, writeFile } from "../../runner/test/harness/Cli.js"
import { call, kill, readEvents, serve } from "../../runner/test/harness/Serve.js"
import { greet, naps } from "../../runner/test/harness/Workflows.js"
import { launchChromium } from "../test/harness/Browser.js"

const docs = Path.resolve(import.meta.dirname, "../../../docs")

const workflows = {
  "greet.yaml": greet,
  "enrol.yaml": `version: 1
name: enrol
description: Create a convention, then fail to publish it, and undo the create
inputs:
  learner: { type: string, default: lea.martin@ecole.fr }
steps:
  - id: convention
    uses: core/set
    with: { conventionId: 2215293 }
    compensate:
      uses: core/set
      with: { deleted: 2215293 }
  - id: publish
    uses: core/fail
    with: { message: "Campus Skills refused the contract (HTTP 422)" }
`,
  "naps.yaml": naps(20)
}

const main = async () => {
  const dir = tmpDir("relais-screenshots-")
  for (const [name, text] of Object.entries(workflows)) writeFile(dir, `workflows/${name}`, text)
  const server = await serve(["--workflows", "workflows", "--listen", "127.0.0.1:0", "--store", "store.db"], { cwd: dir })
  const api = `${server.url}/api/v1`
  const browser = await launchChromium()
  try {
    const start = async (workflow: string, inputs: Record<string, unknown> = {}) =>
      (await call(`${api}/workflows/${workflow}/runs`, { body: { inputs } })).json.runId as string
    const toEnd = async (runId: string) => void (await readEvents(`${api}/runs/${runId}/events`))
    for (const who of ["Ada", "Grace"]) await toEnd(await start("greet", { who }))
    const failed = await start("enrol")
    await toEnd(failed)
    const napping = await start("naps")
    await new Promise((resolve) => setTimeout(resolve, 2500))
    await call(`${api}/runs/${napping}/cancel`, { method: "POST" })
    await toEnd(napping)
    const greeted = await start("greet", { who: "Lin" })
    await toEnd(greeted)
    await call(`${api}/runs/${greeted}/restart`, { body: { from: "hello" } })
    await new Promise((resolve) => setTimeout(resolve, 1500))

    const context = await browser.newContext({ locale: "fr-FR", viewport: { width: 1280, height: 860 } })
    const page = await context.newPage()
    const shoot = async (hash: string, name: string, ready: string) => {
      await page.goto(`${server.url}/ui${hash}`)
      await page.locator(ready).first().waitFor()
      await page.screenshot({ path: Path.join(docs, `dashboard-${name}.png`), fullPage: false })
      console.log(`docs/dashboard-${name}.png`)
    }
    await shoot("#/runs", "runs", "table.runs tbody tr")
    await shoot(`#/runs/${failed}`, "run", ".undone")
    await shoot(`#/runs/${napping}`, "cancelled", "h1 [data-status]")
    // A search by an input value, and a run's definition with its graph coloured by the run.
    await shoot("#/runs?q=lea.martin", "search", "table.runs tbody tr")
    await page.goto(`${server.url}/ui#/runs/${failed}`)
    const definition = page.locator("section.definition")
    await definition.locator("[data-node]").first().waitFor()
    await definition.scrollIntoViewIfNeeded()
    await definition.screenshot({ path: Path.join(docs, "dashboard-graph.png") })
    console.log("docs/dashboard-graph.png")
    await shoot("#/workflows", "workflows", '[data-workflow="enrol"]')
    await shoot("#/webhooks", "webhooks", "h1")
  } finally {
    await browser.close()
    await kill(server)
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
