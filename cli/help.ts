// Help as `gh`, `cargo` and `rg` print it, rendered from @effect/cli's own command descriptors (so help and
// parsing never drift apart): a synopsis, options grouped by topic with their value names, one line each, then
// examples. Also "did you mean" for a misspelt command or flag.
import type * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"

/** One flag as the parser knows it. */
export interface Flag {
  /** `--name`, or `-e, --env` with its short aliases first. */
  readonly names: ReadonlyArray<string>
  /** The long name, `--env`. */
  readonly long: string
  /** Its value's name (NAME, DURATION), or undefined for a switch. */
  readonly value: string | undefined
  /** Alternatives of a flag that takes one of a few values. */
  readonly choices: ReadonlyArray<string> | undefined
  readonly repeatable: boolean
  readonly description: string
}

/** One positional argument. */
export interface Arg {
  readonly name: string
  readonly optional: boolean
  readonly repeatable: boolean
  readonly description: string
  /** Alternatives of an argument that takes one of a few values. */
  readonly choices?: ReadonlyArray<string> | undefined
}

/** One command: its flags, arguments and subcommands. */
export interface Doc {
  readonly name: string
  readonly description: string
  readonly flags: ReadonlyArray<Flag>
  readonly args: ReadonlyArray<Arg>
  readonly children: ReadonlyArray<Doc>
}

// @effect/cli's descriptors are plain data with a `_tag`; only the shapes read here are named
type Node = { readonly _tag: string } & Record<string, any>

