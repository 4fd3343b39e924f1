"""The team's week as a PNG: reply rate by touch number, and the median first response to inbound leads
week by week. Drawn with matplotlib's object API and the Agg canvas (no pyplot state, so two threads can draw
at once; no display needed)."""

from __future__ import annotations

import io
from datetime import date, timedelta

from bot.services.metrics import Rate


def week_chart(
    reply_by_touch: dict[int, Rate], trend: list[tuple[date, timedelta | None]], title: str
) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.4), dpi=100)
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    touches = sorted(reply_by_touch)
    rates = [100 * (reply_by_touch[t].value or 0.0) for t in touches]
    bars = left.bar([f"Touch {t}" for t in touches] or ["–"], rates or [0], color="#2eb67d")
    for bar, t in zip(bars, touches, strict=False):
        rate = reply_by_touch[t]
        left.annotate(f"{rate.hits}/{rate.total}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                      ha="center", va="bottom", fontsize=8)  # fmt: skip
    left.set_title("Reply rate by touch", fontsize=10)
    left.set_ylabel("%")
    left.set_ylim(0, max([100.0, *rates]) * 1.1 if rates else 100)
    weeks = [f"{d:%d %b}" for d, _ in trend]
    hours = [v.total_seconds() / 3600 if v is not None else float("nan") for _, v in trend]
    right.plot(weeks, hours, marker="o", color="#1264a3")
    right.set_title("Inbound first response (median, hours)", fontsize=10)
    right.tick_params(axis="x", labelsize=7, rotation=45)
    right.set_ylim(bottom=0)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
