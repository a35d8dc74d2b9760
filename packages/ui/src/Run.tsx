/**
 * One run: its status and durations, what started it, the definition it ran, what to undo by
 * hand (first, when there is any), what was undone, its timeline, its inputs and output (as
 * the server gives them: secrets already redacted). Refreshed while it executes.
 */
import { useState } from "preact/hooks"
import { isLive, post, type RunDetail } from "./Api.js"
import { Json, Problem, Status, useResource } from "./Common.js"
import { formatDate, formatDuration, statusLabel, t } from "./I18n.js"
import * as Timeline from "./Timeline.js"

const triggerText = (trigger: unknown): string => {
  if (trigger === null || typeof trigger !== "object") return "—"
  const { kind, ...rest } = trigger as Record<string, unknown>
  const details = Object.entries(rest).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
  return [String(kind ?? "?"), ...details].join(" · ")
}

/** Cancel, with a confirmation that says what it does and lets the user keep what was done. */
const CancelAction = ({ id }: { readonly id: string }) => {
  const [open, setOpen] = useState(false)
  const [keep, setKeep] = useState(false)
  const [said, setSaid] = useState<string | undefined>(undefined)
  const confirm = () => {
    post(`/runs/${encodeURIComponent(id)}/cancel${keep ? "?compensate=false" : ""}`).then(
      () => setSaid(t("cancelAsked")),
      (error: unknown) => setSaid(t("cancelFailed", { detail: error instanceof Error ? error.message : String(error) }))
    )
    setOpen(false)
  }
  return (
    <>
      {!open && said === undefined && (
        <button type="button" data-action="cancel" onClick={() => setOpen(true)}>{t("cancelRun")}</button>
      )}
      {open && (
        <div role="group" aria-label={t("cancelConfirm")} class="confirm">
          <p>{t("cancelExplain")}</p>
          <label>
            <input type="checkbox" checked={keep} onChange={(e) => setKeep((e.currentTarget as HTMLInputElement).checked)} />
            {" "}{t("cancelKeep")}
          </label>
          <button type="button" data-action="cancel-confirm" onClick={confirm}>{t("cancelConfirm")}</button>
          <button type="button" onClick={() => setOpen(false)}>{t("cancelBack")}</button>
        </div>
      )}
      {said !== undefined && <p role="status">{said}</p>}
    </>
  )
}

const isEnded = (status: RunDetail["status"]): boolean => !isLive(status) && status !== "interrupted"

/**
 * Restart from a step the run reached (its failed step first), after a confirmation that says
 * what is reused; on success, the new run's page.
 */
const RestartAction = ({ run }: { readonly run: RunDetail }) => {
  const reached = [...new Set(run.events.flatMap((e) => (e.event._tag === "StepStarted" ? [String((e.event as { path: string }).path)] : [])))]
  const failed = run.failure?.path
  const [open, setOpen] = useState(false)
  const [from, setFrom] = useState(failed !== undefined && reached.includes(failed) ? failed : reached[0] ?? "")
  const [said, setSaid] = useState<string | undefined>(undefined)
  if (reached.length === 0) return null
  const confirm = () => {
    post<{ readonly runId: string }>(`/runs/${encodeURIComponent(run.id)}/restart`, { from }).then(
      (started) => {
        location.hash = `#/runs/${encodeURIComponent(started.runId)}`
      },
      (error: unknown) => setSaid(t("restartFailed", { detail: error instanceof Error ? error.message : String(error) }))
    )
    setOpen(false)
  }
  return (
    <>
      {!open && <button type="button" data-action="restart" onClick={() => (setOpen(true), setSaid(undefined))}>{t("restartRun")}</button>}
      {open && (
        <div role="group" aria-label={t("restartConfirm")} class="confirm">
          <p>{t("restartExplain")}</p>
          <label>
            {t("restartFrom")}{" "}
            <select value={from} onChange={(e) => setFrom((e.currentTarget as HTMLSelectElement).value)}>
              {reached.map((path) => <option key={path} value={path}>{path}</option>)}
            </select>
          </label>
          <button type="button" data-action="restart-confirm" onClick={confirm}>{t("restartConfirm")}</button>
          <button type="button" onClick={() => setOpen(false)}>{t("restartBack")}</button>
        </div>
      )}
      {said !== undefined && <p role="alert">{said}</p>}
    </>
  )
}

