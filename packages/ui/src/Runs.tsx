/**
 * The runs, newest first: filters (status, workflow, what started them, time range in
 * Europe/Paris), a search by an input or output value, the API's cursor paging, and the first
 * page refreshed every few seconds (a new run appears by itself). Every filter and the page's
 * cursor are in the address (`#/runs?status=failed&q=ada&cursor=...`): a filtered list can be
 * bookmarked, shared and reloaded, and back and forward walk through the filters tried.
 */
import { useEffect, useState } from "preact/hooks"
import { type RunPage, runStatuses, type WorkflowInfo } from "./Api.js"
import { Problem, Status, triggerKind, triggerLabel, useResource } from "./Common.js"
import { formatDate, formatDuration, parisToIso, statusLabel, t } from "./I18n.js"
import { navigate, query as routeQuery } from "./Route.js"

interface Filters {
  readonly status: string
  readonly workflow: string
  readonly trigger: string
  readonly q: string
  /** Paris wall times as a `datetime-local` field gives them (`2026-11-28T09:30`). */
  readonly since: string
  readonly until: string
  /** Runs per page ("" for the default, 50). */
  readonly limit: string
}

const keys = ["status", "workflow", "trigger", "q", "since", "until", "limit"] as const

const none: Filters = { status: "", workflow: "", trigger: "", q: "", since: "", until: "", limit: "" }

const pageSizes = ["10", "25", "50", "100"]

const fromRoute = (params: URLSearchParams): Filters => ({
  status: params.get("status") ?? "",
  workflow: params.get("workflow") ?? "",
  trigger: params.get("trigger") ?? "",
  q: params.get("q") ?? "",
  since: params.get("since") ?? "",
  until: params.get("until") ?? "",
  limit: pageSizes.includes(params.get("limit") ?? "") ? params.get("limit")! : ""
})

/** The page's route for these filters and this page's cursor. */
const routeOf = (filters: Filters, cursor: string | undefined): string => {
  const params = new URLSearchParams()
  for (const key of keys) if (filters[key] !== "") params.set(key, filters[key])
  if (cursor !== undefined) params.set("cursor", cursor)
  const text = params.toString()
  return text === "" ? "/runs" : `/runs?${text}`
}

/** The API's request for these filters and cursor. */
const request = (filters: Filters, cursor: string | undefined): string => {
  const params = new URLSearchParams()
  if (filters.status !== "") params.append("status", filters.status)
  if (filters.workflow !== "") params.set("workflow", filters.workflow)
  if (filters.trigger !== "") params.set("trigger", filters.trigger)
  const q = filters.q.trim().slice(0, 200)
  if (q !== "") params.set("q", q)
  const since = parisToIso(filters.since)
  const until = parisToIso(filters.until)
  if (since !== undefined) params.set("since", since)
  if (until !== undefined) params.set("until", until)
  params.set("limit", filters.limit === "" ? "50" : filters.limit)
  if (cursor !== undefined) params.set("cursor", cursor)
  return `/runs?${params.toString()}`
}

/** The cursors of the pages before this one, kept in the history entry (not in the URL). */
const previousCursors = (): ReadonlyArray<string | null> => {
  const state = history.state as { readonly previous?: unknown } | null
  return Array.isArray(state?.previous) ? (state.previous as ReadonlyArray<string | null>) : []
}

