// The provider clients against the emulator: offers, create, get (states, SSH endpoint), terminate (idempotent),
// list; the retry policy under 429 with and without Retry-After; typed errors; the RunPod requests validated
// against RunPod's own OpenAPI document; and each instance's sshd reachable with the key the client supplied.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Effect from "effect/Effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Emulator from "../../adapters/gpu/emulator.ts"
import * as Providers from "../../adapters/gpu/providers.ts"
import * as Provider from "../../core/provider.ts"
import { tempDir } from "../support/cli.ts"
import { validator } from "../support/json_schema.ts"
import * as Sshd from "../support/sshd.ts"

const inCi = process.env.CI !== undefined
const can = Sshd.available()
if (!can && !inCi) console.warn("SKIPPING GPU provider tests: install openssh-server (apt-get install openssh-server)")

// a copy of ../shared/reference/runpod-rest-v2.openapi.json, so that the test needs nothing outside the repo
const OPENAPI = Path.resolve(import.meta.dirname, "../fixtures/runpod-rest-v2.openapi.json")
const openapi = Fs.existsSync(OPENAPI) ? JSON.parse(Fs.readFileSync(OPENAPI, "utf8")) : undefined

let emulator: Emulator.Emulator
let keyDir: string
let publicKey: string
// short back-offs: the retry policy is what is tested, not its patience
process.env.JOBS_GPU_RETRY_BASE_MS = "20"

const client = (name: Provider.ProviderName, key?: string) =>
  Providers.make(name, {
    urls: { runpod: emulator.url, lambda: `${emulator.url}/api/v1`, vast: emulator.url },
    keys: { [name]: key ?? emulator.keys[name] }
  })
const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(Effect.either(effect))
const admin = async (path: string, body?: unknown) =>
  (
    await fetch(
      `${emulator.url}/_admin/${path}`,
      body === undefined ? {} : { method: "POST", body: JSON.stringify(body) }
    )
  ).json() as Promise<any>
const alive = async () => (await admin("instances")).instances.filter((i: any) => i.alive)

const waitRunning = async (p: Provider.Provider, id: string) => {
  for (let i = 0; i < 100; i++) {
    const r = await run(p.get(id))
    if (r._tag === "Right" && r.right?.state === "running" && r.right.ssh !== null) return r.right
    await new Promise((res) => setTimeout(res, 50))
  }
  throw new Error(`instance ${id} never ran`)
}

const sshEcho = (endpoint: Provider.Endpoint) =>
  ChildProcess.spawnSync(
    "ssh",
    [
      "-i",
      Path.join(keyDir, "id_ed25519"),
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "UserKnownHostsFile=/dev/null",
      "-o",
      "BatchMode=yes",
      "-p",
      String(endpoint.port),
      `${endpoint.user}@${endpoint.host}`,
      'echo "home=$HOME pod=${RUNPOD_POD_ID:-none}"'
    ],
    { encoding: "utf8" }
  )

beforeAll(async () => {
  if (!can && !inCi) return
  emulator = await Emulator.start({ stepMs: 100 })
  keyDir = tempDir("jobs-gpu-key-")
  ChildProcess.execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", Path.join(keyDir, "id_ed25519")])
  publicKey = Fs.readFileSync(Path.join(keyDir, "id_ed25519.pub"), "utf8").trim()
})
afterAll(async () => {
  try {
    if (emulator !== undefined) expect(await alive()).toEqual([])
  } finally {
    await emulator?.close()
  }
})