const plain = (doc: HelpDoc.HelpDoc): string =>
  HelpDoc.toAnsiText(doc)
    .replace(/\u001b\[[0-9;]*m/g, "")
    .replace(/\s+/g, " ")
    .trim()

/** What a flag's value is, by the flag's name (the same name takes the same kind of value in every command). */
const VALUE_NAMES: Record<string, string> = {
  cwd: "DIR",
  dir: "DIR",
  each: "FILE",
  "env-file": "FILE",
  env: "K[=V]",
  on: "WORKER",
  gpu: "TYPE[:N]",
  priority: "N",
  after: "IDS",
  "after-any": "IDS",
  timeout: "DURATION",
  grace: "DURATION",
  "older-than": "DURATION",
  interval: "SECONDS",
  "ssh-timeout": "DURATION",
  "keep-alive": "[=DURATION]",
  "max-log-size": "SIZE",
  mem: "SIZE",
  "progress-pattern": "REGEX",
  "on-done": "CMD",
  bootstrap: "CMD",
  partition: "NAME",
  cpus: "N",
  count: "N",
  "sbatch-arg": "ARG",
  "max-price": "USD",
  "min-vram": "GB",
  "volume-disk": "GB",
  cloud: "secure|community",
  "min-cuda": "VERSION",
  provider: "LIST",
  download: "PATH",
  "remote-home": "DIR",
  signal: "SIGNAL",
  status: "STATUS"
}

const valueName = (single: Node): string | undefined => {
  const primitive = single.primitiveType as Node
  if (primitive._tag === "Bool") return undefined
  if (single.pseudoName?._tag === "Some") return single.pseudoName.value as string
  if (primitive._tag === "Choice") return undefined
  const name = single.name as string
  if (VALUE_NAMES[name] !== undefined) return VALUE_NAMES[name]
  if (primitive._tag === "Integer") return "N"
  return name.toUpperCase().replace(/-/g, "_")
}

const flagsOf = (node: Node, repeatable = false): Array<Flag> => {
  switch (node._tag) {
    case "Single": {
      const primitive = node.primitiveType as Node
      const aliases = (node.aliases as ReadonlyArray<string>).map((a) => (a.length === 1 ? `-${a}` : `--${a}`))
      const long = `--${node.name as string}`
      return [
        {
          names: [...aliases, long],
          long,
          value: valueName(node),
          choices:
            primitive._tag === "Choice"
              ? (primitive.alternatives as ReadonlyArray<readonly [string, unknown]>).map(([name]) => name)
              : undefined,
          repeatable,
          description: plain(node.description)
        }
      ]
    }
    case "KeyValueMap":
      return flagsOf(node.argumentOption, true)
    case "Variadic":
      return flagsOf(node.argumentOption, true)
    case "Map":
    case "WithDefault":
    case "WithFallback":
      return flagsOf(node.options, repeatable)
    case "Both":
    case "OrElse":
      return [...flagsOf(node.left, repeatable), ...flagsOf(node.right, repeatable)]
    default:
      return []
  }
}

const argsOf = (node: Node, optional = false, repeatable = false): Array<Arg> => {
  switch (node._tag) {
    case "Single": {
      const name = node.pseudoName?._tag === "Some" ? (node.pseudoName.value as string) : "ARG"
      const primitive = node.primitiveType as Node | undefined
      const choices =
        primitive?._tag === "Choice"
          ? (primitive.alternatives as ReadonlyArray<readonly [string, unknown]>).map(([choice]) => choice)
          : undefined
      return [{ name: name.toUpperCase(), optional, repeatable, description: plain(node.description), choices }]
    }
    case "Variadic":
      return argsOf(node.args, optional || (node.min?._tag === "Some" ? node.min.value === 0 : true), true)
    case "WithDefault":
    case "WithFallbackConfig":
      return argsOf(node.args, true, repeatable)
    case "Map":
      return argsOf(node.args, optional, repeatable)
    case "Both":
      return [...argsOf(node.left, optional, repeatable), ...argsOf(node.right, optional, repeatable)]
    default:
      return []
  }
}

const docOf = (node: Node): Doc => {
  switch (node._tag) {
    case "Standard":
      return {
        name: node.name,
        description: plain(node.description),
        flags: flagsOf(node.options),
        args: argsOf(node.args),
        children: []
      }
    case "Map":
      return docOf(node.command)
    case "Subcommands": {
      const parent = docOf(node.parent)
      return { ...parent, children: (node.children as ReadonlyArray<Node>).map(docOf) }
    }
    default:
      return { name: node.name ?? "", description: "", flags: [], args: [], children: [] }
  }
}

/** The tree of commands under `root`, read from @effect/cli's descriptors. */
export const describe = (root: Command.Command<any, any, any, any>): Doc =>
  docOf((root as unknown as { readonly descriptor: Node }).descriptor)

/** The command at `path` (names of subcommands, the root's own name excluded). */
export const find = (root: Doc, path: ReadonlyArray<string>): Doc | undefined => {
  let doc: Doc | undefined = root
  for (const name of path) doc = doc?.children.find((c) => c.name === name)
  return doc
}

/** The longest run of leading words of `words` that name subcommands: the command they address. */
export const pathOf = (root: Doc, words: ReadonlyArray<string>): Array<string> => {
  const path: Array<string> = []
  let doc = root
  for (const word of words) {
    if (word.startsWith("-")) continue
    const child = doc.children.find((c) => c.name === word)
    if (child === undefined) break
    path.push(word)
    doc = child
  }
  return path
}

// ---------------------------------------------------------------------------------------------------------------
// What the descriptors do not say: the order and topics of commands and of `run`'s flags, and examples

/** The top-level commands by topic, as `jobs --help` lists them. */
export const COMMAND_GROUPS: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
  ["Run", ["run", "retry"]],
  ["Inspect", ["list", "ls", "status", "logs", "events", "wait", "top"]],
  ["Control", ["stop", "rm", "clean", "attach"]],
  ["Queue", ["group"]],
  ["Remote", ["worker", "pull"]],
  ["GPU", ["gpu"]],
  ["Dashboard & agents", ["serve", "mcp", "skills"]],
  ["Shell", ["completions"]]
]

