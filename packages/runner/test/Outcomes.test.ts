/**
 * How a run's end is reported, in-process with real YAML and the SQLite engine: a batch whose
 * items failed is not "✓ succeeded" (terminal, `--json` result line, `runs list`, `runs show`,
 * exit 5), and a compensation that found nothing to undo is not listed as undone.
 */
import { describe, expect, it } from "@effect/vitest"
import { Errors, Plugin, RetryPolicy, Run, Step } from "@relais/core"
import { Effect, Schema } from "effect"
import * as Path from "node:path"
import * as ExitCode from "../src/ExitCode.js"
import * as Progress from "../src/Progress.js"
import * as Report from "../src/Report.js"
import * as Style from "../src/Style.js"
import { inProcess, type InProcessOptions, tmpDir, writeFile } from "./harness/Cli.js"
import { makePlugin, Remote } from "./support/TestPlugin.js"

/** Learners the fake system holds before the run, by id. */
const existing = new Set<number>()
const created: Array<number> = []

/** A find-or-create step whose compensation deletes the learner only if it created it. */
const learnerPlugin = Plugin.make({
  name: "people",
  description: "learners",
  steps: [
    Step.make({
      name: "people/find-or-create-learner",
      description: "find a learner, or create them",
      input: Schema.Struct({ Id: Schema.Int }),
      output: Schema.Struct({ Id: Schema.Int, Created: Schema.Boolean }),
      retry: RetryPolicy.none,
      run: ({ Id }) =>
        Effect.sync(() => {
          if (existing.has(Id)) return { Id, Created: false }
          existing.add(Id)
          created.push(Id)
          return { Id, Created: true }
        }),
      compensate: {
        description: "delete the learner, if this step created them",
        run: (_input, { Created, Id }) =>
          Effect.sync(() => {
            if (!Created) return Step.nothingToUndo(`learner ${Id} existed before the run`)
            existing.delete(Id)
          })
      }
    })
  ]
})

const setup = (text: string) => {
  const dir = tmpDir("relais-outcomes-")
  const file = writeFile(dir, "flow.yaml", text)
  const db = Path.join(dir, "relais.db")
  const remote = new Remote()
  const options: InProcessOptions = { plugins: [makePlugin(remote), learnerPlugin] }
  return { file, db, remote, options }
}

const batch = (onItemFailure: "continue" | "compensate-item") => `version: 1
name: batch
inputs:
  learners: { type: array, default: [{ id: 1, bad: false }, { id: 2, bad: true }, { id: 3, bad: false }, { id: 4, bad: true }] }
steps:
  - id: each
    forEach: \${{ inputs.learners }}
    as: learner
    concurrency: 2
    onItemFailure: ${onItemFailure}
    steps:
      - id: convention
        uses: test/create-convention
        with:
          ApprenantId: \${{ learner.id }}
          TypeConventionCode: APP
          SequenceId: 7
      - id: check
        if: \${{ learner.bad }}
        uses: test/fail
        with:
          message: "learner \${{ learner.id }} is bad"
outputs:
  done: \${{ length(steps.each.output) }}
`

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split("\n").pop()!) as Record<string, unknown>

