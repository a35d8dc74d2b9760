/**
 * The shipped examples, end to end through the `relais` binary, against both sandboxes started
 * by the test (so that their final state can be asserted): the apprenticeship and internship
 * conventions, the nightly snapshot batch and its guard, a run that succeeds by retrying
 * injected faults, a run whose last step fails for good and is compensated, and a run killed
 * with SIGKILL then finished by `relais resume` without duplicating anything.
 */
import { describe, expect, it } from "@effect/vitest"
import { AimairaSandbox } from "@relais/aimaira/sandbox"
import { CampusSkillsSandbox } from "@relais/campus-skills/sandbox"
import { Effect, Redacted, Schedule } from "effect"
import * as Path from "node:path"
import { child, collect, packageDir, spawnChild, tmpDir } from "./harness/Cli.js"

const examples = Path.resolve(packageDir, "../../examples")
const example = (name: string) => Path.join(examples, name)

const sandboxes = (options: { readonly contracts?: ReadonlyArray<Record<string, string>> } = {}) =>
  Effect.gen(function*() {
    const aimaira = yield* AimairaSandbox.make()
    const campus = yield* CampusSkillsSandbox.make(
      options.contracts ? { contracts: options.contracts as never } : {}
    )
    const env = {
      AIMAIRA_URL: aimaira.apiUrl,
      AIMAIRA_USERNAME: aimaira.credentials.username,
      AIMAIRA_PASSWORD: Redacted.value(aimaira.credentials.password),
      CAMPUS_SKILLS_URL: campus.url,
      CAMPUS_SKILLS_TOKEN: Redacted.value(campus.token),
      RELAIS_STORE: Path.join(tmpDir("relais-examples-"), "relais.db")
    }
    return { aimaira, campus, env }
  })

const rows = (aimaira: AimairaSandbox.Service, collection: string) =>
  Effect.map(aimaira.state, (state) => state.collections[collection] ?? [])

const counts = (aimaira: AimairaSandbox.Service) =>
  Effect.map(aimaira.state, (state) =>
    Object.fromEntries(
      ["Convention", "Entreprise", "Professionnel", "Mail", "Remuneration", "ConventionOrganismeFinanceur", "Client"].map(
        (c) => [c, state.collections[c]?.length ?? 0]
      )
    ))

const run = (args: ReadonlyArray<string>, env: Record<string, string>) => Effect.promise(() => child(args, { env }))

