"""Reports for benchmarks/peers.sh: `add NAME SCENARIO REPORT BASELINE_KIB RESULTS` appends a run and prints its line;
`table RESULTS` prints every run as a Markdown table."""

import json
import sys


def per_connection(row: dict) -> float:
    return ((row.get("serverPeakRSSKiB") or 0) - row["serverBaselineRSSKiB"]) / row["clients"]


def core_percent(row: dict) -> float:
    """The server's CPU over the measured window, in percent of one core."""
    return (row.get("serverCPUMicrosecondsPerDelivery") or 0) * row["deliveriesPerSecond"] / 10_000


def line(row: dict) -> str:
    if row.get("failed"):
        return f"{row['server']:17} {row['scenario']:16} failed"
    latency = row["latencyMilliseconds"]
    return (
        f"{row['server']:17} {row['scenario']:16} {row['deliveriesPerSecond']:>9,.0f} deliveries/s  "
        f"p50 {latency['p50']:8.2f} ms  p99 {latency['p99']:8.2f} ms  lost {row['lost']:>6}  "
        f"disconnects {row['disconnects']:>5}  CPU {row.get('serverCPUMicrosecondsPerDelivery') or 0:6.2f} us/delivery "
        f"({core_percent(row):5.1f}% of a core)  "
        f"RSS {row.get('serverPeakRSSKiB') or 0:>7} KiB ({per_connection(row):.1f} KiB/connection)"
    )


def table(rows: list[dict]) -> str:
    lines = [
        "| server | scenario | deliveries/s | p50 ms | p99 ms | lost | disconnects | server CPU µs/delivery | % of a core "
        "| peak RSS KiB | KiB per connection |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        if row.get("failed"):
            lines.append(f"| {row['server']} | {row['scenario']} | failed | | | | | | | | |")
            continue
        latency = row["latencyMilliseconds"]
        lines.append(
            f"| {row['server']} | {row['scenario']} | {row['deliveriesPerSecond']:,.0f} | {latency['p50']:.2f} "
            f"| {latency['p99']:.2f} | {row['lost']} | {row['disconnects']} "
            f"| {row.get('serverCPUMicrosecondsPerDelivery') or 0:.2f} | {core_percent(row):.1f} "
            f"| {row.get('serverPeakRSSKiB') or 0:,} "
            f"| {per_connection(row):.1f} |"
        )
    return "\n".join(lines)


if sys.argv[1] == "add":
    name, scenario, report_path, baseline, results = sys.argv[2:]
    row = json.load(open(report_path))
    row.update(server=name, scenario=scenario, serverBaselineRSSKiB=int(baseline))
    with open(results, "a") as out:
        out.write(json.dumps(row) + "\n")
    print(line(row), flush=True)
else:
    print(table([json.loads(text) for text in open(sys.argv[2])]))
