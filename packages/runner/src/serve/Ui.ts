/**
 * The dashboard (`@relais/ui`) under `/ui` on the API's port: its built files (`dist/` of the
 * package: `index.html`, `app.js`, `app.css`) read from disk, with their content types.
 * `GET /ui` and `/ui/` answer the page; `/ui/<file>` one file of that directory, by a plain
 * name only (no `/`, no `..`, no `%`: nothing outside it can be named). The page reads the API
 * with the caller's token, so the files themselves need none.
 *
 * @since 0.1.0
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect } from "effect"
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Path from "node:path"

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
  ".map": "application/json"
}

/**
 * The dashboard's built files: `@relais/ui`'s `dist/`, resolved from the running binary (the
 * runner depends on `@relais/ui`). The binary is `dist/bin.js` whether the command runs from
 * the bundle (`dist/bundle/serve.cjs`, loaded by it) or from the compiled modules, so the entry
 * script is where to resolve from; undefined when it is not built or not found.
 *
 * @since 0.1.0
 */
export const locate = (entry: string | undefined = process.argv[1]): string | undefined => {
  if (entry === undefined) return undefined
  try {
    const manifest = createRequire(Fs.realpathSync(entry)).resolve("@relais/ui/package.json")
    const dir = Path.join(Path.dirname(manifest), "dist")
    return Fs.existsSync(Path.join(dir, "index.html")) ? dir : undefined
  } catch {
    return undefined
  }
}

// The page takes nothing from elsewhere: scripts, styles and requests to this server only.
const securityHeaders = {
  "content-security-policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  // The files change with relais's version: revalidated, never stale.
  "cache-control": "no-cache"
}

const notFound = (detail: string) =>
  HttpServerResponse.unsafeJson(
    { type: "about:blank", title: "Not Found", status: 404, detail },
    { status: 404, contentType: "application/problem+json" }
  )

/**
 * Answer `/ui` and `/ui/...` from `dir` (undefined: not built, 404 saying so); every other
 * request goes to `app`.
 *
 * @since 0.1.0
 */
export const serve = (dir: string | undefined) =>
<E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const pathname = new URL(request.url, "http://x").pathname
    if (pathname !== "/ui" && !pathname.startsWith("/ui/")) return app
    if (request.method !== "GET" && request.method !== "HEAD") {
      return Effect.succeed(notFound(`no route ${request.method} ${pathname}: the dashboard is read with GET`))
    }
    if (dir === undefined) {
      return Effect.succeed(notFound("the dashboard is not built here (packages/ui: pnpm build)"))
    }
    const name = pathname === "/ui" || pathname === "/ui/" ? "index.html" : pathname.slice("/ui/".length)
    if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(name) || name.includes("..")) {
      return Effect.succeed(notFound(`no file ${pathname} in the dashboard`))
    }
    const file = Path.join(dir, name)
    const type = contentTypes[Path.extname(name)]
    if (type === undefined) return Effect.succeed(notFound(`no file ${pathname} in the dashboard`))
    return Effect.tryPromise(() => Fs.promises.readFile(file)).pipe(
      Effect.map((body) => HttpServerResponse.uint8Array(body, { contentType: type, headers: securityHeaders })),
      Effect.orElseSucceed(() => notFound(`no file ${pathname} in the dashboard`))
    )
  })
