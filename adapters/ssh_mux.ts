// Connection sharing for workers, like OpenSSH's ControlMaster + ControlPersist: the first command that reaches a
// worker starts a small detached process (`jobs __mux WORKER`) that holds one SSH connection open and serves
// commands to later `jobs` processes over a unix socket in the home (0700 folder, so only this user reaches it).
// Each command then costs one round trip instead of a TCP connect, a key exchange and an authentication. The
// holder leaves after a while without use, or as soon as its connection drops.
//
// On the socket, one connection per command: the client writes a JSON header line ({command, pty?}), then
// frames both ways, each [kind: 1 byte][length: 4 bytes big-endian][payload]. Client to holder: stdin data, stdin
// end, window size. Holder to client: stdout data, stderr data, and last the exit code.

import * as ChildProcess from "node:child_process"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"
import { Duplex, PassThrough } from "node:stream"
import type { ClientChannel, PseudoTtyOptions } from "ssh2"
import type * as Home from "../core/home.ts"
import { makeDirs } from "../core/job_store.ts"
import * as Workers from "../core/workers.ts"
import * as Helper from "./helper.ts"
import * as Ssh from "./ssh.ts"

/** How long the holder stays without a command (seconds; JOBS_SSH_PERSIST overrides, 0 turns sharing off). */
const persistSecs = (): number => {
  const v = Number(process.env.JOBS_SSH_PERSIST ?? 60)
  return Number.isFinite(v) && v >= 0 ? v : 60
}

/** Frames from a client to the holder. */
const Stdin = 0
const StdinEnd = 1
const Window = 2
/** Frames from the holder to a client. */
const Stdout = 0
const Stderr = 1
const Exit = 2

const frame = (kind: number, payload: Buffer): Buffer => {
  const head = Buffer.alloc(5)
  head[0] = kind
  head.writeUInt32BE(payload.length, 1)
  return Buffer.concat([head, payload])
}

/** Reads frames from a byte stream: feed chunks, get [kind, payload] pairs. */
const deframer = (onFrame: (kind: number, payload: Buffer) => void) => {
  let buffered: Buffer = Buffer.alloc(0)
  return (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk])
    while (buffered.length >= 5) {
      const length = buffered.readUInt32BE(1)
      if (buffered.length < 5 + length) break
      onFrame(buffered[0]!, buffered.subarray(5, 5 + length))
      buffered = buffered.subarray(5 + length)
    }
  }
}

/** The version of the socket's protocol: a holder of another version (an upgrade meanwhile) is not asked. */
const PROTOCOL = 1

/**
 * The socket of a worker's shared connection, named by worker, connection and protocol (a re-added worker gets a
 * new one, and so does a new version of this file).
 */
export const socketPath = (layout: Home.Layout, worker: Workers.Worker): string =>
  Path.join(
    layout.home,
    "run",
    `ssh-${Crypto.createHash("sha256").update(`${PROTOCOL}\0${worker.name}\0${worker.connection}`).digest("hex").slice(0, 16)}.sock`
  )

type ExecCallback = (err: Error | undefined, channel: ClientChannel) => void

/** The part of an SSH connection that `jobs` uses: commands, with or without a terminal. */
export interface Connection {
  exec(command: string, callback: ExecCallback): void
  exec(command: string, options: { readonly pty?: PseudoTtyOptions }, callback: ExecCallback): void
  readonly end: () => void
  readonly once: (event: "close" | "error", listener: (e?: Error) => void) => void
}

/** A command's channel through the holder, shaped like ssh2's: a duplex for stdin/stdout, `.stderr`, close(code). */
class MuxChannel extends Duplex {
  readonly stderr = new PassThrough()
  private readonly socket: Net.Socket
  constructor(socket: Net.Socket) {
    // 'close' is ours to emit, with the exit code, as ssh2's channels do
    super({ emitClose: false, autoDestroy: false })
    this.socket = socket
  }
  override _read() {
    this.socket.resume()
  }
  override _write(chunk: Buffer, _: BufferEncoding, done: (e?: Error | null) => void) {
    this.socket.write(frame(Stdin, chunk), done)
  }
  override _final(done: (e?: Error | null) => void) {
    this.socket.write(frame(StdinEnd, Buffer.alloc(0)), done)
  }
  setWindow(rows: number, cols: number, _height: number, _width: number) {
    const payload = Buffer.alloc(8)
    payload.writeUInt32BE(rows, 0)
    payload.writeUInt32BE(cols, 4)
    this.socket.write(frame(Window, payload))
    return true
  }
}

