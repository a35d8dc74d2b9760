/**
 * Paths of `http/request`, relative to a connection's base URL. A path can only go under the
 * base URL: an absolute URL (`https://other.host/...`), a scheme-relative one (`//other.host`),
 * a backslash (which URL parsers read as a slash) and `..` segments that climb above the base
 * path (also written `%2e%2e`) are refused. Query parameters go in `query`, not in the path.
 *
 * Values computed by expressions belong in `params`: `path: /learners/{id}` with
 * `params: { id: ${{ ... }} }` puts the value in one segment, percent-encoded, so a value such
 * as `../admin` or `a/b` cannot change which resource is called.
 *
 * @since 0.1.0
 */

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g

/**
 * The `{name}` placeholders of a path, in order (each once).
 *
 * @since 0.1.0
 */
export const placeholders = (path: string): ReadonlyArray<string> => [
  ...new Set([...path.matchAll(PLACEHOLDER)].map((m) => m[1]!))
]

/**
 * Why a path cannot be used, if it cannot (placeholders count as one ordinary segment).
 *
 * @since 0.1.0
 */
export const problem = (path: string): string | undefined => {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(path) || /^(https?|ftp|file|data|javascript|mailto):/i.test(path)) {
    return "is an absolute URL: give a path relative to the connection's base URL (the host comes from the connection)"
  }
  if (path.startsWith("//")) return "starts with // (a URL to another host): give a path relative to the connection's base URL"
  if (path.includes("\\")) return "contains a backslash, which URL parsers read as /: use / between segments"
  if (/[\u0000-\u0020\u007f]/.test(path)) {
    return "contains spaces or control characters: percent-encode them, or pass the value through params"
  }
  if (path.includes("?")) return "contains ?: put query parameters in query"
  if (path.includes("#")) return "contains #: a fragment is never sent to the server"
  const withoutPlaceholders = path.replace(PLACEHOLDER, "x")
  if (/[{}]/.test(withoutPlaceholders)) return "has a { or } that is not a placeholder like {id}"
  let depth = 0
  for (const raw of withoutPlaceholders.split("/")) {
    const segment = raw.replace(/%2e/gi, ".")
    if (segment === "..") {
      if (depth === 0) return "climbs above the connection's base URL with .. (only paths under the base URL can be called)"
      depth -= 1
    } else if (segment !== "" && segment !== ".") {
      depth += 1
    }
  }
  return undefined
}

/**
 * Fill the placeholders of a checked path: each value percent-encoded as one segment. Answers
 * why not when a placeholder has no value, a value is not used, or a value is empty, `.` or
 * `..` (which would change the path's meaning even encoded).
 *
 * @since 0.1.0
 */
export const fill = (
  path: string,
  params: Readonly<Record<string, string | number | boolean>> | undefined
): { readonly path: string } | { readonly problem: string } => {
  const names = placeholders(path)
  const given = params ?? {}
  const missing = names.filter((n) => !Object.prototype.hasOwnProperty.call(given, n))
  if (missing.length > 0) return { problem: `the path uses ${missing.map((n) => `{${n}}`).join(", ")} but params has no ${missing.join(", ")}` }
  const unused = Object.keys(given).filter((n) => !names.includes(n))
  if (unused.length > 0) return { problem: `params ${unused.join(", ")} ${unused.length === 1 ? "is" : "are"} not used in the path` }
  for (const name of names) {
    const text = String(given[name])
    if (text === "" || text === "." || text === "..") {
      return { problem: `params.${name} is ${JSON.stringify(text)}, which cannot be a path segment` }
    }
  }
  return { path: path.replace(PLACEHOLDER, (_, name: string) => encodeURIComponent(String(given[name]))) }
}

/**
 * The URL of a path under a base URL (without trailing slash): `join("https://h/api", "/x")`
 * is `https://h/api/x`; the empty path is the base URL itself. Answers why not when the result
 * is not under the base (a last check after {@link problem}).
 *
 * @since 0.1.0
 */
export const join = (baseUrl: string, path: string): { readonly url: string } | { readonly problem: string } => {
  const base = new URL(baseUrl)
  const relative = path.replace(/^\/+/, "")
  const text = relative === "" ? baseUrl : `${baseUrl}/${relative}`
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return { problem: "does not make a valid URL with the connection's base URL" }
  }
  const basePath = base.pathname.replace(/\/+$/, "")
  const under = url.pathname === basePath || url.pathname.startsWith(`${basePath}/`) || (basePath === "" && url.pathname.startsWith("/"))
  if (url.origin !== base.origin || !under) {
    return { problem: "leads outside the connection's base URL (only paths under the base URL can be called)" }
  }
  return { url: url.toString() }
}
