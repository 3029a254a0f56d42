"""The phrases of the catalogue (``features.words.catalogue.say`` fills them): key -> English and Russian.

Reasons compare a customer with their own norm ("no order for 51 days, twice their usual 25-day gap") and say only
what the data shows, never a model's estimate (an estimate next to a score from another model would contradict
it). Russian phrases avoid the past tense where it would need the customer's gender.
"""

from __future__ import annotations

from features.words.campaign_phrases import CAMPAIGN_RULES, OFFERS, PICKS, REMINDERS
from features.words.formats import Lang
from features.words.uplift_phrases import UPLIFT

DAYS_EN, DAYS_RU = "count:day|days", "count:день|дня|дней"
ORDERS_EN, ORDERS_RU = "count:order|orders", "count:заказ|заказа|заказов"


def _p(en: str, ru: str) -> dict[Lang, str]:
    return {Lang.en: en, Lang.ru: ru}


# why the churn risk is up: each against the customer's own earlier behaviour where the data has it
RISK_REASONS = {
    "reason.overdue": _p(
        f"no order for {{days:{DAYS_EN}}}, {{ratio:times}} their usual {{gap:number}}-day gap",
        f"нет заказов {{days:{DAYS_RU}}} — {{ratio:times}} дольше обычного интервала ({{gap:{DAYS_RU}}})"),
    "reason.no_order": _p(f"no order for {{days:{DAYS_EN}}}", f"нет заказов {{days:{DAYS_RU}}}"),
    "reason.last_period": _p(
        f"spent {{amount:money}} and placed {{n:{ORDERS_EN}}} in the last {{h:number}} days",
        f"за последние {{h:{DAYS_RU}}} — {{n:{ORDERS_RU}}} на {{amount:money}}"),
    "reason.one_order": _p(
        f"one order only, {{days:{DAYS_EN}}} ago, no second yet",
        f"всего один заказ, {{days:{DAYS_RU}}} назад, повторного пока нет"),
    "reason.irregular": _p(
        f"orders irregularly: every {{gap:{DAYS_EN}}} on average, give or take {{spread:number}}",
        f"заказывает нерегулярно: в среднем раз в {{gap:{DAYS_RU}}}, разброс ± {{spread:number}}"),
    "reason.orders_drop": _p(
        f"{{now:{ORDERS_EN}}} in the last {{w:number}} days after {{before:number}} in the {{w:number}} before",
        f"за последние {{w:{DAYS_RU}}} — {{now:{ORDERS_RU}}}, за {{w:number}} дней до этого — {{before:number}}"),
    "reason.spend_drop": _p(
        "spent {pct:share} less in the last {w:number} days than in the {w:number} before",
        f"траты за последние {{w:{DAYS_RU}}} на {{pct:share}} ниже, чем за {{w:number}} дней до этого"),
    "reason.spend_stopped": _p(
        "spent nothing in the last {w:number} days after {before:money} in the {w:number} before",
        f"за последние {{w:{DAYS_RU}}} ни одной покупки, а за {{w:number}} дней до этого — на {{before:money}}"),
    "reason.year_slowdown": _p(
        f"{{now:{ORDERS_EN}}} in the last 365 days, where they used to place {{usual:short}} a year",
        f"за последний год {{now:{ORDERS_RU}}}, а раньше — около {{usual:short}} в год"),
    "reason.email_stopped": _p(
        "stopped opening e-mails {when:in_month} after opening {rate:short} a month",
        "не открывает письма с {when:month_from}, а до этого — {rate:short} в месяц"),
    "reason.no_visit": _p(
        f"no visit to the site for {{days:{DAYS_EN}}}",
        f"ни одного визита на сайт за {{days:{DAYS_RU}}}"),
    "reason.abandoned": _p(
        "left {n:count:cart|carts} without ordering in the last {w:number} days",
        f"{{n:count:брошенная корзина|брошенные корзины|брошенных корзин}} за последние {{w:{DAYS_RU}}}"),
    "reason.sale_only": _p("buys only on sale", "покупает только со скидкой"),
    "reason.discount_share": _p("{pct:share} of their orders had a discount", "{pct:share} заказов — со скидкой"),
    "reason.callbacks": _p(
        "asked for {n:count:callback|callbacks} in the last {w:number} days",
        f"{{n:count:запрос звонка|запроса звонка|запросов звонка}} за последние {{w:{DAYS_RU}}}"),
    "reason.chats": _p(
        "{n:count:chat|chats} with support in the last {w:number} days",
        f"{{n:count:обращение|обращения|обращений}} в чат поддержки за последние {{w:{DAYS_RU}}}"),
}