/** `jobs run`'s flags by topic (every flag of `run` is in exactly one; a test holds it to the parser). */
export const RUN_FLAG_GROUPS: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
  ["Job", ["--name", "--key", "--cwd", "--each"]],
  ["Where", ["--tmux", "--attach", "--on", "--no-sync", "--slurm", "--gpu"]],
  ["Queue", ["--group", "--priority", "--after", "--after-any"]],
  ["Limits", ["--timeout", "--grace", "--max-log-size"]],
  ["Environment", ["--env", "--env-file"]],
  ["Output and hooks", ["--progress-pattern", "--on-done"]],
  ["Slurm (with --slurm)", ["--partition", "--cpus", "--mem", "--sbatch-arg"]],
  [
    "GPU (with --gpu)",
    [
      "--provider",
      "--max-price",
      "--min-vram",
      "--min-cuda",
      "--cloud",
      "--image",
      "--volume-disk",
      "--bootstrap",
      "--download",
      "--keep-alive",
      "--ssh-timeout"
    ]
  ]
]

/** Synopses where the descriptors cannot say it (the command after `--`). */
const SYNOPSES: Record<string, string> = {
  run: "jobs run [OPTIONS] -- COMMAND [ARGS]..."
}

/** Examples, run in CI in this order in one scratch home (test/integration/help.test.ts). */
export const EXAMPLES: Record<string, ReadonlyArray<readonly [string, string]>> = {
  "": [
    ["jobs run --name build -- sh -c 'echo building; sleep 1'", "start a job and get the terminal back"],
    ["jobs logs -f build", "follow its output until it ends"],
    ["jobs wait build && jobs status build", "wait for it, then show it in full"],
    ["jobs list", "the jobs of this project, newest first"]
  ],
  run: [
    ["jobs run -- sleep 60", "a command as it is (no shell)"],
    ["jobs run --name etl --timeout 30m -- sh -c 'echo a | tr a b'", "a pipeline, named, stopped after 30 min"],
    ["jobs run --group gpu --after etl -- echo train", "queued behind a slot and another job"],
    ["jobs run --tmux -- top -b -n 1", "in a tmux session you can attach to"]
  ],
  logs: [
    ["jobs logs etl", "the output so far"],
    ["jobs logs --tail 20 etl", "its last 20 lines"]
  ],
  stop: [
    ["jobs stop etl", "TERM, then KILL after the grace"],
    ["jobs stop --all --yes", "every running job of the home"]
  ]
}

const GLOBAL_FLAGS: ReadonlyArray<readonly [string, string]> = [
  ["--home DIR", "The jobs home (default: $JOBS_HOME, else ~/.jobs)"],
  ["--json", "Print one JSON document on stdout (errors too)"],
  ["-h, --help", "Print help (jobs COMMAND --help for one command)"],
  ["--version", "Print the version"],
  ["--completions SHELL", "Print a completion script (bash, zsh, fish): as jobs completions SHELL"]
]

// ---------------------------------------------------------------------------------------------------------------
// Rendering

/** Words of `text` in lines of at most `width` columns. */
const wrap = (text: string, width: number): Array<string> => {
  const lines: Array<string> = []
  let line = ""
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line === "") line = word
    else if (line.length + 1 + word.length <= width) line += ` ${word}`
    else {
      lines.push(line)
      line = word
    }
  }
  if (line !== "") lines.push(line)
  return lines.length === 0 ? [""] : lines
}

/**
 * Two columns: labels, and descriptions beside them (under them when a label is too long): wrapped, or cut to one
 * line with an ellipsis when `oneLine`.
 */
const table = (
  rows: ReadonlyArray<readonly [string, string]>,
  width: number,
  oneLine = false,
  indent = 2
): Array<string> => {
  const widest = Math.max(0, ...rows.map(([label]) => label.length))
  const column = Math.min(widest, Math.max(12, Math.floor(width * 0.4))) + indent + 2
  const out: Array<string> = []
  for (const [label, text] of rows) {
    const room = Math.max(20, width - column)
    const lines = oneLine ? [text.length <= room ? text : `${text.slice(0, room - 1).trimEnd()}…`] : wrap(text, room)
    const head = " ".repeat(indent) + label
    if (head.length + 2 <= column) out.push(head.padEnd(column) + lines[0])
    else out.push(head, " ".repeat(column) + lines[0])
    for (const line of lines.slice(1)) out.push(" ".repeat(column) + line)
  }
  return out
}

