/** What the webhooks received: messages (status, duplicates, the runs they started) and refusals. */
import type { WebhookMessage, WebhookRejection } from "./Api.js"
import { Problem, useResource } from "./Common.js"
import { formatDate, t } from "./I18n.js"

export const Webhooks = () => {
  const messages = useResource<{ readonly messages: ReadonlyArray<WebhookMessage> }>("/webhooks/messages", { refreshMillis: 5000 })
  const rejections = useResource<{ readonly rejections: ReadonlyArray<WebhookRejection> }>("/webhooks/rejections", { refreshMillis: 5000 })
  return (
    <>
      <h1>{t("webhooks")}</h1>
      <section aria-labelledby="messages-title">
        <h2 id="messages-title">{t("messages")}</h2>
        {messages.state !== "ok" ? <Problem loaded={messages} /> : messages.value.messages.length === 0 ? <p>{t("noMessages")}</p> : (
          <table>
            <thead>
              <tr>
                <th scope="col">{t("received")}</th>
                <th scope="col">{t("plugin")}</th>
                <th scope="col">{t("subject")}</th>
                <th scope="col">{t("status")}</th>
                <th scope="col">{t("duplicates")}</th>
                <th scope="col">{t("runsStarted")}</th>
              </tr>
            </thead>
            <tbody>
              {messages.value.messages.map((m) => (
                <tr key={m.id}>
                  <td>{formatDate(m.receivedAt)}</td>
                  <td>{m.plugin}</td>
                  <td>{m.subject}</td>
                  <td>{m.status}{m.detail !== undefined ? ` (${m.detail})` : ""}</td>
                  <td>{m.duplicates}</td>
                  <td>{m.runs.map((id) => <a key={id} href={`#/runs/${encodeURIComponent(id)}`}>{id}</a>)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section aria-labelledby="rejections-title">
        <h2 id="rejections-title">{t("rejections")}</h2>
        {rejections.state !== "ok" ? <Problem loaded={rejections} /> : rejections.value.rejections.length === 0 ? <p>{t("noRejections")}</p> : (
          <table>
            <thead>
              <tr>
                <th scope="col">{t("received")}</th>
                <th scope="col">{t("plugin")}</th>
                <th scope="col">{t("status")}</th>
                <th scope="col">{t("reason")}</th>
              </tr>
            </thead>
            <tbody>
              {rejections.value.rejections.map((r, i) => (
                <tr key={i}>
                  <td>{formatDate(r.receivedAt)}</td>
                  <td>{r.plugin}</td>
                  <td>{r.status}</td>
                  <td>{r.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  )
}
