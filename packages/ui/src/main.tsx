/**
 * The dashboard: a header with the sections, the token form when the server asks for one, and
 * the page the hash names (`#/runs`, `#/runs/<id>`, `#/workflows`, `#/webhooks`).
 */
import "./app.css"
import { effect } from "@preact/signals"
import { render } from "preact"
import { useState } from "preact/hooks"
import { needsToken, setToken, token } from "./Api.js"
import { type Lang, lang, setLang, t } from "./I18n.js"
import { hash } from "./Route.js"
import { Run } from "./Run.js"
import { Runs } from "./Runs.js"
import { Webhooks } from "./Webhooks.js"
import { Workflows } from "./Workflows.js"

effect(() => {
  document.documentElement.lang = lang.value
})

const TokenForm = () => {
  const [value, setValue] = useState("")
  return (
    <form
      class="token"
      aria-labelledby="token-title"
      onSubmit={(e) => {
        e.preventDefault()
        if (value.trim() !== "") setToken(value.trim())
        // The field is emptied: the token is in sessionStorage, not in the page.
        setValue("")
      }}
    >
      <h2 id="token-title">{t("tokenTitle")}</h2>
      <p>{t("tokenHelp")}</p>
      <label>
        {t("tokenLabel")}
        <input type="password" name="token" autoComplete="off" value={value} onInput={(e) => setValue(e.currentTarget.value)} required />
      </label>
      <button type="submit">{t("tokenSubmit")}</button>
    </form>
  )
}

const Page = () => {
  const path = hash.value.replace(/^#/, "") || "/runs"
  const run = /^\/runs\/([^/?]+)$/.exec(path)
  if (run !== null) return <Run id={decodeURIComponent(run[1]!)} key={run[1]} />
  if (path === "/runs" || path.startsWith("/runs?")) return <Runs />
  if (path === "/workflows") return <Workflows />
  if (path === "/webhooks") return <Webhooks />
  return <h1>{t("notFoundPage")}</h1>
}

const App = () => {
  const current = (hash.value.replace(/^#/, "") || "/runs").split("?")[0]!
  const link = (to: string, label: string) => (
    <a href={`#${to}`} aria-current={current === to || current.startsWith(`${to}/`) ? "page" : undefined}>{label}</a>
  )
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => {
        e.preventDefault()
        document.getElementById("main")?.focus()
      }}>
        {t("skip")}
      </a>
      <header>
        <span class="brand">relais</span>
        <nav aria-label={t("nav")}>
          {link("/runs", t("runs"))}
          {link("/workflows", t("workflows"))}
          {link("/webhooks", t("webhooks"))}
        </nav>
        <div class="tools">
          {token.value !== null && <button type="button" onClick={() => setToken(null)}>{t("tokenForget")}</button>}
          <label>
            {t("language")}
            <select value={lang.value} onChange={(e) => setLang(e.currentTarget.value as Lang)}>
              <option value="fr" lang="fr">Français</option>
              <option value="en" lang="en">English</option>
            </select>
          </label>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {needsToken.value && <TokenForm />}
        <Page />
      </main>
    </>
  )
}

render(<App />, document.getElementById("app")!)
