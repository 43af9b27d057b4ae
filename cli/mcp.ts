// `jobs mcp`: a Model Context Protocol server over stdio, for AI agents. Its tools are the CLI's operations on the
// same Jobs service; input and output schemas are generated from Effect Schemas (core/contract.ts), and errors are
// tool errors carrying the CLI's one-line messages; what the protocol itself refuses (an unknown tool, a missing
// resource) is a JSON-RPC error. Built as its own bundle (dist/mcp.cjs), so the SDK costs the other commands nothing
// at start-up.

import * as Path from "node:path"
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import {
  CallToolRequestSchema,
  ErrorCode,
  InitializeRequestSchema,
  type JSONRPCRequest,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  PingRequestSchema,
  ReadResourceRequestSchema,
  type Resource
} from "@modelcontextprotocol/sdk/types.js"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as JSONSchema from "effect/JSONSchema"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Adapters from "../adapters/mod.ts"
import * as Tmux from "../adapters/tmux.ts"
import * as Contract from "../core/contract.ts"
import { InvalidInput, JobStateConflict } from "../core/errors.ts"
import * as Home from "../core/home.ts"
import * as JobState from "../core/job_state.ts"
import { Jobs, tailOffset } from "../core/jobs.ts"
import * as OutputLog from "../core/output_log.ts"
import * as Project from "../core/project.ts"
import { RegularFile } from "../events/mod.ts"
import { LineTransport } from "./mcp_stdio.ts"

const Id = Schema.String.annotations({ description: "job id, short id, name or unique prefix (at least 4 characters)" })
const opt = <S extends Schema.Schema.Any>(s: S) => Schema.optional(s)

/** The tools: name → description, input and output schemas. */
const inputs = {
  run: Schema.Struct({
    command: Schema.NonEmptyArray(Schema.String).annotations({ description: "the argv, run without a shell" }),
    cwd: opt(
      Schema.String.annotations({
        description: "absolute path of the directory to run in (default: the server's); a relative one is refused"
      })
    ),
    name: opt(Schema.String),
    env: opt(Schema.Record({ key: Schema.String, value: Schema.String })),
    timeoutSecs: opt(Schema.Number),
    key: opt(Schema.String.annotations({ description: "idempotency key: the same key returns the first job" })),
    tmux: opt(Schema.Boolean.annotations({ description: "run in a tmux session (a real terminal)" })),
    progressPattern: opt(Schema.String)
  }),
  list: Schema.Struct({
    all: opt(Schema.Boolean.annotations({ description: "every project, not only the cwd's" })),
    cwd: opt(Schema.String.annotations({ description: "absolute path: list the jobs of its project" })),
    status: opt(Schema.Array(Contract.Status)),
    limit: opt(Schema.Number.annotations({ description: "newest first, at most this many (default 50, 0: all)" }))
  }),
  status: Schema.Struct({ id: Id }),
  summary: Schema.Struct({}),
  logs: Schema.Struct({
    id: Id,
    offset: opt(Schema.Number.annotations({ description: "byte offset to read from (nextOffset of a previous call)" })),
    tailLines: opt(Schema.Number.annotations({ description: "start at the last N lines instead" })),
    maxBytes: opt(Schema.Number.annotations({ description: "at most this many bytes (default 65536)" }))
  }),
  wait: Schema.Struct({ id: Id, timeoutSecs: opt(Schema.Number) }),
  stop: Schema.Struct({ id: Id, signal: opt(Schema.String), graceSecs: opt(Schema.Number) }),
  retry: Schema.Struct({ id: Id })
}

const outputs = {
  run: Contract.RunResult,
  list: Schema.Struct({ jobs: Contract.ListResult, more: Schema.Boolean }),
  status: Contract.StatusResult,
  summary: Contract.Summary,
  logs: Contract.LogsResult,
  wait: Contract.WaitResult,
  stop: Schema.extend(Contract.Job, Schema.Struct({ alreadyEnded: Schema.Boolean })),
  retry: Contract.RunResult
}

