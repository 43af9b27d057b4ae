// A GPU cloud on loopback for tests and demos: one HTTP server that speaks RunPod's REST v2, Lambda's v1 and
// Vast's v0 at their real paths, with instances that walk through the real states and whose SSH endpoint is a
// real sshd (own host key and port; the key the client supplied authorized; HOME its own folder). Faults are
// injected through /_admin: rate limits with and without Retry-After, no capacity on an offer, a create that
// returns an id and then fails, SSH late after RUNNING, an instance that vanishes before it is terminated.
import * as ChildProcess from "node:child_process"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import type * as Provider from "../../core/provider.ts"

/** The faults to inject; each is read at the moment it applies. */
export interface Faults {
  /** The next `count` requests to a provider's API answer 429 (with Retry-After when `retryAfterSecs` is set). */
  rateLimit: Partial<Record<Provider.ProviderName, { count: number; retryAfterSecs: number | null }>>
  /** Offer ids (RunPod GPU id, Lambda type name, Vast ask id) whose create answers "no capacity". */
  noCapacity: Array<string>
  /** Offer ids whose create answers with an id, after which the instance fails instead of running. */
  createThenFail: Array<string>
  /** Seconds after RUNNING before the instance's sshd accepts connections. */
  sshLateSecs: number
}

export interface Options {
  readonly port?: number
  readonly keys?: Partial<Record<Provider.ProviderName, string>>
  /** Milliseconds of each state step (provisioning → starting → running). */
  readonly stepMs?: number
  /** Where instance folders go (default: a new temp dir). */
  readonly dir?: string
  readonly faults?: Partial<Faults>
}

/** The keys the emulator accepts unless told otherwise. */
export const DEFAULT_KEYS: Record<Provider.ProviderName, string> = {
  runpod: "emu-runpod-key",
  lambda: "emu-lambda-key",
  vast: "emu-vast-key"
}

interface Instance {
  readonly provider: Provider.ProviderName
  readonly id: string
  readonly name: string
  readonly offer: string
  readonly gpuName: string
  readonly gpuCount: number
  readonly pricePerHour: number
  readonly createdAt: number
  state: "provisioning" | "starting" | "running" | "failed" | "terminated"
  runningAt: number | null
  terminatedAt: number | null
  endedBy: string | null
  readonly home: string
  readonly sshPort: number
  readonly publicKeys: Array<string>
  /** The key an instance may use to delete itself (RunPod's pod key, Vast's instance_api_key). */
  readonly selfKey: string
  sshd: ChildProcess.ChildProcess | undefined
  readonly timers: Array<NodeJS.Timeout>
  readonly body: unknown
}

const RUNPOD_GPUS = [
  { id: "NVIDIA A100 80GB PCIe", name: "A100 PCIe", memory: 80, secure: 1.64, community: 1.19, max: [8, 4] },
  { id: "NVIDIA A100-SXM4-80GB", name: "A100 SXM", memory: 80, secure: 1.89, community: 1.39, max: [8, 8] },
  { id: "NVIDIA H100 80GB HBM3", name: "H100 SXM", memory: 80, secure: 2.99, community: 2.69, max: [8, 8] },
  { id: "NVIDIA GeForce RTX 4090", name: "RTX 4090", memory: 24, secure: 0.69, community: 0.34, max: [4, 8] }
]

const LAMBDA_TYPES = [
  { name: "gpu_1x_a100", description: "1x A100 (40 GB SXM4)", cents: 129, regions: ["us-east-1"] },
  { name: "gpu_2x_a100", description: "2x A100 (40 GB SXM4)", cents: 258, regions: ["us-east-1", "us-west-2"] },
  { name: "gpu_8x_a100", description: "8x A100 (40 GB SXM4)", cents: 1032, regions: ["us-west-2"] },
  { name: "gpu_1x_h100_pcie", description: "1x H100 (80 GB PCIe)", cents: 249, regions: ["us-west-1"] }
]

