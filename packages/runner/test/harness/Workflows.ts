/**
 * Workflow files the tests of `relais serve`, `relais ui` and the dashboard share: a greeting of
 * one step, and runs of one-second naps long enough to be cancelled or watched.
 */

/** `greet`: one `core/set` step that says hello to its `who` input (default `world`). */
export const greet = `version: 1
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

/** `name` (default `naps`): `count` steps `nap1`..`napN` of one second each. */
export const naps = (count: number, name = "naps"): string => `version: 1
name: ${name}
description: Sleep, step after step
steps:
${Array.from({ length: count }, (_, i) => `  - id: nap${i + 1}\n    uses: core/sleep\n    with: { for: 1s }`).join("\n")}
`
