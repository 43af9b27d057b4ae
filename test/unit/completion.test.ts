// What completion offers after the words typed, on the parsers' own tree (main, worker and gpu): comma lists,
// `run`'s command, global flags, values in `--flag=value`, and names a shell could not show as one candidate.
import * as Command from "@effect/cli/Command"
import { describe, expect, it } from "@effect/vitest"
import * as Gpu from "../../cli/commands/gpu.ts"
import * as Worker from "../../cli/commands/worker.ts"
import * as Completion from "../../cli/completion.ts"
import * as Help from "../../cli/help.ts"
import { root } from "../../cli/main.ts"
import * as Provider from "../../core/provider.ts"

const tree = Completion.merge(
  Help.describe(root),
  [Worker.command, Gpu.command].map((c) => Help.describe(Command.make("jobs").pipe(Command.withSubcommands([c]))))
)
const lists: Completion.Lists = {
  providers: [...Provider.PROVIDERS],
  gpuTypes: Provider.GPU_TYPES,
  statuses: ["running", "failed"],
  signals: ["TERM", "KILL"]
}
const sources: Completion.Sources = {
  jobs: () => [
    { id: "01JD7X4ZK3M0Q8V2N6R5T1W9YH", name: "train", status: "running" },
    { id: "01JD7X4ZK2AAAAAAAAAABBBBBB", name: "evil\tname" },
    { id: "01JD7X4ZK1CCCCCCCCCCDDDDDD", name: null }
  ],
  workers: () => ["gpu-box", "lab"],
  groups: () => ["gpu", "cpu"]
}

const offered = (...words: Array<string>) => {
  const answer = Completion.complete(tree, words, sources, lists)
  return answer._tag === "values" ? answer.candidates.map((c) => c.value) : answer
}

describe("Completion.complete", () => {
  it("has the worker and gpu trees, not their stubs", () => {
    expect(offered("worker", "")).toEqual(["add", "default", "ls", "register", "rm"])
    expect(offered("gpu", "offers", "--ty")).toEqual(["--type"])
  })

  it("offers jobs newest first, without names a shell cannot show", () => {
    expect(offered("status", "")).toEqual(["train", "r5t1w9yh", "aabbbbbb", "ccdddddd"])
    expect(offered("logs", "01JD7X4ZK1")).toEqual(["01JD7X4ZK1CCCCCCCCCCDDDDDD"])
  })

  it("completes each item of a comma list", () => {
    expect(offered("run", "--after", "train,r5")).toEqual(["train,r5t1w9yh"])
    expect(offered("run", "--provider=runpod,l")).toEqual(["--provider=runpod,lambda"])
  })

  it("hands the job's command to the shell, after `--` or from the first word that is not a flag", () => {
    expect(offered("run", "--name", "x", "--", "ec")).toEqual({ _tag: "command", offset: 4 })
    expect(offered("run", "--group", "gpu", "python", "tr")).toEqual({ _tag: "command", offset: 3 })
    expect(offered("run", "--gpu", "")).toContain("A100")
    expect(offered("run", "--cwd", "")).toEqual({ _tag: "dirs" })
  })

  it("reads global flags and their values anywhere before the command", () => {
    expect(offered("--home", "/tmp/h", "group", "pause", "")).toEqual(["gpu", "cpu"])
    expect(offered("--json", "run", "--on", "l")).toEqual(["lab"])
    expect(offered("stop", "--signal", "")).toEqual(["TERM", "KILL"])
  })

  it("offers the values a value name lists, and commands after help", () => {
    expect(offered("run", "--cloud", "")).toEqual(["secure", "community"])
    expect(offered("help", "worker", "r")).toEqual(["register", "rm"])
  })

  it("offers the argument of a command that also has subcommands", () => {
    expect(offered("completions", "")).toEqual(["bash", "fish", "install", "zsh"])
  })

  it("offers GPU types that every provider's catalogue can match", () => {
    for (const name of [
      "NVIDIA A100 80GB PCIe",
      "NVIDIA GeForce RTX 4090",
      "RTX_3090",
      "H100_SXM",
      "1x A100 (40 GB SXM4)"
    ])
      expect(
        Provider.GPU_TYPES.some((t) => Provider.typeMatches(t, name)),
        name
      ).toBe(true)
  })
})
