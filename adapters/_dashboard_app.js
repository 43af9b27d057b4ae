// The dashboard's only script, served as /static/app.js (the CSP allows no other): live rows on the list page, the
// live log and timeline on a job page, and the questions before Stop and Rerun. What the server sends goes into the
// page as text (textContent, text nodes), never as HTML; a URL is built only from an id of the ULID shape.
;(() => {
  const ID = /^[0-9A-HJKMNP-TV-Z]{26}$/
  const data = document.body.dataset

  /** An element with its text and attributes, all set as text. */
  const el = (tag, text, attributes) => {
    const e = document.createElement(tag)
    if (text !== undefined) e.textContent = text
    for (const [name, value] of Object.entries(attributes ?? {})) e.setAttribute(name, value)
    return e
  }

  // the same words as the server's pages (adapters/_dashboard_html.ts)
  const quote = (arg) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`)
  const commandText = (argv) => (Array.isArray(argv) ? argv.map((a) => quote(String(a))).join(" ") : "")
  const statusText = (job) =>
    job.exitCode !== null
      ? `${job.status} [${job.exitCode}]`
      : job.signal !== null
        ? `${job.status} [${job.signal}]`
        : String(job.status)
  const duration = (job) => {
    if (job.startedAt === null) return "-"
    const end = job.finishedAt === null ? Date.now() : Date.parse(job.finishedAt)
    const s = Math.max(0, Math.round((end - Date.parse(job.startedAt)) / 1000))
    if (s < 60) return `${s}s`
    if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`
    return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`
  }

  const actionForm = (id, action, question, label) => {
    const form = el("form", undefined, {
      class: "inline",
      method: "post",
      action: `/api/jobs/${id}/${action}`,
      "data-confirm": question
    })
    form.append(el("button", label))
    return form
  }

  /** One row of the list, from the job's JSON (the server draws the first rows the same way). */
  const row = (job) => {
    const tr = el("tr", undefined, { id: `job-${job.id}`, "data-id": job.id })
    const cell = (content, className) => {
      const td = el("td", undefined, className === undefined ? {} : { class: className })
      td.append(content)
      return td
    }
    const link = el("a", undefined, { href: `/jobs/${job.id}` })
    link.append(el("code", String(job.shortId)))
    const actions = el("td")
    actions.append(el("a", "View", { href: `/jobs/${job.id}` }), " ")
    if (job.finishedAt === null) actions.append(actionForm(job.id, "cancel", "Stop this job?", "Stop"), " ")
    actions.append(actionForm(job.id, "rerun", "Run this job again?", "Rerun"))
    tr.append(
      cell(link),
      cell(String(job.name ?? "-")),
      cell(statusText(job), `status s-${job.status}`),
      cell(el("code", commandText(job.command))),
      cell(String(job.project ?? "-")),
      cell(String(job.worker ?? "-")),
      cell(String(job.createdAt ?? "-")),
      cell(duration(job), "duration"),
      actions
    )
    return tr
  }

  /** A job as JSON, for an id of the right shape only; undefined when there is none. */
  const fetchJob = async (id) => {
    if (typeof id !== "string" || !ID.test(id)) return undefined
    const r = await fetch(`/api/jobs/${id}`)
    if (!r.ok) return undefined
    const job = await r.json()
    return job !== null && typeof job === "object" && job.id === id ? job : undefined
  }

  const parse = (text) => {
    try {
      return JSON.parse(text)
    } catch {
      return undefined
    }
  }

  // Stop and Rerun ask first
  document.addEventListener("submit", (e) => {
    const question = e.target instanceof HTMLFormElement ? e.target.dataset.confirm : undefined
    if (question !== undefined && !window.confirm(question)) e.preventDefault()
  })

  // the list: a changed job's row is drawn again; a new job appears on the first page without filters
  const list = () => {
    const rows = document.getElementById("rows")
    const firstPage = data.firstPage === "true"
    const events = new EventSource("/api/events")
    events.addEventListener("event", async (m) => {
      const id = parse(m.data)?.job
      if (typeof id !== "string" || !ID.test(id)) return
      if (document.getElementById(`job-${id}`) === null && !firstPage) return
      const job = await fetchJob(id)
      if (job === undefined) return
      // looked up again: another event of the same job may have drawn it meanwhile
      const existing = document.getElementById(`job-${id}`)
      if (existing !== null) existing.replaceWith(row(job))
      else rows.prepend(row(job))
    })
  }

  // one job: the log follows while the reader is at the bottom; events go on the timeline; earlier output on demand
  const job = () => {
    const id = data.job
    if (!ID.test(id)) return
    const log = document.getElementById("log")
    log.scrollTop = log.scrollHeight
    let start = Number(data.start) || 0
    const atBottom = () => log.scrollHeight - log.scrollTop - log.clientHeight < 8
    // the output's position: a byte offset, or past --max-log-size "PIECE:OFFSET"
    const output = /^\d{1,15}(:\d{1,15})?$/.test(String(data.output)) ? String(data.output) : "0"
    const from = `events=${Number(data.events) || 0}&output=${output}`
    const stream = new EventSource(`/api/jobs/${id}/stream?${from}`)
    stream.addEventListener("output", (m) => {
      const text = parse(m.data)
      if (typeof text !== "string") return
      const follow = atBottom()
      log.append(document.createTextNode(text))
      if (follow) log.scrollTop = log.scrollHeight
    })
    stream.addEventListener("event", async (m) => {
      const e = parse(m.data)
      if (e === undefined || e === null) return
      const li = el("li")
      li.append(el("code", String(e.at)), " ", String(e.type))
      document.getElementById("timeline").append(li)
      if (["Started", "Exited", "Interrupted", "StopRequested", "DependencyFailed"].includes(e.type)) {
        const fresh = await fetchJob(id)
        if (fresh !== undefined) document.getElementById("spec-status").firstChild.textContent = statusText(fresh)
      }
    })
    stream.addEventListener("end", () => stream.close())
    document.getElementById("copy").addEventListener("click", () => navigator.clipboard.writeText(log.textContent))
    const earlier = document.getElementById("earlier")
    if (earlier !== null)
      earlier.addEventListener("click", async () => {
        const from = Math.max(0, start - 65536)
        const r = await fetch(`/api/jobs/${id}/logs?from=${from}&to=${start}`)
        if (!r.ok) return
        log.prepend(document.createTextNode(await r.text()))
        start = from
        if (start === 0) earlier.remove()
      })
  }

  if (data.page === "list") list()
  if (data.page === "job") job()
})()