/** The text up to its first ". ", ": " or "; " outside parentheses (a command's one-line summary). */
const firstSentence = (text: string, stops = ".:;"): string => {
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (c === "(") depth++
    else if (c === ")") depth = Math.max(0, depth - 1)
    else if (depth === 0 && stops.includes(c) && (i + 1 === text.length || text[i + 1] === " ")) return text.slice(0, i)
  }
  return text
}

const flagLabel = (flag: Flag): string => {
  const value = flag.value ?? (flag.choices === undefined ? undefined : flag.choices.join("|"))
  const joined = value === undefined ? "" : value.startsWith("[=") ? value : ` ${value}`
  return `${flag.names.join(", ")}${joined}${flag.repeatable ? "..." : ""}`
}

/**
 * A flag's description: whole (`jobs help CMD`), or its first clause on one line (`--help`), without the
 * "With --gpu:" its topic already says.
 */
const flagText = (flag: Flag, topic: string, whole: boolean): string => {
  let text = flag.description
  const needs = /^With (--[a-z-]+( or --[a-z-]+)?): /.exec(text)
  if (needs !== null && (!whole || topic.includes(`(with ${needs[1]})`))) {
    const rest = text.slice(needs[0].length)
    text = rest.charAt(0).toUpperCase() + rest.slice(1)
    if (!topic.includes(`(with ${needs[1]})`)) text = `(${needs[1]}) ${text}`
  }
  if (!whole) text = firstSentence(text, ".;")
  return /repeatable/.test(text) || !flag.repeatable ? text : `${text} (repeatable)`
}

const usageOf = (doc: Doc, path: ReadonlyArray<string>): string => {
  const joined = path.join(" ")
  if (SYNOPSES[joined] !== undefined) return SYNOPSES[joined]
  const words = ["jobs", ...path]
  if (doc.children.length > 0) words.push("COMMAND")
  if (doc.flags.length > 0) words.push("[OPTIONS]")
  for (const arg of doc.args) {
    const name = `${arg.name}${arg.repeatable ? "..." : ""}`
    words.push(arg.optional ? `[${name}]` : name)
  }
  return words.join(" ")
}

const examplesOf = (key: string, width: number): Array<string> => {
  const examples = EXAMPLES[key]
  if (examples === undefined) return []
  const out = ["", "Examples:"]
  for (const [line, what] of examples) {
    out.push(...wrap(`# ${what}`, width - 2).map((l) => `  ${l}`))
    out.push(`  ${line}`)
  }
  return out
}

/** `jobs --help`: commands by topic, global options, examples. */
const renderRoot = (root: Doc, version: string, width: number): string => {
  const out = [
    `jobs ${version}: ${root.description.split(". ")[0]!.replace(/\.$/, "")}`,
    "",
    "Usage: jobs [--home DIR] [--json] COMMAND [OPTIONS]",
    ""
  ]
  const listed = new Set<string>()
  const byName = new Map(root.children.map((c) => [c.name, c]))
  const groups: Array<readonly [string, ReadonlyArray<string>]> = [...COMMAND_GROUPS]
  const other = root.children.map((c) => c.name).filter((n) => !COMMAND_GROUPS.some(([, names]) => names.includes(n)))
  if (other.length > 0) groups.push(["Other", other])
  for (const [title, names] of groups) {
    const rows: Array<readonly [string, string]> = []
    for (const name of names) {
      const doc = byName.get(name)
      if (doc === undefined || listed.has(name)) continue
      listed.add(name)
      rows.push([name, firstSentence(doc.description)])
    }
    if (rows.length === 0) continue
    out.push(`${title}:`, ...table(rows, width, true), "")
  }
  out.push("Options:", ...table(GLOBAL_FLAGS, width, true))
  out.push(...examplesOf("", width))
  out.push("", "Run `jobs COMMAND --help` for a command's options.")
  return out.join("\n") + "\n"
}

