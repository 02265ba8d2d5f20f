# SPDX-License-Identifier: GPL-2.0-or-later
"""report.py - the figures of bench/run.sh from its raw measurements.

    report.py RAW CSV CHART_DATA CONFIGS RUNS DESCRIPTION

RAW holds one row per measurement: topology, workload, config, run, value,
p99, cpu, redirected, lost (value: bit/s for tcp, bidir and tcp1, packets/s for
udp, median round trip in us for rr and ping, connections/s for churn; p99:
99th percentile round trip in us, rr and ping only; cpu: % of all cores; redirected:
packets the redirector reported; lost: copies a monitor lost, empty for others).
Prints the markdown table and the targets block on stdout (medians over the
runs of each cell), writes the per-cell CSV to CSV and the ratios per
configuration and workload to CHART_DATA (input of bench/plot.gp).
"""
import csv
import statistics
import sys

TOPOLOGIES = {"veth": "veth", "tbf": "tbf 1 Gbit/s"}
WORKLOADS = {"tcp": "tcp 3+3", "bidir": "tcp 3+3 --bidir", "tcp1": "tcp 1",
             "udp": "udp 64 B", "rr": "udp ping-pong", "ping": "ping", "churn": "tcp churn"}
LATENCY = ("rr", "ping")  # figures in us: lower is better
CONFIGS = {"base": "base", "naive": "naive", "naive+": "naive+", "full": "passthru",
           "proc": "passthru --process",
           "snap": "--snap 128", "rewrite": "--rewrite", "monitor": "monitor",
           "monsnap": "monitor --snap 128", "monnflog": "monitor on NFLOG",
           "monsnapnflog": "monitor --snap 128 on NFLOG", "q1": "-q 1",
           "stay": "--no-follow-cpu", "nopace": "no pacing", "poll": "--busy-poll 50",
           "coalesce": "--coalesce 100", "wdpass": "windivert passthru",
           "wdpass1": "windivert passthru 1 thread", "pydpass": "pydivert passthru"}
COMPARED = "@cmp"  # suffix of a configuration run with the compared build (BENCH_COMPARE)
UNITS = {"tcp": "Gbit/s", "bidir": "Gbit/s", "tcp1": "Gbit/s", "udp": "packets/s", "rr": "us",
         "ping": "us", "churn": "connections/s"}
COST_UNITS = {"tcp": "%/Gbit/s", "bidir": "%/Gbit/s", "tcp1": "%/Gbit/s", "udp": "%/100 kpps",
              "churn": "%/1k conn/s"}
SCALE = {"tcp": 1e9, "bidir": 1e9, "tcp1": 1e9, "udp": 1e5, "churn": 1e3}  # CPU cost per this


def label(config):
    """The configuration's name in the table and chart."""
    if config.endswith(COMPARED):
        return CONFIGS[config[:-len(COMPARED)]] + " (compared build)"
    return CONFIGS[config]


class Cell:
    """The medians of one topology x workload x configuration."""

    def __init__(self, rows):
        self.runs = len(rows)
        self.value, self.p99, self.cpu, self.redirected = (
            statistics.median(r[i] for r in rows) for i in range(4))
        lost = [r[4] for r in rows if r[4] is not None]
        self.lost = max(lost) if lost else None  # the most copies a monitor lost in a run

    def forwarded(self):
        """The redirected column: packets per run, and a monitor's most lost copies."""
        if self.lost is None:
            return "%d" % self.redirected
        return "%d (%d lost)" % (self.redirected, self.lost)


def load(path):
    rows = {}
    for t, w, c, _run, value, p99, cpu, redirected, lost in csv.reader(open(path)):
        rows.setdefault((t, w, c), []).append(
            (float(value), float(p99 or 0), float(cpu), int(redirected or 0),
             int(lost) if lost else None))
    return {key: Cell(r) for key, r in rows.items()}


def ratio(cells, t, w, c, ref="base"):
    """c's figure against ref's (higher is better); None when either is missing."""
    a, b = cells.get((t, w, c)), cells.get((t, w, ref))
    if not a or not b or not a.value or not b.value:
        return None
    return b.value / a.value if w in LATENCY else a.value / b.value