describe.skipIf(!can && !inCi)("GPU provider clients against the emulator", () => {
  it("RunPod: offers, create, a real sshd with our key, terminate twice, and every request valid per the OpenAPI", async () => {
    const p = client("runpod")
    const q = Provider.query({ type: "A100", maxPrice: 1.7, providers: ["runpod"] })
    const offers = await run(p.offers(q))
    expect(offers._tag).toBe("Right")
    const list = offers._tag === "Right" ? offers.right : []
    expect(list.map((o) => o.id)).toEqual(["NVIDIA A100 80GB PCIe"])
    const created = await run(
      p.create({
        offer: list[0]!,
        name: "jobs-test-runpod",
        publicKey,
        query: { ...q, volumeDiskGb: 20 },
        image: "img"
      })
    )
    if (created._tag !== "Right") throw new Error(String(created.left))
    const instance = await waitRunning(p, created.right.id)
    expect(instance).toMatchObject({ provider: "runpod", name: "jobs-test-runpod", pricePerHour: 1.64 })
    const ssh = sshEcho(instance.ssh!)
    expect(ssh.status, ssh.stderr).toBe(0)
    expect(ssh.stdout).toContain(`pod=${created.right.id}`)
    const listed = await run(p.list("jobs-test-"))
    expect(listed._tag === "Right" ? listed.right.map((i) => i.id) : []).toEqual([created.right.id])
    expect((await run(p.terminate(created.right.id)))._tag).toBe("Right")
    // already gone: still a success, and get says so
    expect((await run(p.terminate(created.right.id)))._tag).toBe("Right")
    const gone = await run(p.get(created.right.id))
    expect(gone._tag === "Right" && gone.right).toBeUndefined()

    if (openapi === undefined) throw new Error(`RunPod's OpenAPI document is not at ${OPENAPI}`)
    const v = validator(openapi)
    const creates = (await admin("requests")).requests.filter((r: any) => r.method === "POST" && r.path === "/v2/pods")
    expect(creates.length).toBeGreaterThan(0)
    for (const r of creates) expect(v.validate("CreatePodRequest", r.body)).toEqual([])
    // the validator has teeth: a wrong field, type or enum value fails
    const good = creates[0].body
    expect(v.validate("CreatePodRequest", { ...good, bogus: 1 })).toEqual(['$: "bogus" is not allowed'])
    expect(v.validate("CreatePodRequest", { ...good, cloud: "ALL" })[0]).toMatch(/cloud: "ALL" is not one of/)
    expect(v.validate("CreatePodRequest", { ...good, gpu: { ...good.gpu, count: "2" } })[0]).toMatch(
      /gpu\.count: expected integer/
    )
    expect(v.validate("CreatePodRequest", { ...good, gpu: { ...good.gpu, minCudaVersion: "12" } })[0]).toMatch(
      /does not match/
    )
    expect(v.validate("CreatePodRequest", { ...good, mounts: { persistent: { size: 5, path: "/w" } } })[0]).toMatch(
      /below 10/
    )
    const { image: _image, ...noImage } = good
    expect(v.validate("CreatePodRequest", noImage)).toEqual(['$: "image" is required'])
  })

  it("Lambda: registers the SSH key by name, launches, says no capacity, and terminates", async () => {
    const p = client("lambda")
    const q = Provider.query({ type: "A100", count: 2, providers: ["lambda"] })
    const offers = await run(p.offers(q))
    const list = offers._tag === "Right" ? offers.right : []
    expect(list.map((o) => [o.id, o.pricePerGpu, o.priceTotal])).toEqual([
      ["gpu_2x_a100@us-east-1", 1.29, 2.58],
      ["gpu_2x_a100@us-west-2", 1.29, 2.58]
    ])
    await admin("faults", { noCapacity: ["gpu_2x_a100@us-east-1"] })
    const refused = await run(p.create({ offer: list[0]!, name: "jobs-test-lambda", publicKey, query: q, image: "" }))
    expect(refused._tag === "Left" && refused.left._tag).toBe("NoCapacity")
    await admin("faults", { noCapacity: [] })
    const created = await run(p.create({ offer: list[1]!, name: "jobs-test-lambda", publicKey, query: q, image: "" }))
    if (created._tag !== "Right") throw new Error(String(created.left))
    const instance = await waitRunning(p, created.right.id)
    expect(sshEcho(instance.ssh!).status).toBe(0)
    expect((await run(p.terminate(created.right.id)))._tag).toBe("Right")
    expect((await run(p.terminate(created.right.id)))._tag).toBe("Right")
  })

  it("Vast: rents an ask, the instance deletes itself with its own key, and a destroy of the gone one succeeds", async () => {
    const p = client("vast")
    const q = Provider.query({ type: "A100", maxPrice: 1.2, providers: ["vast"] })
    const offers = await run(p.offers(q))
    const list = offers._tag === "Right" ? offers.right : []
    expect(list.map((o) => o.id)).toEqual(["1001"])
    const created = await run(p.create({ offer: list[0]!, name: "jobs-test-vast", publicKey, query: q, image: "img" }))
    if (created._tag !== "Right") throw new Error(String(created.left))
    expect(created.right.instanceKey).toMatch(/^[0-9a-f]{32}$/)
    const instance = await waitRunning(p, created.right.id)
    expect(sshEcho(instance.ssh!).status).toBe(0)
    // what the instance-side guard does: DELETE with the instance's own key
    const self = await fetch(`${emulator.url}/api/v0/instances/${created.right.id}/`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${created.right.instanceKey}` }
    })
    expect(self.status).toBe(200)
    expect((await run(p.terminate(created.right.id)))._tag).toBe("Right")
    const ended = (await admin("instances")).instances.find((i: any) => i.id === created.right.id)
    expect(ended).toMatchObject({ alive: false, endedBy: "self (instance key)" })
  })

  it("retries 429 with Retry-After and without it (Vast), and fails fast on a refused key", async () => {
    await admin("faults", {
      rateLimit: { runpod: { count: 2, retryAfterSecs: 0 }, vast: { count: 3, retryAfterSecs: null } }
    })
    const before = (await admin("requests")).requests.length
    const r1 = await run(
      Providers.make("runpod", { urls: { runpod: emulator.url }, keys: { runpod: emulator.keys.runpod } }).offers(
        Provider.query({ providers: ["runpod"] })
      )
    )
    expect(r1._tag).toBe("Right")
    const vast = Providers.make("vast", { urls: { vast: emulator.url }, keys: { vast: emulator.keys.vast } })
    const r2 = await run(vast.offers(Provider.query({ providers: ["vast"] })))
    expect(r2._tag).toBe("Right")
    // 2 + 1 RunPod requests, 3 + 1 Vast ones
    expect((await admin("requests")).requests.length - before).toBe(7)

    const bad = await run(client("runpod", "wrong").offers(Provider.query()))
    expect(bad._tag === "Left" && bad.left._tag).toBe("AuthFailed")
    expect(bad._tag === "Left" && bad.left.message).toMatch(
      /^Cannot use runpod: the API key was refused \(401: .*RUNPOD_API_KEY\)$/
    )
  })
})
