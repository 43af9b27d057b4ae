// jobs gpu emulator: a GPU cloud on loopback (RunPod, Lambda and Vast APIs; a real sshd per instance) for demos
// and tests. Prints its URL and the environment that points jobs at it, then serves until interrupted, or until
// whoever started it is gone (it says so); --detach starts it on its own, to be ended with `kill PID`.
import * as ChildProcess from "node:child_process"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Emulator from "../../../adapters/gpu/emulator.ts"
import * as Helper from "../../../adapters/helper.ts"
import { InvalidInput } from "../../../core/errors.ts"
import { durationFlag } from "../../_shared.ts"
import { Invocation } from "../../invocation.ts"
import * as Render from "../../render.ts"

/** Set in the environment of an emulator started by --detach: it then outlives its parent. */
const DETACHED = "JOBS_EMULATOR_DETACHED"

/** Starts the emulator as a process of its own (its own session) and returns what its first line said, and its pid. */
const detach = (args: ReadonlyArray<string>) =>
  Effect.async<{ readonly line: string; readonly pid: number }, InvalidInput>((resume) => {
    const child = ChildProcess.spawn(process.execPath, ["--", Helper.bin(), "gpu", "emulator", "--json", ...args], {
      detached: true,
      stdio: ["ignore", "pipe", "ignore"],
      cwd: "/",
      env: { ...process.env, [DETACHED]: "1" }
    })
    let text = ""
    const fail = (why: string) =>
      resume(Effect.fail(new InvalidInput({ message: `Cannot start the GPU emulator: ${why}` })))
    child.once("error", (e) => fail(e.message))
    child.once("exit", (code) => fail(`it exited (${code})`))
    child.stdout!.on("data", (d: Buffer) => {
      text += d.toString("utf8")
      const end = text.indexOf("\n")
      if (end < 0) return
      child.removeAllListeners("exit")
      child.stdout!.destroy()
      child.unref()
      resume(Effect.succeed({ line: text.slice(0, end), pid: child.pid! }))
    })
  })

/** `jobs gpu emulator [--port N] [--step 1s] [--ssh-late 0s] [--detach]` */
export const command = Command.make(
  "emulator",
  {
    port: Options.integer("port").pipe(
      Options.withDescription("Port on 127.0.0.1 (default: any free one)"),
      Options.optional
    ),
    step: Options.text("step").pipe(
      Options.withDescription("How long each instance state lasts before the next (default 1s)"),
      Options.optional
    ),
    sshLate: Options.text("ssh-late").pipe(
      Options.withDescription("Fault: sshd starts this long after the instance is running (default 0s)"),
      Options.optional
    ),
    detach: Options.boolean("detach").pipe(
      Options.withDescription(
        "Run on its own, outliving this shell: prints the URL, the environment and its pid, then returns (kill PID ends it)"
      )
    )
  },
  Effect.fn("jobs.gpu.emulator")(function* ({ port, step, sshLate, detach: detached }) {
    const invocation = yield* Invocation
    const stepSecs = yield* durationFlag("step", step)
    const lateSecs = yield* durationFlag("ssh-late", sshLate)
    if (Option.isSome(port) && (port.value < 0 || port.value > 65535)) {
      return yield* new InvalidInput({ message: `Cannot listen on port "${port.value}": use 0 to 65535` })
    }
    if (detached) {
      const args = [
        ...(Option.isSome(port) ? ["--port", String(port.value)] : []),
        ...(Option.isSome(step) ? ["--step", step.value] : []),
        ...(Option.isSome(sshLate) ? ["--ssh-late", sshLate.value] : [])
      ]
      const { line, pid } = yield* detach(args)
      const started = JSON.parse(line) as { url: string; env: Record<string, string> }
      if (invocation.json) return yield* Render.jsonLine({ ...started, pid })
      yield* Render.line(started.url)
      for (const [k, v] of Object.entries(started.env)) yield* Render.line(`export ${k}=${v}`)
      return yield* Render.note(`jobs: the emulator runs as pid ${pid} (kill ${pid} ends it and its instances)`)
    }
    yield* Effect.acquireUseRelease(
      Effect.promise(() =>
        Emulator.start({
          ...(Option.isSome(port) ? { port: port.value } : {}),
          stepMs: (stepSecs ?? 1) * 1000,
          faults: { sshLateSecs: lateSecs ?? 0 }
        })
      ),
      (emulator) =>
        Effect.gen(function* () {
          const env = Emulator.environment(emulator)
          if (invocation.json) yield* Render.jsonLine({ url: emulator.url, env })
          else {
            yield* Render.line(emulator.url)
            for (const [k, v] of Object.entries(env)) yield* Render.line(`export ${k}=${v}`)
          }
          // until Ctrl-C or a TERM: then every instance is ended and its sshd stopped
          // (or until whoever started it is gone: an orphaned emulator would keep its instances' sshds alive)
          const parent = process.ppid
          const watch = process.env[DETACHED] !== "1"
          yield* Effect.async<void>((resume) => {
            const orphaned = setInterval(() => {
              if (!watch || process.ppid === parent) return
              // never silently: a shell that backgrounded it with & and then exited took it along
              process.stderr.write(
                "jobs: the GPU emulator closes: the process that started it is gone (--detach keeps it)\n"
              )
              done()
            }, 1000)
            const done = () => {
              clearInterval(orphaned)
              resume(Effect.void)
            }
            process.once("SIGINT", done)
            process.once("SIGTERM", done)
          })
        }),
      (emulator) => Effect.promise(() => emulator.close())
    )
  })
).pipe(
  Command.withDescription(
    "A GPU cloud on loopback speaking the RunPod, Lambda and Vast APIs, each instance a real sshd (for demos and " +
      "tests). It serves until Ctrl-C, a TERM, or the end of the process that started it; --detach runs it on its own"
  )
)
