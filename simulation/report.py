"""What a run leaves in its folder: ``summary.json``, ``report.html`` (in Chinese, for the subdistrict)
and its matplotlib PNGs: closure over the month per policy, the distribution of time to match, and the
open needs per grid at the month's end drawn where the grids lie on the map.
"""
from __future__ import annotations

import html
import json
from collections import Counter
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402

# The keys of summary.json per policy, as the issue names them, then the other measures.
SUMMARY_KEYS = ("closure_rate", "closed_within_sla", "median_hours_to_match", "p90_hours_to_close",
                "urgent_matched_within_1h", "escalated_share", "dispute_mean_days", "load_gini")
MORE_KEYS = ("p90_hours_to_match", "median_hours_to_close", "declines_per_closed", "no_shows_per_closed", "needs",
             "due", "closed_due", "cancelled", "urgent", "disputes_closed", "dispute_mean_days_to_done",
             "dispute_auto_closed_share", "return_visit_share", "misclassified", "batches", "seconds", "cpu_seconds")
LABELS_ZH = {
    "closure_rate": "办结率（当月到期需求）", "closed_within_sla": "时限内办结占比",
    "median_hours_to_match": "匹配用时中位数（小时）", "p90_hours_to_match": "匹配用时 P90（小时）",
    "median_hours_to_close": "办结用时中位数（小时）", "p90_hours_to_close": "办结用时 P90（小时）",
    "urgent_matched_within_1h": "紧急需求 1 小时内匹配占比", "escalated_share": "提交网格议事会占比",
    "dispute_mean_days": "纠纷类平均办结天数", "load_gini": "志愿者任务基尼系数",
    "dispute_mean_days_to_done": "纠纷类平均调处完成天数", "dispute_auto_closed_share": "纠纷类居民未确认、自动办结占比",
    "return_visit_share": "回访办结占比", "declines_per_closed": "每件办结的婉拒次数", "no_shows_per_closed": "每件办结的爽约次数",
    "needs": "需求数", "due": "当月到期", "closed_due": "其中已办结", "cancelled": "撤销",
    "urgent": "紧急需求", "disputes_closed": "已办结纠纷", "misclassified": "分类错误", "batches": "匹配批次",
    "seconds": "运行秒数", "cpu_seconds": "CPU 秒数",
}
POLICY_LABELS_ZH = {"sanku": "三库匹配", "greedy": "贪心", "nearest": "就近派单", "random": "随机"}
# Targets of the issue for Sanku's policy in the normal scenario.
TARGETS = {"closure_rate": (">=", 0.9989), "dispute_mean_days": ("<=", 2.5), "urgent_matched_within_1h": (">=", 0.95)}
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Source Han Sans SC",
             "SimHei", "Microsoft YaHei", "PingFang SC")