const descriptions: Record<keyof typeof inputs, string> = {
  run: "Start a command in the background and return its job at once (use wait or status to follow it).",
  list: "List jobs, newest first: the cwd's project unless all is true.",
  status: "One job in full: status, exit code, progress, paths.",
  summary: "Counts of jobs by status, the home and the version.",
  logs: "A slice of a job's output: from offset, or its last tailLines lines; continue with nextOffset.",
  wait: "Wait until a job ends (or timeoutSecs passes) and return it with the exit code `jobs wait` would give.",
  stop: "Stop a job: the signal (default TERM) to its process group, KILL after the grace.",
  retry: "Run a job again with the same command, cwd and environment."
}

/**
 * A JSON Schema whose top level is an object (MCP wants `type: "object"` there, not a `$ref`). Every one names the
 * dialect Effect writes (draft-07): MCP reads a schema without `$schema` as 2020-12.
 */
const objectSchema = (schema: Schema.Schema.Any): Record<string, unknown> => {
  const { $schema, ...json } = JSONSchema.make(schema as never) as Record<string, any>
  const ref = typeof json.$ref === "string" ? json.$ref.replace("#/$defs/", "") : undefined
  // an empty Struct is "any object or array" to Effect's JSON Schema: a tool without arguments says so plainly
  if (ref === undefined)
    return {
      $schema,
      ...(json.type === "object" ? json : { type: "object", properties: {}, additionalProperties: false })
    }
  const { [ref]: top, ...defs } = json.$defs as Record<string, object>
  return { $schema, ...top, ...(Object.keys(defs).length > 0 ? { $defs: defs } : {}) }
}

/** The length of the longest prefix of `bytes` that does not end inside a UTF-8 character. */
const utf8Boundary = (bytes: Buffer): number => {
  for (let back = 1; back <= Math.min(4, bytes.length); back++) {
    const b = bytes[bytes.length - back]!
    if ((b & 0xc0) === 0x80) continue
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1
    return need > back ? bytes.length - back : bytes.length
  }
  return bytes.length
}

const serverEnv = (): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v
  return env
}

/** Why a job folder's file could not be read, in words. */
const reason = (e: unknown): string => (e instanceof RegularFile.Unreadable ? e.reason : RegularFile.reasonOf(e))

/** A JSON-RPC error: the SDK answers a thrown error with its `code`, `message` and `data` as they are. */
class ProtocolError extends Error {
  readonly code: number
  readonly data: unknown
  constructor(code: number, message: string, data?: unknown) {
    super(message)
    this.code = code
    this.data = data
  }
}

/** MCP's code for a resource that does not exist (the 2025-11-25 spec, server/resources#error-handling). */
const RESOURCE_NOT_FOUND = -32002

/** The tools that change something: each is handled alone, so that what was sent after it sees its outcome. */
const CHANGES: ReadonlySet<string> = new Set(["run", "retry", "stop"])

/** The resources of a job, by the last part of their URI. */
const resourceKinds = {
  status: { mimeType: "application/json", description: "the job in full, as the status tool returns it" },
  output: { mimeType: "text/plain", description: "its output (the last megabyte)" },
  events: { mimeType: "application/x-ndjson", description: "its event log (JSON Lines, see events/schema.json)" }
} as const
type ResourceKind = keyof typeof resourceKinds

