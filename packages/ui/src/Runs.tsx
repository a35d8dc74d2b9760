/**
 * The runs, newest first: filters (status, workflow, time range in Europe/Paris), the API's
 * cursor paging, and the first page refreshed every few seconds (a new run appears by itself).
 */
import { useState } from "preact/hooks"
import { type RunPage, runStatuses, type WorkflowInfo } from "./Api.js"
import { Problem, Status, useResource } from "./Common.js"
import { formatDate, formatDuration, parisToIso, statusLabel, t } from "./I18n.js"

interface Filters {
  readonly status: string
  readonly workflow: string
  readonly since: string
  readonly until: string
}

const none: Filters = { status: "", workflow: "", since: "", until: "" }

const query = (filters: Filters, cursor: string | undefined): string => {
  const params = new URLSearchParams()
  if (filters.status !== "") params.append("status", filters.status)
  if (filters.workflow !== "") params.set("workflow", filters.workflow)
  const since = parisToIso(filters.since)
  const until = parisToIso(filters.until)
  if (since !== undefined) params.set("since", since)
  if (until !== undefined) params.set("until", until)
  params.set("limit", "50")
  if (cursor !== undefined) params.set("cursor", cursor)
  return `/runs?${params.toString()}`
}

export const Runs = () => {
  const [draft, setDraft] = useState<Filters>(none)
  const [filters, setFilters] = useState<Filters>(none)
  // The cursors of the pages before this one, and this page's.
  const [cursors, setCursors] = useState<ReadonlyArray<string | undefined>>([undefined])
  const cursor = cursors[cursors.length - 1]
  const page = useResource<RunPage>(query(filters, cursor), { refreshMillis: 3000, refresh: () => cursor === undefined })
  const workflows = useResource<{ readonly workflows: ReadonlyArray<WorkflowInfo> }>("/workflows")
  const apply = (next: Filters) => {
    setFilters(next)
    setCursors([undefined])
  }
  return (
    <>
      <h1>{t("runs")}</h1>
      <form
        class="filters"
        aria-label={t("filters")}
        onSubmit={(e) => {
          e.preventDefault()
          apply(draft)
        }}
      >
        <label>
          {t("status")}
          <select
            name="status"
            value={draft.status}
            onChange={(e) => {
              const next = { ...draft, status: e.currentTarget.value }
              setDraft(next)
              apply(next)
            }}
          >
            <option value="">{t("any")}</option>
            {runStatuses.map((s) => <option value={s} key={s}>{statusLabel(s)}</option>)}
          </select>
        </label>
        <label>
          {t("workflow")}
          <select
            name="workflow"
            value={draft.workflow}
            onChange={(e) => {
              const next = { ...draft, workflow: e.currentTarget.value }
              setDraft(next)
              apply(next)
            }}
          >
            <option value="">{t("any")}</option>
            {workflows.state === "ok" && workflows.value.workflows.map((w) => <option value={w.name} key={w.name}>{w.name}</option>)}
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
        <button type="submit">{t("apply")}</button>
        <button
          type="button"
          onClick={() => {
            setDraft(none)
            apply(none)
          }}
        >
          {t("reset")}
        </button>
      </form>
      {page.state !== "ok" ? <Problem loaded={page} /> : (
        <>
          <p class="hint" aria-live="polite">
            {t("runsCount", { count: page.value.runs.length })}
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
                  <th scope="col">{t("started")}</th>
                  <th scope="col">{t("duration")}</th>
                  <th scope="col">{t("executions")}</th>
                </tr>
              </thead>
              <tbody>
                {page.value.runs.map((run) => (
                  <tr key={run.id} data-run={run.id}>
                    <th scope="row"><a href={`#/runs/${encodeURIComponent(run.id)}`}>{run.id}</a></th>
                    <td>{run.workflow}</td>
                    <td><Status status={run.status} /></td>
                    <td>{formatDate(run.createdAt)}</td>
                    <td>{run.finishedAt !== undefined ? formatDuration(Date.parse(run.finishedAt) - Date.parse(run.createdAt)) : "—"}</td>
                    <td>{run.executions}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <nav class="paging" aria-label={t("paging")}>
            <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>{t("newer")}</button>
            <button
              type="button"
              disabled={page.value.next === undefined}
              onClick={() => page.value.next !== undefined && setCursors([...cursors, page.value.next])}
            >
              {t("older")}
            </button>
          </nav>
        </>
      )}
    </>
  )
}