const VAST_ASKS = [
  {
    id: 1001,
    gpu_name: "A100_SXM4",
    num_gpus: 1,
    gpu_ram: 81920,
    dph_total: 1.1,
    cuda_max_good: 12.4,
    datacenter: true
  },
  {
    id: 1002,
    gpu_name: "A100_SXM4",
    num_gpus: 1,
    gpu_ram: 81920,
    dph_total: 1.25,
    cuda_max_good: 12.8,
    datacenter: true
  },
  {
    id: 1003,
    gpu_name: "A100_PCIE",
    num_gpus: 2,
    gpu_ram: 40960,
    dph_total: 2.2,
    cuda_max_good: 12.2,
    datacenter: true
  },
  {
    id: 1004,
    gpu_name: "RTX_4090",
    num_gpus: 1,
    gpu_ram: 24564,
    dph_total: 0.35,
    cuda_max_good: 12.4,
    datacenter: false
  },
  {
    id: 1005,
    gpu_name: "H100_SXM",
    num_gpus: 1,
    gpu_ram: 81920,
    dph_total: 2.5,
    cuda_max_good: 12.8,
    datacenter: true
  },
  { id: 1006, gpu_name: "RTX_3090", num_gpus: 1, gpu_ram: 24576, dph_total: 0.2, cuda_max_good: 11.8, datacenter: true }
]

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = Net.createServer()
    s.once("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const a = s.address()
      s.close(() => resolve(typeof a === "object" && a !== null ? a.port : 0))
    })
  })

/** The session id of a process (field 6 of /proc/PID/stat), or undefined. */
const sessionOf = (pid: number | string): number | undefined => {
  try {
    const text = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    return Number(text.slice(text.lastIndexOf(")") + 2).split(" ")[3])
  } catch {
    return undefined
  }
}

/** Kills every process of an instance: those with its marker in their environment, and their sessions. */
const killInstanceProcesses = (id: string) => {
  const marker = Buffer.from(`JOBS_EMU_INSTANCE=${id}\0`)
  const own = new Set([sessionOf("self"), sessionOf(process.ppid)])
  const sessions = new Set<number>()
  const pids: Array<number> = []
  for (const entry of Fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    let env: Buffer
    try {
      env = Fs.readFileSync(`/proc/${entry}/environ`)
    } catch {
      continue
    }
    if (!env.includes(marker)) continue
    pids.push(Number(entry))
    const sid = sessionOf(entry)
    if (sid !== undefined && sid > 1 && !own.has(sid)) sessions.add(sid)
  }
  for (const entry of Fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    const sid = sessionOf(entry)
    if (sid !== undefined && sessions.has(sid)) pids.push(Number(entry))
  }
  for (const pid of new Set(pids)) {
    try {
      process.kill(pid, "SIGKILL")
    } catch {
      // gone already
    }
  }
}

/** A running emulator. */
export interface Emulator {
  readonly url: string
  readonly port: number
  readonly keys: Record<Provider.ProviderName, string>
  readonly faults: Faults
  readonly close: () => Promise<void>
}