/** A connection through a holder's socket. Each command opens its own socket connection. */
const viaSocket = (path: string): Connection => {
  const closers: Array<(e?: Error) => void> = []
  const exec = (command: string, a: { readonly pty?: PseudoTtyOptions } | ExecCallback, b?: ExecCallback) => {
    const options = typeof a === "function" ? {} : a
    const callback = (typeof a === "function" ? a : b)!
    const socket = Net.connect(path)
    const channel = new MuxChannel(socket)
    let connected = false
    let code: number | null = null
    socket.once("connect", () => {
      connected = true
      socket.write(`${JSON.stringify({ command, ...(options.pty === undefined ? {} : { pty: options.pty }) })}\n`)
      callback(undefined, channel as unknown as ClientChannel)
    })
    socket.on(
      "data",
      deframer((kind, payload) => {
        if (kind === Stdout) {
          if (!channel.push(payload)) socket.pause()
        } else if (kind === Stderr) channel.stderr.write(payload)
        else if (kind === Exit) code = payload.readInt32BE(0)
      })
    )
    socket.on("error", (e) => {
      if (!connected) callback(e, channel as unknown as ClientChannel)
    })
    socket.once("close", () => {
      if (!connected) return
      // 'close' comes after every byte was delivered; no exit code means the holder (or its connection) went
      // away mid-command, as when a connection drops
      channel.once("end", () => {
        channel.emit("close", code ?? 255)
        if (code === null) for (const c of closers.splice(0)) c(new Error("the shared connection closed"))
      })
      channel.push(null)
      channel.stderr.end()
      if (channel.readableFlowing !== true) channel.resume()
    })
  }
  return {
    exec: exec as Connection["exec"],
    end: () => {},
    once: (_event, listener) => void closers.push(listener)
  }
}

/** Whether a holder answers on this socket. */
const answers = (path: string): Promise<boolean> =>
  new Promise((resolve) => {
    const s = Net.connect(path)
    s.once("connect", () => {
      s.destroy()
      resolve(true)
    })
    s.once("error", () => resolve(false))
  })

/** Starts a holder for the worker in the background (it connects on its own; this does not wait for it). */
const spawnHolder = (worker: Workers.Worker, home: string) => {
  try {
    const child = ChildProcess.spawn(process.execPath, ["--", Helper.bin(), "__mux", worker.name], {
      detached: true,
      stdio: "ignore",
      env: { ...process.env, JOBS_HOME: home }
    })
    child.on("error", () => {})
    child.unref()
  } catch {
    // sharing is an optimisation: the command goes on with its own connection
  }
}

/**
 * A connection to a worker: through the worker's holder when one answers, else a connection of its own (and a
 * holder is started in the background for the commands that follow).
 */
export const open = async (
  layout: Home.Layout,
  worker: Workers.Worker,
  options: { readonly timeoutMs?: number } = {}
): Promise<Connection> => {
  const path = socketPath(layout, worker)
  // a unix socket's path is limited to about 108 bytes: a home that deep does without sharing
  // (and only the `jobs` program starts holders: an app embedding the library connects on its own)
  const sharing = Helper.isProgram && persistSecs() > 0 && Buffer.byteLength(path) < 100
  if (sharing && Fs.existsSync(path) && (await answers(path))) return viaSocket(path)
  const client = await Ssh.connect(worker.connection, { ...options, ...Workers.hostKeyOptions(worker) })
  if (sharing) spawnHolder(worker, layout.home)
  return client as unknown as Connection
}

