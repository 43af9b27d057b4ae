// The web dashboard (`jobs serve`): server-rendered pages, a JSON API and Server-Sent Events on @effect/platform's
// HTTP server, over the same Jobs service and event files as the CLI. Safe by default: loopback, a token on every
// request (bearer, or a cookie set from the printed URL or a single-use code), POST-only changes checked for same
// origin, escaped text, no inline script under a strict CSP, and events re-encoded from the schema before they leave.

import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Path from "node:path"
import { StringDecoder } from "node:string_decoder"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as Duration from "../core/duration.ts"
import * as EnvFile from "../core/env_file.ts"
import * as Feed from "../core/feed.ts"
import * as JobState from "../core/job_state.ts"
import { makeDirs } from "../core/job_store.ts"
import { Jobs, tailOffset } from "../core/jobs.ts"
import * as OutputLog from "../core/output_log.ts"
import { Codec, Follow, RegularFile } from "../events/mod.ts"
import style from "./_dashboard.css?raw"
import script from "./_dashboard_app.js?raw"
import * as Html from "./_dashboard_html.ts"

/** How the dashboard is served. */
export interface Options {
  readonly home: string
  readonly host: string
  readonly port: number
  readonly token: string
  readonly version: string
  /** Single-use codes that `serve --open` hands to the browser instead of the token. */
  readonly codes?: LoginCodes
  /** Called once the server listens, with its port (the chosen one when asked for port 0). */
  readonly onListening?: (port: number) => void
}

const PAGE_SIZE = 50
const enc = new TextEncoder()

/** The token of a home, kept in `serve-token` (0600) so that it survives restarts and open tabs keep working. */
export const homeToken = (home: string): string => {
  const file = Path.join(home, "serve-token")
  try {
    const existing = Fs.readFileSync(file, "utf8").trim()
    if (existing.length >= 16) return existing
  } catch {
    // none yet
  }
  const token = Crypto.randomBytes(24).toString("hex")
  makeDirs(home)
  Fs.writeFileSync(`${file}.tmp`, token + "\n", { mode: 0o600 })
  Fs.renameSync(`${file}.tmp`, file)
  return token
}

const digest = (text: string) => Crypto.createHash("sha256").update(text).digest()

/** Whether a presented secret is the expected one, in time that says nothing of either (equal-length digests). */
const same = (presented: string | undefined, expected: string): boolean =>
  presented !== undefined && Crypto.timingSafeEqual(digest(presented), digest(expected))

/** What the cookie holds: derived from the token, so that a browser's cookie jar never keeps the token itself. */
const cookieValue = (token: string) => Crypto.createHmac("sha256", token).update("jobs dashboard cookie").digest("hex")

/**
 * Whether a token is strong enough for a dashboard others can reach: at least 128 bits if its characters were
 * random (32 hex digits, or 22 of base64/base64url or any wider set), with enough distinct characters, and neither a
 * repeated piece nor a run such as 0123456789abcdef.
 */
export const isStrongToken = (token: string): boolean => {
  const chars = [...token.replace(/=+$/, "")]
  const distinct = new Set(chars).size
  const hex = /^[0-9a-fA-F]+$/.test(token)
  if (hex ? chars.length < 32 || distinct < 6 : chars.length < 22 || distinct < 8) return false
  if ((token + token).indexOf(token, 1) < token.length) return false
  let steps = 0
  for (let i = 1; i < chars.length; i++)
    if (Math.abs(chars[i]!.codePointAt(0)! - chars[i - 1]!.codePointAt(0)!) <= 1) steps++
  // random hex has a step between about 1 pair in 6; three in four is a run (a random token: below 1 in 10^12)
  return steps * 4 < (chars.length - 1) * 3
}

/** Single-use login codes: `serve --open` gives the browser one instead of the token (a command line is public). */
export interface LoginCodes {
  /** A new code, valid once within its lifetime. */
  readonly issue: () => string
  /** Whether the code is live; it is forgotten either way. */
  readonly redeem: (code: string) => boolean
}

