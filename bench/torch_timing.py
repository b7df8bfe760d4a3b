"""What the PyTorch peer scripts (torch_anchor_detr.py, torch_mask2former.py) share: the timing
protocol of ../../shared/BENCH.md and the relative L2 of an output against fp32."""
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
