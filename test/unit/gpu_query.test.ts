// The GPU query mapped to each provider's request, offers read from each provider's answer, and the price
// comparison across providers (per GPU: RunPod quotes per GPU, Lambda and Vast per instance).
import { describe, expect, it } from "vitest"
import * as Http from "../../adapters/gpu/_http.ts"
import * as Lambda from "../../adapters/gpu/lambda.ts"
import * as RunPod from "../../adapters/gpu/runpod.ts"
import * as Vast from "../../adapters/gpu/vast.ts"
import * as Provider from "../../core/provider.ts"

describe("the GPU query", () => {
  it("has the seed's defaults", () => {
    expect(Provider.query()).toEqual({
      type: undefined,
      count: 1,
      maxPrice: undefined,
      minVramGb: undefined,
      cloudType: "secure",
      minCuda: "12.0",
      containerDiskGb: 100,
      volumeDiskGb: 0,
      providers: ["runpod", "lambda", "vast"]
    })
  })

  it("parses --gpu TYPE[:N]", () => {
    expect(Provider.parseGpuFlag("A100:2")).toEqual({ type: "A100", count: 2 })
    expect(Provider.parseGpuFlag("h100")).toEqual({ type: "h100", count: 1 })
    expect(Provider.parseGpuFlag(":4")).toEqual({ type: undefined, count: 4 })
    expect(Provider.parseGpuFlag("A100:0")).toBeUndefined()
    expect(Provider.parseGpuFlag("A100:x")).toBeUndefined()
  })

  it("compares CUDA versions numerically and matches types as a part of the name", () => {
    expect(Provider.compareCuda("12.11", "12.2")).toBeGreaterThan(0)
    expect(Provider.compareCuda("11.8", "12.0")).toBeLessThan(0)
    expect(Provider.typeMatches("a100", "NVIDIA A100-SXM4-80GB")).toBe(true)
    expect(Provider.typeMatches("RTX 4090", "RTX_4090")).toBe(true)
    expect(Provider.typeMatches("H100", "A100 PCIE")).toBe(false)
  })

  it("maps to RunPod's catalog query and CreatePodRequest", () => {
    const q = Provider.query({ type: "A100", count: 2, cloudType: "community", volumeDiskGb: 5 })
    expect(Object.fromEntries(new URLSearchParams(RunPod.catalogQuery(q)))).toEqual({
      include: "AVAILABILITY",
      product: "POD",
      count: "2",
      cloud: "COMMUNITY",
      minCudaVersion: "12.0"
    })
    const offer = RunPod.offersOf(q, {
      gpus: [
        {
          id: "NVIDIA A100 80GB PCIe",
          name: "A100 PCIe",
          memory: 80,
          secure: true,
          community: true,
          price: { secure: 1.64, community: 1.19 },
          maxCount: { secure: 8, community: 4 },
          availability: "HIGH",
          cudaVersions: [
            { version: "12.8", available: true },
            { version: "12.10", available: true }
          ]
        }
      ]
    })[0]!
    expect(offer).toMatchObject({ pricePerGpu: 1.19, priceTotal: 2.38, cuda: "12.10", vramGb: 80 })
    const body = RunPod.createBody({ offer, name: "jobs-x", publicKey: "ssh-ed25519 AAA k", query: q, image: "img" })
    expect(body).toMatchObject({
      name: "jobs-x",
      image: "img",
      cloud: "COMMUNITY",
      gpu: { id: "NVIDIA A100 80GB PCIe", count: 2, minCudaVersion: "12.0" },
      disk: 100,
      ports: ["22/tcp"],
      env: { PUBLIC_KEY: "ssh-ed25519 AAA k" },
      // the 10 GB floor of a persistent mount
      mounts: { persistent: { size: 10, path: "/workspace" } }
    })
  })

  it("leaves out RunPod GPUs that are unavailable, too few, too dear, too small or not in the cloud", () => {
    const gpu = (over: Record<string, unknown>) => ({
      id: "NVIDIA A100-SXM4-80GB",
      name: "A100 SXM",
      memory: 80,
      secure: true,
      community: false,
      price: { secure: 1.89, community: 0 },
      maxCount: { secure: 8, community: 0 },
      availability: "HIGH",
      ...over
    })
    const q = Provider.query({ type: "A100", count: 2, maxPrice: 2, minVramGb: 40 })
    expect(RunPod.offersOf(q, { gpus: [gpu({})] })).toHaveLength(1)
    expect(RunPod.offersOf(q, { gpus: [gpu({ availability: "NONE" })] })).toHaveLength(0)
    expect(RunPod.offersOf(q, { gpus: [gpu({ maxCount: { secure: 1, community: 0 } })] })).toHaveLength(0)
    expect(RunPod.offersOf(q, { gpus: [gpu({ price: { secure: 2.5, community: 0 } })] })).toHaveLength(0)
    expect(RunPod.offersOf(q, { gpus: [gpu({ memory: 24 })] })).toHaveLength(0)
    expect(RunPod.offersOf({ ...q, cloudType: "community" }, { gpus: [gpu({})] })).toHaveLength(0)
  })

  it("reads Lambda's per-instance prices as per GPU, one offer per region with capacity", () => {
    const body = {
      data: {
        gpu_8x_a100: {
          instance_type: { name: "gpu_8x_a100", description: "8x A100 (40 GB SXM4)", price_cents_per_hour: 1032 },
          regions_with_capacity_available: [{ name: "us-east-1" }, { name: "us-west-2" }]
        },
        gpu_1x_a100: {
          instance_type: { name: "gpu_1x_a100", description: "1x A100 (40 GB SXM4)", price_cents_per_hour: 129 },
          regions_with_capacity_available: []
        }
      }
    }
    const offers = Lambda.offersOf(Provider.query({ type: "a100", count: 8, maxPrice: 1.3 }), body)
    expect(offers.map((o) => o.id)).toEqual(["gpu_8x_a100@us-east-1", "gpu_8x_a100@us-west-2"])
    expect(offers[0]).toMatchObject({ pricePerGpu: 1.29, priceTotal: 10.32, vramGb: 40, cuda: null })
    // a price cap per GPU, not per instance: 10.32 for eight is 1.29 each
    expect(Lambda.offersOf(Provider.query({ type: "a100", count: 8, maxPrice: 1.2 }), body)).toEqual([])
    // no capacity in any region: no offer
    expect(Lambda.offersOf(Provider.query({ type: "a100", count: 1 }), body)).toEqual([])
    expect(Lambda.parseDescription("1x Tesla V100 (16 GB)")).toEqual({ count: 1, model: "V100", vramGb: 16 })
  })

  it("maps to Vast's search filters with the cap per instance, and reads per-GPU prices", () => {
    const q = Provider.query({ type: "4090", count: 2, maxPrice: 0.5, minVramGb: 24 })
    expect(Vast.searchBody(q)).toMatchObject({
      num_gpus: { eq: 2 },
      dph_total: { lte: 1 },
      gpu_ram: { gte: Math.floor(24 * 1024 * 0.93) },
      cuda_max_good: { gte: 12 },
      datacenter: { eq: true },
      direct_port_count: { gte: 1 },
      order: [["dph_total", "asc"]]
    })
    const offers = Vast.offersOf(q, {
      offers: [
        {
          id: 7,
          gpu_name: "RTX_4090",
          num_gpus: 2,
          gpu_ram: 24564,
          dph_total: 0.8,
          cuda_max_good: 12.4,
          datacenter: true
        },
        {
          id: 8,
          gpu_name: "RTX_4090",
          num_gpus: 2,
          gpu_ram: 24564,
          dph_total: 0.8,
          cuda_max_good: 11.8,
          datacenter: true
        }
      ]
    })
    expect(offers).toHaveLength(1)
    expect(offers[0]).toMatchObject({ id: "7", pricePerGpu: 0.4, priceTotal: 0.8, gpuType: "RTX 4090" })
  })

  it("reads each provider's SSH endpoint", () => {
    expect(
      RunPod.instanceOf({
        id: "p1",
        name: "jobs-x",
        status: "RUNNING",
        cost: 1.2,
        ssh: { proxy: null, direct: { host: "1.2.3.4", port: 34446, username: "root", command: "" } }
      })
    ).toMatchObject({ state: "running", ssh: { host: "1.2.3.4", port: 34446, user: "root" } })
    expect(Lambda.instanceOf({ id: "i", name: "n", status: "active", ip: "5.6.7.8" }).ssh).toEqual({
      host: "5.6.7.8",
      port: 22,
      user: "ubuntu"
    })
    expect(
      Vast.instanceOf({
        id: 3,
        actual_status: "running",
        public_ipaddr: "9.9.9.9\n",
        ports: { "22/tcp": [{ HostPort: "4100" }] }
      }).ssh
    ).toEqual({ host: "9.9.9.9", port: 4100, user: "root" })
    expect(
      Vast.instanceOf({
        id: 3,
        actual_status: "running",
        ssh_host: "ssh5.vast.ai",
        ssh_port: 2000,
        image_runtype: "jupyter"
      }).ssh
    ).toEqual({ host: "ssh5.vast.ai", port: 2001, user: "root" })
    expect(Vast.instanceOf({ id: 3, actual_status: null }).state).toBe("provisioning")
  })
})

