// jobs gpu offers: what the providers offer for a query, cheapest per GPU first.
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Providers from "../../../adapters/gpu/providers.ts"
import { InvalidInput } from "../../../core/errors.ts"
import * as Provider from "../../../core/provider.ts"
import * as GpuFlags from "../../gpu_flags.ts"
import { Invocation } from "../../invocation.ts"
import * as Render from "../../render.ts"
import { keptNotes } from "./ls.ts"

/** The flags of a query, shared with `jobs run --gpu`'s (`--gpu` there is `--type` and `--count` here). */
export const queryOptions = {
  maxPrice: Options.text("max-price").pipe(
    Options.withDescription("At most this many dollars per GPU per hour"),
    Options.optional
  ),
  minVram: Options.text("min-vram").pipe(
    Options.withDescription("At least this many GB of VRAM per GPU"),
    Options.optional
  ),
  cloud: Options.text("cloud").pipe(
    Options.withDescription("secure (the provider's data centres, default) or community"),
    Options.optional
  ),
  minCuda: Options.text("min-cuda").pipe(
    Options.withDescription("Lowest CUDA version (default 12.0)"),
    Options.optional
  ),
  provider: Options.text("provider").pipe(
    Options.withDescription("Providers to ask, in order of preference (runpod,lambda,vast)"),
    Options.optional
  )
}

const money = (n: number) => `$${n.toFixed(n < 10 ? 3 : 2)}`

/** `jobs gpu offers [--type A100] [--count 2] [--max-price 3] [--min-vram N] [--cloud ...] [--provider ...]` */
export const command = Command.make(
  "offers",
  {
    type: Options.text("type").pipe(
      Options.withDescription("A part of the GPU's name, such as A100"),
      Options.optional
    ),
    count: Options.text("count").pipe(Options.withDescription("GPUs per instance (default 1)"), Options.optional),
    ...queryOptions
  },
  Effect.fn("jobs.gpu.offers")(function* (flags) {
    const invocation = yield* Invocation
    const q = yield* GpuFlags.toQuery(flags)
    const { offers, errors, skipped } = yield* Providers.offers(q)
    if (skipped.length === q.providers.length) {
      return yield* new InvalidInput({
        message: `Cannot list offers: no API key is set (${q.providers.map(Provider.keyVariable).join(", ")})`
      })
    }
    for (const name of skipped) {
      if (flags.provider._tag === "Some")
        yield* Render.note(`jobs: ${name} skipped: ${Provider.keyVariable(name)} is not set`)
    }
    if (errors.length > 0 && errors.length + skipped.length === q.providers.length) return yield* errors[0]!
    for (const e of errors) yield* Render.note(`jobs: warning: ${e.message}`)
    if (invocation.json) return yield* Render.json(offers)
    yield* keptNotes(invocation.home)
    if (offers.length === 0) return yield* Render.note("jobs: no offer matches")
    const rows = offers.map((o) => [
      o.provider,
      o.gpuType,
      String(o.gpuCount),
      `${o.vramGb} GB`,
      o.cuda ?? "-",
      o.cloudType,
      money(o.pricePerGpu),
      money(o.priceTotal),
      o.region ?? "-",
      o.id
    ])
    const head = ["PROVIDER", "GPU", "COUNT", "VRAM", "CUDA", "CLOUD", "$/GPU/H", "$/H", "REGION", "OFFER"]
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
    for (const row of [head, ...rows]) {
      yield* Render.line(row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join("  "))
    }
  })
).pipe(Command.withDescription("GPU offers across providers, cheapest per GPU first, with VRAM, CUDA and prices"))