/**
 * `jobs COMMAND --help`: synopsis, description, arguments, options by topic (one line each), subcommands, examples;
 * `whole` (`jobs help COMMAND`) gives every description in full.
 */
const renderCommand = (doc: Doc, path: ReadonlyArray<string>, width: number, whole: boolean): string => {
  const description = whole ? doc.description : firstSentence(doc.description)
  const out = [`Usage: ${usageOf(doc, path)}`, "", ...wrap(description, width), ""]
  const args = doc.args.filter((a) => a.description !== "")
  if (args.length > 0)
    out.push(
      "Arguments:",
      ...table(
        args.map((a) => [a.name, a.description] as const),
        width
      ),
      ""
    )
  if (doc.children.length > 0) {
    const rows = doc.children.map((c) => [c.name, whole ? c.description : firstSentence(c.description)] as const)
    out.push("Commands:", ...table(rows, width, !whole), "")
  }
  const key = path.join(" ")
  const topics: ReadonlyArray<readonly [string, ReadonlyArray<string>]> =
    key === "run" ? RUN_FLAG_GROUPS : [["Options", doc.flags.map((f) => f.long)]]
  for (const [title, names] of topics) {
    const rows = doc.flags
      .filter((f) => names.includes(f.long))
      .map((f) => [flagLabel(f), flagText(f, title, whole)] as const)
    if (rows.length > 0) out.push(`${title}:`, ...table(rows, width, !whole), "")
  }
  const rest = doc.flags.filter((f) => !topics.some(([, names]) => names.includes(f.long)))
  if (rest.length > 0) {
    const rows = rest.map((f) => [flagLabel(f), flagText(f, "Other", whole)] as const)
    out.push("Other:", ...table(rows, width, !whole), "")
  }
  out.push("Global options:", ...table(GLOBAL_FLAGS.slice(0, 3), width, !whole))
  out.push(...examplesOf(key, width))
  if (!whole && path.length > 0) out.push("", `More: jobs help ${key}`)
  return out.join("\n") + "\n"
}

/** Help for the command at `path` (`[]` for `jobs` itself), `width` columns wide; `whole` for `jobs help`. */
export const render = (
  root: Doc,
  path: ReadonlyArray<string>,
  version: string,
  width: number,
  whole = false
): string => {
  const doc = find(root, path)
  if (doc === undefined || path.length === 0) return renderRoot(root, version, width)
  return renderCommand(doc, path, width, whole)
}

/** How wide help is drawn: the terminal's width (60 to 120 columns), 80 when not on a terminal. */
export const width = (): number => {
  const columns = process.stdout.isTTY === true ? (process.stdout.columns ?? 80) : 80
  return Math.max(60, Math.min(120, columns))
}

// ---------------------------------------------------------------------------------------------------------------
// Did you mean

/** Edit distance with transpositions (`--nmae` is one edit from `--name`). */
const distance = (a: string, b: string): number => {
  const d: Array<Array<number>> = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0))
  )
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1)
    }
  return d[a.length]![b.length]!
}

/** The closest of `candidates` to `word`, if close enough to be a slip (a third of its length, at least 1). */
export const closest = (word: string, candidates: ReadonlyArray<string>): string | undefined => {
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const candidate of candidates) {
    const d = distance(word, candidate)
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  const core = word.replace(/^-+/, "")
  return bestDistance <= Math.max(1, Math.floor(core.length / 3)) ? best : undefined
}

/**
 * @effect/cli's complaint about `words` in our words, with a suggestion when the slip is close to a known command
 * or flag ("did you mean"), or undefined when it is about something else.
 */