/**
 * The holder (`jobs __mux WORKER`): connects, serves commands on the socket until it has been idle for the
 * persist time or the connection drops, then removes the socket. Another holder already serving wins.
 */
export const hold = async (layout: Home.Layout, worker: Workers.Worker): Promise<number> => {
  const path = socketPath(layout, worker)
  if (Fs.existsSync(path) && (await answers(path))) return 0
  const client = await Ssh.connect(worker.connection, { timeoutMs: 10_000, ...Workers.hostKeyOptions(worker) })
  let active = 0
  let idleTimer: NodeJS.Timeout | undefined
  const server = Net.createServer((socket) => {
    active++
    if (idleTimer !== undefined) clearTimeout(idleTimer)
    let header: Buffer = Buffer.alloc(0)
    let headerDone = false
    let channel: ClientChannel | undefined
    const pending: Array<readonly [number, Buffer]> = []
    const apply = (kind: number, payload: Buffer) => {
      if (channel === undefined) return void pending.push([kind, payload])
      if (kind === Stdin) channel.write(payload)
      else if (kind === StdinEnd) channel.end()
      else if (kind === Window) channel.setWindow(payload.readUInt32BE(0), payload.readUInt32BE(4), 0, 0)
    }
    const feed = deframer(apply)
    const exitWith = (code: number) => {
      const payload = Buffer.alloc(4)
      payload.writeInt32BE(code, 0)
      socket.end(frame(Exit, payload))
    }
    const started = (e: Error | undefined, ch: ClientChannel) => {
      if (e !== undefined && e !== null) {
        // the shared connection cannot open a channel any more: the client sees it as a dropped connection
        // (no exit code), and the holder leaves
        socket.destroy()
        return leave()
      }
      channel = ch
      ch.on("data", (d: Buffer) => socket.write(frame(Stdout, d)))
      ch.stderr.on("data", (d: Buffer) => socket.write(frame(Stderr, d)))
      ch.on("close", (exit: number | null) => exitWith(exit ?? 255))
      for (const [k, p] of pending.splice(0)) apply(k, p)
    }
    socket.on("data", (chunk: Buffer) => {
      if (headerDone) return feed(chunk)
      const joined = Buffer.concat([header, chunk])
      const nl = joined.indexOf(10)
      if (nl < 0) {
        header = joined
        return
      }
      headerDone = true
      let request: { command: string; pty?: PseudoTtyOptions }
      try {
        request = JSON.parse(joined.subarray(0, nl).toString("utf8"))
      } catch {
        return socket.destroy()
      }
      if (request.pty === undefined) client.exec(request.command, started)
      else client.exec(request.command, { pty: request.pty }, started)
      if (joined.length > nl + 1) feed(joined.subarray(nl + 1))
    })
    socket.on("error", () => {})
    socket.once("close", () => {
      // the client went away: its command's channel goes too
      channel?.close()
      active--
      if (active === 0) idleTimer = setTimeout(leave, persistSecs() * 1000)
    })
  })
  const leave = () => {
    server.close()
    try {
      Fs.rmSync(path, { force: true })
    } catch {
      // gone already
    }
    client.end()
    process.exit(0)
  }
  client.once("close", leave)
  client.once("error", leave)
  makeDirs(Path.dirname(path))
  Fs.chmodSync(Path.dirname(path), 0o700)
  await new Promise<void>((resolve, reject) => {
    server.once("error", async (e: NodeJS.ErrnoException) => {
      // a socket file left by a holder that died: take its place; a live one: it serves, we leave
      if (e.code === "EADDRINUSE" && !(await answers(path))) {
        Fs.rmSync(path, { force: true })
        server.listen(path, resolve)
      } else reject(e)
    })
    const umask = process.umask(0o077)
    server.listen(path, () => {
      process.umask(umask)
      resolve()
    })
  }).catch(() => {
    client.end()
    process.exit(0)
  })
  idleTimer = setTimeout(leave, persistSecs() * 1000)
  return await new Promise<number>(() => {})
}
