"""The charity dashboard's ECharts options (through web/charts.py): needs raised, matched and met by kind and by
township, and the partners' response rates; each with its numbers as a table."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from doudi.areas import service as areas
from doudi.auth.permissions import Actor
from doudi.charity import partners, service
from doudi.charity.labels import OFFER
from doudi.web.charts import Chart
from doudi.web.charts import register as register_chart

SERIES = ("登记", "已匹配", "已帮扶")


def _bar(categories: list[str], values: list[list[int]]) -> dict[str, Any]:
    return {"tooltip": {"trigger": "axis"}, "legend": {}, "grid": {"containLabel": True, "left": 8, "right": 16},
            "xAxis": {"type": "category", "data": categories}, "yAxis": {"type": "value", "minInterval": 1},
            "series": [{"name": name, "type": "bar", "data": [v[i] for v in values]}
                       for i, name in enumerate(SERIES)]}


def charts(session: Session, actor: Actor, today: date) -> list[Chart]:
    """Needs by kind, by township, and response rates (empty for someone who may not read needs)."""
    if not actor.can("charity.read"):
        return []
    s = service.stats(session, actor=actor)
    kinds = [k for k, v in s["by_kind"].items() if v[0]]
    out = [Chart("charity-kind", "慈善衔接需求：按帮扶项目", _bar([OFFER.get(k, k) for k in kinds],
                                                         [s["by_kind"][k] for k in kinds]),
                 ["帮扶项目", *SERIES], [[OFFER.get(k, k), *s["by_kind"][k]] for k in kinds])]
    towns = sorted(s["by_township"])
    names = areas.names(session, codes=set(towns))
    out.append(Chart("charity-town", "慈善衔接需求：按乡镇（街道）",
                     _bar([names.get(t, t) for t in towns], [s["by_township"][t] for t in towns]),
                     ["乡镇（街道）", *SERIES], [[names.get(t, t), *s["by_township"][t]] for t in towns]))
    keys = list(s["response"])
    labels = partners.names(session, set(keys))
    rates = [round(100 * took / answered, 1) if answered else 0.0 for took, answered in s["response"].values()]
    option = {"tooltip": {"trigger": "axis"}, "grid": {"containLabel": True, "left": 8, "right": 16},
              "xAxis": {"type": "value", "max": 100}, "yAxis": {"type": "category",
                                                                 "data": [labels.get(k, k) for k in keys]},
              "series": [{"name": "响应率（%）", "type": "bar", "data": rates}]}
    out.append(Chart("charity-response", "合作机构响应率（承接数 ÷ 已答复数）", option,
                     ["合作机构", "承接", "已答复", "响应率（%）"],
                     [[labels.get(k, k), took, answered, r]
                      for (k, (took, answered)), r in zip(s["response"].items(), rates, strict=True)]))
    return out


@register_chart
def _workbench(session: Session, actor: Actor, today: date) -> list[Chart]:
    """The workbench shows needs by kind (the full dashboard is /charity/dashboard)."""
    return charts(session, actor, today)[:1]