/** Login codes that live `ttlMs` (kept as digests; a code is 128 random bits). */
export const loginCodes = (ttlMs = 60_000): LoginCodes => {
  const live = new Map<string, number>()
  return {
    issue: () => {
      const code = Crypto.randomBytes(16).toString("hex")
      live.set(digest(code).toString("hex"), Date.now() + ttlMs)
      return code
    },
    redeem: (code) => {
      const key = digest(code).toString("hex")
      const until = live.get(key)
      live.delete(key)
      for (const [k, t] of live) if (t < Date.now()) live.delete(k)
      return until !== undefined && Date.now() <= until
    }
  }
}

/** Sent with every answer: no script but the dashboard's own files, no framing, no sniffing, no Referer. */
export const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; " +
    "frame-ancestors 'none'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer"
} as const

/** Where a login may send the browser: a path of this origin (never `//host/…`), else the job list. */
const ownPath = (url: URL): string => {
  const query = url.search === "?" ? "" : url.search
  const own = /^\/(?![/\\])/.test(url.pathname) && !url.pathname.includes("\\") && url.pathname !== "/login"
  return own ? url.pathname + query : "/jobs"
}

const STATIC: Record<string, { readonly body: string; readonly type: string }> = {
  "/static/app.js": { body: script, type: "text/javascript; charset=utf-8" },
  "/static/style.css": { body: style, type: "text/css; charset=utf-8" }
}

const json = (body: unknown, status = 200) =>
  HttpServerResponse.text(JSON.stringify(body), { status, contentType: "application/json" })
const html = (body: string, status = 200) =>
  HttpServerResponse.text(body, { status, contentType: "text/html; charset=utf-8" })
const see = (location: string) => HttpServerResponse.empty({ status: 303, headers: { location } })

/** A failure of the Jobs service as an HTTP answer: 404 for an unknown job, 400 for bad input, else 500. */
const failure = (error: unknown) => {
  const e = error as { _tag?: string; message?: string }
  const status =
    e._tag === "JobNotFound" ? 404 : e._tag === "AmbiguousReference" || e._tag === "InvalidInput" ? 400 : 500
  return json({ error: e.message ?? String(error) }, status)
}

const sse = (id: string | undefined, event: string, data: string) =>
  enc.encode(`${id === undefined ? "" : `id: ${id}\n`}event: ${event}\ndata: ${data}\n\n`)

