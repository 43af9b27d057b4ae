// Pure parsing: durations, references, the env file, the command line split, ids.
import { describe, expect, it } from "@effect/vitest"
import * as Argv from "../../cli/argv.ts"
import * as Duration from "../../core/duration.ts"
import * as EnvFile from "../../core/env_file.ts"
import * as Ids from "../../core/ids.ts"
import * as Reference from "../../core/reference.ts"
import * as Workers from "../../core/workers.ts"

describe("Duration", () => {
  it("parses what people type", () => {
    expect(Duration.parseSeconds("90s")).toBe(90)
    expect(Duration.parseSeconds("30m")).toBe(1800)
    expect(Duration.parseSeconds("2h")).toBe(7200)
    expect(Duration.parseSeconds("7d")).toBe(604800)
    expect(Duration.parseSeconds("1h30m")).toBe(5400)
    expect(Duration.parseSeconds("45")).toBe(45)
    expect(Duration.parseSeconds("1.5s")).toBe(1.5)
  })
  it("refuses what it cannot read", () => {
    for (const bad of ["", "5x", "s", "1h 30m", "-1s", "1h30", "abc"])
      expect(Duration.parseSeconds(bad)).toBe(undefined)
  })
})

describe("Ids", () => {
  it("makes time-sortable ULIDs with an 8-character lowercase short id", () => {
    const a = Ids.make(1_700_000_000_000)
    const b = Ids.make(1_700_000_000_001)
    expect(Ids.isId(a)).toBe(true)
    expect(a < b).toBe(true)
    expect(Ids.time(a)).toBe(1_700_000_000_000)
    expect(Ids.shortId(a)).toBe(a.slice(-8).toLowerCase())
  })
})

describe("Reference", () => {
  const ids = ["01JAAAAAAAAAAAAAAAAAABCDEFGH", "01JAAAAAAAAAAAAAAAAAABCDXYZW", "01JBBBBBBBBBBBBBBBBBBB123456"].map(
    (s) => s.slice(0, 26)
  )
  const names = () => [
    { id: ids[0]!, name: "train" },
    { id: ids[1]!, name: "dup" },
    { id: ids[2]!, name: "dup" }
  ]
  it("finds an exact id, short id, name and unique prefix, in that order", () => {
    expect(Reference.resolve(ids[0]!, ids, names)).toEqual({ _tag: "Found", id: ids[0] })
    expect(Reference.resolve(Ids.shortId(ids[2]!), ids, names)).toEqual({ _tag: "Found", id: ids[2] })
    expect(Reference.resolve("train", ids, names)).toEqual({ _tag: "Found", id: ids[0] })
    expect(Reference.resolve("01JB", ids, names)).toEqual({ _tag: "Found", id: ids[2] })
  })
  it("takes a name shared by several jobs as the newest of them, and name~N as the Nth before it", () => {
    expect(Reference.resolve("dup", ids, names)).toEqual({ _tag: "Found", id: ids[2] })
    expect(Reference.resolve("dup~1", ids, names)).toEqual({ _tag: "Found", id: ids[1] })
    expect(Reference.resolve("dup~2", ids, names)._tag).toBe("NotFound")
  })
  it("lists the candidates of an ambiguous prefix", () => {
    expect(Reference.resolve("01JA", ids, names)).toEqual({ _tag: "Ambiguous", candidates: [ids[0], ids[1]] })
  })
  it("does not match prefixes shorter than 4 characters, nor unknown names", () => {
    expect(Reference.resolve("01J", ids, names)._tag).toBe("NotFound")
    expect(Reference.resolve("nope", ids, names)._tag).toBe("NotFound")
  })
})

describe("EnvFile", () => {
  it("round-trips any value through the sh-sourceable format", () => {
    const env = { A: "plain", B: 'it\'s "quoted" $HOME `x` \\n', C: "multi\nline", D: "ü 日本 🎉", E: "" }
    expect(EnvFile.parse(EnvFile.render(env))).toEqual(env)
  })
  it("leaves out names a shell cannot export", () => {
    expect(EnvFile.render({ "BASH_FUNC_x%%": "() {}", OK: "1" })).toBe("export OK='1'\n")
  })
  it("reads dotenv files", () => {
    expect(EnvFile.parseDotenv("# c\nA=1\nexport B='two words'\nC=\"x\\ny\"\n\n")).toEqual({
      A: "1",
      B: "two words",
      C: "x\ny"
    })
    expect(EnvFile.parseDotenv("A=1\nnot a line\n")).toBe("line 2 is not NAME=value")
  })
})

describe("Argv.split", () => {
  it("takes the command after -- verbatim, flags and all", () => {
    const s = Argv.split(["run", "--name", "x", "--", "ls", "--json", "-la", "--", "a b"])
    expect(s.cli).toEqual(["run", "--name", "x"])
    expect(s.command).toEqual(["ls", "--json", "-la", "--", "a b"])
    expect(s.json).toBe(false)
  })
  it("finds global flags anywhere before --", () => {
    const s = Argv.split(["--home", "/h", "list", "--json", "--all"])
    expect(s).toMatchObject({ cli: ["list", "--all"], home: "/h", json: true })
  })
  it("starts the command at the first word that is not a flag's value when -- is missing", () => {
    expect(Argv.split(["run", "--timeout", "5s", "sleep", "1", "--json"]).command).toEqual(["sleep", "1", "--json"])
    expect(Argv.split(["run", "--bogus", "--", "x"]).cli).toEqual(["run", "--bogus"])
  })
  it("gives a bare --on the default worker's placeholder", () => {
    expect(Argv.split(["run", "--on", "--", "true"]).cli).toEqual(["run", "--on", Argv.DEFAULT_WORKER])
    expect(Argv.split(["run", "--on", "-n", "--", "true"]).cli).toEqual(["run", "--on", Argv.DEFAULT_WORKER, "-n"])
    expect(Argv.split(["run", "--on", "gpu", "--", "true"]).cli).toEqual(["run", "--on", "gpu"])
  })
  it("reports a --home without a value", () => {
    expect(Argv.split(["list", "--home"]).error).toContain("--home")
  })
})

describe("Workers.rsyncFailure", () => {
  it("names why rsync's remote shell could not reach the worker, else rsync's last line", () => {
    const pipe = `${Workers.pipeFailure("gpu:01J", "connection refused by [10.0.0.1]:22 (is sshd listening on port 22 there?)")}\n`
    const rsync =
      "rsync: connection unexpectedly closed (0 bytes received so far) [Receiver]\n" +
      "rsync error: unexplained error (code 255) at io.c(232) [Receiver=3.2.7]\n"
    expect(Workers.rsyncFailure(pipe + rsync)).toBe(
      "connection refused by [10.0.0.1]:22 (is sshd listening on port 22 there?)"
    )
    expect(Workers.rsyncFailure(rsync)).toBe("rsync error: unexplained error (code 255) at io.c(232) [Receiver=3.2.7]")
    expect(Workers.pipeFailureIn(rsync)).toBeUndefined()
    expect(Workers.rsyncFailure("")).toBeUndefined()
  })
})
