"""The campaign rules' and offers' phrases (``features.campaigns.rules`` fills them): key -> English and Russian.

The English reads as the rules always did; money in a rule keeps two decimals (``money2``), as the amounts a
marketer copies into a voucher.
"""

from __future__ import annotations

from features.words.formats import Lang

DAYS_EN, DAYS_RU = "count:day|days", "count:день|дня|дней"


def _p(en: str, ru: str) -> dict[Lang, str]:
    return {Lang.en: en, Lang.ru: ru}


CAMPAIGN_RULES = {
    "campaign.reactivation": _p(
        "no order for {days:number} days: {past:number} days past their own churn boundary of {boundary:number} days "
        "({why}); expected lost value {lost:money2}",
        f"нет заказов {{days:{DAYS_RU}}}: на {{past:number}} дн. дольше собственной границы оттока "
        "({boundary:number} дн.; {why}); ожидаемая потерянная ценность {lost:money2}"),
    "campaign.boundary_repeat": _p("about twice their usual gap", "примерно два обычных интервала"),
    "campaign.boundary_one_time": _p("the shop's usual gap for one-time buyers",
                                     "обычный интервал магазина для разовых покупателей"),
    "campaign.win_back": _p(
        "no order for {days:number} days: a dead contact in {left:number} days unless they buy; win back now or drop",
        f"нет заказов {{days:{DAYS_RU}}}: через {{left:{DAYS_RU}}} станет мёртвым контактом, если не купит; верните "
        "сейчас или перестаньте писать"),
    "campaign.suppression": _p(
        "no order for {days:number} days, {past:number} past their churn boundary{engaged}: stop paying to message",
        f"нет заказов {{days:{DAYS_RU}}}, на {{past:number}} дн. дольше границы оттока{{engaged}}: не тратьте на "
        "рассылки"),
    "campaign.not_engaged": _p(", no e-mail opened or clicked since", ", с тех пор ни одного открытого письма"),
    "campaign.second_order": _p("one order, {days:number} days ago; {source}",
                                f"один заказ, {{days:{DAYS_RU}}} назад; {{source}}"),
    "campaign.second_source": _p(
        "{low:share} to {high:share} of this shop's {repeaters:number} second orders came {lo:number} to {hi:number} "
        "days after the first",
        "от {low:share} до {high:share} из {repeaters:number} вторых заказов магазина пришли через {lo:number}–"
        "{hi:number} дн. после первого"),
    "campaign.second_fallback": _p(
        "the shop has only {repeaters:number} second orders, so the default window of {lo:number} to {hi:number} days",
        "у магазина всего {repeaters:number} вторых заказов, поэтому окно по умолчанию: {lo:number}–{hi:number} дн."),
    "campaign.vip_keep": _p(
        "golden now: among the customers who bring most of the last year's revenue; keep them",
        "золотой клиент сейчас: среди тех, кто приносит большую часть выручки за год; удержите"),
    "campaign.vip_grow": _p(
        "not golden yet, {p:share} likely to be golden next period; grow them",
        "пока не золотой, вероятность стать золотым в следующем периоде {p:share}; развивайте"),
    "campaign.reminders": _p(
        "{n:count:item|items} viewed or wished for in the {days} days before the cutoff, in stock, not bought: {items}",
        "{n:count:товар|товара|товаров} просмотрено или отложено за {days} дней до даты отсечки, в наличии, "
        "не куплено: {items}"),
    "campaign.cart": _p(
        "{n:count:item|items} added to the cart {hours:number} hours before the cutoff, in stock, not bought since: "
        "{items}",
        "{n:count:товар|товара|товаров} в корзине за {hours:number} ч до отсечки, в наличии, не куплены: {items}"),
    "campaign.birthday_today": _p("birthday today ({who})", "день рождения сегодня ({who})"),
    "campaign.birthday_in": _p(f"birthday in {{days:{DAYS_EN}}} ({{who}})",
                               f"день рождения через {{days:{DAYS_RU}}} ({{who}})"),
    "campaign.who_golden": _p("golden customer", "золотой клиент"),
    "campaign.who_segment": _p("{segment} customer", "сегмент «{segment}»"),
    "campaign.who_customer": _p("customer", "клиент"),
    "campaign.tier_reach": _p(
        "spend {missing:money2} more to reach Premier ({spend:money2} of {threshold:number} in the last {year:number} "
        "days; {points:number} points)",
        "потратьте ещё {missing:money2}, чтобы получить Premier ({spend:money2} из {threshold:number} за последние "
        "{year:number} дн.; баллов: {points:number})"),
    "campaign.tier_keep": _p(
        "Premier now ({spend:money2} in the last {year:number} days) but only {kept:money2} of it still counts on "
        "{when}: spend {missing:money2} by then to stay Premier",
        "Premier сейчас ({spend:money2} за последние {year:number} дн.), но на {when} из этого будет учитываться "
        "лишь {kept:money2}: потратьте {missing:money2} до этой даты, чтобы остаться Premier"),
    "campaign.no_opt_in": _p("no e-mail opt-in: 0 a month", "нет согласия на рассылку: 0 в месяц"),
    "campaign.visited": _p("visited on {visits:number} of the last {days:number} days",
                           "заходил на сайт в {visits:number} из последних {days:number} дн."),
    "campaign.opened": _p("opened {opens:count:e-mail|e-mails} in {days:number} days",
                          f"{{opens:count:открытое письмо|открытых письма|открытых писем}} за {{days:{DAYS_RU}}}"),
    "campaign.opened_none": _p("opened no e-mail in {days:number} days",
                               f"ни одного открытого письма за {{days:{DAYS_RU}}}"),
    "campaign.per_month": _p("{why}: {n:number} a month", "{why}: {n:number} в месяц"),
}

