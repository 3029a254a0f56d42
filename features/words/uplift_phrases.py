"""The report's uplift phrases (``serving.report`` fills them from a campaign's held-out Qini curve): key -> English
and Russian."""

from __future__ import annotations

from features.words.formats import Lang


def _p(en: str, ru: str) -> dict[Lang, str]:
    return {Lang.en: en, Lang.ru: ru}


UPLIFT = {
    "uplift.title": _p("Who is worth an offer: uplift models", "Кому стоит делать предложение: модели аплифта"),
    "uplift.chart": _p("{campaign}: Qini curve on {n:number} held-out customers",
                       "{campaign}: кривая Qini на {n:number} отложенных клиентах"),
    "uplift.x": _p("customers targeted, highest predicted effect first", "охвачено клиентов, по убыванию эффекта"),
    "uplift.y": _p("share of the campaign's {what}", "доля {what} кампании"),
    "uplift.model": _p("targeting by the model", "по модели"),
    "uplift.random": _p("random targeting", "случайный выбор"),
    "uplift.kind.t": _p("T-learner", "T-learner, две модели"),
    "uplift.kind.x": _p("X-learner", "X-learner"),
    "uplift.kind.ct": _p("class transformation", "трансформация классов"),
    "uplift.what.ordered": _p("extra orders", "дополнительных заказов"),
    "uplift.what.revenue": _p("extra revenue", "дополнительной выручки"),
    "uplift.what.visited": _p("extra visits", "дополнительных визитов"),
    "uplift.top": _p(
        "{campaign}: targeting the top {top:share} by predicted effect gets {got:share} of the campaign's {what} "
        "({model}, uplift_{campaign} v{version}, measured on {n:number} held-out customers).",
        "{campaign}: предложение {top:share} клиентов с наибольшим ожидаемым эффектом даёт {got:share} {what} "
        "кампании ({model}, uplift_{campaign} v{version}, измерено на {n:number} отложенных клиентах)."),
    "uplift.more_than_all": _p(
        " More than all of them: the other customers, taken together, ordered slightly less when contacted than "
        "their control group did (noise, or customers an offer puts off).",
        " Больше, чем все: остальные клиенты в сумме заказали при контакте чуть меньше своей контрольной группы "
        "(шум или клиенты, которых предложение отталкивает)."),
    "uplift.none_extra": _p(
        "{campaign}: on its {n:number} held-out customers the campaign brought no measurable {what}, so no share "
        "can be said (uplift_{campaign} v{version}).",
        "{campaign}: на {n:number} отложенных клиентах кампания не принесла измеримых {what}, поэтому долю назвать "
        "нельзя (uplift_{campaign} v{version})."),
    "uplift.missing": _p(
        "No uplift model is registered: run `retention uplift train --data DIR --manifest FILE` on a campaign whose "
        "control group has had time to show its effect.",
        "Моделей аплифта нет: запустите `retention uplift train --data DIR --manifest FILE` для кампании, у "
        "контрольной группы которой было время показать эффект."),
}