/** Starts the emulator on 127.0.0.1. */
export const start = async (options: Options = {}): Promise<Emulator> => {
  const keys = { ...DEFAULT_KEYS, ...options.keys }
  const stepMs = options.stepMs ?? 1000
  const dir = options.dir ?? Fs.mkdtempSync(Path.join(Os.tmpdir(), "jobs-gpu-emu-"))
  const ownDir = options.dir === undefined
  const faults: Faults = { rateLimit: {}, noCapacity: [], createThenFail: [], sshLateSecs: 0, ...options.faults }
  const instances = new Map<string, Instance>()
  const requests: Array<{ provider: string; method: string; path: string; body: unknown }> = []
  const lambdaKeys: Array<{ id: string; name: string; public_key: string }> = []
  const vastKeys: Array<string> = []
  const rented = new Set<string>()
  let url = ""
  let counter = 0

  const user = Os.userInfo().username
  const newId = (provider: Provider.ProviderName) =>
    provider === "vast"
      ? String(5000 + ++counter)
      : `${provider === "runpod" ? "pod" : "inst"}${Crypto.randomBytes(5).toString("hex")}`

  const startSshd = (inst: Instance) => {
    if (inst.state !== "running" || inst.sshd !== undefined) return
    const d = Path.join(inst.home, ".emu")
    const env = [
      `HOME=${inst.home}`,
      `PATH=${Path.join(d, "bin")}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`,
      `JOBS_EMU_INSTANCE=${inst.id}`,
      ...(inst.provider === "runpod" ? [`RUNPOD_POD_ID=${inst.id}`, `RUNPOD_API_KEY=${inst.selfKey}`] : [])
    ]
    Fs.writeFileSync(
      Path.join(d, "sshd_config"),
      [
        `Port ${inst.sshPort}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${Path.join(d, "host_ed25519")}`,
        `PidFile ${Path.join(d, "sshd.pid")}`,
        `AuthorizedKeysFile ${Path.join(d, "authorized_keys")}`,
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "PermitRootLogin prohibit-password",
        "Subsystem sftp internal-sftp",
        `SetEnv ${env.join(" ")}`,
        ""
      ].join("\n")
    )
    Fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 })
    inst.sshd = ChildProcess.spawn("/usr/sbin/sshd", ["-D", "-e", "-f", Path.join(d, "sshd_config")], {
      stdio: ["ignore", "ignore", Fs.openSync(Path.join(d, "sshd.log"), "a")]
    })
  }

  const create = (
    provider: Provider.ProviderName,
    spec: { name: string; offer: string; gpuName: string; gpuCount: number; pricePerHour: number; body: unknown },
    publicKeys: Array<string>
  ): Instance => {
    const id = newId(provider)
    const home = Path.join(dir, id)
    const d = Path.join(home, ".emu")
    Fs.mkdirSync(Path.join(d, "bin"), { recursive: true })
    ChildProcess.execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", Path.join(d, "host_ed25519")], {
      stdio: "ignore"
    })
    Fs.writeFileSync(Path.join(d, "authorized_keys"), publicKeys.map((k) => k.trim() + "\n").join(""))
    // powering off from inside ends the instance (what the guard falls back to where no API can)
    for (const cmd of ["poweroff", "shutdown"]) {
      Fs.writeFileSync(
        Path.join(d, "bin", cmd),
        `#!/bin/sh\nexec curl -fsS -X POST ${url}/_admin/poweroff/${provider}/${id} >/dev/null\n`,
        { mode: 0o755 }
      )
    }
    const inst: Instance = {
      provider,
      id,
      ...spec,
      createdAt: Date.now(),
      state: "provisioning",
      runningAt: null,
      terminatedAt: null,
      endedBy: null,
      home,
      sshPort: 0,
      publicKeys,
      selfKey: Crypto.randomBytes(16).toString("hex"),
      sshd: undefined,
      timers: []
    }
    const fail = faults.createThenFail.includes(spec.offer)
    void freePort().then((port) => {
      ;(inst as { sshPort: number }).sshPort = port
      inst.timers.push(
        setTimeout(() => {
          if (inst.state === "provisioning") inst.state = fail ? "failed" : "starting"
        }, stepMs),
        setTimeout(() => {
          if (inst.state !== "starting") return
          inst.state = "running"
          inst.runningAt = Date.now()
          inst.timers.push(setTimeout(() => startSshd(inst), faults.sshLateSecs * 1000))
        }, 2 * stepMs)
      )
    })
    instances.set(`${provider}:${id}`, inst)
    return inst
  }

  const end = (inst: Instance, by: string) => {
    if (inst.state === "terminated") return
    inst.state = "terminated"
    inst.terminatedAt = Date.now()
    inst.endedBy = by
    for (const t of inst.timers) clearTimeout(t)
    inst.sshd?.kill("SIGKILL")
    inst.sshd = undefined
    killInstanceProcesses(inst.id)
    rented.delete(inst.offer)
  }

  const find = (provider: Provider.ProviderName, id: string) => {
    const inst = instances.get(`${provider}:${id}`)
    return inst === undefined || inst.state === "terminated" ? undefined : inst
  }

  const hoursUp = (inst: Instance) => ((inst.terminatedAt ?? Date.now()) - inst.createdAt) / 3_600_000

  // ---- RunPod REST v2 ----
  const runpodPod = (inst: Instance) => {
    const running = inst.state === "running"
    const status = { provisioning: "PROVISIONING", starting: "STARTING", running: "RUNNING", failed: "ERROR" }[
      inst.state as "provisioning"
    ]
    const body = inst.body as any
    return {
      id: inst.id,
      name: inst.name,
      status,
      actions: running ? ["stop", "restart", "terminate"] : ["terminate"],
      image: body.image,
      args: body.args ?? "",
      disk: body.disk ?? 50,
      mounts: body.mounts ?? {},
      ports: body.ports ?? [],
      env: Object.fromEntries(Object.keys(body.env ?? {}).map((k) => [k, "***"])),
      registry: null,
      cloud: body.cloud ?? "SECURE",
      dataCenterId: "EMU-LOOPBACK-1",
      cudaVersion: "12.8",
      gpu: { id: inst.offer, count: inst.gpuCount },
      ssh: {
        proxy: null,
        direct:
          running && (body.ports ?? []).includes("22/tcp")
            ? {
                host: "127.0.0.1",
                port: inst.sshPort,
                username: user,
                command: `ssh ${user}@127.0.0.1 -p ${inst.sshPort}`
              }
            : null
      },
      template: null,
      cost: inst.pricePerHour,
      locked: false,
      runtime: running ? { uptimeSeconds: Math.round((Date.now() - (inst.runningAt ?? Date.now())) / 1000) } : null,
      createdAt: new Date(inst.createdAt).toISOString(),
      startedAt: inst.runningAt === null ? null : new Date(inst.runningAt).toISOString(),
      globalNetworking: false
    }
  }

  const problem = (status: number, title: string, detail: string) => ({ status, body: { title, status, detail } })

  const runpod = (method: string, path: string, query: URLSearchParams, body: any, key: string) => {
    const pod = /^\/v2\/pods\/([^/]+)(\/action)?$/.exec(path)
    const selfDelete =
      pod !== null &&
      (method === "DELETE" || (pod[2] !== undefined && body?.action === "terminate")) &&
      find("runpod", pod[1]!)?.selfKey === key
    if (key !== keys.runpod && !selfDelete) return problem(401, "Unauthorized", "invalid API key")
    if (method === "GET" && path === "/v2/catalog/gpus") {
      const cloud = (query.get("cloud") ?? "SECURE").toLowerCase() as "secure" | "community"
      const count = Number(query.get("count") ?? 1)
      return {
        status: 200,
        body: {
          gpus: RUNPOD_GPUS.map((g) => ({
            id: g.id,
            name: g.name,
            pool: null,
            manufacturer: "NVIDIA",
            memory: g.memory,
            secure: true,
            community: true,
            price: { secure: g.secure, community: g.community },
            maxCount: { secure: g.max[0], community: g.max[1] },
            availability: (cloud === "secure" ? g.max[0]! : g.max[1]!) >= count ? "HIGH" : "NONE",
            cudaVersions: [
              { version: "12.4", available: true },
              { version: "12.8", available: true }
            ]
          }))
        }
      }
    }
    if (method === "POST" && path === "/v2/pods") {
      if (typeof body?.name !== "string" || typeof body?.image !== "string" || typeof body?.gpu?.id !== "string")
        return problem(422, "Unprocessable Entity", "name, image and gpu.id are required")
      const gpu = RUNPOD_GPUS.find((g) => g.id === body.gpu.id)
      if (gpu === undefined) return problem(400, "Bad Request", `unknown GPU type "${body.gpu.id}"`)
      if (faults.noCapacity.includes(gpu.id))
        return problem(400, "Bad Request", "There are no instances currently available for this GPU type")
      const count = Number(body.gpu.count ?? 1)
      const perGpu = body.cloud === "COMMUNITY" ? gpu.community : gpu.secure
      const publicKey = body.env?.PUBLIC_KEY
      const inst = create(
        "runpod",
        { name: body.name, offer: gpu.id, gpuName: gpu.name, gpuCount: count, pricePerHour: perGpu * count, body },
        typeof publicKey === "string" ? [publicKey] : []
      )
      return { status: 201, body: runpodPod(inst) }
    }
    if (method === "GET" && path === "/v2/pods")
      return {
        status: 200,
        body: {
          pods: [...instances.values()]
            .filter((i) => i.provider === "runpod" && i.state !== "terminated")
            .map(runpodPod)
        }
      }
    if (pod !== null) {
      const inst = find("runpod", pod[1]!)
      if (inst === undefined) return problem(404, "Not Found", "pod not found")
      if (method === "GET" && pod[2] === undefined) return { status: 200, body: runpodPod(inst) }
      if (method === "DELETE" || (method === "POST" && pod[2] !== undefined && body?.action === "terminate")) {
        end(inst, selfDelete ? "self (pod key)" : "api")
        return { status: 204, body: null }
      }
    }
    return problem(404, "Not Found", `no route ${method} ${path}`)
  }

  // ---- Lambda Cloud v1 ----
  const lambdaError = (status: number, code: string, message: string) => ({
    status,
    body: { error: { code, message, suggestion: null } }
  })
  const lambdaInstance = (inst: Instance) => {
    const type = LAMBDA_TYPES.find((t) => t.name === inst.offer.split("@")[0])!
    const status = { provisioning: "booting", starting: "booting", running: "active", failed: "unhealthy" }[
      inst.state as "provisioning"
    ]
    return {
      id: inst.id,
      name: inst.name,
      ip: inst.state === "running" ? "127.0.0.1" : null,
      status,
      ssh_key_names: [(inst.body as any).ssh_key_names?.[0]],
      file_system_names: [],
      region: { name: inst.offer.split("@")[1], description: "emulated" },
      instance_type: { name: type.name, description: type.description, price_cents_per_hour: type.cents },
      hostname: `${inst.id}.emulated`,
      jupyter_token: null,
      jupyter_url: null,
      // not in Lambda's API (always ubuntu@ip:22 there): the emulator's sshd is on a port of its own
      ssh_port: inst.sshPort,
      ssh_user: user
    }
  }
  const lambda = (method: string, path: string, body: any, key: string) => {
    if (key !== keys.lambda)
      return lambdaError(401, "global/invalid-api-key", "API key was invalid, expired, or deleted.")
    if (method === "GET" && path === "/instance-types")
      return {
        status: 200,
        body: {
          data: Object.fromEntries(
            LAMBDA_TYPES.map((t) => [
              t.name,
              {
                instance_type: {
                  name: t.name,
                  description: t.description,
                  price_cents_per_hour: t.cents,
                  specs: { vcpus: 30, memory_gib: 200, storage_gib: 512 }
                },
                regions_with_capacity_available: t.regions.map((r) => ({ name: r, description: r }))
              }
            ])
          )
        }
      }
    if (method === "GET" && path === "/ssh-keys") return { status: 200, body: { data: lambdaKeys } }
    if (method === "POST" && path === "/ssh-keys") {
      if (typeof body?.name !== "string" || typeof body?.public_key !== "string")
        return lambdaError(400, "global/invalid-parameters", "name and public_key are required")
      const k = { id: Crypto.randomBytes(4).toString("hex"), name: body.name, public_key: body.public_key }
      lambdaKeys.push(k)
      return { status: 200, body: { data: k } }
    }
    if (method === "POST" && path === "/instance-operations/launch") {
      const type = LAMBDA_TYPES.find((t) => t.name === body?.instance_type_name)
      if (type === undefined || !type.regions.includes(body?.region_name))
        return lambdaError(400, "global/invalid-parameters", "unknown instance type or region")
      if (!Array.isArray(body.ssh_key_names) || body.ssh_key_names.length !== 1)
        return lambdaError(400, "global/invalid-parameters", "Currently, exactly one SSH key must be specified")
      const sshKey = lambdaKeys.find((k) => k.name === body.ssh_key_names[0])
      if (sshKey === undefined) return lambdaError(400, "global/invalid-parameters", "unknown SSH key name")
      if ((body.quantity ?? 1) > 1)
        return lambdaError(400, "global/invalid-parameters", "quantity: Input should be less than or equal to 1")
      const offer = `${type.name}@${body.region_name}`
      if (faults.noCapacity.includes(offer) || faults.noCapacity.includes(type.name))
        return lambdaError(
          400,
          "instance-operations/launch/insufficient-capacity",
          "Not enough capacity to fulfill launch request."
        )
      const count = Number(/^(\d+)x/.exec(type.description)![1])
      const inst = create(
        "lambda",
        {
          name: String(body.name ?? ""),
          offer,
          gpuName: type.description,
          gpuCount: count,
          pricePerHour: type.cents / 100,
          body
        },
        [sshKey.public_key]
      )
      return { status: 200, body: { data: { instance_ids: [inst.id] } } }
    }
    if (method === "GET" && path === "/instances")
      return {
        status: 200,
        body: {
          data: [...instances.values()]
            .filter((i) => i.provider === "lambda" && i.state !== "terminated")
            .map(lambdaInstance)
        }
      }
    const one = /^\/instances\/([^/]+)$/.exec(path)
    if (method === "GET" && one !== null) {
      const inst = find("lambda", one[1]!)
      return inst === undefined
        ? lambdaError(404, "global/object-does-not-exist", "Specified instance does not exist.")
        : { status: 200, body: { data: lambdaInstance(inst) } }
    }
    if (method === "POST" && path === "/instance-operations/terminate") {
      const ids: Array<string> = Array.isArray(body?.instance_ids) ? body.instance_ids : []
      const found = ids.map((id) => find("lambda", id))
      if (found.some((i) => i === undefined))
        return lambdaError(404, "global/object-does-not-exist", "Specified instance does not exist.")
      for (const inst of found) end(inst!, "api")
      return { status: 200, body: { data: { terminated_instances: found.map((i) => lambdaInstance(i!)) } } }
    }
    return lambdaError(404, "global/not-found", `no route ${method} ${path}`)
  }

  // ---- Vast.ai v0 ----
  const vastInstance = (inst: Instance) => {
    const status = { provisioning: null, starting: "loading", running: "running", failed: "exited" }[
      inst.state as "provisioning"
    ]
    return {
      id: Number(inst.id),
      label: inst.name,
      actual_status: status,
      intended_status: "running",
      cur_state: inst.state === "running" ? "running" : "stopped",
      next_state: "running",
      status_msg: inst.state === "failed" ? "Error response from daemon: OCI runtime create failed" : "",
      public_ipaddr: "127.0.0.1",
      ports: inst.state === "running" ? { "22/tcp": [{ HostIp: "0.0.0.0", HostPort: String(inst.sshPort) }] } : {},
      ssh_host: "ssh.emulated",
      ssh_port: 1,
      dph_total: inst.pricePerHour,
      gpu_name: inst.gpuName,
      num_gpus: inst.gpuCount,
      is_bid: false,
      start_date: inst.createdAt / 1000,
      image_runtype: "ssh_direct",
      // not in Vast's API (always root there)
      ssh_user: user
    }
  }
  const matches = (value: unknown, filter: any): boolean => {
    if (filter === null || typeof filter !== "object" || Array.isArray(filter)) return true
    for (const [op, want] of Object.entries(filter)) {
      const v = value as any
      const ok =
        op === "eq"
          ? v === want
          : op === "neq"
            ? v !== want
            : op === "gt"
              ? v > (want as number)
              : op === "gte"
                ? v >= (want as number)
                : op === "lt"
                  ? v < (want as number)
                  : op === "lte"
                    ? v <= (want as number)
                    : op === "in"
                      ? (want as Array<unknown>).includes(v)
                      : op === "notin"
                        ? !(want as Array<unknown>).includes(v)
                        : true
      if (!ok) return false
    }
    return true
  }
  const vast = (method: string, path: string, body: any, key: string) => {
    const one = /^\/api\/v0\/instances\/(\d+)\/$/.exec(path)
    const selfDelete = one !== null && method === "DELETE" && find("vast", one[1]!)?.selfKey === key
    if (key !== keys.vast && !selfDelete)
      return { status: 401, body: { success: false, error: "invalid_api_key", msg: "bad key" } }
    if (method === "POST" && path === "/api/v0/bundles/") {
      const asks = VAST_ASKS.map((a) => ({
        ...a,
        dph_base: a.dph_total * 0.9,
        disk_space: 500,
        direct_port_count: 4,
        rentable: !rented.has(String(a.id)),
        rented: rented.has(String(a.id)),
        hosting_type: a.datacenter ? 1 : 0,
        geolocation: "Emulated, EU",
        public_ipaddr: "127.0.0.1",
        verification: "verified"
      })).filter((a) =>
        Object.entries(body ?? {}).every(([k, f]) =>
          ["order", "limit", "type", "allocated_storage"].includes(k) ? true : matches((a as any)[k], f)
        )
      )
      return { status: 200, body: { offers: asks } }
    }
    if (method === "POST" && path === "/api/v0/ssh/") {
      if (typeof body?.ssh_key !== "string")
        return { status: 400, body: { success: false, error: "invalid_args", msg: "ssh_key" } }
      if (!vastKeys.includes(body.ssh_key.trim())) vastKeys.push(body.ssh_key.trim())
      return { status: 200, body: { success: true } }
    }
    const ask = /^\/api\/v0\/asks\/(\d+)\/$/.exec(path)
    if (method === "PUT" && ask !== null) {
      const a = VAST_ASKS.find((x) => String(x.id) === ask[1])
      if (a === undefined || rented.has(ask[1]!) || faults.noCapacity.includes(ask[1]!))
        return {
          status: 404,
          body: { success: false, error: "no_such_ask", msg: "Instance type is no longer available." }
        }
      if (typeof body?.image !== "string")
        return { status: 400, body: { success: false, error: "invalid_args", msg: "image is required" } }
      if (vastKeys.length === 0)
        return { status: 400, body: { success: false, error: "no_ssh_key_for_vm", msg: "add an ssh key" } }
      rented.add(ask[1]!)
      const inst = create(
        "vast",
        {
          name: String(body.label ?? ""),
          offer: ask[1]!,
          gpuName: a.gpu_name,
          gpuCount: a.num_gpus,
          pricePerHour: a.dph_total,
          body
        },
        [...vastKeys]
      )
      return { status: 200, body: { success: true, new_contract: Number(inst.id), instance_api_key: inst.selfKey } }
    }
    if (method === "GET" && path === "/api/v0/instances/") {
      const live = [...instances.values()].filter((i) => i.provider === "vast" && i.state !== "terminated")
      return { status: 200, body: { instances_found: live.length, instances: live.map(vastInstance) } }
    }
    if (one !== null) {
      const inst = find("vast", one[1]!)
      if (inst === undefined)
        return { status: 404, body: { success: false, error: "no_such_instance", msg: "Instance does not exist." } }
      if (method === "GET") return { status: 200, body: { instances: vastInstance(inst) } }
      if (method === "DELETE") {
        end(inst, selfDelete ? "self (instance key)" : "api")
        return { status: 200, body: { success: true } }
      }
    }
    return { status: 404, body: { success: false, error: "not_found", msg: `no route ${method} ${path}` } }
  }

  // ---- admin ----
  const adminView = (inst: Instance) => ({
    provider: inst.provider,
    id: inst.id,
    name: inst.name,
    state: inst.state,
    alive: inst.state !== "terminated",
    endedBy: inst.endedBy,
    sshPort: inst.sshPort,
    sshReady: inst.sshd !== undefined,
    home: inst.home,
    pricePerHour: inst.pricePerHour,
    hours: hoursUp(inst)
  })
  const admin = (method: string, path: string, body: any) => {
    if (method === "GET" && path === "/_admin/instances")
      return { status: 200, body: { instances: [...instances.values()].map(adminView) } }
    if (method === "GET" && path === "/_admin/requests") return { status: 200, body: { requests } }
    if (method === "GET" && path === "/_admin/faults") return { status: 200, body: faults }
    if (method === "POST" && path === "/_admin/faults") {
      Object.assign(faults, body ?? {})
      return { status: 200, body: faults }
    }
    const action = /^\/_admin\/(poweroff|vanish)\/(runpod|lambda|vast)\/([^/]+)$/.exec(path)
    if (method === "POST" && action !== null) {
      const inst = find(action[2] as Provider.ProviderName, action[3]!)
      if (inst === undefined) return { status: 404, body: { error: "no such instance" } }
      end(inst, action[1] === "poweroff" ? "poweroff" : "vanished")
      return { status: 200, body: adminView(inst) }
    }
    return { status: 404, body: { error: `no route ${method} ${path}` } }
  }

  const rateLimited = (provider: Provider.ProviderName) => {
    const limit = faults.rateLimit[provider]
    if (limit === undefined || limit.count <= 0) return undefined
    limit.count--
    return limit.retryAfterSecs === null ? {} : { "retry-after": String(limit.retryAfterSecs) }
  }

  const server = Http.createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      const u = new URL(req.url ?? "/", "http://127.0.0.1")
      const text = Buffer.concat(chunks).toString("utf8")
      let body: any = null
      try {
        body = text === "" ? null : JSON.parse(text)
      } catch {
        body = text
      }
      const key = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1] ?? u.searchParams.get("api_key") ?? ""
      const method = req.method ?? "GET"
      const provider: Provider.ProviderName | undefined = u.pathname.startsWith("/v2/")
        ? "runpod"
        : u.pathname.startsWith("/api/v1/")
          ? "lambda"
          : u.pathname.startsWith("/api/v0/")
            ? "vast"
            : undefined
      let answer: { status: number; body: unknown; headers?: Record<string, string> }
      if (provider !== undefined) {
        requests.push({ provider, method, path: u.pathname + u.search, body })
        const limited = rateLimited(provider)
        if (limited !== undefined) {
          answer = {
            status: 429,
            headers: limited,
            body:
              provider === "vast"
                ? { success: false, error: "rate_limited", msg: "API requests too frequent" }
                : provider === "lambda"
                  ? { error: { code: "global/rate-limited", message: "too many requests" } }
                  : { title: "Too Many Requests", status: 429, detail: "rate limit exceeded" }
          }
        } else if (provider === "runpod") answer = runpod(method, u.pathname, u.searchParams, body, key)
        else if (provider === "lambda") answer = lambda(method, u.pathname.slice("/api/v1".length), body, key)
        else answer = vast(method, u.pathname, body, key)
      } else if (u.pathname.startsWith("/_admin/")) answer = admin(method, u.pathname, body)
      else answer = { status: 404, body: { error: "not found" } }
      const payload = answer.body === null ? "" : JSON.stringify(answer.body)
      res.writeHead(answer.status, {
        ...(payload === "" ? {} : { "content-type": "application/json" }),
        ...(provider === "runpod" ? { RateLimit: "limit=100, remaining=99, reset=1" } : {}),
        ...answer.headers
      })
      res.end(payload)
    })
  })
  // clients keep connections open between polls: never close one under them
  server.keepAliveTimeout = 120_000
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve())
  })
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  url = `http://127.0.0.1:${port}`
  return {
    url,
    port,
    keys,
    faults,
    close: async () => {
      for (const inst of instances.values()) end(inst, "emulator closed")
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      // the instances' homes (their pushed work dirs) go with the emulator that made them
      if (ownDir) Fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** The environment that points the clients at an emulator. */
export const environment = (emulator: Pick<Emulator, "url" | "keys">): Record<string, string> => ({
  RUNPOD_API_URL: emulator.url,
  RUNPOD_API_KEY: emulator.keys.runpod,
  LAMBDA_API_URL: `${emulator.url}/api/v1`,
  LAMBDA_API_KEY: emulator.keys.lambda,
  VAST_API_URL: emulator.url,
  VAST_API_KEY: emulator.keys.vast
})