# why a customer is likely to be golden or worth much: what they do more of, or more than before
VALUE_REASONS = {
    "reason.spend_growth": _p(
        "spent {pct:share} more in the last {w:number} days than in the {w:number} before",
        f"траты за последние {{w:{DAYS_RU}}} на {{pct:share}} выше, чем за {{w:number}} дней до этого"),
    "reason.spend_recent": _p(
        "spent {amount:money} in the last {w:number} days",
        f"покупки на {{amount:money}} за последние {{w:{DAYS_RU}}}"),
    "reason.orders_recent": _p(
        f"{{n:{ORDERS_EN}}} in the last {{w:number}} days",
        f"{{n:{ORDERS_RU}}} за последние {{w:{DAYS_RU}}}"),
    "reason.regular": _p(
        f"orders every {{gap:{DAYS_EN}}} on average, the last {{days:{DAYS_EN}}} ago",
        f"заказывает в среднем раз в {{gap:{DAYS_RU}}}, последний раз — {{days:{DAYS_RU}}} назад"),
    "reason.big_check": _p("spends {amount:money} per order", "средний чек {amount:money}"),
    "reason.views": _p(
        "{n:count:product view|product views} in the last {w:number} days",
        f"{{n:count:просмотр|просмотра|просмотров}} товаров за последние {{w:{DAYS_RU}}}"),
    "reason.opens": _p(
        "opened {n:count:e-mail|e-mails} in the last {w:number} days",
        f"{{n:count:открытое письмо|открытых письма|открытых писем}} за последние {{w:{DAYS_RU}}}"),
}

# the /customer action's rule
ACTION_RULES = {
    "rule.dead_contact": _p(
        "dead contact: churned for longer than the reactivation window, so an offer is unlikely to pay; keep them "
        "on the suppression list",
        "мёртвый контакт: ушёл дольше окна реактивации, предложение вряд ли окупится; оставьте в списке исключений"),
    "rule.high_risk": _p(
        "churn probability {p:share} is at least the high-risk threshold {high:share}",
        "вероятность оттока {p:share} не ниже порога высокого риска {high:share}"),
    "rule.golden_now": _p(
        "golden now (top 20% by recent revenue)",
        "золотой клиент сейчас (верхние 20\u00a0% по недавней выручке)"),
    "rule.golden_likely": _p(
        "golden probability {p:share} is at least {bar:share}",
        "вероятность стать золотым {p:share} не ниже {bar:share}"),
    "rule.cross_sell": _p(
        f"expected to order again ({{orders:{ORDERS_EN}}} in the next {{h:number}} days) and not at high risk: show "
        "what goes with their purchases",
        f"ожидается повторный заказ ({{orders:{ORDERS_RU}}} за следующие {{h:{DAYS_RU}}}), риск не высокий: "
        "покажите то, что подходит к покупкам"),
    "rule.nothing": _p(
        "churn risk {risk:risk}, not golden, fewer than {bar:short} expected orders in {h:number} days: no action "
        "worth its cost",
        f"риск оттока {{risk:risk}}, не золотой, меньше {{bar:short}} ожидаемых заказов за {{h:{DAYS_RU}}}: "
        "действие не окупится"),
}

