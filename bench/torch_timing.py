"""What the PyTorch peer scripts (torch_anchor_detr.py, torch_mask2former.py) share: the timing
protocol of ../../shared/BENCH.md and the relative L2 of an output against fp32."""
import json
import statistics


def timed(torch, fn, warmup, iterations):
    """GPU ms of fn: CUDA events around each call, synchronized before it; median/p90 of
    `iterations` calls after `warmup`, under no_grad."""
    with torch.no_grad():
        for _ in range(warmup):
            fn()
        ms = []
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        for _ in range(iterations):
            torch.cuda.synchronize()
            start.record()
            fn()
            stop.record()
            stop.synchronize()
            ms.append(start.elapsed_time(stop))
    s = sorted(ms)
    return {"median": statistics.median(s), "p90": s[int(0.9 * (len(s) - 1))], "n": len(s)}


def rel_l2(t, ref):
    t, ref = t.double(), ref.double()
    return float((t - ref).norm() / ref.norm().clamp_min(1e-30))


def fp16_peers(torch, model, call, no_compile):
    """[(name, run)]: `model` under torch.autocast(float16), eager and (unless no_compile)
    torch.compile'd; call(m) runs m on the benchmark's inputs."""
    def autocast(m):
        def run():
            with torch.autocast("cuda", dtype=torch.float16):
                return call(m)
        return run
    peers = [("eager fp16 (autocast)", autocast(model))]
    if not no_compile:
        peers.append(("torch.compile fp16 (autocast)", autocast(torch.compile(model))))
    return peers


def measure_peers(torch, report, peers, timed, accuracy):
    """report["peers"][name] = GPU ms and accuracy(outputs) of each peer; a failing peer is
    reported, not fatal."""
    for name, run in peers:
        try:
            with torch.no_grad():
                got = run()
            report["peers"][name] = {"gpu_ms": timed(run), **accuracy(got)}
        except Exception as e:
            report["peers"][name] = {"error": f"{type(e).__name__}: {e}"}


def write_report(report, path):
    with open(path, "w") as f:
        json.dump(report, f, indent=2)
    for name, r in report["peers"].items():
        print(name, json.dumps(r))
