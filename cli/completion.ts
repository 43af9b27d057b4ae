// Shell completion, worked out once for bash, zsh and fish: given the words typed so far, what may come next.
// The command tree is @effect/cli's own (Help.describe, written to dist/completion_spec.json by the build, with
// the worker and gpu trees in place of their stubs), so completion never drifts from the parser. The shells' scripts
// (completion_scripts.ts) only ask `jobs __complete WORD...` and show the answer.
import type * as Help from "./help.ts"

/** A value to offer, with a few words on it (zsh and fish show them; bash does not). */
export interface Candidate {
  readonly value: string
  readonly description: string
}

/**
 * What the shell does with the answer: offer the candidates as they are (in this order), complete file or folder
 * names itself, or complete the job's command (its words start at `offset` among the words given).
 */
export type Answer =
  | { readonly _tag: "values"; readonly candidates: ReadonlyArray<Candidate> }
  | { readonly _tag: "files" }
  | { readonly _tag: "dirs" }
  | { readonly _tag: "command"; readonly offset: number }

/** Values that only the home knows, read when asked (each costs a few reads of the home). */
export interface Sources {
  /** Jobs newest first: their id, name and, when known, status. */
  readonly jobs: () => ReadonlyArray<{ readonly id: string; readonly name: string | null; readonly status?: string }>
  readonly workers: () => ReadonlyArray<string>
  readonly groups: () => ReadonlyArray<string>
}

/** Static lists: providers, GPU types, statuses and signals (the same data the commands check against). */
export interface Lists {
  readonly providers: ReadonlyArray<string>
  readonly gpuTypes: ReadonlyArray<string>
  readonly statuses: ReadonlyArray<string>
  readonly signals: ReadonlyArray<string>
}

/** What a flag's value or an argument is, for completion. */
type Kind =
  | { readonly _tag: "none" }
  | { readonly _tag: "files" }
  | { readonly _tag: "dirs" }
  | { readonly _tag: "choices"; readonly choices: ReadonlyArray<string> }
  | { readonly _tag: "job" }
  | { readonly _tag: "worker" }
  | { readonly _tag: "group" }
  | { readonly _tag: "gpu" }
  | { readonly _tag: "status" }
  | { readonly _tag: "signal" }
  | { readonly _tag: "provider" }

/** Kinds whose value is a comma-separated list (each item completes on its own). */
const LISTS = new Set(["--after", "--after-any", "--provider"])

/** The kind of a flag's value, by its value name (Help's VALUE_NAMES: the same name means the same thing). */
const flagKind = (flag: Help.Flag): Kind => {
  if (flag.choices !== undefined) return { _tag: "choices", choices: flag.choices }
  // a value name that lists the values (`secure|community`)
  if (flag.value !== undefined && /^[a-z0-9-]+(\|[a-z0-9-]+)+$/.test(flag.value))
    return { _tag: "choices", choices: flag.value.split("|") }
  switch (flag.value) {
    case "FILE":
      return { _tag: "files" }
    case "DIR":
      return { _tag: "dirs" }
    case "IDS":
      return { _tag: "job" }
    case "WORKER":
      return { _tag: "worker" }
    case "GROUP":
      return { _tag: "group" }
    case "TYPE[:N]":
    case "TYPE":
      return { _tag: "gpu" }
    case "STATUS":
      return { _tag: "status" }
    case "SIGNAL":
      return { _tag: "signal" }
    case "LIST":
      return flag.long === "--provider" ? { _tag: "provider" } : { _tag: "none" }
    default:
      return { _tag: "none" }
  }
}

/** The kind of a positional argument, by its name and the command it belongs to. */
const argKind = (arg: Help.Arg, path: ReadonlyArray<string>): Kind => {
  if (arg.choices !== undefined) return { _tag: "choices", choices: arg.choices }
  const where = path.join(" ")
  if (arg.name === "ID") return { _tag: "job" }
  if (arg.name === "NAME" && where.startsWith("group ")) return { _tag: "group" }
  if (arg.name === "NAME" && (where === "worker rm" || where === "worker default")) return { _tag: "worker" }
  if (arg.name === "DEST") return { _tag: "files" }
  return { _tag: "none" }
}

/** Flags every command takes (cli/argv.ts reads --home and --json anywhere before `--`). */
const GLOBAL_FLAGS: ReadonlyArray<Help.Flag> = [
  {
    names: ["--home"],
    long: "--home",
    value: "DIR",
    choices: undefined,
    repeatable: false,
    description: "The jobs home"
  },
  {
    names: ["--json"],
    long: "--json",
    value: undefined,
    choices: undefined,
    repeatable: false,
    description: "Print one JSON document on stdout"
  },
  {
    names: ["-h", "--help"],
    long: "--help",
    value: undefined,
    choices: undefined,
    repeatable: false,
    description: "Print help"
  }
]

