/** Small pieces shared by the pages: loading a resource, a status badge, what started a run, JSON, refusals. */
import { useEffect, useState } from "preact/hooks"
import { ApiError, get, token, type RunStatus } from "./Api.js"
import { type Asked, problemSentence, statusLabel, t } from "./I18n.js"

export type Loaded<A> =
  | { readonly state: "loading" }
  | { readonly state: "ok"; readonly value: A }
  | { readonly state: "error"; readonly status: number; readonly detail: string }

/**
 * GET `path` (again when it or the token changes, and every `refreshMillis` while `refresh`
 * says so); the last good value stays shown while the next is fetched.
 */
export const useResource = <A,>(
  path: string | undefined,
  options: { readonly refreshMillis?: number; readonly refresh?: (value: A) => boolean } = {}
): Loaded<A> => {
  const [loaded, setLoaded] = useState<Loaded<A>>({ state: "loading" })
  const bearer = token.value
  useEffect(() => {
    if (path === undefined) return
    let stopped = false
    let timer: ReturnType<typeof setTimeout> | undefined
    // A value already shown stays until the next one arrives (no flicker when a filter changes).
    setLoaded((previous) => (previous.state === "ok" ? previous : { state: "loading" }))
    const load = () => {
      get<A>(path).then(
        (value) => {
          if (stopped) return
          setLoaded({ state: "ok", value })
          if (options.refreshMillis !== undefined && (options.refresh?.(value) ?? true)) timer = setTimeout(load, options.refreshMillis)
        },
        (error: unknown) => {
          if (stopped) return
          setLoaded(
            error instanceof ApiError
              ? { state: "error", status: error.status, detail: error.detail }
              : { state: "error", status: 0, detail: error instanceof Error ? error.message : String(error) }
          )
        }
      )
    }
    load()
    return () => {
      stopped = true
      if (timer !== undefined) clearTimeout(timer)
    }
  }, [path, bearer])
  return loaded
}

/** What started a run: the kind (`api`, `schedule`, a plugin's name) from a summary or a record. */
export const triggerKind = (trigger: unknown): string | undefined =>
  typeof trigger === "string"
    ? trigger
    : trigger !== null && typeof trigger === "object" && typeof (trigger as { kind?: unknown }).kind === "string"
    ? (trigger as { kind: string }).kind
    : undefined

/** A trigger kind in words: the three built in are translated, a plugin keeps its name. */
export const triggerLabel = (kind: string): string =>
  kind === "manual" ? t("triggerManual") : kind === "api" ? t("triggerApi") : kind === "schedule" ? t("triggerSchedule") : kind

export const Status = ({ status }: { readonly status: RunStatus }) => (
  <span class={`status status-${status}`} data-status={status}>{statusLabel(status)}</span>
)

export const Json = ({ value, label }: { readonly value: unknown; readonly label: string }) => (
  <pre class="json" aria-label={label} tabIndex={0}>{JSON.stringify(value, null, 2)}</pre>
)

/**
 * A refusal or a failure to reach the server: the page's own sentence in its language, then
 * what the server said (its problem's `detail`, in English) underneath.
 */
export const Refusal = ({ status, detail, asked }: { readonly status: number; readonly detail: string; readonly asked: Asked }) => (
  <div class="problem" role="alert" data-problem={status}>
    <p class="problem-sentence">{problemSentence(status, asked)}</p>
    {detail !== "" && <p class="problem-detail"><span>{t("serverSaid")}</span> {detail}</p>}
  </div>
)

export const Problem = ({ loaded, asked = "read" }: { readonly loaded: Loaded<unknown>; readonly asked?: Asked }) =>
  loaded.state === "error"
    ? <Refusal status={loaded.status} detail={loaded.detail} asked={asked} />
    : loaded.state === "loading"
    ? <p aria-busy="true">{t("loading")}</p>
    : null
