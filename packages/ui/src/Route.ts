/**
 * The page's address: a hash route (`#/runs?status=failed&q=ada`, `#/runs/<id>`), so that
 * relais serves one file for every page. A filtered list is a URL: it can be bookmarked, shared
 * and reloaded, and the browser's back and forward buttons walk through the filters tried.
 */
import { signal } from "@preact/signals"

/** `location.hash`, kept current (links, back and forward, `navigate`). */
export const hash = signal(location.hash)

const sync = () => {
  hash.value = location.hash
}
addEventListener("hashchange", sync)
addEventListener("popstate", sync)

/** The route without its `#`, `/runs` when there is none. */
export const path = (): string => hash.value.replace(/^#/, "") || "/runs"

/** The query of the route (what follows `?`). */
export const query = (): URLSearchParams => {
  const route = path()
  const at = route.indexOf("?")
  return new URLSearchParams(at < 0 ? "" : route.slice(at + 1))
}

/**
 * Go to `route` (`/runs?status=failed`) as a new entry of the history, with `state` kept in
 * it (what the page needs to go back a step, e.g. the cursors of the pages before); `replace`
 * changes the current entry instead.
 */
export const navigate = (route: string, options: { readonly state?: unknown; readonly replace?: boolean } = {}): void => {
  const target = `#${route}`
  if (target === location.hash && options.state === undefined) return
  if (options.replace === true) history.replaceState(options.state ?? null, "", target)
  else history.pushState(options.state ?? null, "", target)
  sync()
}
