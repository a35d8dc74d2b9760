/**
 * A run's live events: `GET /api/v1/runs/{id}/events` (server-sent events) read with `fetch`,
 * because `EventSource` cannot send the `Authorization` header. The stream is parsed here
 * (`id:`, `event:`, `data:` lines, comments, a blank line ending each message) and, after a
 * drop, asked again with `Last-Event-ID` (the `seq` of the last event received), so that no
 * event is lost or seen twice. The server ends the stream when the run finishes or stops.
 */
import { ApiError, headersWith, problemOf, type RunEvent } from "./Api.js"
import { parser } from "./Sse.js"

/** How the stream is doing, for the page to say. */
export type Connection = "connecting" | "open" | "retrying"

export interface FollowOptions {
  /** The `seq` of the last event already known (0: from the start). */
  readonly after: number
  readonly signal: AbortSignal
  readonly onEvent: (stored: { readonly seq: number; readonly event: RunEvent }) => void
  readonly onConnection?: (state: Connection) => void
}

const pause = (millis: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, millis)
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true })
  })

/**
 * Follow a run's events until the server ends the stream (the run finished or stopped): resolves
 * with the `seq` of the last event received. A dropped connection or a server that does not
 * answer is tried again with `Last-Event-ID`, after 1 s, then up to 15 s between tries; an
 * answer that will not change by trying again (401, 403, 404) rejects with its `ApiError`.
 */
export const follow = async (runId: string, options: FollowOptions): Promise<number> => {
  let last = options.after
  let delay = 1000
  let first = true
  const { signal } = options
  while (!signal.aborted) {
    options.onConnection?.(first ? "connecting" : "retrying")
    first = false
    try {
      const headers = headersWith({ accept: "text/event-stream" })
      if (last > 0) headers["last-event-id"] = String(last)
      const response = await fetch(`/api/v1/runs/${encodeURIComponent(runId)}/events`, { headers, signal, cache: "no-store" })
      if (!response.ok) {
        const problem = await problemOf(response)
        if (problem.status === 401 || problem.status === 403 || problem.status === 404) throw problem
        throw new Error(`the event stream answered ${problem.status}`)
      }
      if (response.body === null) throw new Error("the event stream has no body")
      options.onConnection?.("open")
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
      const parse = parser()
      let broken = false
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        for (const message of parse(value)) {
          // The server could not read the store: try again from the last event.
          if (message.event === "error") broken = true
          else if (message.id !== undefined && /^\d+$/.test(message.id)) {
            const seq = Number(message.id)
            if (seq <= last) continue
            last = seq
            delay = 1000
            let event: RunEvent
            try {
              event = JSON.parse(message.data) as RunEvent
            } catch {
              // Not JSON: passed over (asking again would only bring it back).
              continue
            }
            options.onEvent({ seq, event })
          }
        }
        if (broken) break
      }
      if (!broken) return last
      void reader.cancel().catch(() => undefined)
    } catch (error) {
      if (signal.aborted) return last
      if (error instanceof ApiError) throw error
      // Dropped or refused: tried again below.
    }
    await pause(delay, signal)
    delay = Math.min(delay * 2, 15_000)
  }
  return last
}