/** The command whose words go to a job: after `run`'s flags (or `--`), the rest is the job's own command line. */
const RUNS_A_COMMAND = "run"

const byValue = (a: Candidate, b: Candidate) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0)

/** A value a shell can take as one candidate: one line, no tab (the answer's separators), no control characters. */
const offerable = (value: string): boolean => value !== "" && !/[\x00-\x1f\x7f]/.test(value)

const jobCandidates = (sources: Sources, prefix: string): Array<Candidate> => {
  const out: Array<Candidate> = []
  const seen = new Set<string>()
  const lower = prefix.toLowerCase()
  const upper = prefix.toUpperCase()
  for (const job of sources.jobs()) {
    const short = job.id.slice(-8).toLowerCase()
    const status = job.status === undefined ? "" : `, ${job.status}`
    if (job.name !== null && offerable(job.name) && !seen.has(job.name) && job.name.startsWith(prefix)) {
      seen.add(job.name)
      out.push({ value: job.name, description: `${short}${status}` })
    }
    const label = `${job.name === null ? "(no name)" : job.name}${status}`
    if (short.startsWith(lower)) out.push({ value: short, description: label })
    // a full id only when one is being typed (it starts with its time, so a prefix of one is no short id)
    else if (prefix.length > 0 && job.id.startsWith(upper)) out.push({ value: job.id, description: label })
  }
  return out
}

const matching = (values: ReadonlyArray<string>, prefix: string, description = ""): Array<Candidate> =>
  values.filter((v) => offerable(v) && v.startsWith(prefix)).map((value) => ({ value, description }))

/** The values of a kind that start with `prefix`. */
const valuesOf = (kind: Kind, prefix: string, sources: Sources, lists: Lists): Answer => {
  switch (kind._tag) {
    case "files":
      return { _tag: "files" }
    case "dirs":
      return { _tag: "dirs" }
    case "choices":
      return { _tag: "values", candidates: matching(kind.choices, prefix) }
    case "job":
      return { _tag: "values", candidates: jobCandidates(sources, prefix) }
    case "worker":
      return { _tag: "values", candidates: matching(sources.workers(), prefix, "worker") }
    case "group":
      return { _tag: "values", candidates: matching(sources.groups(), prefix, "group") }
    case "gpu": {
      // TYPE[:N]: the type only (the count is a number the user picks)
      const lower = prefix.toLowerCase()
      if (prefix.includes(":")) return { _tag: "values", candidates: [] }
      const types = lists.gpuTypes.filter((t) => t.toLowerCase().startsWith(lower))
      return { _tag: "values", candidates: types.map((value) => ({ value, description: "GPU type" })) }
    }
    case "status":
      return { _tag: "values", candidates: matching(lists.statuses, prefix) }
    case "signal":
      return { _tag: "values", candidates: matching(lists.signals, prefix) }
    case "provider":
      return { _tag: "values", candidates: matching(lists.providers, prefix, "GPU provider") }
    case "none":
      return { _tag: "values", candidates: [] }
  }
}

/** A flag's value: for a comma-separated list, the item being typed, with the items before it kept in front. */
const flagValue = (flag: Help.Flag, typed: string, before: string, sources: Sources, lists: Lists): Answer => {
  const comma = LISTS.has(flag.long) ? typed.lastIndexOf(",") + 1 : 0
  const head = before + typed.slice(0, comma)
  const answer = valuesOf(flagKind(flag), typed.slice(comma), sources, lists)
  if (answer._tag !== "values" || head === "") return answer
  return { _tag: "values", candidates: answer.candidates.map((c) => ({ ...c, value: head + c.value })) }
}

const takesValue = (flag: Help.Flag): boolean => flag.value !== undefined || flag.choices !== undefined

/**
 * What may come at the last of `words` (the words after the program's name, the last one being the word under the
 * cursor, "" for a new one).
 *
 * @example
 * Completion.complete(spec, ["logs", "bu"], sources, lists) // values: build, build-docs, ...
 */
