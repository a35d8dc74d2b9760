/**
 * One run: its status and durations, what started it, the definition it ran (its text and its
 * graph coloured by how far the run got), what to undo by hand (first, when there is any), what
 * was undone, its timeline, its inputs and output (as the server gives them: secrets already
 * redacted). Actions: resume (interrupted), cancel (executing), restart from a step (ended).
 *
 * Live: while the run is not final the page reads its event stream (`Events.follow`, SSE over
 * fetch) and adds each event as it comes; when the stream ends (the run finished or stopped)
 * the record is read again for its outcome.
 */
import { useEffect, useRef, useState } from "preact/hooks"
import { asApiError, type ApiError, get, isFinal, post, type RunDetail, type RunEvent, type RunStatus, token, type WorkflowInfo } from "./Api.js"
import { Json, type Loaded, Problem, Refusal, Status, triggerKind, triggerLabel, useResource } from "./Common.js"
import * as Events from "./Events.js"
import { GraphView } from "./Graph.js"
import { formatDate, formatDuration, statusLabel, t } from "./I18n.js"
import * as Timeline from "./Timeline.js"

const triggerText = (trigger: unknown): string => {
  // A run with no trigger was started by hand (`relais run`).
  if (trigger === undefined || trigger === null) return triggerLabel("manual")
  if (typeof trigger !== "object") return triggerLabel(String(trigger))
  const { kind, ...rest } = trigger as Record<string, unknown>
  const details = Object.entries(rest).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
  return [triggerLabel(String(triggerKind(trigger) ?? kind ?? "?")), ...details].join(" · ")
}

type Stored = RunDetail["events"][number]

/** The status the events received since the record was read tell of (the record's otherwise). */
const statusAfter = (status: RunStatus, events: ReadonlyArray<Stored>): RunStatus => {
  let current = status
  for (const { event } of events) {
    if (event._tag === "RunFinished") current = event.status
    else if (event._tag === "RunInterrupted") current = "interrupted"
    else if (event._tag === "RunStarted" || event._tag === "StepStarted") current = current === "interrupted" ? "running" : current
    else if (event._tag === "CompensationStarted" && current === "running") current = "compensating"
  }
  return current
}

const pause = (millis: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, millis)
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true })
  })

interface LiveRun {
  readonly loaded: Loaded<RunDetail>
  /** The events received over the stream since the record was read. */
  readonly fresh: ReadonlyArray<Stored>
  readonly connection: Events.Connection | "off"
  /** Read the record again and follow it while it is not final; `expectResume`: it was just resumed. */
  readonly reload: (options?: { readonly expectResume?: boolean }) => void
}

/**
 * The run's record, then its events as they happen while it is not final: read once, then
 * followed over SSE; when the stream ends, read again (the outcome, what was undone), and
 * followed again if it still goes on. A run just resumed may still read `interrupted` for a
 * moment: it is read again every second for up to 30 s until it runs. An interrupted run has
 * no stream: it is read again every 10 s, and followed once something resumes it.
 */
