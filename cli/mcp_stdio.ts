// The MCP server's stdio transport: one JSON-RPC message a line, in and out. Unlike the SDK's, it answers a line that
// is not JSON (-32700) or not a JSON-RPC message (-32600) as JSON-RPC asks, takes requests in the order they came
// (a request that changes something is handled alone: what follows it sees its outcome), and when its input ends
// it closes only once every request it read has been answered.

import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import {
  type JSONRPCMessage,
  JSONRPCMessageSchema,
  type JSONRPCRequest,
  type RequestId
} from "@modelcontextprotocol/sdk/types.js"

/** The longest line read (as the SDK's transport): a longer one is refused whole, not buffered without end. */
const MAX_LINE = 10 * 1024 * 1024

const isRequest = (m: JSONRPCMessage): m is JSONRPCRequest => "method" in m && "id" in m
const isResponse = (m: JSONRPCMessage): m is JSONRPCMessage & { readonly id: RequestId } =>
  ("result" in m || "error" in m) && "id" in m && m.id !== undefined

export interface Options {
  /** Whether a request changes something: it is handed on alone, and later requests wait for its answer. */
  readonly alone: (request: JSONRPCRequest) => boolean
  /** Why a request's params are not what its method takes (answered -32602 Invalid params), or undefined. */
  readonly invalid: (request: JSONRPCRequest) => string | undefined
}

/** A stdio transport for one MCP server; `closed` resolves once the input ended and every request was answered. */
export class LineTransport implements Transport {
  onclose?: (() => void) | undefined
  onerror?: ((error: Error) => void) | undefined
  onmessage?: (<T extends JSONRPCMessage>(message: T) => void) | undefined

  private chunks: Array<Buffer> = []
  private length = 0
  /** A line longer than MAX_LINE is being skipped up to its end. */
  private skipping = false
  /** Requests read but not yet handed on (one that changes something is in flight). */
  private readonly queue: Array<JSONRPCRequest> = []
  /** Requests handed on and not yet answered, by id (a client may reuse an id: counted). */
  private readonly open = new Map<RequestId, number>()
  /** The request handled alone now, if any. */
  private alone: RequestId | undefined
  private ended = false
  private done = false
  readonly closed: Promise<void>
  private resolveClosed!: () => void

  private readonly options: Options
  private readonly input: NodeJS.ReadableStream
  private readonly output: NodeJS.WritableStream

  constructor(options: Options, input: NodeJS.ReadableStream = process.stdin, output = process.stdout) {
    this.options = options
    this.input = input
    this.output = output
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve))
  }

  async start(): Promise<void> {
    this.input.on("data", this.onData)
    this.input.on("end", this.onEnd)
    this.input.on("error", this.onEnd)
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.done) return
    if (isResponse(message)) this.answered(message.id)
    await this.write(message)
    this.settle()
  }

  async close(): Promise<void> {
    if (this.done) return
    this.done = true
    this.input.off("data", this.onData)
    this.input.off("end", this.onEnd)
    this.input.off("error", this.onEnd)
    this.onclose?.()
    this.resolveClosed()
  }

  private write(message: unknown): Promise<void> {
    return new Promise((resolve) => {
      if (this.output.write(`${JSON.stringify(message)}\n`)) resolve()
      else this.output.once("drain", () => resolve())
    })
  }

  private readonly onData = (chunk: Buffer | string): void => {
    let data = typeof chunk === "string" ? Buffer.from(chunk) : chunk
    for (let nl = data.indexOf(10); nl >= 0; nl = data.indexOf(10)) {
      const tail = data.subarray(0, nl)
      data = data.subarray(nl + 1)
      if (this.skipping) {
        this.skipping = false
        this.chunks = []
        this.length = 0
        continue
      }
      const line = Buffer.concat([...this.chunks, tail]).toString("utf8")
      this.chunks = []
      this.length = 0
      this.line(line.endsWith("\r") ? line.slice(0, -1) : line)
    }
    if (this.skipping || data.length === 0) return
    if (this.length + data.length > MAX_LINE) {
      this.skipping = true
      this.chunks = []
      this.length = 0
      void this.write(refusal(null, -32600, `Cannot read the request: it is longer than ${MAX_LINE} bytes`))
      return
    }
    this.chunks.push(Buffer.from(data))
    this.length += data.length
  }

  private readonly onEnd = (): void => {
    this.ended = true
    this.settle()
  }

  private line(line: string): void {
    if (line.trim() === "") return
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch (e) {
      void this.write(refusal(null, -32700, `Cannot parse the message: ${(e as Error).message}`))
      return
    }
    const parsed = JSONRPCMessageSchema.safeParse(value)
    if (!parsed.success) {
      const id = (value as { id?: unknown } | null)?.id
      const known = typeof id === "string" || (typeof id === "number" && Number.isFinite(id)) ? id : null
      const why = Array.isArray(value) ? "batches are not part of MCP" : "it is not a JSON-RPC 2.0 message"
      void this.write(refusal(known, -32600, `Cannot handle the message: ${why}`))
      return
    }
    const message = parsed.data
    const invalid = isRequest(message) ? this.options.invalid(message) : undefined
    if (invalid !== undefined) {
      void this.write(refusal((message as JSONRPCRequest).id, -32602, invalid))
      return
    }
    if (isRequest(message) && message.method !== "ping") {
      this.queue.push(message)
      this.settle()
      return
    }
    // a cancelled request is never answered: it holds nothing up any more
    if ("method" in message && message.method === "notifications/cancelled") {
      const id = (message.params as { requestId?: RequestId } | undefined)?.requestId
      if (id !== undefined) {
        const queued = this.queue.findIndex((r) => r.id === id)
        if (queued >= 0) this.queue.splice(queued, 1)
        else this.answered(id)
      }
    }
    if (isRequest(message)) this.opened(message.id)
    this.onmessage?.(message)
    this.settle()
  }

  private opened(id: RequestId): void {
    this.open.set(id, (this.open.get(id) ?? 0) + 1)
  }

  private answered(id: RequestId): void {
    const count = this.open.get(id)
    if (count === undefined) return
    if (count > 1) this.open.set(id, count - 1)
    else this.open.delete(id)
    if (this.alone === id) this.alone = undefined
  }

  /** Hands on what may go now, and closes once the input ended and everything read was answered. */
  private settle(): void {
    while (this.alone === undefined && this.queue.length > 0 && !this.done) {
      const request = this.queue.shift()!
      this.opened(request.id)
      if (this.options.alone(request)) this.alone = request.id
      this.onmessage?.(request)
    }
    if (this.ended && this.queue.length === 0 && this.open.size === 0) void this.close()
  }
}

const refusal = (id: RequestId | null, code: number, message: string) => ({
  jsonrpc: "2.0",
  id,
  error: { code, message }
})
