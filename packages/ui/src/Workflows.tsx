/** The workflows the server runs: their inputs, triggers and next schedule times (Europe/Paris). */
import type { WorkflowInfo } from "./Api.js"
import { Problem, useResource } from "./Common.js"
import { formatDate, t } from "./I18n.js"

export const Workflows = () => {
  const loaded = useResource<{ readonly workflows: ReadonlyArray<WorkflowInfo> }>("/workflows")
  return (
    <>
      <h1>{t("workflows")}</h1>
      {loaded.state !== "ok" ? <Problem loaded={loaded} /> : loaded.value.workflows.length === 0 ? <p>{t("noWorkflows")}</p> : (
        loaded.value.workflows.map((w) => (
          <section class="workflow" key={w.name} aria-labelledby={`wf-${w.name}`} data-workflow={w.name}>
            <h2 id={`wf-${w.name}`}>{w.name}</h2>
            <p>{w.description}</p>
            <dl class="facts">
              <dt>{t("file")}</dt>
              <dd><code>{w.file}</code></dd>
              <dt>{t("hash")}</dt>
              <dd><code>{w.hash.slice(0, 16)}</code></dd>
            </dl>
            <h3>{t("inputs")}</h3>
            {w.inputs.length === 0 ? <p>{t("noInputs")}</p> : (
              <table>
                <thead>
                  <tr>
                    <th scope="col">{t("name")}</th>
                    <th scope="col">{t("type")}</th>
                    <th scope="col">{t("required")}</th>
                    <th scope="col">{t("default")}</th>
                    <th scope="col">{t("description")}</th>
                  </tr>
                </thead>
                <tbody>
                  {w.inputs.map((input) => (
                    <tr key={input.name}>
                      <th scope="row"><code>{input.name}</code></th>
                      <td>{input.type}{input.enum !== undefined ? ` (${input.enum.join(", ")})` : ""}</td>
                      <td>{t(input.required ? "yes" : "no")}</td>
                      <td>{input.default !== undefined ? <code>{JSON.stringify(input.default)}</code> : "—"}</td>
                      <td>{input.description ?? ""}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <h3>{t("triggers")}</h3>
            {w.triggers.length === 0 ? <p>{t("noTriggers")}</p> : (
              <ul>
                {w.triggers.map((trigger, i) => (
                  <li key={i}>
                    <strong>{trigger.kind}</strong>
                    {trigger.name !== undefined && <> {trigger.name}</>}
                    {trigger.cron !== undefined && <> · <code>{trigger.cron}</code></>}
                    {trigger.timezone !== undefined && <> ({trigger.timezone})</>}
                    {trigger.next !== undefined && trigger.next.length > 0 && (
                      <>
                        {" "}· {t("nextTimes")}: {trigger.next.map((n) => formatDate(n)).join(", ")}
                      </>
                    )}
                  </li>
                ))}
              </ul>
            )}
          </section>
        ))
      )}
    </>
  )
}
