/**
 * Server-sent events read by hand (`Events.ts` reads a run's stream with `fetch`, since
 * `EventSource` cannot send a token): the WHATWG parsing rules, with no browser API, so that a
 * test can feed it chunks cut anywhere.
 */

/** One server-sent message. */
export interface Message {
  readonly id: string | undefined
  readonly event: string
  readonly data: string
}

/**
 * An incremental parser of `text/event-stream` (the WHATWG rules): feed it text as it arrives,
 * in chunks cut anywhere; it gives the messages completed so far.
 */
export const parser = () => {
  let buffer = ""
  // A chunk ended on "\r": a "\n" opening the next one belongs to the same line end.
  let afterCr = false
  let data: Array<string> = []
  let event = ""
  let id: string | undefined
  const line = (text: string, out: Array<Message>) => {
    if (text === "") {
      if (data.length > 0) out.push({ id, event: event === "" ? "message" : event, data: data.join("\n") })
      data = []
      event = ""
      id = undefined
      return
    }
    if (text.startsWith(":")) return
    const colon = text.indexOf(":")
    const field = colon < 0 ? text : text.slice(0, colon)
    let value = colon < 0 ? "" : text.slice(colon + 1)
    if (value.startsWith(" ")) value = value.slice(1)
    if (field === "data") data.push(value)
    else if (field === "event") event = value
    else if (field === "id" && !value.includes("\0")) id = value
  }
  return (chunk: string): ReadonlyArray<Message> => {
    const out: Array<Message> = []
    if (afterCr && chunk.startsWith("\n")) chunk = chunk.slice(1)
    afterCr = false
    buffer += chunk
    const ends = /\r\n|\r|\n/g
    let start = 0
    for (let match = ends.exec(buffer); match !== null; match = ends.exec(buffer)) {
      // A lone "\r" at the very end may be the first half of "\r\n": decided with the next chunk.
      if (match[0] === "\r" && match.index === buffer.length - 1) afterCr = true
      line(buffer.slice(start, match.index), out)
      start = match.index + match[0].length
    }
    buffer = buffer.slice(start)
    return out
  }
}