/** jobs://REF/KIND, REF any job reference (percent-encoded when it must be). */
const RESOURCE_URI = /^jobs:\/\/([^/?#]+)\/(status|output|events)$/

/** How many jobs one page of resources/list covers (two resources each). */
const RESOURCES_PAGE = 50

/**
 * A tool's arguments, decoded; refused with one line naming each bad argument. An argument the tool does not take
 * is refused too (its inputSchema says additionalProperties: false): `timeout` for `timeoutSecs` must not pass unseen.
 */
const decodeArguments = (tool: keyof typeof inputs, args: unknown): Either.Either<unknown, InvalidInput> => {
  const schema = inputs[tool] as unknown as Schema.Schema<unknown> & { readonly fields?: object }
  // the names a Struct takes (any schema may come here: one that is not a Struct names none)
  const names = schema.fields === undefined ? undefined : Object.keys(schema.fields)
  // Effect lets any object through an empty Struct, whatever onExcessProperty says
  const extra = names?.length === 0 && typeof args === "object" ? Object.keys(args ?? {}) : []
  if (extra.length > 0)
    return Either.left(
      new InvalidInput({ message: `Cannot call tool "${tool}": argument "${extra[0]}" is not one it takes (none)` })
    )
  return Either.mapLeft(
    Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "error" })(args),
    (error) => {
      const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
      const at = (path: ReadonlyArray<PropertyKey>) => path.map(String).join(".")
      // an optional argument of the wrong type fails both sides of `X | undefined`: the undefined side says nothing
      const useful = issues.filter(
        (i) =>
          !(
            i.message.startsWith("Expected undefined") &&
            issues.some((o) => o !== i && (at(o.path) + ".").startsWith(`${at(i.path)}.`))
          )
      )
      const why = useful.map((issue) => {
        const last = issue.path.at(-1)
        if (issue._tag === "Missing" && typeof last === "number")
          return `argument "${at(issue.path.slice(0, -1))}" ${last === 0 ? "is empty" : "has too few items"}`
        const name = issue.path.length === 0 ? "the arguments" : `argument "${at(issue.path)}"`
        if (issue._tag === "Missing") return `${name} is missing`
        if (issue._tag === "Unexpected" && issue.path.length === 1)
          return `${name} is not one it takes${names === undefined ? "" : ` (${names.join(", ") || "none"})`}`
        return `${name}: ${issue.message.charAt(0).toLowerCase()}${issue.message.slice(1)}`
      })
      return new InvalidInput({ message: `Cannot call tool "${tool}": ${why.join("; ")}` })
    }
  )
}

/** The SDK's schema of each request this server answers (it would call a mismatch an internal error, -32603). */
const requestSchemas = new Map<string, { readonly safeParse: (value: unknown) => ZodLikeResult }>([
  ["initialize", InitializeRequestSchema],
  ["ping", PingRequestSchema],
  ["tools/list", ListToolsRequestSchema],
  ["tools/call", CallToolRequestSchema],
  ["resources/list", ListResourcesRequestSchema],
  ["resources/templates/list", ListResourceTemplatesRequestSchema],
  ["resources/read", ReadResourceRequestSchema]
])
type ZodLikeResult =
  | { readonly success: true }
  | {
      readonly success: false
      readonly error: { readonly issues: ReadonlyArray<{ readonly path: ReadonlyArray<PropertyKey>; message: string }> }
    }

/** Why a request's params do not fit its method, in one line (undefined: they fit, or the method is unknown). */
const invalidParams = (request: JSONRPCRequest): string | undefined => {
  const parsed = requestSchemas.get(request.method)?.safeParse(request)
  if (parsed === undefined || parsed.success) return undefined
  const why = parsed.error.issues.map((i) => `${i.path.map(String).join(".") || "the request"}: ${i.message}`)
  return `Cannot handle "${request.method}": ${why.join("; ")}`
}