const useLiveRun = (id: string): LiveRun => {
  const [loaded, setLoaded] = useState<Loaded<RunDetail>>({ state: "loading" })
  const [fresh, setFresh] = useState<ReadonlyArray<Stored>>([])
  const [connection, setConnection] = useState<Events.Connection | "off">("off")
  const [generation, setGeneration] = useState(0)
  const resumeUntil = useRef(0)
  const bearer = token.value
  useEffect(() => {
    const abort = new AbortController()
    const { signal } = abort
    const loop = async () => {
      while (!signal.aborted) {
        let detail: RunDetail
        try {
          detail = await get<RunDetail>(`/runs/${encodeURIComponent(id)}`)
        } catch (error) {
          if (signal.aborted) return
          const problem = asApiError(error)
          setLoaded((previous) => previous.state === "ok" && problem.status === 0 ? previous : { state: "error", status: problem.status, detail: problem.detail })
          setConnection("off")
          // The server out of reach: tried again; a refusal stays on the page.
          if (problem.status !== 0 && problem.status !== 503) return
          await pause(3000, signal)
          continue
        }
        if (signal.aborted) return
        setLoaded({ state: "ok", value: detail })
        setFresh([])
        const waitingForResume = detail.status === "interrupted" && Date.now() < resumeUntil.current
        if (isFinal(detail.status)) {
          setConnection("off")
          return
        }
        if (detail.status === "interrupted" && !waitingForResume) {
          // No stream to follow until something resumes it (here, relais resume, an engine
          // starting on the store): read again now and then, to follow it once it goes on.
          setConnection("off")
          await pause(10_000, signal)
          continue
        }
        const before = detail.events.at(-1)?.seq ?? 0
        let last = before
        try {
          last = await Events.follow(id, {
            after: before,
            signal,
            onConnection: setConnection,
            onEvent: (stored) => setFresh((previous) => [...previous, stored])
          })
        } catch (error) {
          if (signal.aborted) return
          const problem = asApiError(error)
          setLoaded({ state: "error", status: problem.status, detail: problem.detail })
          setConnection("off")
          return
        }
        // The stream ended with nothing new (a run resumed a moment ago, not started again
        // yet): a pause before asking again.
        if (last === before) await pause(1000, signal)
      }
    }
    void loop()
    return () => abort.abort()
  }, [id, bearer, generation])
  return {
    loaded,
    fresh,
    connection,
    reload: (options) => {
      if (options?.expectResume === true) resumeUntil.current = Date.now() + 30_000
      setGeneration((g) => g + 1)
    }
  }
}

/** A confirmation: what the action does, the choices it takes, confirm or go back. */
const Confirm = (props: {
  readonly name: string
  readonly action: string
  readonly explain: string
  readonly back: string
  readonly onConfirm: () => void
  readonly onBack: () => void
  readonly children?: preact.ComponentChildren
}) => (
  <div role="group" aria-label={props.name} class="confirm">
    <p>{props.explain}</p>
    {props.children}
    <p class="hint">{t("scopeNeeded", { scope: "run" })}</p>
    <button type="button" data-action={`${props.action}-confirm`} onClick={props.onConfirm}>{props.name}</button>
    <button type="button" onClick={props.onBack}>{props.back}</button>
  </div>
)

/**
 * An action's life on the page: its button opens a confirmation, confirming sends it, then the
 * page says it was asked, or why the server refused.
 */
interface Action {
  readonly open: boolean
  readonly asked: boolean
  readonly refused: ApiError | undefined
  readonly ask: () => void
  readonly back: () => void
  readonly confirm: () => void
}

const useAction = <A,>(send: () => Promise<A>, onDone?: (answer: A) => void): Action => {
  const [open, setOpen] = useState(false)
  const [asked, setAsked] = useState(false)
  const [refused, setRefused] = useState<ApiError | undefined>(undefined)
  return {
    open,
    asked,
    refused,
    ask: () => {
      setOpen(true)
      setRefused(undefined)
    },
    back: () => setOpen(false),
    confirm: () => {
      send().then(
        (answer) => {
          setAsked(true)
          onDone?.(answer)
        },
        (error: unknown) => setRefused(asApiError(error))
      )
      setOpen(false)
    }
  }
}

/** Cancel, with a confirmation that says what it does and lets the user keep what was done. */
const CancelAction = ({ id }: { readonly id: string }) => {
  const [keep, setKeep] = useState(false)
  const action = useAction(() => post(`/runs/${encodeURIComponent(id)}/cancel${keep ? "?compensate=false" : ""}`))
  return (
    <>
      {!action.open && !action.asked && (
        <button type="button" data-action="cancel" onClick={action.ask}>{t("cancelRun")}</button>
      )}
      {action.open && (
        <Confirm name={t("cancelConfirm")} action="cancel" explain={t("cancelExplain")} back={t("cancelBack")} onConfirm={action.confirm} onBack={action.back}>
          <label class="inline">
            <input type="checkbox" checked={keep} onChange={(e) => setKeep((e.currentTarget as HTMLInputElement).checked)} />
            {" "}{t("cancelKeep")}
          </label>
        </Confirm>
      )}
      {action.asked && <p role="status">{t("cancelAsked")}</p>}
      {action.refused !== undefined && <Refusal status={action.refused.status} detail={action.refused.detail} asked="cancel" />}
    </>
  )
}

