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
  it("finds the plugins a definition uses, from its steps and compensations only", () => {
    expect([...Definition.pluginsUsed(text)].sort()).toEqual(["aimaira", "campus-skills", "other"])
    expect([...Definition.pluginsUsed("version: 1\nsteps: []\n")]).toEqual([])
    expect([...Definition.pluginsUsed(": not yaml : [")]).toEqual([])
    // Read by the loader's reader: a group, a parallel branch and a step beside broken ones count.
    expect([...Definition.pluginsUsed(`version: 1
name: nested
steps:
  - id: g
    steps:
      - id: p
        parallel:
          - { id: a, uses: one/a }
          - { id: b, uses: two/b, retyr: 1 }
  - id: broken
    uses: 3
`)].sort()).toEqual(["one", "two"])
  })

  it("knows each step's attempts: its own, else the defaults (not for a polling step), else the step's policy", () => {
    const attempts = Definition.attempts(text)
    const step = { polls: false, retry: { maxAttempts: 4 } }
    const polling = { polls: true, retry: { maxAttempts: 60 } }
    expect(Definition.attemptsAt(attempts, "convention", step)).toBe(2)
    expect(Definition.attemptsAt(attempts, "contrats[3]/sync", step)).toBe(5)
    expect(Definition.attemptsAt(attempts, "contrats[3]/sync", polling)).toBe(60)
    expect(Definition.attemptsAt(Definition.attempts("steps: []"), "x", step)).toBe(4)
  })
})
