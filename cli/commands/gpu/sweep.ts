// jobs gpu sweep: instances named by us that no live job owns (its job ended, or nobody follows it), and
// instances kept alive past their duration: listed, and with --yes terminated (confirmed by the provider).
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Inventory from "../../../adapters/gpu/inventory.ts"
import * as Home from "../../../core/home.ts"
import * as Ids from "../../../core/ids.ts"
import { Invocation } from "../../invocation.ts"
import * as Render from "../../render.ts"
import { keptNotes, table } from "./ls.ts"

/** `jobs gpu sweep [--yes]` */
export const command = Command.make(
  "sweep",
  { yes: Options.boolean("yes").pipe(Options.withAlias("y"), Options.withDescription("Terminate them (else: list)")) },
  Effect.fn("jobs.gpu.sweep")(function* ({ yes }) {
    const invocation = yield* Invocation
    const verdicts = yield* Inventory.sweep(Home.layout(invocation.home), yes)
    if (invocation.json) return yield* Render.json(verdicts)
    yield* keptNotes(invocation.home)
    if (verdicts.length === 0) return yield* Render.note("jobs: no instance named by jobs at any provider with a key")
    yield* table(
      ["PROVIDER", "INSTANCE", "JOB", "STATE", "VERDICT"],
      verdicts.map((v) => [
        v.provider,
        v.instanceId,
        v.job === null ? "-" : Ids.shortId(v.job),
        v.providerState,
        v.reason === undefined
          ? "stays"
          : v.terminated
            ? `terminated: ${v.reason}`
            : v.providerState === "gone"
              ? v.reason
              : `${yes ? "NOT terminated (see above)" : "would terminate"}: ${v.reason}`
      ])
    )
    if (!yes && verdicts.some((v) => v.reason !== undefined && v.providerState !== "gone"))
      yield* Render.note("jobs: run jobs gpu sweep --yes to terminate them")
    else if (!yes && verdicts.some((v) => v.reason !== undefined))
      yield* Render.note("jobs: run jobs gpu sweep --yes to record them")
  })
).pipe(
  Command.withDescription(
    "Find instances named by jobs that no live job owns, and kept-alive ones past their duration; --yes terminates them"
  )
)
