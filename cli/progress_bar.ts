// A one-line progress bar on stderr while `wait` or `logs -f` runs, only when stderr is a terminal (piped, they
// print nothing extra).
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type { Jobs } from "../core/jobs.ts"
import * as Render from "./render.ts"

/** The bar's line on stderr: drawn, cleared before other output lands on the terminal, drawn again after. */
export interface Bar {
  readonly clear: Effect.Effect<void>
  readonly redraw: Effect.Effect<void>
}

const noBar: Bar = { clear: Effect.void, redraw: Effect.void }

/** Runs `use` with a bar that follows job `id`, refreshed twice a second; the line is cleared at the end. */
export const showing = <A, E, R>(
  jobs: Jobs,
  id: string,
  use: (bar: Bar) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => {
  if (process.stderr.isTTY !== true) return use(noBar)
  let line = ""
  let shown = false
  const bar: Bar = {
    clear: Effect.sync(() => {
      if (shown) process.stderr.write("\r\u001b[K")
      shown = false
    }),
    redraw: Effect.sync(() => {
      if (line !== "") process.stderr.write(`\r\u001b[K${line}`)
      shown = line !== ""
    })
  }
  const width = Math.max(20, (process.stderr.columns ?? 80) - 1)
  const tick = jobs.get(id).pipe(
    Effect.flatMap((job) =>
      Effect.suspend(() => {
        line = Render.progressBar(job).slice(0, width)
        return bar.redraw
      })
    ),
    Effect.ignore
  )
  return Effect.scoped(
    Effect.gen(function* () {
      yield* Effect.forkScoped(Effect.repeat(tick, Schedule.spaced("500 millis")))
      return yield* use(bar)
    })
  ).pipe(Effect.ensuring(bar.clear))
}
