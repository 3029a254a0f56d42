"""The report's two languages: its sections' labels and sentences; names, shared labels, numbers and dates come
from the phrase catalogue (``features.words``), which the web page and the API's reasons use too.

English and Russian share one set of keys (``TEXT`` plus the catalogue's page labels); a missing key in either
language is a test failure, not a blank on the page. Names the report does not know (a shop's own segment in a
config) pass through unchanged rather than disappear.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from features.words import formats as F
from features.words.catalogue import name
from features.words.formats import NBSP, Lang
from features.words.names import NAMES, PAGE

__all__ = ["Lang", "NBSP", "Words", "TEXT", "SEGMENTS_RU", "RISK", "TASKS"]

SEGMENTS_RU = NAMES["segment"][Lang.ru]
RISK = {Lang.en: {k: k for k in NAMES["risk"][Lang.ru]}, Lang.ru: NAMES["risk"][Lang.ru]}
TASKS = {Lang.en: NAMES["task"][Lang.en], Lang.ru: NAMES["task"][Lang.ru]}
PREDICTORS = {
    Lang.en: {"model": "model (LightGBM)", "bgnbd": "BG/NBD x Gamma-Gamma", "recency": "recency alone",
              "last_period": "last period"},
    Lang.ru: {"model": "модель (LightGBM)", "bgnbd": "BG/NBD x Gamma-Gamma", "recency": "только давность",
              "last_period": "прошлый период"},
}
METRICS = {
    Lang.en: {"roc_auc": "ROC AUC", "pr_auc": "PR AUC", "brier": "Brier (lower is better)",
              "lift_top_decile": "lift, top decile", "revenue_capture": "revenue captured by predicted top 20%",
              "spearman": "Spearman", "gini": "Gini", "mae": "MAE (lower is better)",
              "revenue_capture_top_decile": "revenue capture, top decile"},
    Lang.ru: {"roc_auc": "ROC AUC", "pr_auc": "PR AUC", "brier": "Brier (меньше лучше)",
              "lift_top_decile": "лифт, верхний дециль", "revenue_capture": "доля выручки в прогнозных топ-20%",
              "spearman": "Спирмен", "gini": "Джини", "mae": "MAE (меньше лучше)",
              "revenue_capture_top_decile": "доля выручки, верхний дециль"},
}
WEEKDAYS = {Lang.en: ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
            Lang.ru: ("Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс")}
# labels the report shares with the web page: the catalogue's, spelled once
SHARED = ("customers", "revenue", "share_customers", "share_revenue", "segment", "avg_check", "probability",
          "expected_lost", "customer_id", "risk", "expected_value", "reasons", "last_order", "s_segments", "s_churn")


class Words:
    """Formatting and translation for one language: numbers, shares, money, dates and the names on the page."""

    def __init__(self, lang: Lang | str) -> None:
        self.lang = Lang(lang)
        self.text = {**{key: PAGE[key][self.lang] for key in SHARED}, **TEXT[self.lang]}

    def __call__(self, key: str, **values: object) -> str:
        """Return the sentence or label ``key`` with ``values`` filled in (already formatted by the caller)."""
        return self.text[key].format(**values)

    @property
    def plotly_separators(self) -> str:
        """Plotly's ``separators``: the decimal mark, then the thousands mark."""
        return ".," if self.lang == Lang.en else "," + NBSP

    def number(self, value: float, decimals: int = 0) -> str:
        """Return ``12,345.6`` (en) or ``12 345,6`` (ru, non-breaking space); '-' for a missing value."""
        return F.number(value, self.lang, decimals)

    def money(self, value: float) -> str:
        """Return an amount: whole units from 100 up, two decimals below (an average check of 7.50)."""
        return F.money(value, self.lang)

    def share(self, value: float, decimals: int = 0) -> str:
        """Return a share as a percentage: ``66%`` (en) or ``66 %`` (ru)."""
        return F.share(value, self.lang, decimals)

    def date(self, value: dt.date | dt.datetime | pd.Timestamp) -> str:
        """Return ``2 Dec 2026`` (en) or ``2 декабря 2026 г.`` (ru)."""
        return F.date(value, self.lang)

    def month(self, value: dt.date | dt.datetime | pd.Timestamp | str) -> str:
        """Return a month label, ``Mar 2026`` or ``мар 2026`` (a "YYYY-MM" string is read as that month)."""
        return F.month(value, self.lang)

    def weekdays(self) -> tuple[str, ...]:
        return WEEKDAYS[self.lang]

    def segment(self, value: str) -> str:
        return name("segment", value, self.lang)

    def risk(self, value: str) -> str:
        return name("risk", value, self.lang)

    def predictor(self, value: str) -> str:
        return PREDICTORS[self.lang].get(value, value.replace("_", " "))

    def metric(self, value: str) -> str:
        return METRICS[self.lang].get(value, value.replace("_", " "))

    def task(self, value: str) -> str:
        return TASKS[self.lang].get(value, value)


