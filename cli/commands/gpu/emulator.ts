// jobs gpu emulator: a GPU cloud on loopback (RunPod, Lambda and Vast APIs; a real sshd per instance) for demos
// and tests. Prints its URL and the environment that points jobs at it, then serves until interrupted.
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Emulator from "../../../adapters/gpu/emulator.ts"
import { InvalidInput } from "../../../core/errors.ts"
import { durationFlag } from "../../_shared.ts"
import { Invocation } from "../../invocation.ts"
import * as Render from "../../render.ts"

/** `jobs gpu emulator [--port N] [--step 1s] [--ssh-late 0s]` */
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
    )
  },
  Effect.fn("jobs.gpu.emulator")(function* ({ port, step, sshLate }) {
    const invocation = yield* Invocation
    const stepSecs = yield* durationFlag("step", step)
    const lateSecs = yield* durationFlag("ssh-late", sshLate)
    if (Option.isSome(port) && (port.value < 0 || port.value > 65535)) {
      return yield* new InvalidInput({ message: `Cannot listen on port "${port.value}": use 0 to 65535` })
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
          yield* Effect.async<void>((resume) => {
            const orphaned = setInterval(() => process.ppid !== parent && done(), 1000)
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
    "A GPU cloud on loopback speaking the RunPod, Lambda and Vast APIs, each instance a real sshd (for demos and tests)"
  )
)
