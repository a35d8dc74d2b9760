/**
 * The apprenticeship example with a learner AIMAIRA does not know yet, through the `relais`
 * binary against both sandboxes started by the test: the learner (and their e-mail) is created,
 * then their dossier d'inscription in the programme and its enrolment on the periods of the
 * parcours, so that the convention has an eligible sequence; and when a later step fails for
 * good, all of it is undone, the new learner included.
 */
import { describe, expect, it } from "@effect/vitest"
import { AimairaSandbox } from "@relais/aimaira/sandbox"
import { CampusSkillsSandbox } from "@relais/campus-skills/sandbox"
import { Effect, Redacted } from "effect"
import * as Path from "node:path"
import { collect, packageDir, spawnChild, tmpDir } from "./harness/Cli.js"

const example = Path.resolve(packageDir, "../../examples/convention-apprentissage.yaml")

const sandboxes = Effect.gen(function*() {
  const aimaira = yield* AimairaSandbox.make()
  const campus = yield* CampusSkillsSandbox.make()
  const env = {
    AIMAIRA_URL: aimaira.apiUrl,
    AIMAIRA_USERNAME: aimaira.credentials.username,
    AIMAIRA_PASSWORD: Redacted.value(aimaira.credentials.password),
    CAMPUS_SKILLS_URL: campus.url,
    CAMPUS_SKILLS_TOKEN: Redacted.value(campus.token),
    RELAIS_STORE: Path.join(tmpDir("relais-new-learner-"), "relais.db")
  }
  return { aimaira, campus, env }
})

/** `relais <args>` as a child process, with room for a loaded machine. */
const run = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.promise(() => collect(spawnChild(args, { env }), 120_000))

const adresse = "lina.benali@etudiant-exemple.fr"
const newLearner = ["--input", `email=${adresse}`, "--input", "nom=BENALI", "--input", "prenoms=Lina", "--input", "civilite=MME"]

describe("the apprenticeship example with a new learner", { timeout: 180_000 }, () => {
  it.scopedLive("creates the learner, their inscription and enrolment, then the convention on an eligible sequence", () =>
    Effect.gen(function*() {
      const { aimaira, campus, env } = yield* sandboxes
      const rows = (name: string) => Effect.map(aimaira.state, (state) => state.collections[name] ?? [])
      expect((yield* rows("Mail")).some((m) => m.Adresse === adresse)).toBe(false)

      const result = yield* run(["run", example, ...newLearner, "--json"], env)
      expect(result.stderr).not.toMatch(/\n\s+at /)
      expect(result.code).toBe(0)
      const final = JSON.parse(result.stdout.trim().split("\n").pop()!) as {
        status: string
        output: { conventionId: number; contrat: string; integrated: Array<string> }
      }
      expect(final.status).toBe("succeeded")

      // The learner and their e-mail.
      const mail = (yield* rows("Mail")).find((m) => m.Adresse === adresse)!
      const learner = (yield* rows("Apprenant")).find((a) => a.MailId === mail.Id)!
      expect(learner).toMatchObject({ Nom: "BENALI", Prenoms: "Lina", Login: adresse })
      // Their inscription in the PGE programme, through the programme's voie d'entrée.
      const programme = (yield* rows("Programme")).find((p) => p.Code === "PGE")!
      const voie = (yield* rows("Recrutement")).find((r) => r.ProgrammeId === programme.Id && r.ReferenceExterneId !== 0)!
      const inscriptions = (yield* rows("Inscription")).filter((i) => i.ApprenantId === learner.Id)
      expect(inscriptions).toHaveLength(1)
      expect(inscriptions[0]).toMatchObject({
        ProgrammeId: programme.Id,
        RecrutementId: voie.Id,
        RegimeInscriptionId: 345751,
        EtatInscriptionId: 1301,
        DateInscription: "2025-09-01T00:00:00+02:00"
      })
      // Enrolled on every period of the programme's parcours (PGE: three years).
      const links = (yield* rows("InscriptionPeriode")).filter((l) => l.InscriptionId === inscriptions[0]!.Id)
      expect(links).toHaveLength(3)
      // The convention is the new learner's, on a sequence the enrolment made eligible.
      const convention = (yield* rows("Convention")).find((c) => c.Id === final.output.conventionId)!
      expect(convention.ApprenantId).toBe(learner.Id)
      const enrolled = (yield* rows("InscriptionSequence")).filter((r) => r.InscriptionId === inscriptions[0]!.Id)
      expect(enrolled.map((r) => r.SequenceId)).toContain(convention.SequenceId)
      const sequence = (yield* rows("Sequence")).find((s) => s.Id === convention.SequenceId)!
      const typeS = (yield* rows("TypeSequence")).find((t) => t.Code === "S")!
      expect(sequence.TypeSequenceId).toBe(typeS.Id)
      // And the contract reached Campus Skills with the new learner's e-mail.
      const contract = (yield* campus.state).transmitted.find((c) => c.codeContrat === final.output.contrat)!
      expect(contract).toMatchObject({ status: "active", integration: "integrated" })
      expect(JSON.stringify(contract.contrat)).toContain(adresse)
    }))

  it.scopedLive("a later step failing for good undoes everything, the new learner and their inscription included", () =>
    Effect.gen(function*() {
      const { aimaira, env } = yield* sandboxes
      const before = yield* aimaira.state
      // The master's e-mail is the learner's: Campus Skills refuses two persons with one e-mail.
      const result = yield* run(["run", example, ...newLearner, "--input", `maitreEmail=${adresse}`], env)
      expect(result.code).toBe(1)
      expect(result.stderr).toContain("compensated")
      expect(result.stderr).not.toMatch(/\n\s+at /)
      const after = yield* aimaira.state
      for (
        const collection of [
          "Apprenant",
          "Mail",
          "Inscription",
          "InscriptionPeriode",
          "InscriptionSequence",
          "Convention",
          "Entreprise",
          "Professionnel",
          "Remuneration",
          "ConventionOrganismeFinanceur",
          "Client"
        ]
      ) {
        expect(after.collections[collection], collection).toEqual(before.collections[collection])
      }
    }))
})