export const Run = ({ id }: { readonly id: string }) => {
  const loaded = useResource<RunDetail>(`/runs/${encodeURIComponent(id)}`, { refreshMillis: 2000, refresh: (run) => isLive(run.status) })
  if (loaded.state !== "ok") {
    return (
      <>
        <h1>{t("runId", { id })}</h1>
        <Problem loaded={loaded} />
      </>
    )
  }
  const run = loaded.value
  const timeline = Timeline.build(run.events.map((e) => e.event))
  const remaining = run.remaining ?? []
  return (
    <>
      <p><a href="#/runs">← {t("back")}</a></p>
      <h1>
        {run.workflow} <Status status={run.status} />
      </h1>
      <p class="run-id">{t("runId", { id: run.id })}</p>
      {/* Actions (resume, restart from a step next) go in this region. */}
      <section class="actions" aria-label={t("actions")} data-actions>
        {isLive(run.status) && <CancelAction id={run.id} />}
        {isEnded(run.status) && <RestartAction run={run} />}
      </section>
      {run.restartOf !== undefined && (
        <p data-restart-of>
          <a href={`#/runs/${encodeURIComponent(run.restartOf.runId)}`}>
            {t("restartOf", { from: run.restartOf.from, id: run.restartOf.runId, reused: run.restartOf.reused.join(", ") || "—" })}
          </a>
        </p>
      )}
      {remaining.length > 0 && (
        <section class="remaining" aria-labelledby="remaining-title">
          <h2 id="remaining-title">⚠ {t("remainingTitle")}</h2>
          <p>{t("remainingHelp")}</p>
          <ol>
            {remaining.map((left) => (
              <li key={left.path}>
                <strong>{left.description}</strong> ({left.step}, <code>{left.path}</code>)
                <br />
                {left.error.message}
                <details>
                  <summary>{t("inputs")} / {t("output")}</summary>
                  <Json value={left.input} label={`${left.path} ${t("inputs")}`} />
                  <Json value={left.output} label={`${left.path} ${t("output")}`} />
                </details>
              </li>
            ))}
          </ol>
        </section>
      )}
      <dl class="facts">
        <dt>{t("status")}</dt>
        <dd>{statusLabel(run.status)}</dd>
        <dt>{t("started")}</dt>
        <dd>{formatDate(run.createdAt)}</dd>
        {run.finishedAt !== undefined && (
          <>
            <dt>{t("finished")}</dt>
            <dd>{formatDate(run.finishedAt)}</dd>
            <dt>{t("duration")}</dt>
            <dd>{formatDuration(Date.parse(run.finishedAt) - Date.parse(run.createdAt))}</dd>
          </>
        )}
        <dt>{t("executions")}</dt>
        <dd>{run.executions}</dd>
        <dt>{t("trigger")}</dt>
        <dd data-trigger>{triggerText(run.trigger)}</dd>
        {run.definition !== undefined && (
          <>
            <dt>{t("hash")}</dt>
            <dd><code>{run.definition.hash.slice(0, 16)}</code></dd>
            {run.definition.source !== undefined && (
              <>
                <dt>{t("source")}</dt>
                <dd><code>{run.definition.source}</code></dd>
              </>
            )}
          </>
        )}
      </dl>
      {run.failure !== undefined && (
        <section aria-labelledby="failure-title" class="failure">
          <h2 id="failure-title">{t("failure")}</h2>
          <p>
            {run.failure.step !== undefined && <><strong>{run.failure.step}</strong>{" "}</>}
            {run.failure.path !== undefined && <><code>{run.failure.path}</code>{" "}</>}
            {run.failure.error.message}
          </p>
        </section>
      )}
      {run.compensated !== undefined && (
        <section aria-labelledby="undone-title" class="undone">
          <h2 id="undone-title">{t("undone")}</h2>
          {run.compensated.length === 0 ? <p>{t("nothingUndone")}</p> : (
            <ol>
              {run.compensated.map((c) => (
                <li key={c.path}>
                  <strong>{c.description}</strong> ({c.step}, <code>{c.path}</code>){c.detail !== undefined ? `: ${c.detail}` : ""}
                </li>
              ))}
            </ol>
          )}
        </section>
      )}
      <TimelineView timeline={timeline} />
      <section aria-labelledby="inputs-title">
        <h2 id="inputs-title">{t("inputs")}</h2>
        <Json value={run.input} label={t("inputs")} />
      </section>
      {run.output !== undefined && (
        <section aria-labelledby="output-title">
          <h2 id="output-title">{t("output")}</h2>
          <Json value={run.output} label={t("output")} />
        </section>
      )}
    </>
  )
}