/** Starts the server on stdin/stdout and resolves when the client goes away. */
export const main = async (args: ReadonlyArray<string>, version: string): Promise<number> => {
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(
      "jobs mcp: a Model Context Protocol server on stdin/stdout with the tools run, list, status, summary, logs,\n" +
        "wait, stop and retry, and the resources jobs://JOB/status, jobs://JOB/output and jobs://JOB/events.\n" +
        "Register it with your agent as the command `jobs mcp`; --home DIR or JOBS_HOME select the home.\n"
    )
    return 0
  }
  const homeFlag = args.indexOf("--home")
  const home = Home.resolve(homeFlag >= 0 ? args[homeFlag + 1] : undefined)
  const runtime = ManagedRuntime.make(Adapters.layer(home))
  const server = new Server({ name: "jobs", version }, { capabilities: { tools: {}, resources: {} } })

  const handlers: {
    [K in keyof typeof inputs]: (input: (typeof inputs)[K]["Type"]) => Effect.Effect<unknown, any, Jobs>
  } = {
    run: (input) =>
      Effect.flatMap(Jobs, (jobs) =>
        jobs.submit({
          command: input.command,
          // no base: an agent's relative path is refused by core, never taken from the server's own directory
          cwd: input.cwd ?? process.cwd(),
          env: { ...serverEnv(), ...input.env },
          name: input.name ?? null,
          timeoutSecs: input.timeoutSecs ?? null,
          key: input.key ?? null,
          executor: input.tmux === true ? "tmux" : "local",
          progressPattern: input.progressPattern ?? null
        })
      ).pipe(Effect.map(({ job, existing }) => ({ ...job, existing }))),
    list: (input) =>
      input.cwd !== undefined && input.all !== true && !Path.isAbsolute(input.cwd)
        ? Effect.fail(
            new InvalidInput({
              message: `Cannot list the jobs of "${input.cwd}": the directory is relative; give an absolute path`
            })
          )
        : Effect.flatMap(Jobs, (jobs) =>
            jobs.list({
              project: input.all === true ? undefined : Project.detect(input.cwd ?? process.cwd()),
              statuses: input.status,
              limit: input.limit ?? 50
            })
          ),
    status: (input) =>
      Effect.flatMap(Jobs, (jobs) => jobs.get(input.id)).pipe(
        Effect.map((job) => ({
          ...job,
          attachCommand: job.executor === "tmux" ? Tmux.attachCommand(Home.layout(home), job.id) : null
        }))
      ),
    summary: () => Effect.flatMap(Jobs, (jobs) => jobs.summary).pipe(Effect.map((s) => ({ ...s, version }))),
    logs: (input) =>
      Effect.flatMap(Jobs, (jobs) => jobs.get(input.id)).pipe(
        Effect.flatMap((job) =>
          Effect.try({
            // only a regular output.log is read: a link planted in the job's folder is refused, not followed
            try: () => ({ job, size: RegularFile.sizeSync(job.logPath) ?? 0 }),
            catch: (e) =>
              new JobStateConflict({ message: `Cannot read the output of job "${job.shortId}": ${reason(e)}` })
          })
        ),
        Effect.flatMap(({ job, size: logSize }) => {
          // past --max-log-size the output is the head, a marker and the latest pieces: offsets are in that stream
          const paths = { dir: Path.dirname(job.logPath), logPath: job.logPath }
          const capped = OutputLog.isCapped(paths) ? OutputLog.readAll(paths) : undefined
          const size = capped?.length ?? logSize
          const offset =
            input.tailLines === undefined
              ? Math.max(0, input.offset ?? 0)
              : capped === undefined
                ? tailOffset(job.logPath, input.tailLines)
                : size - OutputLog.lastLines(capped, input.tailLines).length
          const max = Math.max(1, Math.min(input.maxBytes ?? 65536, 1024 * 1024))
          let bytes: Buffer = Buffer.alloc(0)
          try {
            bytes =
              capped?.subarray(offset, offset + max) ??
              RegularFile.readSync(job.logPath, offset, Math.min(max, Math.max(0, size - offset))) ??
              bytes
          } catch (e) {
            return Effect.fail(
              new JobStateConflict({ message: `Cannot read the output of job "${job.shortId}": ${reason(e)}` })
            )
          }
          // a slice that stops inside a UTF-8 character ends before it; the next call starts there
          const whole = utf8Boundary(bytes)
          const nextOffset = offset + whole
          return Effect.succeed({
            job: job.id,
            text: bytes.subarray(0, whole).toString("utf8"),
            offset,
            nextOffset,
            ended: JobState.isTerminal(job.status) && nextOffset >= size
          })
        })
      ),
    wait: (input) =>
      Effect.flatMap(Jobs, (jobs) =>
        Effect.flatMap(jobs.wait(input.id, { timeoutSecs: input.timeoutSecs }), (waited) =>
          Option.isSome(waited)
            ? Effect.succeed({ job: waited.value, exitCode: JobState.waitExitCode(waited.value), timedOut: false })
            : Effect.map(jobs.get(input.id), (job) => ({ job, exitCode: 124, timedOut: true }))
        )
      ),
    stop: (input) =>
      Effect.flatMap(Jobs, (jobs) =>
        jobs.stop(input.id, {
          ...(input.signal === undefined ? {} : { signal: input.signal }),
          ...(input.graceSecs === undefined ? {} : { graceSecs: input.graceSecs })
        })
      ).pipe(Effect.map(({ job, alreadyEnded }) => ({ ...job, alreadyEnded }))),
    retry: (input) =>
      Effect.flatMap(Jobs, (jobs) => jobs.retry(input.id)).pipe(Effect.map(({ job }) => ({ ...job, existing: false })))
  }

  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: (Object.keys(inputs) as Array<keyof typeof inputs>).map((name) => ({
      name,
      description: descriptions[name],
      inputSchema: objectSchema(inputs[name]) as { type: "object" },
      outputSchema: objectSchema(outputs[name]) as { type: "object" }
    }))
  }))

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const name = request.params.name
    const fail = (message: string) => ({ isError: true, content: [{ type: "text" as const, text: message }] })
    // a tool that does not exist is the request's fault, not the tool's: a protocol error (MCP 2025-11-25)
    if (!Object.hasOwn(inputs, name))
      throw new ProtocolError(
        ErrorCode.InvalidParams,
        `Cannot call tool "${name}": no such tool (the tools are ${Object.keys(inputs).join(", ")})`
      )
    const tool = name as keyof typeof inputs
    // arguments the schema refuses are a tool error, which the model reads and can correct (MCP 2025-11-25)
    const decoded = decodeArguments(tool, request.params.arguments ?? {})
    if (Either.isLeft(decoded)) return fail(decoded.left.message)
    // a cancelled request interrupts its tool (a wait stops waiting)
    const exit = await runtime.runPromiseExit(handlers[tool](decoded.right as never), { signal: extra.signal })
    if (Exit.isFailure(exit)) {
      const failure = Cause.failureOption(exit.cause)
      return fail(
        Option.isSome(failure)
          ? String((failure.value as { message?: string }).message ?? failure.value)
          : `Cannot run tool "${tool}": internal error: ${Cause.pretty(exit.cause).split("\n")[0]}`
      )
    }
    const result = exit.value as Record<string, unknown>
    return { content: [{ type: "text" as const, text: JSON.stringify(result) }], structuredContent: result }
  })

  /** Runs an effect of the Jobs service for a resource request; its failure is the right JSON-RPC error. */
  const forResource = async <A>(uri: string, effect: Effect.Effect<A, any, Jobs>, signal: AbortSignal): Promise<A> => {
    const exit = await runtime.runPromiseExit(effect, { signal })
    if (Exit.isSuccess(exit)) return exit.value
    const failure = Cause.failureOption(exit.cause)
    if (Option.isNone(failure))
      throw new ProtocolError(ErrorCode.InternalError, `Cannot read resource "${uri}": internal error`)
    const error = failure.value as { _tag?: string; message?: string }
    const code =
      error._tag === "JobNotFound"
        ? RESOURCE_NOT_FOUND
        : error._tag === "AmbiguousReference"
          ? ErrorCode.InvalidParams
          : ErrorCode.InternalError
    throw new ProtocolError(code, `Cannot read resource "${uri}": ${error.message ?? String(error)}`, { uri })
  }

  const resourcesOf = (job: JobState.JobObject): Array<Resource> => {
    const label = job.name ?? job.command.join(" ")
    return (["status", "output"] as const).map((kind) => ({
      uri: `jobs://${job.id}/${kind}`,
      name: `${job.shortId}/${kind}`,
      title: `${label} (${job.status}): ${kind}`,
      description: `Job ${job.shortId}: ${resourceKinds[kind].description}`,
      mimeType: resourceKinds[kind].mimeType
    }))
  }

  server.setRequestHandler(ListResourcesRequestSchema, async (request, extra) => {
    // the cursor is the number of jobs already listed, newest first
    const cursor = request.params?.cursor
    if (cursor !== undefined && !/^\d{1,9}$/.test(cursor))
      throw new ProtocolError(
        ErrorCode.InvalidParams,
        `Cannot list resources: "${cursor}" is not a cursor of this server`
      )
    const skip = cursor === undefined ? 0 : Number(cursor)
    const { jobs, more } = await forResource(
      "jobs://",
      Effect.flatMap(Jobs, (jobs) => jobs.list({ limit: skip + RESOURCES_PAGE })),
      extra.signal
    )
    return {
      resources: jobs.slice(skip).flatMap(resourcesOf),
      ...(more ? { nextCursor: String(skip + RESOURCES_PAGE) } : {})
    }
  })

  server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({
    resourceTemplates: (Object.keys(resourceKinds) as Array<ResourceKind>).map((kind) => ({
      uriTemplate: `jobs://{id}/${kind}`,
      name: kind,
      title: `A job's ${kind}`,
      description: `A job's ${kind}: ${resourceKinds[kind].description}; {id} is any job reference (id, short id, name)`,
      mimeType: resourceKinds[kind].mimeType
    }))
  }))

  server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
    const uri = request.params.uri
    const m = RESOURCE_URI.exec(uri)
    const reference = m === null ? undefined : decodeReference(m[1]!)
    if (m === null || reference === undefined)
      throw new ProtocolError(
        RESOURCE_NOT_FOUND,
        `Cannot read resource "${uri}": no such resource (the resources are jobs://ID/status, jobs://ID/output and ` +
          "jobs://ID/events)",
        { uri }
      )
    const kind = m[2] as ResourceKind
    const { mimeType } = resourceKinds[kind]
    if (kind === "status") {
      const job = await forResource(uri, handlers.status({ id: reference }), extra.signal)
      return { contents: [{ uri, mimeType, text: JSON.stringify(job) }] }
    }
    const job = await forResource(
      uri,
      Effect.flatMap(Jobs, (jobs) => jobs.get(reference)),
      extra.signal
    )
    const path = kind === "events" ? job.eventsPath : job.logPath
    // nothing written yet reads as empty; a file that is not a regular one (a planted link, a FIFO) is refused
    let bytes: Buffer | undefined
    try {
      bytes = kind === "output" ? RegularFile.readTailSync(path, 1024 * 1024) : RegularFile.readSync(path)
    } catch (e) {
      throw new ProtocolError(ErrorCode.InternalError, `Cannot read resource "${uri}": ${reason(e)}`, { uri })
    }
    return { contents: [{ uri, mimeType, text: bytes?.toString("utf8") ?? "" }] }
  })

  const transport = new LineTransport({
    invalid: invalidParams,
    alone: (request) =>
      request.method === "tools/call" && CHANGES.has(String((request.params as { name?: unknown })?.name))
  })
  await server.connect(transport)
  await transport.closed
  await runtime.dispose()
  return 0
}

/** The job reference in a resource URI, percent-decoded (undefined when the encoding is broken). */
const decodeReference = (encoded: string): string | undefined => {
  try {
    return decodeURIComponent(encoded)
  } catch {
    return undefined
  }
}
