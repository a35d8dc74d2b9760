/**
 * Workflow files the tests of `relais serve`, `relais ui` and the dashboard share: a greeting of
 * one step, runs of one-second naps long enough to be cancelled or watched, and an hour's sleep.
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

/**
 * `name` (default `vigil`): a `core/set` step `before`, a sleep `wait` of an hour, then a step
 * `after`. Only a cancellation (which stops the sleep) ends it within a test.
 */
export const vigil = (name = "vigil"): string => `version: 1
name: ${name}
description: Wait an hour, then note it
steps:
  - id: before
    uses: core/set
    with: { ready: true }
  - id: wait
    uses: core/sleep
    with: { for: 1h }
  - id: after
    uses: core/set
    with: { done: true }
`
