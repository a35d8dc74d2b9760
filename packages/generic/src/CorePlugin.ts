/**
 * The `core` plugin: the glue steps every flow needs (`core/set`, `core/fail`, `core/sleep`).
 * Built on the public plugin contract of `@relais/core` like any outside plugin; it needs no
 * configuration and no services.
 *
 * @example
 * ```ts
 * import { CorePlugin } from "@relais/generic"
 * const registry = Plugin.layer([CorePlugin.make(), ...])
 * ```
 *
 * @since 0.1.0
 */
import { Plugin } from "@relais/core"
import * as CoreSteps from "./CoreSteps.js"

/**
 * The plugin's name: the namespace of its steps.
 *
 * @since 0.1.0
 */
export const name = "core"

/**
 * The plugin.
 *
 * @since 0.1.0
 */
export const make = (): Plugin.Plugin<undefined> =>
  Plugin.make<undefined>({
    name,
    label: "relais",
    description: "Built-in glue: name values (core/set), fail the run with a message (core/fail), " +
      "wait durably (core/sleep).",
    steps: [CoreSteps.set, CoreSteps.fail, CoreSteps.sleep]
  })
