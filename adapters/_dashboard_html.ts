// The dashboard's pages: server-rendered HTML, no build step and no CDN. Every value goes through `esc`; the pages
// hold no script or style of their own (the CSP allows none): /static/app.js and /static/style.css do that, reading
// what they need from the body's data- attributes.
import type * as JobState from "../core/job_state.ts"

/** Escapes text for HTML element content and attribute values. */
export const esc = (text: unknown): string =>
  String(text ?? "")
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;")

const quote = (arg: string) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`)
export const commandText = (argv: ReadonlyArray<string>) => argv.map(quote).join(" ")

const statusText = (job: JobState.JobObject) =>
  job.exitCode !== null
    ? `${job.status} [${job.exitCode}]`
    : job.signal !== null
      ? `${job.status} [${job.signal}]`
      : job.status

const duration = (job: JobState.JobObject): string => {
  if (job.startedAt === null) return "-"
  const end = job.finishedAt === null ? Date.now() : Date.parse(job.finishedAt)
  const s = Math.max(0, Math.round((end - Date.parse(job.startedAt)) / 1000))
  return s < 60
    ? `${s}s`
    : s < 3600
      ? `${Math.floor(s / 60)}m${s % 60}s`
      : `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`
}

/** The frame every page shares; `data` becomes the body's data- attributes, for the page's script. */
export const page = (title: string, body: string, data: Readonly<Record<string, string | number | boolean>> = {}) => {
  const attributes = Object.entries(data)
    .map(([name, value]) => ` data-${name}="${esc(value)}"`)
    .join("")
  return (
    `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)} · jobs</title>` +
    `<link rel="stylesheet" href="/static/style.css"></head>` +
    `<body${attributes}><header><a href="/jobs">Jobs</a><a href="/new">New job</a><a href="/stats">Stats</a></header>` +
    `<main><h1>${esc(title)}</h1>${body}</main><script src="/static/app.js"></script></body></html>`
  )
}

const actions = (job: JobState.JobObject) =>
  `<a href="/jobs/${esc(job.id)}">View</a> ` +
  (job.finishedAt === null
    ? `<form class="inline" method="post" action="/api/jobs/${esc(job.id)}/cancel" data-confirm="Stop this job?"><button>Stop</button></form> `
    : "") +
  `<form class="inline" method="post" action="/api/jobs/${esc(job.id)}/rerun" data-confirm="Run this job again?"><button>Rerun</button></form>`

/** One row of the list (an open page draws changed rows the same way from the JSON, in /static/app.js). */
export const row = (job: JobState.JobObject): string =>
  `<tr id="job-${esc(job.id)}" data-id="${esc(job.id)}"><td><a href="/jobs/${esc(job.id)}"><code>${esc(job.shortId)}</code></a></td>` +
  `<td>${esc(job.name ?? "-")}</td><td class="status s-${esc(job.status)}">${esc(statusText(job))}</td>` +
  `<td><code>${esc(commandText(job.command))}</code></td><td>${esc(job.project ?? "-")}</td><td>${esc(job.worker ?? "-")}</td>` +
  `<td>${esc(job.createdAt ?? "-")}</td><td class="duration">${esc(duration(job))}</td><td>${actions(job)}</td></tr>`

export interface ListQuery {
  readonly status: string
  readonly project: string
  readonly worker: string
  readonly q: string
  readonly page: number
}

/** The job list, with its filters, live updates (new jobs and changes) and paging. */
export const listPage = (
  jobs: ReadonlyArray<JobState.JobObject>,
  query: ListQuery,
  more: boolean,
  statuses: ReadonlyArray<string>
): string => {
  const option = (value: string, current: string) =>
    `<option value="${esc(value)}"${value === current ? " selected" : ""}>${esc(value === "" ? "any status" : value)}</option>`
  const filters =
    `<form method="get" action="/jobs"><select name="status">${["", ...statuses].map((s) => option(s, query.status)).join("")}</select>` +
    `<input name="project" placeholder="project" value="${esc(query.project)}">` +
    `<input name="worker" placeholder="worker" value="${esc(query.worker)}">` +
    `<input name="q" placeholder="search name or command" value="${esc(query.q)}"><button>Filter</button></form>`
  const params = (p: number) =>
    new URLSearchParams({
      status: query.status,
      project: query.project,
      worker: query.worker,
      q: query.q,
      page: String(p)
    })
  const paging =
    (query.page > 1 ? `<a href="/jobs?${esc(params(query.page - 1))}">newer</a> ` : "") +
    (more ? `<a href="/jobs?${esc(params(query.page + 1))}">older</a>` : "")
  const table =
    `<table><thead><tr><th>ID</th><th>Name</th><th>Status</th><th>Command</th><th>Project</th><th>Worker</th>` +
    `<th>Created</th><th>Duration</th><th></th></tr></thead><tbody id="rows">${jobs.map(row).join("")}</tbody></table>`
  // a new job appears live only on the first page without filters
  const firstPage =
    query.page === 1 && query.status === "" && query.project === "" && query.worker === "" && query.q === ""
  return page("Jobs", `${filters}${table}<p>${paging}</p>`, { page: "list", "first-page": firstPage })
}

/** One job: spec, timeline, live log (tail first, earlier parts on demand), Stop and Rerun. */
export const jobPage = (
  job: JobState.JobObject,
  envNames: ReadonlyArray<string>,
  events: ReadonlyArray<{ readonly type: string; readonly at: string }>,
  tail: { readonly text: string; readonly start: number; readonly end: string },
  eventsOffset: number
): string => {
  const spec: Array<[string, string]> = [
    ["id", job.id],
    ["status", statusText(job)],
    ["command", commandText(job.command)],
    ["cwd", job.cwd ?? "-"],
    ["executor", job.executor + (job.worker === null ? "" : ` (${job.worker})`)],
    ["environment", envNames.length === 0 ? "-" : envNames.join(" ")],
    ["timeout", job.timeoutSecs === null ? "-" : `${job.timeoutSecs}s`],
    ["key", job.key ?? "-"],
    ["exit code", job.exitCode === null ? (job.signal ?? "-") : String(job.exitCode)],
    ["duration", duration(job)],
    ["cost", job.cost === null ? "-" : `$${job.cost.toFixed(4)}`]
  ]
  const body =
    `<table id="spec">${spec.map(([k, v]) => `<tr><th>${esc(k)}</th><td id="spec-${esc(k.replace(" ", "-"))}"><code>${esc(v)}</code></td></tr>`).join("")}</table>` +
    `<p>${actions(job)} <button id="copy">Copy log</button>` +
    (tail.start > 0 ? ` <button id="earlier">Load earlier output</button>` : "") +
    `</p><pre id="log">${esc(tail.text)}</pre><h2>Events</h2><ol id="timeline">` +
    events.map((e) => `<li><code>${esc(e.at)}</code> ${esc(e.type)}</li>`).join("") +
    "</ol>"
  return page(`Job ${job.shortId}${job.name === null ? "" : ` (${job.name})`}`, body, {
    page: "job",
    job: job.id,
    start: tail.start,
    events: eventsOffset,
    output: tail.end
  })
}

/** The form that submits a job. */
export const newPage = (cwd: string): string =>
  page(
    "New job",
    `<form method="post" action="/api/jobs"><table>` +
      `<tr><th>Command</th><td><input name="command" size="80" required placeholder="a shell command"></td></tr>` +
      `<tr><th>Directory</th><td><input name="cwd" size="60" value="${esc(cwd)}"></td></tr>` +
      `<tr><th>Executor</th><td><select name="executor"><option>local</option><option>tmux</option></select></td></tr>` +
      `<tr><th>Timeout</th><td><input name="timeout" placeholder="e.g. 30m"></td></tr>` +
      `<tr><th>Name</th><td><input name="name"></td></tr></table><button>Start</button></form>`
  )

/** Success rate and duration over time, and jobs per status, as server-drawn SVG. */
export const statsPage = (jobs: ReadonlyArray<JobState.JobObject>): string => {
  const counts = new Map<string, number>()
  for (const j of jobs) counts.set(j.status, (counts.get(j.status) ?? 0) + 1)
  const max = Math.max(1, ...counts.values())
  const bars = [...counts.entries()]
    .map(
      ([s, n], i) =>
        `<rect x="${10 + i * 70}" y="${150 - (n / max) * 120}" width="50" height="${(n / max) * 120}" fill="#3e7cb1"/>` +
        `<text x="${35 + i * 70}" y="168" text-anchor="middle" font-size="11">${esc(s)}</text>` +
        `<text x="${35 + i * 70}" y="${145 - (n / max) * 120}" text-anchor="middle" font-size="11">${n}</text>`
    )
    .join("")
  // by day: the share of ended jobs that completed, and their median duration
  const days = new Map<string, Array<JobState.JobObject>>()
  for (const j of jobs) {
    if (j.finishedAt === null) continue
    const day = j.finishedAt.slice(0, 10)
    days.set(day, [...(days.get(day) ?? []), j])
  }
  const series = [...days.entries()].sort(([a], [b]) => a.localeCompare(b)).slice(-30)
  const points = series.map(([day, js], i) => {
    const ok = js.filter((j) => j.status === "completed").length / js.length
    const durations = js
      .filter((j) => j.startedAt !== null)
      .map((j) => (Date.parse(j.finishedAt!) - Date.parse(j.startedAt!)) / 1000)
      .sort((a, b) => a - b)
    return { day, ok, median: durations[Math.floor(durations.length / 2)] ?? 0, i }
  })
  const maxMedian = Math.max(1, ...points.map((p) => p.median))
  const x = (i: number) => 40 + (points.length <= 1 ? 0 : (i / (points.length - 1)) * 520)
  const line = (f: (p: (typeof points)[number]) => number) =>
    points.map((p) => `${x(p.i)},${150 - f(p) * 120}`).join(" ")
  const chart =
    `<svg width="600" height="180" role="img" aria-label="success rate and median duration by day">` +
    `<polyline fill="none" stroke="#207227" stroke-width="2" points="${line((p) => p.ok)}"/>` +
    `<polyline fill="none" stroke="#8a6d00" stroke-width="2" points="${line((p) => p.median / maxMedian)}"/>` +
    points
      .map((p) => `<text x="${x(p.i)}" y="170" font-size="10" text-anchor="middle">${esc(p.day.slice(5))}</text>`)
      .join("") +
    `</svg><p class="muted">green: share of ended jobs that completed; amber: median duration (max ${Math.round(maxMedian)}s)</p>`
  return page(
    "Stats",
    `<h2>Jobs per status</h2><svg width="${Math.max(100, counts.size * 70 + 20)}" height="180" role="img" aria-label="jobs per status">${bars}</svg>` +
      `<h2>By day</h2>${chart}`
  )
}