export const explain = (root: Doc, words: ReadonlyArray<string>, complaint: string): string | undefined => {
  const path = pathOf(root, words)
  const doc = find(root, path)!
  const where = ["jobs", ...path].join(" ")
  const unknown = /Received unknown argument: '([^']*)'/.exec(complaint)?.[1]
  const subcommand = /Invalid subcommand for/.test(complaint)
  if (subcommand || (unknown !== undefined && !unknown.startsWith("-") && doc.children.length > 0)) {
    const word = unknown ?? words.filter((w) => !w.startsWith("-"))[path.length]
    if (word === undefined) return undefined
    const names = doc.children.map((c) => c.name)
    const guess = closest(word, names)
    return `Cannot parse arguments: ${where} has no command "${word}"${
      guess === undefined ? ` (one of: ${names.join(", ")})` : ` (did you mean "${guess}"?)`
    }`
  }
  if (unknown === undefined || !unknown.startsWith("-")) return undefined
  const name = unknown.includes("=") ? unknown.slice(0, unknown.indexOf("=")) : unknown
  const guess = closest(
    name,
    doc.flags.map((f) => f.long)
  )
  return `Cannot parse arguments: ${where} has no flag "${name}"${
    guess === undefined ? ` (${where} --help lists them)` : ` (did you mean "${guess}"?)`
  }`
}

/**
 * The first word of `words` that looks like a flag the command does not have (the parser would take `--al` as a
 * job id), as a one-line error with a suggestion; values of flags that take one are skipped.
 */
export const unknownFlag = (root: Doc, words: ReadonlyArray<string>): string | undefined => {
  const path = pathOf(root, words)
  const doc = find(root, path)!
  const byName = new Map(doc.flags.flatMap((f) => f.names.map((n) => [n, f] as const)))
  const global = new Set(["--help", "-h", "--version", "--wizard"])
  const valued = new Set(["--completions", "--log-level"])
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!
    if (!word.startsWith("-") || word === "-" || /^-\d/.test(word)) continue
    const name = word.includes("=") ? word.slice(0, word.indexOf("=")) : word
    const flag = byName.get(name)
    if (flag !== undefined || valued.has(name)) {
      const takesValue = valued.has(name) || flag!.value !== undefined || flag!.choices !== undefined
      if (takesValue && !word.includes("=")) i++
      continue
    }
    if (global.has(name)) continue
    const where = ["jobs", ...path].join(" ")
    const guess = closest(
      name,
      doc.flags.map((f) => f.long)
    )
    return `Cannot parse arguments: ${where} has no flag "${name}"${
      guess === undefined ? ` (${where} --help lists them)` : ` (did you mean "${guess}"?)`
    }`
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------------------------
// The man page: the same help, every command, in roff

const roffLine = (line: string): string => {
  const escaped = line.replace(/\\/g, "\\e")
  return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped
}

/** Every command of `roots` (the main tree, then the trees of the heavier bundles) under `path`, depth first. */
const everyCommand = (doc: Doc, path: ReadonlyArray<string>): Array<ReadonlyArray<string>> => [
  ...(path.length > 0 ? [path] : []),
  ...doc.children.flatMap((c) => everyCommand(c, [...path, c.name]))
]

/**
 * `jobs(1)`: the top-level help, then each command's whole help (`jobs help CMD`), preformatted at 80 columns.
 * `extra` are trees whose commands replace the main tree's stubs of the same name (worker, gpu).
 */
export const manPage = (root: Doc, extra: ReadonlyArray<Doc>, version: string): string => {
  const merged: Doc = {
    ...root,
    children: root.children.map((c) => extra.flatMap((e) => e.children).find((e) => e.name === c.name) ?? c)
  }
  const block = (text: string) => [".nf", ...text.replace(/\n$/, "").split("\n").map(roffLine), ".fi"]
  const out = [
    `.TH JOBS 1 "" "jobs ${version}" "User Commands"`,
    ".SH NAME",
    "jobs, job \\- run any command in the background and check on it later",
    ".SH SYNOPSIS",
    ".B jobs",
    "[\\-\\-home DIR] [\\-\\-json] COMMAND [OPTIONS]",
    ".SH DESCRIPTION",
    ...block(render(merged, [], version, 72)),
    ".SH COMMANDS"
  ]
  for (const path of everyCommand(merged, [])) {
    out.push(`.SS jobs ${path.join(" ")}`, ...block(render(merged, path, version, 72, true)))
  }
  out.push(".SH SEE ALSO", "The README and SECURITY.md of the package.")
  return out.join("\n") + "\n"
}
