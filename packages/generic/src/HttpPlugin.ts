/**
 * The `http` plugin: `http/request`, calling the connections declared in the `http` section of
 * a profile (or `HTTP_CONNECTIONS`). Built on the public plugin contract of `@relais/core` like
 * any outside plugin: a configuration schema ({@link HttpConfig.Config}), a services layer
 * ({@link HttpConnections.layer}) and the address it points at, for banners.
 *
 * @example
 * ```ts
 * import { HttpPlugin } from "@relais/generic"
 * const plugin = HttpPlugin.make()
 * // the host: decode the profile's section with plugin.config, then
 * const services = plugin.layer!(config).pipe(Layer.provide(NodeHttpClient.layerUndici), Layer.provide(Redactor.layer))
 * ```
 *
 * @since 0.1.0
 */
import { Plugin } from "@relais/core"
import * as HttpConfig from "./HttpConfig.js"
import * as HttpConnections from "./HttpConnections.js"
import * as HttpSteps from "./HttpSteps.js"

/**
 * The plugin's name: the namespace of its steps, its profile key (`http`) and the prefix of its
 * environment variables (`HTTP_CONNECTIONS`).
 *
 * @since 0.1.0
 */
export const name = "http"

/**
 * The connections a configuration declares, for banners and the run history: names and base
 * URLs, never credentials.
 *
 * @since 0.1.0
 */
export const endpoint = (config: HttpConfig.Config): string | undefined => {
  const entries = Object.entries(config.connections).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return entries.length === 0 ? undefined : entries.map(([n, c]) => `${n}: ${c.url}`).join(", ")
}

/**
 * The plugin.
 *
 * @since 0.1.0
 */
export const make = (): Plugin.Plugin<HttpConfig.Config> =>
  Plugin.make<HttpConfig.Config>({
    name,
    label: "HTTP",
    description: "Call the HTTP services declared as connections in the profile (http.connections): " +
      "JSON requests with credentials from the configuration, expected statuses, retries honouring Retry-After.",
    steps: [HttpSteps.request],
    config: HttpConfig.Config,
    layer: HttpConnections.layer,
    endpoint
  })
