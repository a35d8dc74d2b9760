/**
 * The `relais` executable (the bundle a user runs) as a child process: its own answers
 * (version, help, colours only on a terminal, usage errors), exit codes, stdout/stderr, no
 * stack trace for a user mistake, the sandbox server, profiles, and a canary secret used for
 * real against a sandbox that never shows up in the output or the run store.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { AimairaClient, AimairaConfig, AimairaPlugin } from "@relais/aimaira"
import { AimairaSandbox } from "@relais/aimaira/sandbox"
import { Step } from "@relais/core"
import { Effect, Layer, Redacted, Scope } from "effect"
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest"
import { binary, child, collect, packageDir, spawnChild, stackTrace, storeBytes, tmpDir, waitForStdout, writeFile } from "./harness/Cli.js"

// A learner of the sandbox's seeded data (the default seed, as `run --sandbox` uses) that has
// an eligible sequence, found by asking the step itself rather than hard-coding an id.
let learner = 0
const scope = Effect.runSync(Scope.make())
let sandbox: AimairaSandbox.Service
const canary = "Canary-pw-7f3b9c-never-shown"

beforeAll(async () => {
  sandbox = await Effect.runPromise(Scope.extend(AimairaSandbox.make({ credentials: { password: Redacted.make(canary) } }), scope))
  const state = await Effect.runPromise(sandbox.state)
  const listEligible = AimairaPlugin.steps.find((s) => s.name === "aimaira/list-eligible-sequences")!
  const client = AimairaClient.layer({ url: sandbox.apiUrl, auth: AimairaConfig.basic("sandbox", canary) }).pipe(
    Layer.provide(NodeHttpClient.layer)
  )
  for (const apprenant of state.collections.Apprenant ?? []) {
    const found = await Effect.runPromise(
      Step.decodeInput(listEligible, "probe", { ApprenantId: apprenant.Id }).pipe(
        Effect.flatMap((input) => listEligible.run(input) as Effect.Effect<ReadonlyArray<unknown>, unknown, AimairaClient.AimairaClient>),
        Effect.map((sequences) => sequences.length),
        Effect.provide(client),
        Effect.orElseSucceed(() => 0)
      )
    )
    if (found > 0) {
      learner = apprenant.Id
      break
    }
  }
  if (learner === 0) throw new Error("the AIMAIRA sandbox's seeded data has no learner with an eligible sequence")
})
afterAll(() => Effect.runPromise(Scope.close(scope, Effect.void.pipe(Effect.exit) as never)))

const flow = () => `version: 1
name: convention-entreprise
inputs:
  apprenantId: { type: integer }
steps:
  - id: sequences
    uses: aimaira/list-eligible-sequences
    with:
      ApprenantId: \${{ inputs.apprenantId }}
  - id: convention
    uses: aimaira/create-convention
    with:
      ApprenantId: \${{ inputs.apprenantId }}
      TypeConventionCode: APP
      SequenceId: \${{ steps.sequences.output[0].Id }}
  - id: entreprise
    uses: aimaira/create-entreprise
    retry: { maxAttempts: 2, initialDelay: 50ms }
    with:
      Nom: ACME
outputs:
  conventionId: \${{ steps.convention.output.Id }}
`

describe.concurrent("the binary's own answers: version, help, usage", () => {
  it("--version prints the package's version at once, through a pipe with no escape byte", async () => {
    const pkg = JSON.parse(Fs.readFileSync(Path.join(packageDir, "package.json"), "utf8")) as { version: string }
    const result = await child(["--version"])
    expect(result).toMatchObject({ code: 0, stdout: `${pkg.version}\n`, stderr: "" })
  })

  it("--help through a pipe, or under NO_COLOR: every command, no ESC byte, exit 0", async () => {
    for (const env of [{}, { NO_COLOR: "1" }]) {
      const result = await child(["--help"], { env })
      expect(result.code).toBe(0)
      expect(result.stdout).toContain("usage: relais <command> [options]")
      expect(result.stdout).toMatch(/runs show <runId>\s+Show a run/)
      expect(`${result.stdout}${result.stderr}`).not.toContain("\x1b")
    }
    const run = await child(["run", "--help"])
    expect(run.stdout).toMatch(/--input <name=value>\s+A workflow input/)
    expect(run.stdout).not.toContain("\x1b")
    expect(run.stdout).not.toMatch(/--wizard|--completions|--log-level|user-defined piece of text/i)
  })

  it("a terminal gets colours, unless NO_COLOR says no", async () => {
    // `script` gives the child a pseudo-terminal, as a person at a shell has.
    const tty = (env: Record<string, string>) =>
      collect(spawn("script", ["-qec", `${process.execPath} ${binary} --help`, "/dev/null"], {
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: tmpDir(), TERM: "xterm", ...env },
        stdio: ["ignore", "pipe", "pipe"]
      }))
    const coloured = await tty({})
    expect(coloured.code).toBe(0)
    expect(coloured.stdout).toContain("\x1b[1musage:\x1b[22m")
    const noColor = await tty({ NO_COLOR: "1" })
    expect(noColor.stdout).toContain("usage: relais <command> [options]")
    expect(noColor.stdout).not.toContain("\x1b")
  })

  it("an unknown flag: exit 2, the flag echoed and what to do, no stack trace", async () => {
    const result = await child(["run", "flow.yaml", "--sandbx"])
    expect(result.code).toBe(2)
    expect(result.stderr).toBe(
      `error: unknown option "--sandbx" for relais run (did you mean "--sandbox"?)\nusage: relais run <file> [options]\nrelais run --help shows its arguments and options\n`
    )
    expect(result.stdout).toBe("")
  })

  it("a mistyped command: exit 2, echoed with a suggestion; no command at all: the overview on stderr", async () => {
    const typo = await child(["valdate", "flow.yaml"])
    expect(typo.code).toBe(2)
    expect(typo.stderr).toContain(`error: unknown command "valdate" (did you mean "validate"?)`)
    expect(typo.stderr).not.toMatch(stackTrace)
    const bare = await child([])
    expect(bare.code).toBe(2)
    expect(bare.stdout).toBe("")
    expect(bare.stderr).toContain("usage: relais <command> [options]")
  })

  it("a reader that goes away early (| head) is not an error", async () => {
    const process = spawnChild(["schema", "-o", "-"])
    const done = collect(process)
    await waitForStdout(process, /\$schema/)
    process.stdout!.destroy()
    const result = await done
    expect(result.code).toBe(0)
    expect(result.stderr).not.toMatch(/EPIPE|stack|Error/)
  })
})

describe("the compile cache", () => {
  it("a command writes V8's code cache once, reuses it, and survives a damaged one", async () => {
    const cache = tmpDir()
    const env = { XDG_CACHE_HOME: cache }
    const dir = Path.join(cache, "relais", "compile-cache")
    const first = await child(["steps", "--json"], { env })
    expect(first.code).toBe(0)
    const [file] = Fs.readdirSync(dir)
    expect(file).toMatch(/^steps\.cjs-.*\.v8$/)
    const written = Fs.statSync(Path.join(dir, file!)).mtimeMs
    const second = await child(["steps", "--json"], { env })
    expect(second.stdout).toBe(first.stdout)
    expect(Fs.statSync(Path.join(dir, file!)).mtimeMs).toBe(written)
    Fs.writeFileSync(Path.join(dir, file!), "damaged")
    const third = await child(["steps", "--json"], { env })
    expect(third).toMatchObject({ code: 0, stdout: first.stdout })
    expect(Fs.readFileSync(Path.join(dir, file!), "utf8")).not.toBe("damaged")
    const off = await child(["steps", "--json"], { env: { NODE_DISABLE_COMPILE_CACHE: "1", XDG_CACHE_HOME: tmpDir() } })
    expect(off.stdout).toBe(first.stdout)
  })
})

describe.concurrent("usage errors", () => {

  it("validate on a missing file: exit 2, named, no stack trace; the other files are still checked", async () => {
    const dir = tmpDir()
    const good = writeFile(dir, "good.yaml", flow())
    const result = await child(["validate", Path.join(dir, "missing.yaml"), good])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(`${Path.join(dir, "missing.yaml")}: cannot read it: no such file`)
    expect(result.stdout).toContain(`✓ ${good}: convention-entreprise`)
    expect(result.stderr).toContain("2 files checked, 1 with problems")
    expect(result.stderr).not.toMatch(stackTrace)
  })

  it("--fault without --sandbox, and a malformed fault: exit 2 before anything runs", async () => {
    const dir = tmpDir()
    const file = writeFile(dir, "flow.yaml", flow())
    const noSandbox = await child(["run", file, "--fault", "aimaira:* 503", "--store", Path.join(dir, "db")])
    expect(noSandbox.code).toBe(2)
    expect(noSandbox.stderr).toContain("error: --fault injects faults into the sandboxes: add --sandbox")
    const malformed = await child(["run", file, "--sandbox", "--fault", "aimaira:POST /x 404", "--store", Path.join(dir, "db")])
    expect(malformed.code).toBe(2)
    expect(malformed.stderr).toContain(`--fault: Invalid fault "POST /x 404"`)
    expect(malformed.stderr).not.toMatch(stackTrace)
  })

  it("steps: the catalogue, one step's inputs, and a suggestion for a typo", async () => {
    const one = await child(["steps", "aimaira/create-convention"])
    expect(one.code).toBe(0)
    expect(one.stdout).toMatch(/input \(with:\)\n\s+ApprenantId\s+\S+\s+required/)
    const typo = await child(["steps", "aimaira/create-conventon"])
    expect(typo.code).toBe(2)
    expect(typo.stderr).toContain(`unknown step "aimaira/create-conventon" (did you mean "aimaira/create-convention"`)
  })
})

describe.concurrent("profiles", () => {
  it("a production profile as defaultProfile is refused: exit 4, located, no stack trace", async () => {
    const dir = tmpDir()
    writeFile(dir, "relais.config.yaml", `defaultProfile: prod
profiles:
  prod:
    production: true
    aimaira: { url: https://x.aimaira.net, username: api, password: { env: AIMAIRA_PASSWORD } }
`)
    const result = await child(["config"], { cwd: dir, env: { AIMAIRA_PASSWORD: canary } })
    expect(result.code).toBe(4)
    expect(result.stderr).toContain(
      `relais.config.yaml:1:17: defaultProfile: profile "prod" is marked production: true and cannot be the default`
    )
    expect(result.stderr).not.toMatch(stackTrace)
    expect(`${result.stdout}${result.stderr}`).not.toContain(canary)
  })

  it("missing credentials name the variables to set", async () => {
    const result = await child(["config"], { env: { AIMAIRA_URL: "https://x-preprod.aimaira.net", AIMAIRA_USERNAME: "api" } })
    expect(result.code).toBe(4)
    expect(result.stdout).toMatch(/AIMAIRA is not configured: .*AIMAIRA_PASSWORD/)
    expect(result.stdout).toContain("Campus Skills is not configured: set CAMPUS_SKILLS_URL and CAMPUS_SKILLS_TOKEN")
  })

  it("config shows where each secret comes from, never its value", async () => {
    const result = await child(["config"], {
      env: {
        AIMAIRA_URL: "https://x-preprod.aimaira.net",
        AIMAIRA_USERNAME: "api",
        AIMAIRA_PASSWORD: canary,
        CAMPUS_SKILLS_URL: "https://app.campus-skills.com",
        CAMPUS_SKILLS_TOKEN: `${canary}-token`
      }
    })
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/\n  password +set, from env AIMAIRA_PASSWORD\n/)
    expect(`${result.stdout}${result.stderr}`).not.toContain(canary)
  })
})

describe("sandbox", () => {
  it("serves every plugin's simulator until interrupted, and says how to reach them", async () => {
    const process = spawnChild(["sandbox", "--json", "--fault", "campus-skills:GET /api/sync/v1/test 503 x1"])
    const done = collect(process)
    onTestFinished(() => {
      if (process.exitCode === null && process.signalCode === null) process.kill("SIGKILL")
    })
    const [line] = await waitForStdout(process, /\{"type":"sandbox".*\}\n/)
    const info = JSON.parse(line) as { sandboxes: ReadonlyArray<{ plugin: string; url: string; env: Record<string, string> }> }
    expect(info.sandboxes.map((s) => s.plugin)).toEqual(["aimaira", "campus-skills"])
    const [aimairaInfo, campus] = info.sandboxes
    const basic = Buffer.from(`${aimairaInfo!.env.AIMAIRA_USERNAME}:${aimairaInfo!.env.AIMAIRA_PASSWORD}`).toString("base64")
    const aimaira = await fetch(`${aimairaInfo!.env.AIMAIRA_URL}/Apprenant?$top=1`, { headers: { authorization: `Basic ${basic}` } })
    expect(aimaira.status).toBe(200)
    expect(((await aimaira.json()) as { value: Array<unknown> }).value).toHaveLength(1)
    const bearer = { authorization: `Bearer ${campus!.env.CAMPUS_SKILLS_TOKEN}` }
    expect((await fetch(`${campus!.env.CAMPUS_SKILLS_URL}/api/sync/v1/test`, { headers: bearer })).status).toBe(503) // the fault, once
    expect((await fetch(`${campus!.url}/api/sync/v1/test`, { headers: bearer })).status).toBe(200)
    process.kill("SIGINT")
    const result = await done
    expect(result.code).toBe(130)
    expect(result.stderr).toContain("sandboxes stopped")
  })

  it("prints the credentials for people, saying they are not secrets", async () => {
    const process = spawnChild(["sandbox"])
    const done = collect(process)
    onTestFinished(() => {
      if (process.exitCode === null && process.signalCode === null) process.kill("SIGKILL")
    })
    await waitForStdout(process, /Press Ctrl-C to stop/)
    process.kill("SIGTERM")
    const result = await done
    expect(result.stdout).toMatch(/AIMAIRA sandbox\s+http:\/\/127\.0\.0\.1:\d+/)
    expect(result.stdout).toMatch(/\n  password\s+sandbox-password\n/)
    expect(result.stdout).toContain("they are not secrets")
    expect(result.stdout).toMatch(/export AIMAIRA_URL=http:\/\/127\.0\.0\.1:\d+\/GraphV1 .*AIMAIRA_PASSWORD=sandbox-password/)
    expect(result.stdout).toMatch(/export CAMPUS_SKILLS_URL=http:\/\/127\.0\.0\.1:\d+ CAMPUS_SKILLS_TOKEN=\S+/)
  })
})

describe("run, end to end", () => {
  it("--sandbox: a run with the real providers; a fault makes it fail and undo the convention (exit 1)", async () => {
    const dir = tmpDir()
    const file = writeFile(dir, "flow.yaml", flow())
    const db = Path.join(dir, "relais.db")
    const result = await child([
      "run", file, "--sandbox", "--input", `apprenantId=${learner}`, "--store", db,
      "--fault", "aimaira:POST /GraphV1/Entreprise 503"
    ])
    expect(result.stderr).toContain("target: the in-process sandboxes")
    expect(result.stderr).toContain("step convention succeeded")
    expect(result.stderr).toContain("step entreprise attempt 2 started")
    expect(result.stdout).toContain("failed and compensated")
    expect(result.stdout).toMatch(/↺ convention \(aimaira\/create-convention\): delete the convention/)
    expect(result.code).toBe(1)
    const ok = await child(["run", file, "--sandbox", "--input", `apprenantId=${learner}`, "--store", db, "--json"])
    expect(ok.code).toBe(0)
    const last = JSON.parse(ok.stdout.trim().split("\n").pop()!) as { type: string; status: string; output: { conventionId: number } }
    expect(last).toMatchObject({ type: "result", status: "succeeded" })
    expect(last.output.conventionId).toBeGreaterThan(0)
  })

  it("a profile's password is used for real and never shown: not in stdout, stderr or the SQLite files", async () => {
    const dir = tmpDir()
    writeFile(dir, "flow.yaml", flow())
    const db = Path.join(dir, ".relais", "relais.db")
    writeFile(dir, "relais.config.yaml", `profiles:
  school:
    aimaira: { url: ${sandbox.apiUrl}, username: sandbox, password: { env: AIMAIRA_PASSWORD } }
  school-prod:
    production: true
    aimaira: { url: ${sandbox.apiUrl}, username: sandbox, password: { env: AIMAIRA_PASSWORD } }
`)
    await Effect.runPromise(sandbox.faults.addText("POST /GraphV1/Entreprise 503 x2 #entreprise-down"))
    const env = { AIMAIRA_PASSWORD: canary }
    const failed = await child(["run", "flow.yaml", "--profile", "school", "--input", `apprenantId=${learner}`], { cwd: dir, env })
    expect(failed.stderr).toContain(`target: profile school (AIMAIRA ${sandbox.apiUrl})`)
    expect(failed.stdout).toContain("failed and compensated")
    expect(failed.code).toBe(1)
    const prod = await child(["run", "flow.yaml", "--profile", "school-prod", "--input", `apprenantId=${learner}`, "--json"], { cwd: dir, env })
    expect(prod.code).toBe(0)
    expect(prod.stderr).toContain(`PRODUCTION: running convention-entreprise against profile "school-prod"`)
    expect(prod.stdout.trim().split("\n").every((l) => (JSON.parse(l) as { type: string }).type !== undefined)).toBe(true)
    const show = await child(["runs", "list", "--json"], { cwd: dir, env })
    expect((JSON.parse(show.stdout) as Array<unknown>).length).toBe(2)
    for (const output of [failed.stdout, failed.stderr, prod.stdout, prod.stderr, show.stdout]) expect(output).not.toContain(canary)
    const bytes = storeBytes(db)
    expect(bytes.length).toBeGreaterThan(0)
    expect(bytes).not.toContain(canary)
    expect(bytes).not.toContain(Buffer.from(`sandbox:${canary}`).toString("base64").replace(/=+$/, ""))
  })
})