TEXT: dict[Lang, dict[str, str]] = {
    Lang.en: {
        "title": "Customer base report",
        "subtitle": "{shop}: orders before {cutoff}; {customers} customers, {orders} orders, net revenue {revenue}.",
        "generated": "Built offline by `retention report`; every chart works without internet.",
        "contents": "Contents",
        "orders": "orders", "items": "items",
        "share": "share",
        "recency": "recency", "frequency": "frequency", "money": "money",
        "r_score": "R{r}", "f_score": "F{f}", "m_score": "M{m}",
        "from": "from (segment {days} days before)", "to": "to (segment now)",
        "hour": "hour of day", "weekday": "weekday", "month": "month",
        "cohort": "first purchase month", "months_since": "months since the first purchase",
        "metric": "metric", "value": "value", "task": "task", "predictor": "predictor",
        "campaign": "campaign", "audience_size": "audience size", "control": "control group",
        "at_stake": "expected value at stake", "offer": "suggested offer",
        "predicted": "predicted churn (decile mean)", "observed": "observed churn rate",
        "new_customers": "new customers", "repeat_share": "repeat customers among the active",
        "dead_share": "dead contacts among all customers",
        "golden_marker": "golden {share} of customers",
        "s_pareto": "Golden customers: who brings the revenue",
        "r_pareto": "The top {top} of customers (the golden customers) bring {share} of the last {days} days' revenue.",
        "s_rfm": "RFM grid: recency x frequency x money",
        "r_rfm": "The busiest cell is {cell} with {n} customers; the richest is {rich_cell}, {rich_share} of revenue.",
        "rfm_customers": "Customers per RFM cell", "rfm_revenue": "Revenue to date per RFM cell",
        "r_segments": "{top} is the largest segment ({share} of customers); {rich} bring the most revenue "
                      "({rich_share}).",
        "s_migration": "Segment migration",
        "r_migration": "{stayed} of {known} earlier customers kept their segment; the biggest move is "
                       "{src} → {dst} ({n}).",
        "r_churn": "{high} customers are at high risk of churn; together they may take {lost} of expected revenue "
                   "with them, most of it in {segment}.",
        "churn_distribution": "Customers by churn probability", "churn_by_segment": "Expected lost revenue by segment",
        "churn_top": "Top of the churn-risk list",
        "no_champions": "No churn model yet: {why} Run `retention train --data DIR`, then build this report again.",
        "s_health": "Base health over time",
        "r_health": "In {month}: {new} new customers, {repeat} of active customers bought before, {dead} of all "
                    "customers are dead contacts.",
        "health_counts": "New customers per month", "health_shares": "Repeat customers and dead contacts",
        "health_checks": "Average check per segment",
        "s_cohorts": "Cohort retention",
        "r_cohorts": "On average {m1} of a cohort buys again in its second month and {m3} in its fourth.",
        "s_abc": "ABC / XYZ products",
        "r_abc": "{a_items} A items ({a_share} of items) bring {a_rev} of revenue; {ax} of them sell steadily (AX).",
        "no_items": "No product section: the transactions have no item_id column.",
        "abc_items": "Items per class", "abc_revenue": "Revenue share per class",
        "s_timing": "Best time to send",
        "r_timing": "Customers order most {weekday} around {hour}:00 ({n} orders in that hour over the history).",
        "s_models": "Model quality",
        "r_models": "The churn champion scores ROC AUC {auc} on the holdout of {holdout}; the best baseline "
                    "({baseline}) scores {base_auc}.",
        "no_models": "No champion models in the MLflow registry at {uri}: run `retention train --data DIR` to "
                     "train them, then build this report again.",
        "models_metrics": "Holdout metrics: champion vs baselines", "models_calibration": "Churn calibration by decile",
        "s_campaigns": "Campaign audiences",
        "r_campaigns": "{n} campaigns reach {total} customers; the largest is {top} ({size}).",
        "no_campaigns": "No campaign audiences: run `retention campaigns` and pass its folder with --campaigns DIR.",
        "campaign_results": "Did they work? Treated against control, {days} days after the cutoff",
    },
    Lang.ru: {
        "title": "Отчёт о клиентской базе",
        "subtitle": "{shop}: заказы до {cutoff}; клиентов {customers}, заказов {orders}, чистая выручка {revenue}.",
        "generated": "Собран офлайн командой `retention report`; все графики работают без интернета.",
        "contents": "Содержание",
        "orders": "заказы", "items": "товары",
        "share": "доля",
        "recency": "давность", "frequency": "частота", "money": "деньги",
        "r_score": "R{r}", "f_score": "F{f}", "m_score": "M{m}",
        "from": "откуда (сегмент {days} дн. назад)", "to": "куда (сегмент сейчас)",
        "hour": "час", "weekday": "день недели", "month": "месяц",
        "cohort": "месяц первой покупки", "months_since": "месяцев с первой покупки",
        "metric": "метрика", "value": "значение", "task": "задача", "predictor": "предиктор",
        "campaign": "кампания", "audience_size": "размер аудитории", "control": "контрольная группа",
        "at_stake": "ожидаемая ценность под угрозой", "offer": "предложение",
        "predicted": "прогноз оттока (среднее по децилю)", "observed": "фактический отток",
        "new_customers": "новые клиенты", "repeat_share": "доля повторных среди активных",
        "dead_share": "доля мёртвых контактов",
        "golden_marker": "золотые {share} клиентов",
        "s_pareto": "Золотые клиенты: кто приносит выручку",
        "r_pareto": "Верхние {top} клиентов (золотые клиенты) приносят {share} выручки за последние {days} дн.",
        "s_rfm": "RFM-сетка: давность x частота x деньги",
        "r_rfm": "Больше всего клиентов в ячейке {cell} ({n}); больше всего выручки в {rich_cell}, {rich_share}.",
        "rfm_customers": "Клиенты по ячейкам RFM", "rfm_revenue": "Выручка за всё время по ячейкам RFM",
        "r_segments": "Самый большой сегмент — «{top}» ({share} клиентов); больше всего выручки у сегмента "
                      "«{rich}» ({rich_share}).",
        "s_migration": "Миграция между сегментами",
        "r_migration": "{stayed} из {known} прежних клиентов остались в своём сегменте; самый большой переход: "
                       "{src} → {dst} ({n}).",
        "r_churn": "У {high} клиентов высокий риск оттока; с ними может уйти {lost} ожидаемой выручки, больше "
                   "всего в сегменте «{segment}».",
        "churn_distribution": "Клиенты по вероятности оттока",
        "churn_by_segment": "Ожидаемая потерянная выручка по сегментам",
        "churn_top": "Начало списка риска оттока",
        "no_champions": "Модели оттока пока нет: {why} Запустите `retention train --data DIR` и соберите отчёт "
                        "заново.",
        "s_health": "Здоровье базы во времени",
        "r_health": "{month}: новых клиентов {new}, повторных среди активных {repeat}, мёртвых контактов {dead} "
                    "базы.",
        "health_counts": "Новые клиенты по месяцам", "health_shares": "Повторные клиенты и мёртвые контакты",
        "health_checks": "Средний чек по сегментам",
        "s_cohorts": "Удержание когорт",
        "r_cohorts": "В среднем {m1} когорты покупает снова во второй месяц и {m3} — в четвёртый.",
        "s_abc": "ABC / XYZ товаров",
        "r_abc": "{a_items} товаров группы A ({a_share} товаров) дают {a_rev} выручки; стабильно продаются (AX) "
                 "{ax} из них.",
        "no_items": "Раздела о товарах нет: в transactions нет колонки item_id.",
        "abc_items": "Товары по классам", "abc_revenue": "Доля выручки по классам",
        "s_timing": "Лучшее время для рассылки",
        "r_timing": "Чаще всего заказывают {weekday} около {hour}:00 ({n} заказов в этот час за всю историю).",
        "s_models": "Качество моделей",
        "r_models": "Чемпион оттока даёт ROC AUC {auc} на отложенной выборке от {holdout}; лучший базовый "
                    "метод ({baseline}) — {base_auc}.",
        "no_models": "В реестре MLflow ({uri}) нет моделей-чемпионов: запустите `retention train --data DIR` и "
                     "соберите отчёт заново.",
        "models_metrics": "Метрики на отложенной выборке: чемпион и базовые методы",
        "models_calibration": "Калибровка оттока по децилям",
        "s_campaigns": "Аудитории кампаний",
        "r_campaigns": "{n} кампаний охватывают {total} клиентов; самая большая — «{top}» ({size}).",
        "no_campaigns": "Аудиторий кампаний нет: запустите `retention campaigns` и передайте её папку через "
                        "--campaigns DIR.",
        "campaign_results": "Сработало ли? Получившие против контроля, {days} дн. после отсечки",
    },
}
