"""Medians over rounds, taskapi against the references per request, and the targets, printed as Markdown."""

import statistics

OPERATIONS = ("list", "one", "create", "patch")
DESCRIPTIONS = {"list": "GET list (20 of 20)", "one": "GET one task", "create": "POST create",
                "patch": "PATCH with If-Match: *", "login": "POST login (argon2id)",
                "one pat": "GET one task, personal access token",
                "create list": "POST create in a list without webhooks",
                "create webhook": "POST create in a list with a webhook"}
REGIMES = {
    "cpu": "CPU-bound: server and PostgreSQL on core 0, wrk on core 1",
    "network": "Database across a network: server alone on core 0; PostgreSQL, the delaying proxy and wrk on core 1",
}
MIB_IN_MB = 1.048576
# Cost ratios of one case to another, each with its bound: (case, baseline case, what, at most or None).
PAIRS = (
    ("taskapi-1m last page", "taskapi-1m first page", "last page / first page by cursor, 100 k tasks", 1.3),
    ("taskapi-1m feed 100k", "taskapi-1m feed 1k", "feed read of 100 changes, 100 k / 1 k tasks", 1.3),
    ("taskapi tag list", "taskapi list", "list of 20 with a tag filter / plain list", 1.1),
    ("taskapi one pat", "taskapi one", "one task with a personal access token / with a JWT", 1.0),
    # The bound set for a write with webhooks against one without: the write alone, its event's delivery done
    # by a process of its own (taskapi-web's runner, on the load core).
    ("taskapi-web create webhook", "taskapi-web create list",
     "create in a list with one webhook / in one without, the write alone", 1.1),
    # The worker that took the create also sends its event (its background thread: claim, sign, POST to the
    # sink, record the outcome): the write and its delivery on one core, measured and held to no bound.
    ("taskapi create webhook", "taskapi create list",
     "create in a list with one webhook / in one without, delivery in the same worker", None),
    ("before create webhook", "before create list", "the same, on the before tree", None),
)
TARGETS = {"cpu_ratio": 1.0, "cpu_throughput": 1.0, "network_throughput": 1.25, "network_p99_ms": 150,
           "login_per_core": 20, "rss_mb": 70, "start_s": 1.0, "scaling": 1.3}


def medians(results):
    """Per case: the median of each figure over the rounds, and the summed error counts."""
    summary = {}
    for case, runs in results.items():
        summary[case] = {
            "rps": statistics.median(r.requests_per_second for r in runs),
            "p50": statistics.median(r.p50_ms for r in runs),
            "p99": statistics.median(r.p99_ms for r in runs),
            "cpu_ms": statistics.median(r.cpu_ms_per_request for r in runs),
            "non_2xx": sum(r.non_2xx for r in runs),
            "socket": sum(r.socket_errors for r in runs),
            "rounds": " ".join(f"{r.requests_per_second:.0f}" for r in runs),
        }
    return summary


def regime_heading(name, regime):
    rtt = f"PostgreSQL round trip (SELECT 1, median): {regime['rtt_ms']:.2f} ms"
    if regime.get("one_way_ms") is not None:
        rtt += f" (the proxy holds each chunk {regime['one_way_ms']:.3f} ms each way)"
    return f"### {REGIMES[name]}\n\n{rtt}\n"


def describe(case):
    server, _, operation = case.partition(" ")
    return f"{server} {DESCRIPTIONS.get(operation, operation)}".strip()