/** The app: one function from a request to a response. */
const app = (options: Options) =>
  Effect.gen(function* () {
    const req = yield* HttpServerRequest.HttpServerRequest
    const jobs = yield* Jobs
    const url = new URL(req.url, "http://dashboard")
    const cookie = `jobs_token_${options.port}`
    const signedIn = (location: string) =>
      HttpServerResponse.empty({
        status: 303,
        headers: {
          location,
          "set-cookie": `${cookie}=${cookieValue(options.token)}; HttpOnly; SameSite=Strict; Path=/`
        }
      })

    // a single-use code from `serve --open`: swapped once for the cookie, then forgotten
    if (req.method === "GET" && url.pathname === "/login" && url.searchParams.has("code")) {
      if (options.codes?.redeem(url.searchParams.get("code")!) === true) return signedIn("/jobs")
      return HttpServerResponse.text(
        "Cannot open the dashboard: the login code is unknown, used or expired (open the URL `jobs serve` printed)\n",
        { status: 401 }
      )
    }

    // authentication: a bearer token (scripts), the cookie, or once the token in the URL (then a cookie)
    const bearer = /^Bearer (.*)$/.exec(req.headers.authorization ?? "")?.[1]
    const byBearer = same(bearer, options.token)
    const byCookie = same(req.cookies[cookie], cookieValue(options.token))
    if (!byBearer && !byCookie) {
      if (req.method === "GET" && same(url.searchParams.get("token") ?? undefined, options.token)) {
        url.searchParams.delete("token")
        return signedIn(ownPath(url))
      }
      return HttpServerResponse.text(
        "Cannot open the dashboard: a token is needed (open the URL `jobs serve` printed)\n",
        { status: 401 }
      )
    }
    // state changes: POST only, and from this origin when a browser's cookie is what authenticates. A browser says
    // where a request comes from in Sec-Fetch-Site (a page cannot set it); Origin is the fallback for older ones.
    if (req.method === "POST" && !byBearer) {
      const site = req.headers["sec-fetch-site"]
      const sameOrigin =
        site !== undefined ? site === "same-origin" : req.headers.origin === `http://${req.headers.host}`
      if (!sameOrigin) {
        return json({ error: "Cannot change a job from another site: the request's origin is not this dashboard" }, 403)
      }
    }
    const isForm = (req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")
    const path = url.pathname.replace(/\/+$/, "") || "/"
    const m = (re: RegExp) => re.exec(path)

    if (req.method === "GET" && path === "/") return see("/jobs")
    const asset = req.method === "GET" ? STATIC[path] : undefined
    if (asset !== undefined)
      return HttpServerResponse.text(asset.body, { contentType: asset.type, headers: { "cache-control": "no-cache" } })

    if (req.method === "GET" && (path === "/jobs" || path === "/api/jobs")) {
      const status = url.searchParams.get("status") ?? ""
      const statuses =
        status === "" ? undefined : status.split(",").filter((s) => JobState.STATUSES.includes(s as JobState.Status))
      if (path === "/api/jobs") {
        const limit = Number(url.searchParams.get("limit") ?? PAGE_SIZE) || 0
        const { jobs: list } = yield* jobs.list({ statuses: statuses as Array<JobState.Status> | undefined, limit })
        return json(list)
      }
      const query = {
        status,
        project: url.searchParams.get("project") ?? "",
        worker: url.searchParams.get("worker") ?? "",
        q: url.searchParams.get("q") ?? "",
        page: Math.max(1, Number(url.searchParams.get("page") ?? 1) || 1)
      }
      const filtered = query.project !== "" || query.worker !== "" || query.q !== ""
      const { jobs: all } = yield* jobs.list({
        statuses: statuses as Array<JobState.Status> | undefined,
        project: query.project === "" ? undefined : query.project,
        limit: filtered ? 0 : query.page * PAGE_SIZE + 1
      })
      const matching = all.filter(
        (j) =>
          (query.worker === "" || j.worker === query.worker) &&
          (query.q === "" || (j.name ?? "").includes(query.q) || Html.commandText(j.command).includes(query.q))
      )
      const slice = matching.slice((query.page - 1) * PAGE_SIZE, query.page * PAGE_SIZE)
      return html(Html.listPage(slice, query, matching.length > query.page * PAGE_SIZE, JobState.STATUSES))
    }

    if (req.method === "GET" && path === "/new") return html(Html.newPage(process.cwd()))

    if (req.method === "GET" && path === "/stats") {
      const { jobs: all } = yield* jobs.list({ limit: 0 })
      return html(Html.statsPage(all))
    }

    if (req.method === "POST" && path === "/api/jobs") {
      const fields: Record<string, unknown> = isForm
        ? Object.fromEntries(yield* req.urlParamsBody)
        : ((yield* req.json) as Record<string, unknown>)
      const command = fields.command
      const argv =
        typeof command === "string" && command.trim() !== ""
          ? ["sh", "-c", command]
          : Array.isArray(command) && command.every((a) => typeof a === "string")
            ? (command as Array<string>)
            : []
      const timeout = fields.timeout
      const timeoutSecs =
        typeof timeout === "number"
          ? timeout
          : typeof timeout === "string" && timeout !== ""
            ? Duration.parseSeconds(timeout)
            : null
      if (timeoutSecs === undefined)
        return json({ error: `Cannot parse timeout "${String(timeout)}": use 90s, 30m or 2h` }, 400)
      const env: Record<string, string> = {}
      for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v
      const { job } = yield* jobs.submit({
        command: argv,
        // no base here: a relative path is refused by core, never taken from the server's own directory
        cwd: typeof fields.cwd === "string" && fields.cwd !== "" ? fields.cwd : process.cwd(),
        env,
        name: typeof fields.name === "string" && fields.name !== "" ? fields.name : null,
        timeoutSecs,
        executor: fields.executor === "tmux" ? "tmux" : "local"
      })
      return isForm ? see(`/jobs/${job.id}`) : json({ ...job, existing: false }, 201)
    }

    if (req.method === "GET" && path === "/api/events") {
      return HttpServerResponse.stream(allEvents(jobs, req.headers["last-event-id"]), {
        contentType: "text/event-stream",
        headers: { "cache-control": "no-cache" }
      })
    }

    // a job: its page on the HTML side; JSON, output (text/plain), stream and changes only under /api
    const one = m(/^\/jobs\/([^/]+)$/) ?? m(/^\/api\/jobs\/([^/]+)(?:\/(logs|stream|cancel|rerun))?$/)
    if (one === null) return json({ error: `Cannot find "${path}": no such page` }, 404)
    const [, reference, action] = one
    const api = path.startsWith("/api/")
    const job = yield* jobs.get(decodeURIComponent(reference!))

    if (req.method === "POST" && action === "cancel") {
      if (JobState.isTerminal(job.status)) {
        return json({ error: `Cannot cancel job "${job.shortId}": it already ended (${job.status})` }, 400)
      }
      const { job: stopped } = yield* jobs.stop(job.id)
      return isForm ? see(`/jobs/${job.id}`) : json(stopped)
    }
    if (req.method === "POST" && action === "rerun") {
      const { job: fresh } = yield* jobs.retry(job.id)
      return isForm ? see(`/jobs/${fresh.id}`) : json({ ...fresh, existing: false }, 201)
    }
    if (req.method !== "GET") return json({ error: `Cannot ${req.method} "${path}"` }, 405)
    if (action === "logs") {
      const tail = url.searchParams.get("tail")
      // past --max-log-size the output is the head, a marker and the latest pieces: offsets are in that stream
      const paths = { dir: Path.dirname(job.logPath), logPath: job.logPath }
      const capped = OutputLog.isCapped(paths) ? OutputLog.readAll(paths) : undefined
      const size = capped?.length ?? fileSize(job.logPath)
      const from =
        tail === null
          ? Number(url.searchParams.get("from") ?? 0)
          : capped === undefined
            ? tailOffset(job.logPath, Number(tail) || 0)
            : size - OutputLog.lastLines(capped, Number(tail) || 0).length
      const to = Math.min(size, Number(url.searchParams.get("to") ?? size))
      const text =
        capped === undefined
          ? readRange(job.logPath, Math.max(0, from), to)
          : capped.subarray(Math.max(0, from), Math.max(0, to)).toString("utf8")
      return HttpServerResponse.text(text, {
        contentType: "text/plain; charset=utf-8"
      })
    }
    if (action === "stream") {
      // resume where the reader stands: "EVENTS_OFFSET.OUTPUT_OFFSET" (Last-Event-ID), else the query, else 0
      const last = req.headers["last-event-id"]?.split(".")
      const eventsAt = Number(last?.[0] ?? url.searchParams.get("events") ?? 0) || 0
      // the output's position is a byte offset in output.log, or past --max-log-size "PIECE:OFFSET" in a piece
      const outputAt = OutputLog.parseCursor(last?.[1] ?? url.searchParams.get("output") ?? "0") ?? OutputLog.START
      return HttpServerResponse.stream(jobStream(jobs, job, eventsAt, outputAt), {
        contentType: "text/event-stream",
        headers: { "cache-control": "no-cache" }
      })
    }
    if (api) return json(job)
    // the end of the readable output (past --max-log-size: the latest output), and where its live stream goes on
    const tail = OutputLog.tailNow({ dir: Path.dirname(job.logPath), logPath: job.logPath }, 64 * 1024)
    const envNames = Object.keys(readEnvNames(Path.join(Path.dirname(job.eventsPath), "env")))
    const events = yield* jobs.events(job.id).pipe(Stream.runCollect)
    return html(
      Html.jobPage(
        job,
        envNames,
        [...events].filter((e) => e.job === job.id).map((e) => ({ type: e.type, at: e.at })),
        { text: tail.bytes.toString("utf8"), start: tail.start, end: OutputLog.formatCursor(tail.next) },
        fileSize(job.eventsPath)
      )
    )
  }).pipe(
    Effect.catchAll(failure),
    Effect.catchAllCause((cause) => json({ error: `Cannot answer: ${Cause.pretty(cause).split("\n")[0]}` }, 500)),
    Effect.map(HttpServerResponse.setHeaders(SECURITY_HEADERS))
  )

// a job folder's files are read only when they are regular files (RegularFile): a link or a FIFO planted in the
// folder reads as empty here, never as the file it points to, and never blocks the server
const fileSize = (path: string): number => {
  try {
    return RegularFile.sizeSync(path) ?? 0
  } catch {
    return 0
  }
}

const readRange = (path: string, from: number, to: number): string => {
  if (to <= from) return ""
  try {
    return RegularFile.readSync(path, from, to - from)?.toString("utf8") ?? ""
  } catch {
    return ""
  }
}

/** The names (never the values) of a job's environment. */
const readEnvNames = (path: string): Record<string, string> => EnvFile.parse(RegularFile.readTextOr(path, ""))

/**
 * A line of a job's log as it may leave the server: decoded with the event schema and encoded again (never the line
 * as it was written: a job's own code, or a worker, can write that file), and only when it is about this job.
 */
const ownEvent = (line: string, job: string): string | undefined => {
  const event = Codec.decodeLine(line)
  return event === undefined || event.job !== job ? undefined : Codec.encodeLine(event).slice(0, -1)
}

/** A job's events and output as SSE messages; every id says where both stand. Ends after the job has ended. */
const jobStream = (jobs: Jobs, job: JobState.JobObject, eventsAt: number, outputAt: OutputLog.Cursor) => {
  const at = { e: eventsAt, o: OutputLog.formatCursor(outputAt) }
  let pending = ""
  const done = Effect.map(
    Effect.orElseSucceed(jobs.get(job.id), () => job),
    (j) => JobState.isTerminal(j.status)
  )
  const events = Follow.bytes(job.eventsPath, { offset: eventsAt, done }).pipe(
    Stream.mapConcat((chunk) => {
      // only whole lines are events; a partial one waits (its bytes are not counted yet)
      const text = Buffer.from(chunk).toString("utf8")
      pending += text
      const out: Array<Uint8Array> = []
      let nl = pending.indexOf("\n")
      while (nl >= 0) {
        const line = pending.slice(0, nl)
        pending = pending.slice(nl + 1)
        at.e += Buffer.byteLength(line) + 1
        const event = ownEvent(line, job.id)
        if (event !== undefined) out.push(sse(`${at.e}.${at.o}`, "event", event))
        nl = pending.indexOf("\n")
      }
      return out
    })
  )
  const decoder = new StringDecoder("utf8")
  const paths = { dir: Path.dirname(job.logPath), logPath: job.logPath }
  // with --max-log-size the output is followed as `jobs logs -f` follows it: the head, the marker, then the latest
  // output as it comes (output.log alone stops growing once the head is full)
  let offset = outputAt.offset
  const capped = outputAt.piece >= 0 || OutputLog.isLimited(paths) || OutputLog.isCapped(paths)
  const output = capped
    ? OutputLog.followWithCursor(paths, { cursor: outputAt, done }).pipe(
        Stream.map(({ bytes, next }) => {
          at.o = OutputLog.formatCursor(next)
          return sse(`${at.e}.${at.o}`, "output", JSON.stringify(decoder.write(Buffer.from(bytes))))
        })
      )
    : Follow.bytes(job.logPath, { offset: outputAt.offset, done, alsoWatch: [job.eventsPath] }).pipe(
        Stream.map((chunk) => {
          offset += chunk.length
          at.o = `${offset}`
          return sse(`${at.e}.${at.o}`, "output", JSON.stringify(decoder.write(Buffer.from(chunk))))
        })
      )
  return Stream.merge(events, output).pipe(Stream.concat(Stream.make(sse(undefined, "end", "{}"))))
}

/**
 * Every job's events as they are appended (for live lists): the Jobs service's feed, each event re-encoded from the
 * schema (the feed passes only decoded events of the job whose log they are in), with its cursor as the SSE id so
 * that a reconnecting EventSource goes on where it stood (Last-Event-ID; a value that is not a cursor starts at now).
 */
const allEvents = (jobs: Jobs, lastEventId: string | undefined) => {
  const cursor = lastEventId === undefined ? undefined : Feed.decodeCursor(lastEventId)
  return Stream.merge(
    jobs
      .feed({ follow: true, ...(cursor === undefined ? {} : { since: { _tag: "Cursor", cursor } as const }) })
      .pipe(Stream.map((item) => sse(item.cursor, "event", Codec.encodeLine(item.event).slice(0, -1)))),
    // a comment now and then keeps proxies from closing an idle stream
    Stream.tick("15 seconds").pipe(Stream.map(() => enc.encode(": keep-alive\n\n")))
  )
}

/** The dashboard could not start serving (the port is taken, the address is not this machine's, ...). */
export class ServeFailed extends Data.TaggedError("ServeFailed")<{ readonly message: string }> {}

const listenFailure = (host: string, port: number, cause: unknown): ServeFailed => {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code
  const why =
    code === "EADDRINUSE"
      ? "the address is in use (another `jobs serve`? choose another --port)"
      : code === "EACCES"
        ? "permission denied (a port below 1024 needs privileges)"
        : code === "EADDRNOTAVAIL"
          ? "this machine has no such address"
          : code === "ENOTFOUND" || code === "EAI_AGAIN"
            ? "no such host"
            : String((cause as Error | undefined)?.message ?? cause)
  const shown = host.includes(":") ? `[${host}]` : host
  return new ServeFailed({ message: `Cannot serve on ${shown}:${port}: ${why}` })
}

/**
 * Serves the dashboard until interrupted; `onListening` is called once it listens.
 *
 * @example
 * Effect.runFork(Dashboard.serve({ home, host: "127.0.0.1", port: 8000, token, version }).pipe(Effect.provide(layer(home))))
 */
export const serve = (options: Options): Effect.Effect<never, ServeFailed, Jobs> =>
  Effect.flatMap(Effect.context<Jobs>(), (context) =>
    Layer.launch(
      Layer.scopedDiscard(
        Effect.gen(function* () {
          // it listens now: the port is known (the cookie is named after it) even when port 0 asked for any
          const { address } = yield* HttpServer.HttpServer
          const port = address._tag === "TcpAddress" ? address.port : options.port
          yield* HttpServer.serveEffect(Effect.provide(app({ ...options, port }), context))
          // and answers: the URL printed next works at once
          options.onListening?.(port)
        })
      ).pipe(Layer.provide(NodeHttpServer.layer(() => Http.createServer(), { host: options.host, port: options.port })))
    ).pipe(Effect.catchTag("ServeError", (e) => Effect.fail(listenFailure(options.host, options.port, e.cause))))
  )

/** Whether a host name or address is this machine's loopback. */
export const isLoopback = (host: string): boolean =>
  host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host)