# campaign-results: what was measured, or why nothing was
RESULTS = {
    "results.too_early": _p(
        "{campaign}: only {days:count:day|days} of data after the cutoff {cutoff:date} (orders until {last:date}); "
        "an estimate needs at least {need:count:day|days}, so nothing is measured yet: wait and run "
        "campaign-results again (or lower campaigns.min_result_days).",
        "{campaign}: после отсечки {cutoff:date} есть данные лишь за {days:count:день|дня|дней} (заказы до "
        "{last:date}); для оценки нужно не меньше {need:count:дня|дней|дней}, поэтому пока ничего не измерено: "
        "подождите и запустите campaign-results снова (или уменьшите campaigns.min_result_days)."),
    "results.no_data": _p(
        "{campaign}: no order after the cutoff {cutoff:date} yet (the data ends {last:date}), so nothing is "
        "measured: load the orders placed since the cutoff and run campaign-results again.",
        "{campaign}: после отсечки {cutoff:date} заказов ещё нет (данные заканчиваются {last:date}), поэтому ничего "
        "не измерено: загрузите заказы после отсечки и запустите campaign-results снова."),
}

RESULTS |= {
    "results.unmeasurable": _p(
        "the {campaign} campaign cannot be measured: it has {treated:number} treated and {control:number} control "
        "customers (a control share of 0, or too small an audience)",
        "кампанию «{campaign}» нельзя измерить: получивших {treated:number}, в контроле {control:number} (доля "
        "контроля 0 или слишком маленькая аудитория)"),
    "results.brought": _p(
        "the {campaign} campaign brought {orders} extra orders per 100 customers, 95% interval {orders_span}; "
        "{conversion} points of conversion ({conversion_span}); incremental revenue {revenue} ({revenue_span}) over "
        "{days:count:day|days} from {treated:number} contacted against {control:number} held back",
        "кампания «{campaign}» принесла {orders} доп. заказа на 100 клиентов, 95\u00a0% интервал {orders_span}; "
        "конверсия {conversion} п. п. ({conversion_span}); дополнительная выручка {revenue} ({revenue_span}) за "
        f"{{days:{DAYS_RU}}}: {{treated:number}} получивших против {{control:number}} в контроле"),
    "results.lost": _p(
        "the {campaign} campaign lost {orders} orders per 100 customers, 95% interval {orders_span}; "
        "{conversion} points of conversion ({conversion_span}); incremental revenue {revenue} ({revenue_span}) over "
        "{days:count:day|days} from {treated:number} contacted against {control:number} held back",
        "кампания «{campaign}» потеряла {orders} заказа на 100 клиентов, 95\u00a0% интервал {orders_span}; "
        "конверсия {conversion} п. п. ({conversion_span}); дополнительная выручка {revenue} ({revenue_span}) за "
        f"{{days:{DAYS_RU}}}: {{treated:number}} получивших против {{control:number}} в контроле"),
    "results.window_open": _p(
        "the window is not over: only {have:count:day|days} of the {days:number} have data (orders until {last:date}, "
        "the window ends {end:date}), so the results cover fewer days than asked",
        "окно ещё не закончилось: данные есть лишь за {have:count:день|дня|дней} из {days:number} (заказы до "
        "{last:date}, окно заканчивается {end:date}), поэтому результаты охватывают меньше дней, чем запрошено"),
    "results.chance": _p(
        "; the orders interval includes zero, so this cannot yet be told apart from chance",
        "; интервал заказов включает ноль, так что от случайности это пока не отличить"),
    "results.rough": _p(
        " (fewer than {n:number} customers in a group: the interval is only a rough guide)",
        " (меньше {n:number} клиентов в группе: интервал лишь приблизителен)"),
}

PHRASES: dict[str, dict[Lang, str]] = {**RISK_REASONS, **VALUE_REASONS, **ACTION_RULES, **RESULTS, **CAMPAIGN_RULES,
                                       **OFFERS, **PICKS, **REMINDERS, **UPLIFT}