def table(summary):
    lines = ["| case | req/s | p50 ms | p99 ms | CPU ms/req | non-2xx | socket errors | req/s per round |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for case, row in summary.items():
        lines.append(f"| {describe(case)} | {row['rps']:.0f} | {row['p50']:.1f} | {row['p99']:.1f} | "
                     f"{row['cpu_ms']:.2f} | {row['non_2xx']} | {row['socket']} | {row['rounds']} |")
    return "\n".join(lines)


def _ratio(numerator, denominator):
    return numerator / denominator if denominator else float("nan")


def ratios(summary, operation):
    """reference CPU / taskapi CPU (≥ 1: taskapi costs no more) and taskapi req/s / reference req/s."""
    mine = summary[f"taskapi {operation}"]
    return {model: {"cpu": _ratio(summary[f"ref-{model} {operation}"]["cpu_ms"], mine["cpu_ms"]),
                    "rps": _ratio(mine["rps"], summary[f"ref-{model} {operation}"]["rps"])}
            for model in ("sync", "gthread")}


def comparison(summary):
    lines = ["| request | CPU ms/req taskapi | ref sync | ref gthread | ref sync / taskapi | ref gthread / taskapi "
             "| req/s taskapi / ref sync | taskapi / ref gthread |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for operation in OPERATIONS:
        if f"taskapi {operation}" not in summary:
            continue
        ratio = ratios(summary, operation)
        cpu = [summary[f"{server} {operation}"]["cpu_ms"] for server in ("taskapi", "ref-sync", "ref-gthread")]
        lines.append(f"| {DESCRIPTIONS[operation]} | {cpu[0]:.2f} | {cpu[1]:.2f} | {cpu[2]:.2f} | "
                     f"{ratio['sync']['cpu']:.2f} | {ratio['gthread']['cpu']:.2f} | {ratio['sync']['rps']:.2f} | "
                     f"{ratio['gthread']['rps']:.2f} |")
    return "\n".join(lines)


def before_after(summary):
    """taskapi as of --before against this tree, per operation: CPU per request and req/s."""
    lines = ["| request | CPU ms/req before | after | before / after | req/s before | after | after / before |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for operation in OPERATIONS:
        if f"before {operation}" not in summary:
            continue
        old, new = summary[f"before {operation}"], summary[f"taskapi {operation}"]
        lines.append(f"| {DESCRIPTIONS[operation]} | {old['cpu_ms']:.2f} | {new['cpu_ms']:.2f} | "
                     f"{_ratio(old['cpu_ms'], new['cpu_ms']):.2f} | {old['rps']:.0f} | {new['rps']:.0f} | "
                     f"{_ratio(new['rps'], old['rps']):.2f} |")
    return "\n".join(lines)


def extras(summaries, figures):
    lines = []
    if "rss_mib" in figures:
        lines.append("Worker RSS after the cpu regime (MiB): " + ", ".join(
            f"{name} {' '.join(f'{value:.1f}' for value in values)}" for name, values in figures["rss_mib"].items()))
    if "start_seconds" in figures:
        lines.append(f"taskapi process start (Popen of gunicorn) to first 200 on /health: "
                     f"{figures['start_seconds']:.2f} s")
    cpu = summaries.get("cpu", {})
    if {"taskapi list", "taskapi-1m list"} <= cpu.keys():
        lines.append(f"List with 1 M rows / 10 k rows: CPU per request "
                     f"{_ratio(cpu['taskapi-1m list']['cpu_ms'], cpu['taskapi list']['cpu_ms']):.2f}×, p50 "
                     f"{_ratio(cpu['taskapi-1m list']['p50'], cpu['taskapi list']['p50']):.2f}×")
    for what, cpu_ratio, p50_ratio, _ in pairs(cpu):
        lines.append(f"{what}: CPU per request {cpu_ratio:.2f}×, p50 {p50_ratio:.2f}×")
    return "\n".join(lines)


def pairs(cpu):
    """PAIRS this run measured: (what, CPU ratio, p50 ratio, bound)."""
    return [(what, _ratio(cpu[case]["cpu_ms"], cpu[base]["cpu_ms"]), _ratio(cpu[case]["p50"], cpu[base]["p50"]), bound)
            for case, base, what, bound in PAIRS if {case, base} <= cpu.keys()]


def _check(rows, what, measured, met):
    rows.append(f"| {what} | {measured} | {'yes' if met else 'NO'} |")


def targets(summaries, figures, server_cores):
    """Each target that this run has the figures for: what it asks, the measured figure, met or not."""
    rows = ["| target | measured | met |", "|---|---:|---|"]
    cpu, network = summaries.get("cpu", {}), summaries.get("network", {})
    for operation in OPERATIONS:
        if f"taskapi {operation}" in cpu:
            ratio = ratios(cpu, operation)
            cheapest = min(ratio["sync"]["cpu"], ratio["gthread"]["cpu"])
            _check(rows, f"cpu: {operation}, CPU per request ≤ the reference's (reference / taskapi ≥ 1)",
                   f"sync {ratio['sync']['cpu']:.2f}, gthread {ratio['gthread']['cpu']:.2f}",
                   cheapest >= TARGETS["cpu_ratio"])
            _check(rows, f"cpu: {operation}, req/s ≥ the gthread reference's", f"{ratio['gthread']['rps']:.2f}×",
                   ratio["gthread"]["rps"] >= TARGETS["cpu_throughput"])
    for operation in ("list", "one"):
        if f"taskapi {operation}" in network:
            ratio = ratios(network, operation)["gthread"]["rps"]
            _check(rows, f"network: {operation}, req/s ≥ 1.25× the gthread reference's", f"{ratio:.2f}×",
                   ratio >= TARGETS["network_throughput"])
            p99 = network[f"taskapi {operation}"]["p99"]
            _check(rows, f"network: {operation}, p99 < 150 ms", f"{p99:.1f} ms", p99 < TARGETS["network_p99_ms"])
    if "taskapi login" in cpu:
        per_core = cpu["taskapi login"]["rps"] / server_cores
        _check(rows, "login ≥ 20 req/s per core (argon2id, OWASP)", f"{per_core:.1f} req/s",
               per_core >= TARGETS["login_per_core"])
    if figures.get("rss_mib", {}).get("taskapi"):
        rss = max(figures["rss_mib"]["taskapi"])
        # The target is in MB (10^6 bytes); /proc reports KiB.
        _check(rows, "taskapi worker RSS ≤ 70 MB", f"{rss * MIB_IN_MB:.1f} MB ({rss:.1f} MiB)",
               rss * MIB_IN_MB <= TARGETS["rss_mb"])
    if "start_seconds" in figures:
        _check(rows, "process start to first 200 ≤ 1 s", f"{figures['start_seconds']:.2f} s",
               figures["start_seconds"] <= TARGETS["start_s"])
    if {"taskapi list", "taskapi-1m list"} <= cpu.keys():
        scaling = _ratio(cpu["taskapi-1m list"]["cpu_ms"], cpu["taskapi list"]["cpu_ms"])
        _check(rows, "list CPU per request, 1 M rows / 10 k rows ≤ 1.3×", f"{scaling:.2f}×",
               scaling <= TARGETS["scaling"])
    for what, cpu_ratio, _, bound in pairs(cpu):
        if bound is None:  # measured for comparison, held to nothing
            continue
        _check(rows, f"{what}, CPU per request ≤ {bound}×", f"{cpu_ratio:.2f}×", cpu_ratio <= bound)
    return "\n".join(rows)
