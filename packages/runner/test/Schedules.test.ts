/**
 * `relais schedules` in-process, with the clock set (TestClock): each schedule, its next fire
 * times in its zone across a DST change, JSON output, a directory, and located problems.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { inProcess, type InProcessOptions, tmpDir, writeFile } from "./harness/Cli.js"
import { Ledger, makePlugin } from "./harness/Plugin.js"

const flow = (name: string, triggers: string) => `version: 1
name: ${name}
inputs:
  name: { type: string, default: alpha }
triggers:
${triggers}
steps:
  - id: record
    uses: demo/create
    with: { name: "\${{ inputs.name }}" }
`

const options: InProcessOptions = { plugins: [makePlugin(new Ledger())] }

describe("relais schedules", () => {
  it.effect("lists each schedule and its next fire times in its zone, offset shown", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2027-03-27T12:00:00Z"))
      const dir = tmpDir()
      const file = writeFile(dir, "nightly.yaml", flow("nightly", `  - schedule: { name: night, cron: "30 2 * * *", missed: once }
  - schedule: { cron: "0 9 * * mon-fri", timezone: America/New_York, inputs: { name: beta } }`))
      const result = yield* inProcess(["schedules", file, "--count", "3"], options)
      expect(result.code).toBe(0)
      expect(result.stdout).toBe([
        `nightly (${file}, trigger night)`,
        "  cron 30 2 * * *  zone Europe/Paris  missed once",
        // 02:30 does not exist on the night of the change: 03:00 in summer time.
        "  2027-03-28 03:00 +02:00 (Sun)",
        "  2027-03-29 02:30 +02:00 (Mon)",
        "  2027-03-30 02:30 +02:00 (Tue)",
        `nightly (${file}, trigger 1)`,
        "  cron 0 9 * * mon-fri  zone America/New_York  missed skip",
        "  2027-03-29 09:00 -04:00 (Mon)",
        "  2027-03-30 09:00 -04:00 (Tue)",
        "  2027-03-31 09:00 -04:00 (Wed)",
        ""
      ].join("\n"))
      const json = yield* inProcess(["schedules", file, "--count", "2", "--json"], options)
      expect(json.code).toBe(0)
      expect(json.stdout.trim().split("\n").map((line) => JSON.parse(line))).toEqual([
        {
          type: "schedule",
          workflow: "nightly",
          file,
          trigger: "night",
          cron: "30 2 * * *",
          timezone: "Europe/Paris",
          missed: "once",
          inputs: { name: "alpha" },
          next: ["2027-03-28T03:00+02:00", "2027-03-29T02:30+02:00"]
        },
        {
          type: "schedule",
          workflow: "nightly",
          file,
          trigger: 1,
          cron: "0 9 * * mon-fri",
          timezone: "America/New_York",
          missed: "skip",
          inputs: { name: "beta" },
          next: ["2027-03-29T09:00-04:00", "2027-03-30T09:00-04:00"]
        }
      ])
    }))

  it.effect("a directory: the valid files' schedules, the invalid files reported located, exit 2", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2027-10-30T12:00:00Z"))
      const dir = tmpDir()
      writeFile(dir, "a.yaml", flow("hourly", `  - schedule: { cron: "30 * * * *" }`))
      writeFile(dir, "b.yaml", flow("broken", `  - schedule: { cron: "30 2 * * 8", timezone: Europe/Pariss }`))
      writeFile(dir, "notes.txt", "not a workflow")
      const result = yield* inProcess(["schedules", "--workflows", dir, "--count", "30"], options)
      expect(result.code).toBe(2)
      // The repeated hour of the fall-back night appears twice, with both offsets.
      expect(result.stdout).toContain("  2027-10-31 02:30 +02:00 (Sun)\n  2027-10-31 02:30 +01:00 (Sun)\n")
      const b = Path.join(dir, "b.yaml")
      expect(result.stderr).toContain(`${b}:6:33: day-of-week: 8 is out of range 0-6 (or 7 for Sunday)`)
      expect(result.stderr).toContain(`${b}:6:47: unknown time zone "Europe/Pariss" (did you mean "Europe/Paris"?)`)
      expect(result.stderr).toContain(`✗ ${b}: 2 problems`)
      expect(result.stdout).not.toContain("broken")
    }))

  it.effect("no file and no --workflows: the configuration's serve.workflows", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2027-06-01T12:00:00Z"))
      const dir = tmpDir()
      Fs.mkdirSync(Path.join(dir, "workflows"))
      writeFile(Path.join(dir, "workflows"), "daily.yaml", flow("daily", `  - schedule: { cron: "@daily", timezone: UTC }`))
      const config = writeFile(dir, "relais.config.yaml", "serve:\n  workflows: ./workflows\n")
      const result = yield* inProcess(["schedules", "--config", config, "--count", "1"], options)
      expect(result.code).toBe(0)
      expect(result.stdout).toContain("daily (")
      expect(result.stdout).toContain("  2027-06-02 00:00 +00:00 (Wed)\n")
    }))

  it.effect("files without schedules, and no file at all", () =>
    Effect.gen(function*() {
      const dir = tmpDir()
      const file = writeFile(dir, "none.yaml", flow("none", "  []"))
      const none = yield* inProcess(["schedules", file], options)
      expect(none).toMatchObject({ code: 0, stdout: "no schedules in 1 workflow\n" })
      const usage = yield* inProcess(["schedules"], options)
      expect(usage.code).toBe(2)
      expect(usage.stderr).toContain("relais schedules needs workflow files, or --workflows <dir> (or serve.workflows in the configuration)")
      const missing = yield* inProcess(["schedules", "--workflows", Path.join(dir, "nowhere")], options)
      expect(missing.code).toBe(2)
      expect(missing.stderr).toContain("does not exist")
      expect(Fs.existsSync(Path.join(dir, "nowhere"))).toBe(false)
    }))
})
