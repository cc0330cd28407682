"""Generate the bundled example dataset: customer-support exchanges for fine-tuning.

Seeded, so the file is reproducible. It carries the problems an audit should find, at rates a
real export might have: a few exact and near duplicates, a few non-English tickets, two
records with (fictitious) contact details, one empty record and one malformed line.

    python examples/make_support_tickets.py > examples/support_tickets.jsonl
"""

from __future__ import annotations

import json
import random
import sys

SEED = 20261125
CATEGORIES = {
    "billing": (
        [
            "I was charged twice for my {plan} subscription this month.",
            "Why did my invoice go up after I switched to the {plan} plan?",
            "Can I get a refund for the {plan} plan? I cancelled within the trial.",
            "My card was declined when I tried to renew the {plan} plan.",
            "Where can I download the invoices for last quarter?",
        ],
        [
            "I'm sorry about the double charge. I have reversed the second payment; it will "
            "show on your statement within five business days.",
            "Prices for the {plan} plan changed on the first of the month. You can keep the old "
            "price until your renewal date, and I have applied that for you.",
            "Refunds within the trial period are automatic. Your refund has been issued and you "
            "will receive a confirmation by e-mail.",
            "Card declines usually come from the bank. Please check with them, or add another "
            "payment method under Settings, then Billing.",
            "Invoices are under Settings, then Billing, then History. Each one can be downloaded "
            "as a PDF.",
        ],
    ),
    "technical": (
        [
            "The app crashes when I open the {feature} screen on my phone.",
            "Sync between my laptop and tablet stopped working yesterday.",
            "The {feature} export produces an empty file.",
            "I get a timeout error every time I upload a large attachment.",
            "Notifications for {feature} no longer arrive.",
        ],
        [
            "Thanks for reporting this. Version 4.2 fixes a crash in that screen; please update "
            "the app and let us know if it happens again.",
            "Please sign out on both devices and sign in again; this refreshes the sync token. "
            "If the problem persists, send us the log from Help, then Diagnostics.",
            "An empty export happens when the date filter excludes every item. Clear the filter "
            "and run the export again.",
            "Uploads over 2 GB time out on slow connections. Use the desktop app, which resumes "
            "interrupted uploads.",
            "Notification settings were reset by the last update. Turn them on again under "
            "Settings, then Notifications.",
        ],
    ),
    "account": (
        [
            "How do I change the e-mail address on my account?",
            "I forgot my password and the reset link has expired.",
            "Can I add a second administrator to our team account?",
            "How do I delete my account and all my data?",
            "I want to merge my personal account into my company's {plan} workspace.",
        ],
        [
            "Go to Settings, then Profile, and choose Change e-mail. We send a confirmation link "
            "to the new address.",
            "Reset links are valid for one hour. I have sent you a new one; please use it soon.",
            "Owners of a team account can add administrators under Team, then Members, then Roles.",
            "You can delete your account under Settings, then Privacy. All data is erased within "
            "thirty days, as our privacy policy describes.",
            "I can move your projects into the workspace. Please confirm that you want this; "
            "personal billing will stop at the end of the period.",
        ],
    ),
    "shipping": (
        [
            "My order has not arrived and the tracking page has not changed for a week.",
            "Can I change the delivery address of an order that has already shipped?",
            "The parcel arrived damaged. What should I do?",
            "Do you ship the {feature} adapter to Canada?",
            "I received the wrong item in my last order.",
        ],
        [
            "I'm sorry for the delay. I have opened an investigation with the carrier and will "
            "update you within two business days.",
            "Once an order has shipped, the carrier can redirect it. I have asked them to do so; "
            "a small fee may apply.",
            "Please send us a photo of the damage and keep the packaging. We will send a "
            "replacement right away.",
            "Yes, we ship that adapter to Canada. Delivery takes about a week.",
            "Sorry about the mix-up. A return label is on its way, and the right item ships today.",
        ],
    ),
}
OPENERS = [
    "",
    "Hi, ",
    "Hello, ",
    "Good morning. ",
    "Hi there! ",
    "Hello team, ",
    "Quick question: ",
    "Sorry to bother you again. ",
]
CLOSERS = [
    "",
    " Thanks.",
    " Thank you!",
    " Any help is appreciated.",
    " This is urgent.",
    " Thanks in advance.",
    " I'm on the {plan} plan, version {version}.",
    " It's about order #{order}, total ${price}.",
]
PLANS = ["Basic", "Team", "Pro", "Enterprise"]
FEATURES = ["calendar", "reports", "dashboard", "invoices", "photo", "USB-C"]
FOREIGN = [
    (
        "billing",
        "Ich wurde diesen Monat zweimal für mein Abonnement belastet. Können Sie das "
        "bitte prüfen und mir das Geld zurückerstatten?",
    ),
    (
        "shipping",
        "Ma commande n'est toujours pas arrivée et le suivi n'a pas changé depuis une "
        "semaine. Pouvez-vous m'aider ?",
    ),
    (
        "technical",
        "La aplicación se cierra cada vez que abro la pantalla de informes en mi "
        "teléfono. ¿Hay alguna solución?",
    ),
]


def main() -> None:
    rng = random.Random(SEED)
    records: list[dict[str, str]] = []
    for n in range(1, 481):
        label = rng.choice(sorted(CATEGORIES))
        questions, answers = CATEGORIES[label]
        i = rng.randrange(len(questions))
        fill = {
            "plan": rng.choice(PLANS),
            "feature": rng.choice(FEATURES),
            "order": rng.randrange(10_000, 99_999),
            "price": f"{rng.randrange(5, 400)}.{rng.randrange(100):02d}",
            "version": f"4.{rng.randrange(10)}.{rng.randrange(20)}",
        }
        question = rng.choice(OPENERS) + questions[i] + rng.choice(CLOSERS)
        text = f"Customer: {question.format(**fill)}\nAgent: {answers[i].format(**fill)}"
        records.append({"id": f"T{n:04d}", "label": label, "text": text})
    for k, (label, text) in enumerate(FOREIGN):
        reply = "Agent: Thank you, we will look into it."
        records[40 + 97 * k] = {
            "id": records[40 + 97 * k]["id"],
            "label": label,
            "text": f"Customer: {text}\n{reply}",
        }
    # Contact details a careless export leaves in (fictitious: reserved domain and number range).
    records[120]["text"] += " If you need more, write to me at jordan.miles@example.com."
    records[333]["text"] += " You can also call me on (555) 014-2231 after six."
    records[200]["text"] = ""
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    lines.insert(250, '{"id": "T9999", "label": "billing", "text": "truncated export')
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