const StepItem = ({ step }: { readonly step: Timeline.StepView }) => (
  <li class={`step step-${step.outcome}`} data-step={step.path}>
    <span class="step-name">{step.step}</span> <code>{step.path}</code> <span class="outcome">{step.outcome}</span>
    {step.durationMillis !== undefined && <> · {formatDuration(step.durationMillis)}</>}
    {step.outcome === "replayed" && <> · {t("replayed")}</>}
    {step.note !== undefined && <> · {t("skipped", { reason: step.note })}</>}
    {step.reconciled !== undefined && <> · {t("reconciled", { found: t(step.reconciled ? "found" : "notFound") })}</>}
    {step.attempts.some((a) => a.error !== undefined) && (
      <ol class="attempts">
        {step.attempts.filter((a) => a.error !== undefined).map((a) => (
          <li key={a.n}>
            {t("attempt", { n: a.n })}: {a.error!.message}
            {a.durationMillis !== undefined && <> ({formatDuration(a.durationMillis)})</>}
            {a.delayMillis !== undefined && <> · {t("retryIn", { delay: formatDuration(a.delayMillis) })}</>}
          </li>
        ))}
      </ol>
    )}
    {step.outcome === "failed" && step.error !== undefined && <p class="step-error">{step.error.message}</p>}
  </li>
)

const TimelineView = ({ timeline }: { readonly timeline: Timeline.Timeline }) => {
  // Loop items and parallel branches of the same block side by side.
  const families = new Map<string, Array<Timeline.Group>>()
  for (const group of timeline.groups) {
    const family = group.scope === "" ? "" : Timeline.familyOf(group.scope)
    families.set(family, [...(families.get(family) ?? []), group])
  }
  return (
    <section aria-labelledby="timeline-title" class="timeline">
      <h2 id="timeline-title">{t("timeline")}</h2>
      <ul class="run-lines">
        {timeline.run.map((line, i) => (
          <li key={i}>
            {formatDate(line.at)} ·{" "}
            {line.event._tag === "RunStarted"
              ? t("runStarted", { n: line.event.execution })
              : line.event._tag === "RunFinished"
              ? t("runFinished", { status: statusLabel(line.event.status), duration: formatDuration(line.event.durationMillis) })
              : line.event._tag === "RunInterrupted"
              ? t("runInterrupted")
              : t("itemFailed", { index: line.event.index, message: line.event.error.message })}
          </li>
        ))}
      </ul>
      <h3>{t("steps")}</h3>
      {[...families].map(([family, groups]) => (
        <div class={family === "" ? "family" : "family family-side"} key={family}>
          {groups.map((group) => (
            <section class="group" key={group.scope} aria-label={group.scope === "" ? t("steps") : group.scope}>
              {group.scope !== "" && <h4>{group.scope}</h4>}
              <ol class="steps">
                {group.steps.map((step) => <StepItem step={step} key={step.path} />)}
              </ol>
            </section>
          ))}
        </div>
      ))}
      {timeline.compensations.length > 0 && (
        <>
          <h3>{t("compensations")}</h3>
          <ol class="compensations">
            {timeline.compensations.map((c, i) => (
              <li key={i} class={`compensation compensation-${c.outcome}`} data-compensation={c.path}>
                <span class="step-name">{c.description}</span> ({c.step}, <code>{c.path}</code>) <span class="outcome">{c.outcome}</span>
                {c.detail !== undefined && <>: {c.detail}</>}
                {c.attempts.length > 0 && (
                  <ol class="attempts">
                    {c.attempts.map((a) => (
                      <li key={a.n}>
                        {t("attempt", { n: a.n })}: {a.error.message}
                        {a.nextDelayMillis !== undefined && <> · {t("retryIn", { delay: formatDuration(a.nextDelayMillis) })}</>}
                      </li>
                    ))}
                  </ol>
                )}
                {c.error !== undefined && <p class="step-error">{c.error.message}</p>}
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  )
}