def shown(w, cell, base):
    if w in LATENCY:
        added = "%+.1f us" % (cell.value - base.value) if base else "-"
        return "%.1f us median, %.1f us p99, %s" % (cell.value, cell.p99, added)
    if w == "udp":
        return "%.0f kpps" % (cell.value / 1e3)
    if w == "churn":
        return "%.0f conn/s" % cell.value
    return "%.2f Gbit/s" % (cell.value / 1e9)


def cost(w, cell):
    """CPU % per Gbit/s (tcp), per 100 kpps (udp) or per 1000 connections/s (churn);
    None for latency cells."""
    if w not in SCALE or not cell.value:
        return None
    return cell.cpu / (cell.value / SCALE[w])


def ordered(cells, configs):
    for t in TOPOLOGIES:
        for w in WORKLOADS:
            for c in configs:
                if (t, w, c) in cells:
                    yield t, w, c


def table(cells, configs, out):
    print("| link | workload | config | result | ratio | CPU % | CPU cost | redirected/run |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    writer = csv.writer(open(out, "w", newline=""))
    writer.writerow(["topology", "workload", "config", "runs", "value", "unit", "ratio",
                     "cpu_pct", "cpu_cost", "cpu_cost_unit", "p99_us", "added_us",
                     "redirected", "lost_max"])
    for t, w, c in ordered(cells, configs):
        cell, base = cells[(t, w, c)], cells.get((t, w, "base"))
        r, k = ratio(cells, t, w, c), cost(w, cell)
        added = cell.value - base.value if w in LATENCY and base else None
        print("| %s | %s | %s | %s | %s | %.0f | %s | %s |" % (
            TOPOLOGIES[t], WORKLOADS[w], label(c), shown(w, cell, base),
            "-" if r is None else "%.2f" % r, cell.cpu,
            "-" if k is None else "%.1f %s" % (k, COST_UNITS[w]), cell.forwarded()))
        value = cell.value / 1e9 if UNITS[w] == "Gbit/s" else cell.value
        writer.writerow([t, w, c, cell.runs, "%.4g" % value, UNITS[w],
                         "" if r is None else "%.3f" % r, "%.1f" % cell.cpu,
                         "" if k is None else "%.2f" % k, COST_UNITS.get(w, ""),
                         "%.1f" % cell.p99 if w in LATENCY else "",
                         "" if added is None else "%.1f" % added, "%d" % cell.redirected,
                         "" if cell.lost is None else "%d" % cell.lost])


def target(name, measured, goal, met, fmt="%.3f"):
    """One line of the targets block; measured None: a cell was not measured, met None:
    a figure shown for comparison."""
    if measured is None:
        status = "not measured"
    elif met is None:
        status = ""
    else:
        status = "met" if met(measured) else "missed"
    print(("  %-56s %14s  %-12s %s" % (name, "-" if measured is None else fmt % measured,
                                       goal, status)).rstrip())


def difference(cells, key, attr, ref="base"):
    a, b = cells.get(key), cells.get(key[:2] + (ref,))
    return getattr(a, attr) - getattr(b, attr) if a and b else None


def lost_copies(cells, key):
    return cells[key].lost if key in cells else None


def targets(cells):
    print("targets (medians of this run):")
    target("3+3 TCP veth: passthru / base", ratio(cells, "veth", "tcp", "full"), ">= 0.90",
           lambda v: v >= 0.90)
    target("3+3 TCP veth: passthru / naive", ratio(cells, "veth", "tcp", "full", "naive"),
           ">= 2x", lambda v: v >= 2, "%.2fx")
    target("3+3 TCP veth: passthru / naive+", ratio(cells, "veth", "tcp", "full", "naive+"),
           "(no target)", None, "%.2fx")
    target("3+3 TCP veth: passthru --process / passthru",
           ratio(cells, "veth", "tcp", "proc", "full"), ">= 0.90", lambda v: v >= 0.90)
    target("TCP churn veth: passthru / base", ratio(cells, "veth", "churn", "full"),
           "(no target)", None)
    target("TCP churn veth: passthru --process / passthru",
           ratio(cells, "veth", "churn", "proc", "full"), ">= 0.85", lambda v: v >= 0.85)
    target("3+3 TCP veth: --snap 128 / base", ratio(cells, "veth", "tcp", "snap"), ">= 0.95",
           lambda v: v >= 0.95)
    target("3+3 TCP veth: monitor / base", ratio(cells, "veth", "tcp", "monitor"), ">= 0.85",
           lambda v: v >= 0.85)
    target("3+3 TCP veth: monitor / passthru", ratio(cells, "veth", "tcp", "monitor", "full"),
           ">= 1.00", lambda v: v >= 1)
    target("3+3 TCP veth: monitor --snap 128 / base", ratio(cells, "veth", "tcp", "monsnap"),
           ">= 0.93", lambda v: v >= 0.93)
    target("3+3 TCP veth: monitor, copies lost (most in a run)",
           lost_copies(cells, ("veth", "tcp", "monitor")), "0", lambda v: v == 0, "%d")
    for c in ("monnflog", "monsnapnflog"):
        target("3+3 TCP veth: %s / base" % label(c), ratio(cells, "veth", "tcp", c),
               "(no target)", None)
        target("3+3 TCP veth: %s, copies lost" % label(c), lost_copies(cells, ("veth", "tcp", c)),
               "(no target)", None, "%d")
    target("3+3 TCP veth --bidir: passthru / base", ratio(cells, "veth", "bidir", "full"),
           "(no target)", None)
    target("3+3 TCP 1 Gbit/s: passthru / base", ratio(cells, "tbf", "tcp", "full"), ">= 0.99",
           lambda v: v >= 0.99)
    target("3+3 TCP 1 Gbit/s: passthru CPU - base CPU",
           difference(cells, ("tbf", "tcp", "full"), "cpu"), "<= +10", lambda v: v <= 10,
           "%+.1f points")
    target("64-byte UDP veth: passthru / naive", ratio(cells, "veth", "udp", "full", "naive"),
           ">= 3x", lambda v: v >= 3, "%.2fx")
    target("64-byte UDP veth: --coalesce 100 / naive",
           ratio(cells, "veth", "udp", "coalesce", "naive"), "(no target)", None, "%.2fx")
    target("1 TCP stream veth: passthru / no pacing",
           ratio(cells, "veth", "tcp1", "full", "nopace"), ">= 1.00", lambda v: v >= 1)
    target("3+3 TCP veth: windivert passthru / passthru",
           ratio(cells, "veth", "tcp", "wdpass", "full"), ">= 0.90", lambda v: v >= 0.90)
    target("3+3 TCP veth: pydivert passthru / passthru",
           ratio(cells, "veth", "tcp", "pydpass", "full"), "(no target)", None)
    for w, name in (("rr", "UDP ping-pong"), ("ping", "ping")):
        latency_targets(cells, w, name)


def latency_targets(cells, w, name):
    """The default's added median round trip: at most 30 us and the careful loop's."""
    added = difference(cells, ("veth", w, "full"), "value")
    careful = difference(cells, ("veth", w, "naive+"), "value")
    target("%s veth: passthru added median" % name, added, "<= 30 us", lambda v: v <= 30,
           "%+.1f us")
    target("%s veth: passthru - naive+ added median" % name,
           None if added is None or careful is None else added - careful, "<= 0 us",
           lambda v: v <= 0, "%+.1f us")


def chart_data(cells, configs, out):
    """Ratios to base: one row per configuration, one column per link and workload."""
    series = [(t, w) for t in TOPOLOGIES for w in WORKLOADS if (t, w, "base") in cells]
    with open(out, "w") as f:
        f.write("config %s\n" % " ".join('"%s %s"' % (TOPOLOGIES[t], WORKLOADS[w])
                                         for t, w in series))
        for c in configs:
            if c == "base":
                continue
            values = [ratio(cells, t, w, c) for t, w in series]
            if all(v is None for v in values):
                continue
            f.write('"%s" %s\n' % (label(c), " ".join(
                "?" if v is None else "%.3f" % v for v in values)))


def main():
    raw, out, chart, configs, runs, description = sys.argv[1:]
    configs = configs.split()
    cells = load(raw)
    print(description)
    print("medians of %s runs; CPU is the whole machine, %% of all cores; ratio: to base "
          "(ping-pong: base median / median)" % runs)
    print()
    table(cells, configs, out)
    print()
    targets(cells)
    chart_data(cells, configs, chart)


if __name__ == "__main__":
    main()
