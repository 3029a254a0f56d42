"""Names and labels in both languages: segments, risk levels, tasks, weekdays, actions, and the web page's own words.

The report (``serving/report/i18n.py``) and the web page (``serving/ui/app.js``, which reads ``/ui/words.json``) take
their names from here, so "Чемпионы" and "В зоне риска" are spelled once. Each name table maps the English name
the data and the API use to the word shown; English tables are empty where the name is shown as it is.
"""

from __future__ import annotations

from features.words.formats import Lang

NAMES: dict[str, dict[Lang, dict[str, str]]] = {
    "segment": {
        Lang.en: {},
        Lang.ru: {
            "Champions": "Чемпионы",
            "Loyal": "Лояльные",
            "Active": "Активные",
            "Promising": "Перспективные",
            "New": "Новые",
            "Needs attention": "Требуют внимания",
            "At risk": "В зоне риска",
            "Previously loyal": "Бывшие лояльные",
            "Almost lost": "Почти потерянные",
            "Dormant": "Спящие",
            "(not a customer yet)": "(ещё не клиент)",
        },
    },
    "risk": {
        Lang.en: {},
        Lang.ru: {
            "high": "высокий",
            "medium": "средний",
            "low": "низкий",
        },
    },
    "task": {
        Lang.en: {"churn": "Churn", "golden": "Golden customers", "value": "Customer value"},
        Lang.ru: {
            "churn": "Отток",
            "golden": "Золотые клиенты",
            "value": "Ценность клиента",
        },
    },
    "action": {
        Lang.en: {},
        Lang.ru: {
            "reactivation offer": "предложение для возврата",
            "VIP perk": "привилегия VIP",
            "cross-sell": "кросс-продажа",
            "nothing": "ничего не делать",
        },
    },
    "weekday": {
        Lang.en: {},
        Lang.ru: {
            "Monday": "понедельник",
            "Tuesday": "вторник",
            "Wednesday": "среда",
            "Thursday": "четверг",
            "Friday": "пятница",
            "Saturday": "суббота",
            "Sunday": "воскресенье",
        },
    },
    "answer": {
        Lang.en: {},
        Lang.ru: {"yes": "да", "no": "нет"},
    },
}

