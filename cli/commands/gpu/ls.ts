// jobs gpu ls: the instances our jobs hold (from their logs), with the provider's state, uptime, cost so far, and
// what guards each (the keeper while it follows the job, the instance-side guard).
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import * as Inventory from "../../../adapters/gpu/inventory.ts"
import * as Duration from "../../../core/duration.ts"
import * as Home from "../../../core/home.ts"
import { Invocation } from "../../invocation.ts"
import * as Render from "../../render.ts"

/** Prints a table with aligned columns. */
export const table = (head: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>) =>
  Effect.forEach(
    [head, ...rows],
    (row) => {
      const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
      return Render.line(row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join("  "))
    },
    { discard: true }
  )

/** Notes on instances kept alive without a limit (every gpu command prints them). */
export const keptNotes = (home: string) =>
  Effect.forEach(Inventory.keptNotes(Home.layout(home)), Render.note, { discard: true })

/** `jobs gpu ls` */
export const command = Command.make(
  "ls",
  {},
  Effect.fn("jobs.gpu.ls")(function* () {
    const invocation = yield* Invocation
    const held = yield* Inventory.held(Home.layout(invocation.home))
    if (invocation.json) return yield* Render.json(held)
    yield* keptNotes(invocation.home)
    if (held.length === 0) return yield* Render.note("jobs: no GPU instance is held by a job of this home")
    yield* table(
      ["JOB", "STATUS", "PROVIDER", "INSTANCE", "STATE", "UPTIME", "$/H", "COST", "KEEP", "GUARDS"],
      held.map((h) => [
        h.shortId,
        h.jobStatus,
        h.provider,
        h.instanceId,
        h.providerState,
        Duration.format(h.uptimeSecs),
        `$${h.pricePerHour.toFixed(2)}`,
        `$${h.costSoFar.toFixed(4)}`,
        h.keepAlive ? (h.keepAliveSecs === null ? "yes" : Duration.format(h.keepAliveSecs)) : "-",
        h.guards.length === 0 ? "none" : h.guards.join(", ")
      ])
    )
  })
).pipe(
  Command.withDescription("The GPU instances held by jobs of this home: provider state, uptime, cost so far, guards")
)