/** Resume an interrupted run, after a confirmation; the page then follows it live. */
const ResumeAction = ({ id, onResumed }: { readonly id: string; readonly onResumed: () => void }) => {
  const action = useAction(() => post(`/runs/${encodeURIComponent(id)}/resume`), onResumed)
  return (
    <>
      {!action.open && !action.asked && (
        <button type="button" data-action="resume" onClick={action.ask}>{t("resumeRun")}</button>
      )}
      {action.open && (
        <Confirm name={t("resumeConfirm")} action="resume" explain={t("resumeExplain")} back={t("resumeBack")} onConfirm={action.confirm} onBack={action.back} />
      )}
      {action.asked && <p role="status">{t("resumeAsked")}</p>}
      {action.refused !== undefined && <Refusal status={action.refused.status} detail={action.refused.detail} asked="resume" />}
    </>
  )
}

/**
 * Restart from a step the run reached (its failed step first), after a confirmation that says
 * what is reused; with the definition the run started with, or the file served now when it
 * differs (a corrected one). On success, the new run's page.
 */
const RestartAction = ({ run, events }: { readonly run: RunDetail; readonly events: ReadonlyArray<RunEvent> }) => {
  const reached = [...new Set(events.flatMap((e) => (e._tag === "StepStarted" ? [e.path] : [])))]
  // The failed step, from the record or, when the page saw the run end over its stream before
  // it read the record again, from the events (the last step that failed).
  const failed = run.failure?.path ?? events.flatMap((e) => (e._tag === "StepFailed" ? [e.path] : [])).at(-1)
  const proposed = failed !== undefined && reached.includes(failed) ? failed : reached[0] ?? ""
  // Proposed until the user chooses (the proposal follows the run as it is read again).
  const [chosen, setChosen] = useState<string | undefined>(undefined)
  const from = chosen !== undefined && reached.includes(chosen) ? chosen : proposed
  const [definition, setDefinition] = useState<"original" | "served">("original")
  const action: Action = useAction(
    () => post<{ readonly runId: string }>(`/runs/${encodeURIComponent(run.id)}/restart`, differs ? { from, definition } : { from }),
    (started: { readonly runId: string }) => {
      location.hash = `#/runs/${encodeURIComponent(started.runId)}`
    }
  )
  const workflows = useResource<{ readonly workflows: ReadonlyArray<WorkflowInfo> }>(action.open ? "/workflows" : undefined)
  const served = workflows.state === "ok" ? workflows.value.workflows.find((w) => w.name === run.workflow) : undefined
  const original = run.definition?.hash
  const differs: boolean = served !== undefined && original !== undefined && served.hash !== original
  if (reached.length === 0) return null
  return (
    <>
      {!action.open && <button type="button" data-action="restart" onClick={action.ask}>{t("restartRun")}</button>}
      {action.open && (
        <Confirm name={t("restartConfirm")} action="restart" explain={t("restartExplain")} back={t("restartBack")} onConfirm={action.confirm} onBack={action.back}>
          <label>
            {t("restartFrom")}{" "}
            <select value={from} onChange={(e) => setChosen((e.currentTarget as HTMLSelectElement).value)}>
              {reached.map((path) => <option key={path} value={path}>{path}</option>)}
            </select>
          </label>
          {differs && (
            <fieldset class="choice" data-definition-choice>
              <legend>{t("restartDefinition")}</legend>
              <p>{t("restartDiffers")}</p>
              <label class="inline">
                <input type="radio" name="definition" value="original" checked={definition === "original"} onChange={() => setDefinition("original")} />
                {" "}{t("restartOriginal", { hash: original!.slice(0, 12) })}
              </label>
              <label class="inline">
                <input type="radio" name="definition" value="served" checked={definition === "served"} onChange={() => setDefinition("served")} />
                {" "}{t("restartServed", { hash: served!.hash.slice(0, 12) })}
              </label>
            </fieldset>
          )}
        </Confirm>
      )}
      {action.refused !== undefined && <Refusal status={action.refused.status} detail={action.refused.detail} asked="restart" />}
    </>
  )
}