# the web page's labels and sentences ({name} placeholders are filled by the page with values it formats)
PAGE: dict[str, dict[Lang, str]] = {
    "page_title": {
        Lang.en: "Customers: segments, churn risk, lookup",
        Lang.ru: "Клиенты: сегменты, риск оттока, поиск",
    },
    "footer": {
        Lang.en: "Served by the retention service; works offline.",
        Lang.ru: "Страница сервиса retention; работает без интернета.",
    },
    "key_label": {
        Lang.en: "API key (RETENTION_API_KEY)",
        Lang.ru: "Ключ API (RETENTION_API_KEY)",
    },
    "key_save": {
        Lang.en: "Use this key",
        Lang.ru: "Использовать ключ",
    },
    "key_forget": {
        Lang.en: "Forget the key",
        Lang.ru: "Забыть ключ",
    },
    "key_missing": {
        Lang.en: "Enter the API key (the service's RETENTION_API_KEY) to see the segments and the churn-risk list.",
        Lang.ru: "Введите ключ API (RETENTION_API_KEY сервиса), чтобы увидеть сегменты и список риска оттока.",
    },
    "key_kept": {
        Lang.en: "The key is kept in this tab only (sessionStorage).",
        Lang.ru: "Ключ хранится только в этой вкладке (sessionStorage).",
    },
    "s_segments": {
        Lang.en: "Segments",
        Lang.ru: "Сегменты",
    },
    "segment": {
        Lang.en: "segment",
        Lang.ru: "сегмент",
    },
    "customers": {
        Lang.en: "customers",
        Lang.ru: "клиенты",
    },
    "share_customers": {
        Lang.en: "share of customers",
        Lang.ru: "доля клиентов",
    },
    "revenue": {
        Lang.en: "revenue",
        Lang.ru: "выручка",
    },
    "share_revenue": {
        Lang.en: "share of revenue",
        Lang.ru: "доля выручки",
    },
    "avg_check": {
        Lang.en: "average check",
        Lang.ru: "средний чек",
    },
    "r_base": {
        Lang.en: "Customers with an order before {cutoff}: {n} in {k} segments; the golden customers (top 20%) "
                 "bring {golden} of the revenue.",
        Lang.ru: "Клиентов с заказом до {cutoff}: {n} в {k} сегментах; золотые клиенты (верхние 20 %) приносят "
                 "{golden} выручки.",
    },
    "s_churn": {
        Lang.en: "Churn risk",
        Lang.ru: "Риск оттока",
    },
    "min_probability": {
        Lang.en: "minimum churn probability",
        Lang.ru: "минимальная вероятность оттока",
    },
    "min_value": {
        Lang.en: "minimum expected value",
        Lang.ru: "минимальная ценность",
    },
    "limit": {
        Lang.en: "at most",
        Lang.ru: "не больше",
    },
    "all_segments": {
        Lang.en: "all segments",
        Lang.ru: "все сегменты",
    },
    "apply": {
        Lang.en: "Show",
        Lang.ru: "Показать",
    },
    "csv": {
        Lang.en: "Download CSV",
        Lang.ru: "Скачать CSV",
    },
    "customer_id": {
        Lang.en: "customer",
        Lang.ru: "клиент",
    },
    "probability": {
        Lang.en: "churn probability",
        Lang.ru: "вероятность оттока",
    },
    "risk": {
        Lang.en: "risk",
        Lang.ru: "риск",
    },
    "expected_value": {
        Lang.en: "expected value",
        Lang.ru: "ожидаемая ценность",
    },
    "expected_lost": {
        Lang.en: "expected lost revenue",
        Lang.ru: "ожидаемая потерянная выручка",
    },
    "last_order": {
        Lang.en: "last order",
        Lang.ru: "последний заказ",
    },
    "top_category": {
        Lang.en: "top category",
        Lang.ru: "любимая категория",
    },
    "reasons": {
        Lang.en: "why",
        Lang.ru: "почему",
    },
    "r_list": {
        Lang.en: "{n} customers match; together they may take {lost} of expected revenue with them.",
        Lang.ru: "Подходит клиентов: {n}; с ними может уйти {lost} ожидаемой выручки.",
    },
    "r_list_none": {
        Lang.en: "No customer matches these filters: lower the minimum probability or value, or pick another "
                 "segment.",
        Lang.ru: "Никто не подходит под эти фильтры: снизьте минимальную вероятность или ценность либо выберите "
                 "другой сегмент.",
    },
    "bad_filter": {
        Lang.en: "{what} must be a number from {low} to {high}.",
        Lang.ru: "{what}: нужно число от {low} до {high}.",
    },
    "s_lookup": {
        Lang.en: "Customer lookup",
        Lang.ru: "Поиск клиента",
    },
    "look_up": {
        Lang.en: "Look up",
        Lang.ru: "Найти",
    },
    "reasons_title": {
        Lang.en: "Why this churn risk",
        Lang.ru: "Почему такой риск оттока",
    },
    "recommendations": {
        Lang.en: "Recommendations",
        Lang.ru: "Рекомендации",
    },
    "item": {
        Lang.en: "item",
        Lang.ru: "товар",
    },
    "score": {
        Lang.en: "score",
        Lang.ru: "оценка",
    },
    "reason": {
        Lang.en: "reason",
        Lang.ru: "причина",
    },
    "fallback": {
        Lang.en: "Unknown to the recommender: popular or cart-based picks.",
        Lang.ru: "Рекомендатель не знает клиента: популярные товары или товары по корзине.",
    },
    "no_picks": {
        Lang.en: "No recommendations.",
        Lang.ru: "Рекомендаций нет.",
    },
    "rfm_cell": {
        Lang.en: "RFM cell",
        Lang.ru: "ячейка RFM",
    },
    "previous_segment": {
        Lang.en: "segment before",
        Lang.ru: "прежний сегмент",
    },
    "golden_now": {
        Lang.en: "golden customer now",
        Lang.ru: "золотой клиент сейчас",
    },
    "golden_probability": {
        Lang.en: "chance of becoming golden",
        Lang.ru: "вероятность стать золотым",
    },
    "expected_orders": {
        Lang.en: "expected orders",
        Lang.ru: "ожидаемые заказы",
    },
    "next_order": {
        Lang.en: "next order expected",
        Lang.ru: "следующий заказ",
    },
    "best_time": {
        Lang.en: "best time to send",
        Lang.ru: "лучшее время для рассылки",
    },
    "action": {
        Lang.en: "suggested action",
        Lang.ru: "что сделать",
    },
    "yes": {
        Lang.en: "yes",
        Lang.ru: "да",
    },
    "no": {
        Lang.en: "no",
        Lang.ru: "нет",
    },
    "none": {
        Lang.en: "-",
        Lang.ru: "-",
    },
    "at_hour": {
        Lang.en: "{day}, around {hour}:00",
        Lang.ru: "{day}, около {hour}:00",
    },
    "no_reasons": {
        Lang.en: "Nothing in their behaviour stands out: the risk is that of customers like them.",
        Lang.ru: "В поведении клиента ничего не изменилось: риск такой же, как у похожих клиентов.",
    },
    "api_error": {
        Lang.en: "The service answered {status} ({error}): {detail}",
        Lang.ru: "Сервис ответил {status} ({error}): {detail}",
    },
    "unreachable": {
        Lang.en: "Could not reach the service: {why}",
        Lang.ru: "Сервис недоступен: {why}",
    },
    "hint_401": {
        Lang.en: " Check the API key above.",
        Lang.ru: " Проверьте ключ API выше.",
    },
    "hint_503": {
        Lang.en: " Try again in a few seconds.",
        Lang.ru: " Повторите через несколько секунд.",
    },
    "page_error": {
        Lang.en: "The page failed: {why}. Reload it; if it happens again, the service log may say more.",
        Lang.ru: "Ошибка на странице: {why}. Перезагрузите её; если повторится, подробности в журнале сервиса.",
    },
}