export const Runs = () => {
  const params = routeQuery()
  const filters = fromRoute(params)
  const cursor = params.get("cursor") ?? undefined
  const routeKey = routeOf(filters, cursor)
  // The text fields are drafts until applied; the route wins whenever it changes (back, a link).
  const [draft, setDraft] = useState<Filters>(filters)
  useEffect(() => setDraft(filters), [routeKey])
  const page = useResource<RunPage>(request(filters, cursor), { refreshMillis: 3000, refresh: () => cursor === undefined })
  const workflows = useResource<{ readonly workflows: ReadonlyArray<WorkflowInfo> }>("/workflows")
  const apply = (next: Filters) => navigate(routeOf(next, undefined))
  const plugins = workflows.state === "ok"
    ? workflows.value.workflows.flatMap((w) => w.triggers.map((tr) => tr.kind)).filter((kind) => kind !== "schedule")
    : []
  const triggers = [...new Set(["manual", "api", "schedule", ...plugins, ...(filters.trigger !== "" ? [filters.trigger] : [])])]
  const previous = previousCursors()
  return (
    <>
      <h1>{t("runs")}</h1>
      <form
        class="filters"
        role="search"
        aria-label={t("filters")}
        onSubmit={(e) => {
          e.preventDefault()
          apply(draft)
        }}
      >
        <label class="search">
          {t("search")}
          <input
            type="search"
            name="q"
            maxLength={200}
            value={draft.q}
            aria-describedby="search-help"
            onInput={(e) => setDraft({ ...draft, q: e.currentTarget.value })}
          />
          <span id="search-help" class="field-help">{t("searchHelp")}</span>
        </label>
        <label>
          {t("status")}
          <select name="status" value={draft.status} onChange={(e) => apply({ ...draft, status: e.currentTarget.value })}>
            <option value="">{t("any")}</option>
            {runStatuses.map((s) => <option value={s} key={s}>{statusLabel(s)}</option>)}
          </select>
        </label>
        <label>
          {t("workflow")}
          <select name="workflow" value={draft.workflow} onChange={(e) => apply({ ...draft, workflow: e.currentTarget.value })}>
            <option value="">{t("any")}</option>
            {workflows.state === "ok" && workflows.value.workflows.map((w) => <option value={w.name} key={w.name}>{w.name}</option>)}
            {filters.workflow !== "" && workflows.state === "ok" && !workflows.value.workflows.some((w) => w.name === filters.workflow) && (
              <option value={filters.workflow}>{filters.workflow}</option>
            )}
          </select>
        </label>
        <label>
          {t("trigger")}
          <select name="trigger" value={draft.trigger} onChange={(e) => apply({ ...draft, trigger: e.currentTarget.value })}>
            <option value="">{t("any")}</option>
            {triggers.map((kind) => <option value={kind} key={kind}>{triggerLabel(kind)}</option>)}
          </select>
        </label>
        <label>
          {t("since")}
          <input type="datetime-local" name="since" value={draft.since} onInput={(e) => setDraft({ ...draft, since: e.currentTarget.value })} />
        </label>
        <label>
          {t("until")}
          <input type="datetime-local" name="until" value={draft.until} onInput={(e) => setDraft({ ...draft, until: e.currentTarget.value })} />
        </label>
        <label>
          {t("perPage")}
          <select name="limit" value={draft.limit === "" ? "50" : draft.limit} onChange={(e) => apply({ ...draft, limit: e.currentTarget.value === "50" ? "" : e.currentTarget.value })}>
            {pageSizes.map((size) => <option value={size} key={size}>{size}</option>)}
          </select>
        </label>
        <button type="submit">{t("apply")}</button>
        <button type="button" onClick={() => apply(none)}>{t("reset")}</button>
      </form>
      {page.state !== "ok" ? <Problem loaded={page} /> : (
        <>
          <p class="hint" aria-live="polite">
            {page.value.runs.length === 1 ? t("runsCountOne") : t("runsCount", { count: page.value.runs.length })}
            {cursor === undefined ? ` · ${t("live")}` : ""}
          </p>
          {page.value.runs.length === 0 ? <p>{t("noRuns")}</p> : (
            <table class="runs">
              <caption class="visually-hidden">{t("runs")}</caption>
              <thead>
                <tr>
                  <th scope="col">{t("run")}</th>
                  <th scope="col">{t("workflow")}</th>
                  <th scope="col">{t("status")}</th>
                  <th scope="col">{t("trigger")}</th>
                  <th scope="col">{t("started")}</th>
                  <th scope="col">{t("duration")}</th>
                  <th scope="col">{t("executions")}</th>
                </tr>
              </thead>
              <tbody>
                {page.value.runs.map((run) => (
                  <tr key={run.id} data-run={run.id}>
                    <th scope="row">
                      <a href={`#/runs/${encodeURIComponent(run.id)}`}>{run.id}</a>
                      {run.restartOf !== undefined && (
                        <a class="restart-of" data-restart-of={run.restartOf.runId} href={`#/runs/${encodeURIComponent(run.restartOf.runId)}`}>
                          ↻ {t("restartedFrom", { id: run.restartOf.runId, from: run.restartOf.from })}
                        </a>
                      )}
                    </th>
                    <td>{run.workflow}</td>
                    <td><Status status={run.status} /></td>
                    <td data-trigger>{((kind) => kind === undefined ? "—" : triggerLabel(kind))(triggerKind(run.trigger))}</td>
                    <td>{formatDate(run.createdAt)}</td>
                    <td>{run.finishedAt !== undefined ? formatDuration(Date.parse(run.finishedAt) - Date.parse(run.createdAt)) : "—"}</td>
                    <td>{run.executions}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <nav class="paging" aria-label={t("paging")}>
            <button type="button" disabled={cursor === undefined} onClick={() => navigate(routeOf(filters, undefined))}>{t("newest")}</button>
            <button
              type="button"
              disabled={cursor === undefined}
              onClick={() => {
                // The page before this one when this tab came from it; the first page otherwise.
                const before = previous.at(-1)
                navigate(routeOf(filters, before ?? undefined), { state: { previous: previous.slice(0, -1) } })
              }}
            >
              {t("newer")}
            </button>
            <button
              type="button"
              disabled={page.value.next === undefined}
              onClick={() => page.value.next !== undefined && navigate(routeOf(filters, page.value.next), { state: { previous: [...previous, cursor ?? null] } })}
            >
              {t("older")}
            </button>
          </nav>
        </>
      )}
    </>
  )
}
