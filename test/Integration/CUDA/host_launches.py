"""Counting the kernel launches of the CUDA pipeline's host code
(--densessm-cuda-pipeline=stop-at-gpu=true output), as a decode step runs
them: a projection with a dynamic row count is an scf.if whose `then` side
is the GEMV kernel and whose `else` side is cuBLAS (and the ops the GEMV
folded in), so the launches a few-row step makes are those outside `else`
blocks. Used by projection_cases.py and bench/gpu/kernel_counts.py."""


def launches_outside_else_blocks(lowered):
    """The kernel launches of the host code outside `else` blocks: with a
    dynamic row count, those of the GEMV side of the run-time choice."""
    depth, else_depths, launches = 0, [], 0
    for line in lowered.splitlines():
        text = line.strip()
        if text.startswith("} else {"):
            else_depths.append(depth)
            continue
        if "gpu.launch_func" in text and not else_depths:
            launches += 1
        depth += text.count("{") - text.count("}")
        while else_depths and depth < else_depths[-1]:
            else_depths.pop()
    return launches
