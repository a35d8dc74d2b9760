import { describe, expect, it } from "vitest"
import * as Definition from "../src/Definition.js"

const text = `version: 1
name: flow
defaults:
  retry: { maxAttempts: 5 }
steps:
  - id: convention
    uses: aimaira/create-convention
    retry: { maxAttempts: 2 }
    with: { uses: "not a step: campus-skills/x" }
  - id: contrats
    forEach: "\${{ inputs.rows }}"
    steps:
      - id: sync
        uses: campus-skills/send-changes
        compensate: { uses: other/undo }
`

describe("Definition", () => {
  it("finds the providers a definition uses, from its steps only", () => {
    expect([...Definition.providersUsed(text)].sort()).toEqual(["aimaira", "campus-skills"])
    expect([...Definition.providersUsed("version: 1\nsteps: []\n")]).toEqual([])
    expect([...Definition.providersUsed(": not yaml : [")]).toEqual([])
  })

  it("knows each step's attempts: its own, else the defaults, else the step's policy", () => {
    const attempts = Definition.attempts(text)
    expect(Definition.attemptsAt(attempts, "convention", 4)).toBe(2)
    expect(Definition.attemptsAt(attempts, "contrats[3]/sync", 4)).toBe(5)
    expect(Definition.attemptsAt(Definition.attempts("steps: []"), "x", 4)).toBe(4)
  })
})