# the default offers (features.campaigns.config.DEFAULT_OFFERS is the English); a shop's own offer text is its own
OFFERS = {
    "offer.reactivation": _p("we miss you: a personal pick with a 10% voucher, valid 14 days",
                             "мы скучаем: персональная подборка и купон 10\u00a0% на 14 дней"),
    "offer.win_back": _p("last call: 15% off before we stop writing; otherwise stop messaging",
                         "последний шанс: скидка 15\u00a0%, иначе перестаём писать"),
    "offer.second_order": _p("thank-you for the first order: free delivery on the second",
                             "спасибо за первый заказ: бесплатная доставка второго"),
    "offer.vip_care/keep": _p("keep: early access and a personal thank-you, no discount",
                              "удержание: ранний доступ и личная благодарность, без скидки"),
    "offer.vip_care/grow": _p("grow: a bundle or up-sell from a favourite category",
                              "развитие: набор или товар классом выше из любимой категории"),
    "offer.reminders": _p("a reminder of what they looked at or wished for, no discount",
                          "напоминание о просмотренных и отложенных товарах, без скидки"),
    "offer.abandoned_carts": _p("reminder of the cart items, no discount",
                                "напоминание о товарах в корзине, без скидки"),
    "offer.birthdays": _p("birthday greeting with a 15% birthday coupon",
                          "поздравление с днём рождения и купон 15\u00a0%"),
    "offer.tier_progress/reach": _p("the spend to reach Premier, with a bonus-points week",
                                    "сколько потратить до Premier, и неделя бонусных баллов"),
    "offer.tier_progress/keep": _p("the spend to stay Premier before points expire",
                                   "сколько потратить, чтобы остаться Premier, пока баллы не сгорели"),
    "offer.contact_frequency": _p("newsletter cadence: this many messages a month",
                                  "частота рассылки: столько писем в месяц"),
    "offer.control": _p("control group: do not contact", "контрольная группа: не связываться"),
}

# the recommender's reasons (models/recommender/reasons.py words them in English; the service translates per request)
PICKS = {
    "pick.als": _p("customers like you bought", "покупают похожие клиенты"),
    "pick.category": _p("popular in {category}", "популярно в категории {category}"),
    "pick.popular": _p("popular right now", "популярно сейчас"),
    "pick.trending": _p("trending now", "набирает популярность"),
    "pick.copurchase": _p("bought together with {anchor}", "покупают вместе с {anchor}"),
    "pick.upsell": _p("a step up from {anchor}", "классом выше, чем {anchor}"),
    "pick.buy_again": _p("time to buy again", "пора купить снова"),
    "pick.cart": _p("bought together with {anchor} in your cart", "покупают вместе с {anchor} из вашей корзины"),
    "pick.topup": _p("adds {amount}: free delivery", "+{amount} к корзине: доставка бесплатно"),
}

# why /reminders shows an item (serving/reminders.py)
REMINDERS = {
    "reminder.cart": _p("still in your cart", "всё ещё в вашей корзине"),
    "reminder.wishlist": _p("on your wish list", "в вашем списке желаний"),
    "reminder.viewed": _p("you looked at it recently", "вы недавно смотрели"),
    "reminder.popular": _p("bought by others lately in {category}", "другие недавно покупали в категории {category}"),
}