def _chinese_font() -> bool:
    """Use a CJK font when the machine has one (else the plots label in codes, not in boxes)."""
    names = {f.name for f in font_manager.fontManager.ttflist}
    found = next((n for n in CJK_FONTS if n in names), None)
    if found is None:
        return False
    plt.rcParams["font.sans-serif"] = [found, "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    return True


def summary(results: dict[str, dict[str, Any]], *, scenario: str, seed: int, days: int,
            sensitivity: dict[str, dict[str, dict[str, Any]]] | None = None) -> dict[str, Any]:
    first = next(iter(results.values()))
    out: dict[str, Any] = {
        "policies": {p: {k: r.get(k) for k in (*SUMMARY_KEYS, *MORE_KEYS)} for p, r in results.items()},
        "scenario": scenario, "seed": seed, "days": days, "needs": first["needs"],
        "comparison": comparison(results), "targets": targets(results) if scenario == "normal" else {},
    }
    if sensitivity:
        out["sensitivity"] = {variant: {p: {k: r.get(k) for k in SUMMARY_KEYS} for p, r in rows.items()}
                              for variant, rows in sensitivity.items()}
    return out


def comparison(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Sanku against each other policy: closure rate (points) and median time to match (hours saved)."""
    if "sanku" not in results:
        return {}
    ours = results["sanku"]
    out: dict[str, dict[str, float | None]] = {}
    for name, other in results.items():
        if name == "sanku":
            continue
        out[name] = {
            "closure_points": _diff(ours.get("closure_rate"), other.get("closure_rate"), 100),
            "match_hours_saved": _diff(other.get("median_hours_to_match"), ours.get("median_hours_to_match"), 1),
        }
    return out


def _diff(a: float | None, b: float | None, scale: float) -> float | None:
    return None if a is None or b is None else round((a - b) * scale, 2)


def targets(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    ours = results.get("sanku")
    if ours is None:
        return {}
    out = {}
    for key, (op, goal) in TARGETS.items():
        value = ours.get(key)
        met = value is not None and (value >= goal if op == ">=" else value <= goal)
        out[key] = {"value": value, "target": f"{op} {goal}", "met": met}
    return out


def failures(result: dict[str, Any]) -> dict[str, Any]:
    """Where the month's due needs stayed open: by service, by status, by grid, with the reasons."""
    rows = result.get("unclosed", [])
    return {"by_service": Counter(r["service"] or "未分类" for r in rows).most_common(),
            "by_status": Counter(r["status"] for r in rows).most_common(),
            "by_grid": Counter(r["grid"] for r in rows).most_common(10),
            "by_reason": Counter(r["reason"] or "（无）" for r in rows).most_common(8),
            "examples": rows[:12]}


def plots(results: dict[str, dict[str, Any]], out: Path, boundaries: dict[str, Any]) -> list[str]:
    zh = _chinese_font()
    name = (lambda p: POLICY_LABELS_ZH.get(p, p)) if zh else (lambda p: p)
    files = []
    fig, ax = plt.subplots(figsize=(7, 4))
    for policy, r in results.items():
        daily = r["series"]["daily"]
        ax.plot(range(1, len(daily) + 1), [c / s if s else 0 for s, c in daily], label=name(policy))
    ax.set_xlabel("第几天" if zh else "day")
    ax.set_ylabel("累计办结 ÷ 累计提交" if zh else "closed / submitted so far")
    ax.set_ylim(0, 1)
    ax.legend()
    ax.set_title("一个月的办结进度" if zh else "closure over the month")
    files.append(_save(fig, out / "closure.png"))
    fig, ax = plt.subplots(figsize=(7, 4))
    for policy, r in results.items():
        hours = sorted(max(h, 0.01) for h in r["series"]["hours_to_match"])
        if hours:
            ax.step(hours, [(k + 1) / len(hours) for k in range(len(hours))], where="post", label=name(policy))
    ax.set_xscale("log")
    ax.set_xlabel("提交到推荐服务方（小时，对数）" if zh else "hours to match (log)")
    ax.set_ylabel("累计占比" if zh else "share of needs")
    ax.axvline(1.0, color="grey", linestyle=":")
    ax.legend()
    ax.set_title("匹配用时分布" if zh else "time to match")
    files.append(_save(fig, out / "time_to_match.png"))
    centres = {code: _centre(g) for code, g in boundaries.items() if g}
    fig, axes = plt.subplots(1, len(results), figsize=(4 * len(results), 4), squeeze=False)
    for ax, (policy, r) in zip(axes[0], results.items()):
        open_ = r["series"]["open_at_month_end"]
        xs = [c[0] for c in centres.values()]
        ys = [c[1] for c in centres.values()]
        ax.scatter(xs, ys, s=6, color="#dddddd")
        hot = [(centres[g], n) for g, n in open_.items() if g in centres]
        if hot:
            ax.scatter([c[0] for c, _ in hot], [c[1] for c, _ in hot], s=[20 + 30 * n for _, n in hot],
                       color="#c0392b", alpha=0.7)
        ax.set_title(f"{name(policy)}：{sum(open_.values())}" if zh else f"{policy}: {sum(open_.values())}")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("月末未办结需求（按网格位置）" if zh else "open needs per grid at the month's end")
    files.append(_save(fig, out / "open_by_grid.png"))
    return files


def _centre(geometry: dict[str, Any]) -> tuple[float, float]:
    rings = geometry["coordinates"] if geometry["type"] == "Polygon" else geometry["coordinates"][0]
    points = rings[0]
    return sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points)


def _save(fig: Any, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def write(out: Path, results: dict[str, dict[str, Any]], *, scenario: str, seed: int, days: int,
          boundaries: dict[str, Any], sensitivity: dict[str, dict[str, dict[str, Any]]] | None = None) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    data = summary(results, scenario=scenario, seed=seed, days=days, sensitivity=sensitivity)
    (out / "summary.json").write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    images = plots(results, out, boundaries)
    (out / "report.html").write_text(_html(data, results, images), encoding="utf-8")
    return data


def _table(head: list[str], rows: list[list[Any]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _html(data: dict[str, Any], results: dict[str, dict[str, Any]], images: list[str]) -> str:
    policies = list(data["policies"])
    keys = [*SUMMARY_KEYS, *MORE_KEYS]
    parts = [f"<h1>模拟一个月：{html.escape(data['scenario'])} 场景，种子 {data['seed']}，{data['days']} 天，"
             f"{data['needs']} 条需求</h1>",
             "<p>每条需求都经由系统自身的服务提交、分类、匹配、接单或婉拒、审核、上报、议事会、完成、确认或自动办结；"
             "四种派单方式面对相同的需求和相同的随机抽样。</p>",
             _table(["指标", *[POLICY_LABELS_ZH.get(p, p) for p in policies]],
                    [[LABELS_ZH.get(k, k), *[data["policies"][p].get(k) for p in policies]] for k in keys])]
    if data["comparison"]:
        rows = [[POLICY_LABELS_ZH.get(p, p), c["closure_points"], c["match_hours_saved"]]
                for p, c in data["comparison"].items()]
        parts += ["<h2>三库匹配比其他方式好多少</h2>",
                  _table(["对比", "办结率高出（百分点）", "匹配用时中位数少用（小时）"], rows)]
    if data["targets"]:
        rows = [[LABELS_ZH.get(k, k), t["value"], t["target"], "达到" if t["met"] else "未达到"]
                for k, t in data["targets"].items()]
        parts += ["<h2>目标（三库匹配，正常场景）</h2>", _table(["指标", "结果", "目标", "是否达到"], rows)]
    if "sanku" in results:
        f = failures(results["sanku"])
        parts += ["<h2>三库匹配：当月到期而未办结的需求</h2>",
                  _table(["服务类别", "条数"], [list(r) for r in f["by_service"]]),
                  _table(["当前状态", "条数"], [list(r) for r in f["by_status"]]),
                  _table(["网格", "条数"], [list(r) for r in f["by_grid"]]),
                  _table(["原因", "条数"], [list(r) for r in f["by_reason"]]),
                  _table(["编号", "网格", "服务", "紧急程度", "状态", "原因", "内容"],
                         [[r["ref"], r["grid"], r["service"], r["urgency"], r["status"], r["reason"], r["text"]]
                          for r in f["examples"]])]
    if data.get("sensitivity"):
        rows = [[variant, POLICY_LABELS_ZH.get(p, p), *[r.get(k) for k in SUMMARY_KEYS]]
                for variant, per in data["sensitivity"].items() for p, r in per.items()]
        parts += ["<h2>敏感性：同一个月，改变一项</h2>",
                  _table(["变化", "方式", *[LABELS_ZH[k] for k in SUMMARY_KEYS]], rows)]
    parts += [f'<figure><img src="{html.escape(i)}" alt="{html.escape(i)}"></figure>' for i in images]
    style = ("body{font-family:sans-serif;max-width:1100px;margin:1em auto;padding:0 1em}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;"
             "text-align:right}th:first-child,td:first-child{text-align:left}img{max-width:100%}")
    return ("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>模拟一个月</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>\n")