describe("how a run's end is reported", () => {
  it.live("a batch with failed items (continue): ⚠ and which items, exit 5, in --json, runs list and runs show", () =>
    Effect.gen(function*() {
      const t = setup(batch("continue"))
      const result = yield* inProcess(["run", t.file, "--store", t.db], t.options)
      expect(result.code).toBe(ExitCode.itemsFailed)
      expect(result.code).toBe(5)
      expect(result.stdout).not.toContain("✓ succeeded")
      expect(result.stdout).toMatch(/⚠ finished with 2 of 4 items failed in .* \(run run_\w+\)/)
      expect(result.stdout).toContain("failed items (2):")
      expect(result.stdout).toContain(
        "✗ each[1]: step each[1]/check (test/fail) failed with an error that is not retried: HTTP 400: learner 2 is bad"
      )
      expect(result.stdout).toContain("✗ each[3]: step each[3]/check (test/fail)")
      expect(result.stdout).toContain("its completed steps were kept")
      expect(result.stdout).toMatch(/details: relais runs show run_\w+/)
      expect(result.stderr).toMatch(/run run_\w+ finished: succeeded_with_failures/)
      // continue: the failed items' conventions stay.
      expect(t.remote.conventions.size).toBe(4)
      const runId = /\(run (run_\w+)\)/.exec(result.stdout)![1]!

      const json = yield* inProcess(["run", t.file, "--store", t.db, "--json"], t.options)
      expect(json.code).toBe(5)
      const final = lastJson(json.stdout)
      expect(final).toMatchObject({ type: "result", status: "succeeded_with_failures", exitCode: 5 })
      expect((final.failedItems as Array<unknown>).map((i) => (i as { path: string }).path)).toEqual(["each[1]", "each[3]"])
      expect((final.failedItems as Array<unknown>)[0]).toMatchObject({
        loop: "each",
        index: 1,
        items: 4,
        completedSteps: "kept",
        failure: { step: "test/fail", path: "each[1]/check", error: { message: "learner 2 is bad" } }
      })

      const list = yield* inProcess(["runs", "list", "--store", t.db], t.options)
      expect(list.code).toBe(0)
      const row = list.stdout.split("\n").find((l) => l.startsWith(runId))!
      expect(row).toMatch(/succeeded_with_failures\s/)
      expect(row).toContain("2 of 4 items failed")
      const filtered = yield* inProcess(["runs", "list", "--store", t.db, "--status", "succeeded_with_failures", "--json"], t.options)
      expect(filtered.stdout).toContain(runId)

      const show = yield* inProcess(["runs", "show", runId, "--store", t.db], t.options)
      expect(show.stdout).toContain("⚠ finished with 2 of 4 items failed")
      expect(show.stdout).toContain("✗ each[3]: step each[3]/check (test/fail)")
    }))

  it.live("compensate-item: the failed items' steps were undone, and the run still says items failed", () =>
    Effect.gen(function*() {
      const t = setup(batch("compensate-item"))
      const result = yield* inProcess(["run", t.file, "--store", t.db, "--json"], t.options)
      expect(result.code).toBe(5)
      const final = lastJson(result.stdout)
      expect(final).toMatchObject({ status: "succeeded_with_failures", exitCode: 5 })
      expect((final.failedItems as Array<{ completedSteps: string }>).map((i) => i.completedSteps)).toEqual(["undone", "undone"])
      expect([...t.remote.conventions.values()].map((c) => c.ApprenantId).sort()).toEqual([1, 3])
      const text = yield* inProcess(["run", t.file, "--store", t.db], t.options)
      expect(text.stdout).toContain("its completed steps were undone")
    }))

  it.live("a batch where every item succeeds is still ✓ succeeded, exit 0", () =>
    Effect.gen(function*() {
      const t = setup(batch("continue"))
      const result = yield* inProcess([
        "run",
        t.file,
        "--store",
        t.db,
        "--input",
        `learners=[{"id": 1, "bad": false}]`
      ], t.options)
      expect(result.stderr).not.toContain("error")
      expect(result.code).toBe(0)
      expect(result.stdout).toMatch(/✓ succeeded in /)
    }))

  it.live("a compensation that found nothing to undo is reported as such, not as undone", () =>
    Effect.gen(function*() {
      existing.clear()
      created.length = 0
      existing.add(7)
      const t = setup(`version: 1
name: enrol
steps:
  - id: known
    uses: people/find-or-create-learner
    with: { Id: 7 }
  - id: fresh
    uses: people/find-or-create-learner
    with: { Id: 8 }
  - id: boom
    uses: test/fail
    with: { message: "the service is down" }
`)
      const result = yield* inProcess(["run", t.file, "--store", t.db], t.options)
      expect(result.code).toBe(1)
      expect(result.stdout).toContain("failed and compensated")
      expect(result.stdout).toContain("undone (1):")
      expect(result.stdout).toContain("↺ fresh (people/find-or-create-learner): delete the learner, if this step created them")
      expect(result.stdout).not.toMatch(/↺ known/)
      expect(result.stdout).toContain("nothing to undo (1):")
      expect(result.stdout).toContain("○ known (people/find-or-create-learner): learner 7 existed before the run")
      expect(result.stderr).toContain("undo known: nothing to undo, learner 7 existed before the run")
      expect(result.stderr).not.toContain("undo known succeeded")
      expect([...existing]).toEqual([7])

      const json = yield* inProcess(["runs", "show", /\(run (run_\w+)\)/.exec(result.stdout)![1]!, "--store", t.db, "--json"], t.options)
      expect(json.stdout).toContain(`"nothingToUndo":true`)
    }))

  it.live("when every compensation found nothing to undo, the run does not claim it compensated", () =>
    Effect.gen(function*() {
      existing.clear()
      existing.add(9)
      const t = setup(`version: 1
name: enrol-known
steps:
  - id: known
    uses: people/find-or-create-learner
    with: { Id: 9 }
  - id: boom
    uses: test/fail
    with: { message: "the service is down" }
`)
      const result = yield* inProcess(["run", t.file, "--store", t.db], t.options)
      expect(result.code).toBe(1)
      expect(result.stdout).not.toContain("failed and compensated")
      expect(result.stdout).not.toMatch(/^undone \(/m)
      expect(result.stdout).toContain("nothing had to be undone")
      expect(result.stdout).toContain("○ known (people/find-or-create-learner): learner 9 existed before the run")
    }))
})

describe("the pieces of the report", () => {
  const item = (loop: string, index: number, items: number) =>
    new Run.FailedItem({
      path: `${loop}[${index}]`,
      loop,
      index,
      items,
      failure: new Run.Failure({ error: new Errors.ErrorInfo({ _tag: "Boom", message: "bad" }) }),
      completedSteps: "kept"
    })

  it("counts failed items per loop", () => {
    expect(Report.failedItemsSummary([item("contrats", 1, 10), item("contrats", 7, 10)])).toBe("2 of 10 items failed")
    expect(Report.failedItemsSummary([item("each", 0, 1)])).toBe("1 of 1 item failed")
    expect(Report.failedItemsSummary([item("a", 0, 4), item("b", 2, 3), item("b", 1, 3)])).toBe("1 of 4 items in a, 2 of 3 in b failed")
  })

  it("the live view marks the end of a batch with failed items, and a compensation with nothing to undo", () => {
    const base = { runId: Run.RunId.make("run_x"), at: 0 }
    const error = new Errors.ErrorInfo({ _tag: "Boom", message: "bad" })
    let state = Progress.initialState
    const lines: Array<string> = []
    for (
      const event of [
        { _tag: "ItemFailed", ...base, path: "each[1]", index: 1, error, compensated: false },
        { _tag: "ItemFailed", ...base, path: "each[3]", index: 3, error, compensated: true },
        { _tag: "CompensationSkipped", ...base, path: "known", step: "people/find", attempts: 1, reason: "learner 7 existed before the run" },
        { _tag: "RunFinished", ...base, status: "succeeded_with_failures", durationMillis: 5 }
      ] as ReadonlyArray<Run.RunEvent>
    ) {
      const next = Progress.applyLive(state, event, Style.plain)
      state = next.state
      lines.push(...next.lines)
    }
    expect(lines).toContain("○ known nothing to undo: learner 7 existed before the run")
    expect(lines[lines.length - 1]).toBe("⚠ finished with 2 failed items set aside")
  })
})