export const complete = (root: Help.Doc, words: ReadonlyArray<string>, sources: Sources, lists: Lists): Answer => {
  const current = words.length === 0 ? "" : words[words.length - 1]!
  const before = words.slice(0, -1)
  // `jobs help COMMAND...`: command names only
  if (before[0] === "help") {
    const doc = before.slice(1).reduce<Help.Doc | undefined>((d, w) => d?.children.find((c) => c.name === w), root)
    const names = (doc?.children ?? []).filter((c) => c.name.startsWith(current))
    return {
      _tag: "values",
      candidates: names.map((c) => ({ value: c.name, description: firstClause(c.description) })).sort(byValue)
    }
  }
  const path: Array<string> = []
  let doc = root
  let positional = 0
  let dashdash = false
  const flagOf = (name: string) =>
    doc.flags.find((f) => f.names.includes(name)) ?? GLOBAL_FLAGS.find((f) => f.names.includes(name))
  for (let i = 0; i < before.length; i++) {
    const word = before[i]!
    if (!dashdash && word === "--") {
      if (path.join(" ") === RUNS_A_COMMAND) return { _tag: "command", offset: i + 1 }
      dashdash = true
      continue
    }
    if (!dashdash && word.startsWith("-") && word !== "-") {
      const flag = flagOf(word.includes("=") ? word.slice(0, word.indexOf("=")) : word)
      if (flag === undefined || !takesValue(flag) || word.includes("=") || flag.value?.startsWith("[=")) continue
      // the flag's value is the word under the cursor
      if (i === before.length - 1) return flagValue(flag, current, "", sources, lists)
      i++
      continue
    }
    const child = positional === 0 ? doc.children.find((c) => c.name === word) : undefined
    if (child !== undefined) {
      path.push(word)
      doc = child
      continue
    }
    if (path.join(" ") === RUNS_A_COMMAND) return { _tag: "command", offset: i }
    positional++
  }
  if (!dashdash && current.startsWith("--") && current.includes("=")) {
    const name = current.slice(0, current.indexOf("="))
    const flag = flagOf(name)
    if (flag === undefined || !takesValue(flag)) return { _tag: "values", candidates: [] }
    return flagValue(flag, current.slice(name.length + 1), `${name}=`, sources, lists)
  }
  if (!dashdash && current.startsWith("-")) {
    const flags = [...doc.flags, ...GLOBAL_FLAGS.filter((g) => !doc.flags.some((f) => f.long === g.long))]
    const candidates = flags
      .flatMap((f) =>
        f.names
          .filter((n) => n.startsWith("--") || current === "-" || current.length === 2)
          .map((value) => ({ value, description: f.description }))
      )
      .filter((c) => c.value.startsWith(current))
    return { _tag: "values", candidates: candidates.sort(byValue) }
  }
  if (path.join(" ") === RUNS_A_COMMAND) return { _tag: "command", offset: before.length }
  if (doc.children.length > 0 && positional === 0) {
    const candidates = doc.children
      .filter((c) => c.name.startsWith(current) && !c.name.startsWith("_"))
      .map((c) => ({ value: c.name, description: firstClause(c.description) }))
    // a command that takes an argument besides its subcommands (`completions SHELL | install`)
    const first = doc.args[0] === undefined ? undefined : valuesOf(argKind(doc.args[0], path), current, sources, lists)
    const values = first?._tag === "values" ? [...first.candidates] : []
    // `jobs help COMMAND`, which the runner answers (it is no command of the tree)
    if (path.length === 0 && "help".startsWith(current))
      values.push({ value: "help", description: "Help on a command" })
    return { _tag: "values", candidates: [...candidates, ...values].sort(byValue) }
  }
  const last = doc.args[doc.args.length - 1]
  const arg = doc.args[positional] ?? (last?.repeatable === true ? last : undefined)
  if (arg === undefined) return { _tag: "values", candidates: [] }
  return valuesOf(argKind(arg, path), current, sources, lists)
}

/** A description's first clause, short enough for a menu. */
const firstClause = (text: string): string => {
  const stop = text.search(/[.:;](\s|$)| \(/)
  const clause = (stop < 0 ? text : text.slice(0, stop)).trim()
  return clause.length > 60 ? `${clause.slice(0, 59)}…` : clause
}

/**
 * The answer as `jobs __complete` prints it: a first line saying what to do (values, files, dirs, command N), then
 * one candidate a line as `value<TAB>description`.
 */
export const format = (answer: Answer): string => {
  switch (answer._tag) {
    case "values":
      // descriptions may quote a job's name: no control characters reach the terminal
      return `values\n${answer.candidates.map((c) => `${c.value}\t${c.description.replace(/[\x00-\x1f\x7f-\x9f]/g, "?")}\n`).join("")}`
    case "command":
      return `command ${answer.offset}\n`
    default:
      return `${answer._tag}\n`
  }
}

/** What the build writes to dist/completion_spec.json: the whole command tree and the static lists. */
export interface Spec {
  readonly tree: Help.Doc
  readonly lists: Lists
}

/**
 * The full tree: the main one with the worker and gpu stubs replaced by the real trees (their own bundles' roots).
 */
export const merge = (main: Help.Doc, others: ReadonlyArray<Help.Doc>): Help.Doc => {
  const real = new Map(others.flatMap((o) => o.children).map((c) => [c.name, c]))
  return { ...main, children: main.children.map((c) => real.get(c.name) ?? c) }
}
