// jobs group set|ls|pause|resume: queue groups with a parallel limit, paused or not (no daemon: the waiting
// supervisors read these settings).
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { InvalidInput, StorageError } from "../../core/errors.ts"
import * as Groups from "../../core/groups.ts"
import * as Home from "../../core/home.ts"
import { Jobs } from "../../core/jobs.ts"
import * as Help from "../help.ts"
import { Invocation } from "../invocation.ts"
import * as Render from "../render.ts"

const name = Args.text({ name: "NAME" }).pipe(Args.withDescription("The group's name"))

const checkName = (group: string) =>
  /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(group)
    ? Effect.void
    : Effect.fail(
        new InvalidInput({
          message: `Cannot use group "${group}": a group name is 1 to 64 letters, digits, ".", "_" or "-"`
        })
      )

const update = (group: string, change: (s: Groups.Settings) => Groups.Settings) =>
  Effect.gen(function* () {
    yield* checkName(group)
    const layout = Home.layout((yield* Invocation).home)
    const next = change(Groups.read(layout, group))
    yield* Effect.try({
      try: () => Groups.write(layout, group, next),
      catch: (cause) => new StorageError({ action: "write group settings", path: layout.home, cause })
    })
    return next
  })

const describe = (group: string, s: Groups.Settings) =>
  `${group}: parallel ${s.parallel === null ? "unlimited" : s.parallel}${s.paused ? ", paused" : ""}`

const set = Command.make(
  "set",
  {
    name,
    parallel: Options.integer("parallel").pipe(
      Options.withDescription("How many of its jobs may run at once (0: none start)"),
      Options.optional
    ),
    unlimited: Options.boolean("unlimited").pipe(Options.withDescription("Remove the parallel limit")),
    onDone: Options.text("on-done").pipe(
      Options.withDescription('A shell command run when the group\'s last queued job has ended ("" removes it)'),
      Options.optional
    )
  },
  Effect.fn("jobs.group.set")(function* ({ name: group, parallel, unlimited, onDone }) {
    if (Option.isSome(parallel) && (parallel.value < 0 || unlimited)) {
      return yield* new InvalidInput({
        message: `Cannot set group "${group}": --parallel is 0 or more, without --unlimited`
      })
    }
    const next = yield* update(group, (s) => ({
      ...s,
      parallel: unlimited ? null : Option.getOrElse(parallel, () => s.parallel)
    }))
    const invocation = yield* Invocation
    if (Option.isSome(onDone)) {
      const layout = Home.layout(invocation.home)
      yield* Effect.try({
        try: () => Groups.writeOnDone(layout, group, onDone.value === "" ? null : onDone.value),
        catch: (cause) => new StorageError({ action: "write group hook", path: layout.home, cause })
      })
    }
    yield* invocation.json ? Render.json({ name: group, ...next }) : Render.line(describe(group, next))
  })
).pipe(Command.withDescription("Set a group's parallel limit (jobs run --group NAME waits for a free slot)"))

/** The groups of this home: those with settings or a queue, and those a queued or running job names. */
const known = Effect.gen(function* () {
  const layout = Home.layout((yield* Invocation).home)
  const { jobs: live } = yield* (yield* Jobs).list({ statuses: ["pending", "running"], limit: 0 })
  return [...new Set([...Groups.names(layout), ...live.flatMap((j) => (j.group == null ? [] : [j.group]))])].sort()
})

/** Fails for a group nothing knows (`group pause gppu` must not make a group gppu). */
const existing = (action: string, group: string) =>
  Effect.gen(function* () {
    const groups = yield* known
    if (groups.includes(group)) return
    const guess = Help.closest(group, groups)
    return yield* new InvalidInput({
      message: `Cannot ${action} group "${group}": no such group${
        guess !== undefined
          ? ` (did you mean "${guess}"?)`
          : groups.length > 0
            ? ` (groups: ${groups.slice(0, 5).join(", ")}${groups.length > 5 ? `, and ${groups.length - 5} more` : ""})`
            : " (jobs group set NAME --parallel N makes one)"
      }`
    })
  })

const printed = (group: string, s: Groups.Settings) =>
  Effect.flatMap(Invocation, (invocation) =>
    invocation.json ? Render.json({ name: group, ...s }) : Render.line(describe(group, s))
  )

const pause = Command.make(
  "pause",
  { name },
  Effect.fn("jobs.group.pause")(function* ({ name: group }) {
    yield* existing("pause", group)
    yield* printed(group, yield* update(group, (s) => ({ ...s, paused: true })))
  })
).pipe(Command.withDescription("Start no new job of the group; running ones finish"))

const resume = Command.make(
  "resume",
  { name },
  Effect.fn("jobs.group.resume")(function* ({ name: group }) {
    yield* existing("resume", group)
    yield* printed(group, yield* update(group, (s) => ({ ...s, paused: false })))
  })
).pipe(Command.withDescription("Let a paused group start jobs again"))

const rm = Command.make(
  "rm",
  { name },
  Effect.fn("jobs.group.rm")(function* ({ name: group }) {
    yield* checkName(group)
    yield* existing("remove", group)
    const layout = Home.layout((yield* Invocation).home)
    const { jobs: live } = yield* (yield* Jobs).list({ statuses: ["pending", "running"], limit: 0 })
    const mine = live.filter((j) => j.group === group)
    if (mine.length > 0) {
      return yield* new InvalidInput({
        message: `Cannot remove group "${group}": ${mine.length} of its jobs are queued or running (jobs stop --group ${group})`
      })
    }
    yield* Effect.try({
      try: () => Groups.remove(layout, group),
      catch: (cause) => new StorageError({ action: "remove group", path: layout.home, cause })
    })
    const invocation = yield* Invocation
    yield* invocation.json ? Render.json({ name: group, removed: true }) : Render.line(`${group}: removed`)
  })
).pipe(Command.withDescription("Remove a group's settings and hook (refused while its jobs are queued or running)"))

const ls = Command.make(
  "ls",
  {},
  Effect.fn("jobs.group.ls")(function* () {
    const invocation = yield* Invocation
    const jobs = yield* Jobs
    const layout = Home.layout(invocation.home)
    const { jobs: live } = yield* jobs.list({ statuses: ["pending", "running"], limit: 0 })
    const rows = Groups.names(layout).map((group) => {
      const s = Groups.read(layout, group)
      const mine = live.filter((j) => j.group === group)
      return {
        name: group,
        parallel: s.parallel,
        paused: s.paused,
        running: mine.filter((j) => j.status === "running").length,
        pending: mine.filter((j) => j.status === "pending").length
      }
    })
    if (invocation.json) return yield* Render.json(rows)
    if (rows.length === 0) return yield* Render.note("no groups (jobs group set NAME --parallel N makes one)")
    yield* Render.out(
      Render.table(
        ["GROUP", "PARALLEL", "PAUSED", "RUNNING", "PENDING"],
        rows.map((r) => [
          r.name,
          r.parallel === null ? "-" : String(r.parallel),
          r.paused ? "yes" : "no",
          String(r.running),
          String(r.pending)
        ])
      )
    )
  })
).pipe(Command.withDescription("List groups with their limits and how many of their jobs run and wait"))

/** `jobs group ...` */
export const command = Command.make("group").pipe(
  Command.withDescription("Queue groups: parallel limits and pausing, with no daemon"),
  Command.withSubcommands([set, ls, pause, resume, rm])
)