describe("examples, end to end", { timeout: 120_000 }, () => {
  it.scopedLive("the apprenticeship convention: everything in AIMAIRA, the contract integrated in Campus Skills", () =>
    Effect.gen(function*() {
      const { aimaira, campus, env } = yield* sandboxes()
      const before = yield* counts(aimaira)
      const result = yield* run(["run", example("convention-apprentissage.yaml"), "--json"], env)
      expect(result.stderr).not.toMatch(/\n\s+at /)
      expect(result.code).toBe(0)
      const final = JSON.parse(result.stdout.trim().split("\n").pop()!) as {
        status: string
        output: { conventionId: number; contrat: string; integrated: Array<string> }
      }
      expect(final.status).toBe("succeeded")
      const convention = (yield* rows(aimaira, "Convention")).find((c) => c.Id === final.output.conventionId)!
      const entreprise = (yield* rows(aimaira, "Entreprise")).find((e) => e.Id === convention.EntrepriseId)!
      expect(entreprise).toMatchObject({ Nom: "Boulangerie Martin & Fils", SIRET: "73282932000074" })
      const people = yield* rows(aimaira, "Professionnel")
      expect(people.find((p) => p.Id === convention.MaitreId)).toMatchObject({ Nom: "MARTIN", Prenoms: "Claire" })
      expect(people.find((p) => p.Id === convention.SignataireId)).toMatchObject({ Nom: "MARTIN", Prenoms: "Paul" })
      expect(convention.EnseignantId).toBeGreaterThan(0)
      const after = yield* counts(aimaira)
      expect(after).toEqual({
        ...before,
        Convention: before.Convention! + 1,
        Entreprise: before.Entreprise! + 1,
        Professionnel: before.Professionnel! + 2,
        Mail: before.Mail! + 1,
        Remuneration: before.Remuneration! + 1,
        ConventionOrganismeFinanceur: before.ConventionOrganismeFinanceur! + 1,
        Client: before.Client! + 2
      })
      const contracts = yield* campus.state
      const contract = contracts.transmitted.find((c) => c.codeContrat === final.output.contrat)!
      expect(contract).toMatchObject({ status: "active", integration: "integrated" })
      expect(contract.contrat).toMatchObject({
        emailMaitreApprentissage: "claire.martin@boulangerie-martin.fr",
        nomEntreprise: "Boulangerie Martin & Fils",
        dateDebut: "15/09/2025",
        dateFin: "31/08/2026"
      })
      expect(final.output.integrated).toEqual([final.output.contrat])
    }))

  it.scopedLive("the internship convention, with its tutor, teacher and signatory, published on request", () =>
    Effect.gen(function*() {
      const { aimaira, campus, env } = yield* sandboxes()
      const result = yield* run(["run", example("convention-stage.yaml"), "--input", "publish=true", "--json"], env)
      expect(result.code).toBe(0)
      const final = JSON.parse(result.stdout.trim().split("\n").pop()!) as { output: { conventionId: number; conventionCode: string } }
      const convention = (yield* rows(aimaira, "Convention")).find((c) => c.Id === final.output.conventionId)!
      const types = yield* rows(aimaira, "TypeConvention")
      const etats = yield* rows(aimaira, "EtatConvention")
      expect(types.find((t) => t.Id === convention.TypeConventionId)?.Code).toBe("STG")
      expect(etats.find((e) => e.Id === convention.EtatConventionId)?.Code).toBe("DOCUSIGN")
      expect(convention.MaitreId).toBeGreaterThan(0)
      expect(convention.SignataireId).toBeGreaterThan(0)
      expect(convention.EnseignantId).toBeGreaterThan(0)
      expect(convention.DateDebut).toBe("2026-01-05T00:00:00+01:00")
      const published = (yield* campus.state).transmitted.map((c) => c.codeContrat)
      expect(published).toContain(final.output.conventionCode)
    }))

  it.scopedLive("the nightly batch: one snapshot of every mappable convention, the others reported", () =>
    Effect.gen(function*() {
      const { campus, env } = yield* sandboxes()
      const result = yield* run(["run", example("campus-skills-nightly.yaml"), "--json"], env)
      // The convention that cannot be mapped is a failed item: the batch says so (exit 5).
      expect(result.code).toBe(5)
      const final = JSON.parse(result.stdout.trim().split("\n").pop()!) as {
        status: string
        failedItems: Array<{ path: string }>
        output: { conventions: number; synced: number; notMapped: Array<string>; reasons: Array<string> }
      }
      expect(final.status).toBe("succeeded_with_failures")
      expect(final.failedItems).toHaveLength(1)
      expect(final.output).toMatchObject({ conventions: 5, synced: 4, notMapped: ["CS00000003"] })
      expect(final.output.reasons[0]).toContain("maitre: missing")
      const state = yield* campus.state
      expect(state.active.map((c) => c.codeContrat).sort()).toEqual(["CS00000001", "CS00000002", "CS00000004", "CS00000005"])
      expect(state.archived).toEqual([])
    }))

  it.scopedLive("the nightly batch refuses a snapshot that would archive a school's contracts, naming them", () =>
    Effect.gen(function*() {
      const { campus, env } = yield* sandboxes({ contracts: [] })
      // A contract Campus Skills holds that this batch does not contain.
      const first = yield* run(["run", example("campus-skills-nightly.yaml")], env)
      expect(first.code).toBe(5)
      const held = yield* campus.state
      const result = yield* run(["run", example("campus-skills-nightly.yaml"), "--input", "periode=2024/2025"], env)
      expect(result.code).toBe(1)
      expect(result.stderr).toContain("CS00000001")
      expect(result.stderr).toMatch(/would archive/)
      const after = yield* campus.state
      expect(after.transmitted).toEqual(held.transmitted)
    }))

  it.scopedLive("injected faults (503, 429 with Retry-After, a lost answer) are retried and the run succeeds", () =>
    Effect.gen(function*() {
      const { aimaira, campus, env } = yield* sandboxes()
      yield* aimaira.faults.addText("POST /GraphV1/Convention 503 x2")
      yield* aimaira.faults.addText("POST /GraphV1/Entreprise drop-after-commit x1")
      yield* campus.faults.addText("POST /api/sync/v2/contrats/changes 429:1 x1")
      const before = yield* counts(aimaira)
      const result = yield* run(["run", example("convention-apprentissage.yaml")], env)
      expect(result.code).toBe(0)
      expect(result.stderr).toContain("step convention retry: attempt 2 in")
      expect(result.stderr).toContain("step entreprise reconciled")
      const after = yield* counts(aimaira)
      expect(after.Convention).toBe(before.Convention! + 1)
      expect(after.Entreprise).toBe(before.Entreprise! + 1)
      const posts = yield* aimaira.requests.count({ method: "POST", path: "/GraphV1/Convention" })
      expect(posts).toBe(3)
      const changes = yield* campus.requests.count({ method: "POST", path: "/api/sync/v2/contrats/changes" })
      expect(changes).toBe(2)
    }))

  it.scopedLive("a last step that fails for good is compensated: nothing is left in AIMAIRA (exit 1)", () =>
    Effect.gen(function*() {
      const { aimaira, campus, env } = yield* sandboxes()
      const before = yield* aimaira.state
      // The master's e-mail is the learner's: Campus Skills refuses two persons with one e-mail.
      const result = yield* run(
        ["run", example("convention-apprentissage.yaml"), "--input", "maitreEmail=tom.legall@etudiant-exemple.fr"],
        env
      )
      expect(result.code).toBe(1)
      expect(result.stderr).toContain("compensated")
      expect(result.stderr).not.toMatch(/\n\s+at /)
      const after = yield* aimaira.state
      for (const collection of ["Convention", "Entreprise", "Professionnel", "Mail", "Remuneration", "ConventionOrganismeFinanceur", "Client", "Apprenant"]) {
        expect(after.collections[collection]).toEqual(before.collections[collection])
      }
      expect((yield* campus.state).transmitted).toEqual([])
    }))

  it.scopedLive("killed with SIGKILL mid-run, finished by `relais resume`: no duplicate", () =>
    Effect.gen(function*() {
      const { aimaira, env } = yield* sandboxes()
      const before = yield* counts(aimaira)
      // The professionals take long to create: the process is killed while they are in flight.
      yield* aimaira.faults.addText("POST /GraphV1/Professionnel latency:5s")
      const first = spawnChild(["run", example("convention-apprentissage.yaml"), "--run-id", "run_e2e_kill"], { env })
      const done = collect(first)
      yield* Effect.promise(() =>
        new Promise<void>((resolve) => {
          let seen = ""
          first.stderr?.on("data", (chunk: Buffer) => {
            seen += chunk.toString("utf8")
            if (seen.includes("step maitre started")) resolve()
          })
        })
      )
      // Killed once a professional's POST is in flight (held by the latency): an event, where a
      // fixed pause would be too short or too long depending on the machine's load.
      yield* aimaira.requests.count({ method: "POST", path: "/GraphV1/Professionnel", outcome: "pending" }).pipe(
        Effect.repeat({ until: (pending) => pending > 0, schedule: Schedule.spaced("20 millis") })
      )
      first.kill("SIGKILL")
      const killed = yield* Effect.promise(() => done)
      expect(killed.signal).toBe("SIGKILL")
      yield* aimaira.faults.clear
      const resumed = yield* run(["resume", "run_e2e_kill"], env)
      expect(resumed.stderr).not.toMatch(/\n\s+at /)
      expect(resumed.code).toBe(0)
      const after = yield* counts(aimaira)
      expect(after.Convention).toBe(before.Convention! + 1)
      expect(after.Entreprise).toBe(before.Entreprise! + 1)
      expect(after.Professionnel).toBe(before.Professionnel! + 2)
      expect(after.Mail).toBe(before.Mail! + 1)
    }))
})
