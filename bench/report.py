"""Medians over rounds, the ratios between servers, and the targets of issue 6, printed as Markdown."""

import statistics

TARGETS_HELP = {
    "list_vs_reference": "list of 20 ≥ 1.0× the lean reference (req/s)",
    "list_p99": "list p99 < 200 ms",
    "scaling": "list p50 with 1 M rows ≤ 1.3× with 10 k rows",
    "rss": "worker RSS ≤ 80 MB",
    "start": "process start to first 200 ≤ 1.5 s",
    "login": "login ≥ 10 req/s per core (argon2id m=19 MiB, t=2, p=1)",
}
MIB_IN_MB = 1.048576


def medians(results):
    """Per case: the median of each figure over the rounds, and the summed error counts."""
    summary = {}
    for case, runs in results.items():
        summary[case] = {
            "rps": statistics.median(r.requests_per_second for r in runs),
            "p50": statistics.median(r.p50_ms for r in runs),
            "p99": statistics.median(r.p99_ms for r in runs),
            "non_2xx": sum(r.non_2xx for r in runs),
            "socket": sum(r.socket_errors for r in runs),
            "rounds": " ".join(f"{r.requests_per_second:.0f}" for r in runs),
        }
    return summary


def table(summary, descriptions):
    lines = ["| case | req/s (median) | p50 ms | p99 ms | non-2xx | socket errors | req/s per round |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for case, row in summary.items():
        lines.append(f"| {descriptions.get(case, case)} | {row['rps']:.0f} | {row['p50']:.1f} | {row['p99']:.1f} | "
                     f"{row['non_2xx']} | {row['socket']} | {row['rounds']} |")
    return "\n".join(lines)


def ratios(summary):
    out = {"taskapi list / reference": summary["list"]["rps"] / summary["reference_list"]["rps"],
           "bare / taskapi list": summary["bare"]["rps"] / summary["list"]["rps"]}
    if "list_1m" in summary:
        out["list p50, 1 M rows / 10 k rows"] = summary["list_1m"]["p50"] / summary["list"]["p50"]
        out["list req/s, 10 k rows / 1 M rows"] = summary["list"]["rps"] / summary["list_1m"]["rps"]
    return out


def targets(summary, ratio, rss_mib, start_seconds, server_cores):
    """Each target: (what it asks, the measured figure, met or not)."""
    checks = {
        "list_vs_reference": (f"{ratio['taskapi list / reference']:.2f}×", ratio["taskapi list / reference"] >= 1.0),
        "list_p99": (f"{summary['list']['p99']:.1f} ms", summary["list"]["p99"] < 200),
        # The target is in MB (10^6 bytes); /proc reports KiB.
        "rss": (f"{max(rss_mib):.1f} MiB ({max(rss_mib) * MIB_IN_MB:.1f} MB)", max(rss_mib) * MIB_IN_MB <= 80),
        "start": (f"{start_seconds:.2f} s", start_seconds <= 1.5),
        "login": (f"{summary['login']['rps'] / server_cores:.1f} req/s per core",
                  summary["login"]["rps"] / server_cores >= 10),
    }
    if "list p50, 1 M rows / 10 k rows" in ratio:
        scaling = ratio["list p50, 1 M rows / 10 k rows"]
        checks["scaling"] = (f"{scaling:.2f}×", scaling <= 1.3)
    lines = ["| target | measured | met |", "|---|---:|---|"]
    for key, (measured, met) in checks.items():
        lines.append(f"| {TARGETS_HELP[key]} | {measured} | {'yes' if met else 'NO'} |")
    return "\n".join(lines)