describe("price comparison", () => {
  const offer = (provider: Provider.ProviderName, perGpu: number, count: number): Provider.Offer => ({
    provider,
    id: `${provider}-${perGpu}`,
    gpuType: "A100",
    gpuCount: count,
    vramGb: 80,
    cuda: null,
    cloudType: "secure",
    pricePerGpu: perGpu,
    priceTotal: perGpu * count,
    region: null
  })

  it("sorts by price per GPU, ties to the preferred provider", () => {
    const sorted = Provider.sortOffers(
      [offer("vast", 1.1, 2), offer("runpod", 1.2, 2), offer("lambda", 1.1, 2)],
      ["runpod", "lambda", "vast"]
    )
    expect(sorted.map((o) => o.provider)).toEqual(["lambda", "vast", "runpod"])
    const preferVast = Provider.sortOffers([offer("lambda", 1.1, 2), offer("vast", 1.1, 2)], ["vast", "lambda"])
    expect(preferVast.map((o) => o.provider)).toEqual(["vast", "lambda"])
  })
})

describe("retries", () => {
  it("reads Retry-After as seconds or a date", () => {
    expect(Http.retryAfterMs("2")).toBe(2000)
    expect(Http.retryAfterMs(null)).toBeNull()
    expect(Http.retryAfterMs(new Date(10_000).toUTCString(), 5_000)).toBe(5000)
  })

  it("names the provider's own words in errors", () => {
    expect(Http.errorText({ title: "Bad Request", status: 400, detail: "no capacity" })).toBe("no capacity")
    expect(Http.errorText({ error: { code: "global/invalid-api-key", message: "bad key" } })).toBe(
      "global/invalid-api-key: bad key"
    )
    expect(Http.errorText({ error: "no_such_ask", msg: "gone" })).toBe("no_such_ask: gone")
  })
})