const connectionText = (connection: Events.Connection): string =>
  connection === "open" ? t("liveOpen") : connection === "connecting" ? t("liveConnecting") : t("liveRetrying")

export const Run = ({ id }: { readonly id: string }) => {
  const live = useLiveRun(id)
  const { loaded } = live
  if (loaded.state !== "ok") {
    return (
      <>
        <p><a href="#/runs">← {t("back")}</a></p>
        <h1>{t("runId", { id })}</h1>
        <Problem loaded={loaded} asked="readRun" />
      </>
    )
  }
  const recorded = loaded.value
  const known = recorded.events.at(-1)?.seq ?? 0
  const stored = [...recorded.events, ...live.fresh.filter((e) => e.seq > known)]
  const status = statusAfter(recorded.status, live.fresh)
  const run: RunDetail = { ...recorded, status }
  const events = stored.map((e) => e.event)
  const timeline = Timeline.build(events)
  const remaining = run.remaining ?? []
  return (
    <>
      <p><a href="#/runs">← {t("back")}</a></p>
      <h1>
        {run.workflow} <Status status={run.status} />
      </h1>
      <p class="run-id">{t("runId", { id: run.id })}</p>
      <p class="hint live" aria-live="polite" data-live={live.connection}>
        {live.connection !== "off" ? connectionText(live.connection) : ""}
      </p>
      <section class="actions" aria-label={t("actions")} data-actions>
        {run.status === "interrupted" && <ResumeAction id={run.id} onResumed={() => live.reload({ expectResume: true })} />}
        {!isFinal(run.status) && <CancelAction id={run.id} />}
        {isFinal(run.status) && run.restartedAs === undefined && <RestartAction run={run} events={events} />}
      </section>
      {run.restartedAs !== undefined && (
        <p data-restarted-as>
          <a href={`#/runs/${encodeURIComponent(run.restartedAs)}`}>{t("restartedAs", { id: run.restartedAs })}</a>
        </p>
      )}
      {run.restartOf !== undefined && (
        <p data-restart-of>
          <a href={`#/runs/${encodeURIComponent(run.restartOf.runId)}`}>
            {t("restartOf", { from: run.restartOf.from, id: run.restartOf.runId, reused: run.restartOf.reused?.join(", ") || "—" })}
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
        <section aria-labelledby="failure-title" class={run.status === "cancelled" ? "failure cancelled" : "failure"}>
          {/* A cancelled run did not fail: it was stopped there. */}
          <h2 id="failure-title">{t(run.status === "cancelled" ? "stoppedWhere" : "failure")}</h2>
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
      {run.definition !== undefined && <DefinitionView definition={run.definition} events={events} />}
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

/** The definition the run started with: its graph coloured by the run's progress, its text. */
const DefinitionView = ({ definition, events }: { readonly definition: NonNullable<RunDetail["definition"]>; readonly events: ReadonlyArray<RunEvent> }) => (
  <section aria-labelledby="definition-title" class="definition">
    <h2 id="definition-title">{t("definition")}</h2>
    {definition.graph !== undefined
      ? (
        <>
          <h3>{t("graph")}</h3>
          <GraphView graph={definition.graph} events={events} />
        </>
      )
      : definition.text !== undefined && <p class="hint">{t("noGraph")}</p>}
    {definition.text !== undefined && (
      <details class="definition-text">
        <summary>{t("definitionText")}</summary>
        <pre class="yaml" tabIndex={0} aria-label={t("definitionText")}>{definition.text}</pre>
      </details>
    )}
  </section>
)

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
    {step.outcome === "stopped" && step.error !== undefined && <p class="step-stop">{step.error.message}</p>}
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
