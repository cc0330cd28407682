"""Templates of the "fresh" PII set (bench/pii_fresh.py): positives and hard negatives.

Written blind (see bench/pii_fresh.py). A slot ``{x}`` is filled by ``pii_fresh``'s value
makers; ``{lb}`` and ``{rb}`` stand for literal braces (JSON snippets), because the shared
filler ``pii_corpus.fill_template`` reads every brace as a slot. Titles (Mr., Dr., Herr,
Mme, Sra., Sig.ra, mevrouw) and degrees or suffixes (PhD, MD, Esq.) are template text, outside
the PERSON slots.
"""

from __future__ import annotations

# {slot} -> entity of its value; every other slot holds no personal data.
FRESH_SLOTS = {
    "name": "PERSON", "name2": "PERSON", "first": "PERSON", "last": "PERSON",
    "lower": "PERSON", "caps": "PERSON", "initials": "PERSON",
    "phone": "PHONE_NUMBER", "phone2": "PHONE_NUMBER",
    "email": "EMAIL_ADDRESS", "email2": "EMAIL_ADDRESS", "ssn": "US_SSN",
    "card": "CREDIT_CARD", "iban": "IBAN_CODE",
    "ip": "IP_ADDRESS", "ip4": "IP_ADDRESS", "ip6": "IP_ADDRESS",
}  # fmt: skip

FRESH_TEMPLATES: tuple[str, ...] = (
    # chat turns (fine-tuning data)
    "User: hi, my name is {name} and I can't reset my password. The reset mail goes to "
    "{email} but never arrives.\nAssistant: Sorry to hear that, {first}. Let me check the "
    "account for you.",
    "### Human: Write a short, polite reminder to {name} about the unpaid invoice. Her mobile "
    "is {phone}.\n### Assistant: Dear {title} {last}, this is a friendly reminder that "
    "invoice 2291 is still open.",
    '{lb}"role": "user", "content": "Call me back on {phone} please, I\'m {first}."{rb}',
    "[14:02] {lower}: ok sending u my ip, it's {ip4}\n[14:03] support: thanks, whitelisted",
    "<|user|>\nturn this into a contact card: {lower} {phone} {email}\n<|assistant|>\n"
    "Here is the contact card you asked for.",
    "user: is it safe to send my SSN {ssn} over chat?\nassistant: Please don't share it "
    "here; our team will call you on the number on file.",
    "Q: My friend {first} asked me to pay into {iban}, is that a Dutch account?\n"
    "A: The country code at the start tells you the country.",
    # support tickets
    "Ticket HD-20931 | Requester: {name} <{email}> | Priority: P2\nCustomer reports card "
    "{card} was charged twice for the annual plan.",
    "Caller {first} rang from {phone} about a broken dishwasher; engineer booked Thursday AM.",
    "Status: pending customer. Last note: asked {title} {last} to confirm the device "
    "address ({ip}).",
    "Please verify the account holder before releasing funds: {caps}, SSN {ssn}, DOB 1984-07-19.",
    "Buenos días, soy {name}. Mi correo es {email} y mi teléfono {phone}; el router sigue "
    "sin conexión.",
    # e-mails and signatures
    "Hi all,\n\nattached the Q3 numbers.\n\nBest,\n{name}\nHead of Finance | Kestrel Freight"
    " Ltd\nDirect: {phone} | Mobile: {phone2}\n{email}",
    "Thanks, {first}!\n\n--\n{initials}\nProcurement\nTel {phone}\n{email}",
    "On Tue, 4 Mar 2025 at 09:14, {name} <{email}> wrote:\n> Could you send the invoice "
    "to my private address instead?",
    "Von: {name} <{email}>\nGesendet: Montag, 3. März 2025 09:12\nBetreff: Rückruf\n\nBitte "
    "rufen Sie mich unter {phone} zurück.",
    "Please unsubscribe {email} and {email2} from the newsletter, they left the company.",
    "Regards\n{name}, PhD\nSenior Scientist\n{phone}",
    # HR, medical, legal, bank letters
    "Dear {title} {last},\n\nWe are pleased to offer you the position of Site Reliability "
    "Engineer. Please return the signed offer to {email} and give us your SSN ({ssn}) for "
    "payroll.\n\nSincerely,\nPeople Operations",
    "CONFIDENTIAL - occupational health referral\nEmployee: {name}\nManager: {name2}\n"
    "Reason: recurring back pain, please assess fitness for night shifts.",
    "Discharge summary: {title} {last} was seen by Dr. {name2}. Follow-up by phone on {phone}.",
    "RE: Estate of the late {name}. Our client, {name2}, is the sole executor; please direct "
    "all correspondence to {email}.",
    "Your standing order to {iban} (beneficiary {name}) will be cancelled at the request of "
    "the account holder.",
    "Account holder: {caps}\nIBAN: {iban}\nDebit card: {card}\nTelephone banking PIN reset "
    "requested from {phone}.",
    "Counsel for the plaintiff, {name}, Esq., filed the motion; opposing counsel {name2} has "
    "14 days to respond.",
    "The referring physician, {name2}, MD, notes that {first} reacted badly to penicillin.",
    # multilingual
    "Sehr geehrte Frau {last},\n\nIhre Überweisung auf das Konto {iban} ist eingegangen. Bei "
    "Fragen erreichen Sie uns unter {phone}.\n\nMit freundlichen Grüßen",
    "Hallo {first}, kannst du {name2} bitte die IBAN {iban} schicken? Danke!",
    "Sehr geehrter Herr Dr. {last}, anbei die Rechnung. Rückfragen bitte an {email} oder "
    "telefonisch unter {phone}.",
    "Mme {last} a appelé du {phone} au sujet de sa carte {card} ; merci de la rappeler.",
    "La Dott.ssa {last} riceve il martedì; per appuntamenti chiamare il {phone}.",
    "Madame {last}, votre rendez-vous avec le Dr {name} est confirmé pour jeudi. En cas "
    "d'empêchement, appelez le {phone}.",
    "Cher {first}, merci pour ton message. Mon nouveau numéro : {phone}. Bises, {name2}",
    "Estimada Sra. {last}: le confirmamos el reembolso a la tarjeta {card}. Atentamente, {name}",
    "hola {lower}! te paso mi número nuevo: {phone} :)",
    "Gentile Sig.ra {last}, il bonifico di 480 euro sull'IBAN {iban} è stato eseguito. Per "
    "informazioni scriva a {email}.",
    "Ciao {first}, ho ricevuto la mail da {email} ma il link non funziona. Mi chiami al {phone}?",
    "Beste {first}, je kunt me bellen op {phone} of mailen naar {email}. Groet, {name2}",
    "Geachte heer {last}, uw klacht over het IP-adres {ip} is in behandeling genomen.",
    # forms
    "APPLICATION FORM\nSURNAME, FORENAME: {caps}\nTELEPHONE: {phone}\nE-MAIL: {email}\n"
    "SOCIAL SECURITY NO.: {ssn}",
    "Name: {name} | Date of birth: 02/11/1990 | Contact: {phone} | Card on file: {card}",
    "First name: {first}\nLast name: {last}\nEmail: {email}\nHow did you hear about us? Podcast",
    "Emergency contact (name / relation / phone): {name} / sister / {phone}",
    "PAYEE: {caps}   ACCOUNT (IBAN): {iban}   AMOUNT: 1,250.00",
    # forum posts
    "Posted by {lower} on 12 Feb\nMy ISP keeps changing my public IP (now {ip4}) and the port "
    "forward breaks every time. Any ideas?",
    'Quote from {first}: "just email {email} and ask for the driver" - did that, no reply '
    "after two weeks.",
    "Thanks to {name} for the fix! For anyone else: the box at {ip6} needed a firmware reset.",
    # logs
    "2025-06-01T12:44:09Z INFO sshd[2231]: Accepted publickey for deploy from {ip4} port {port}",
    '{ip4} - - [01/Jun/2025:12:44:09 +0000] "POST /login HTTP/1.1" 401 512 user={email}',
    "WARN [billing] charge failed card={card} customer_email={email} reason=do_not_honor",
    "audit: user {email} granted role admin from [{ip6}]:{port}",
    "connect() to {ip4}:{port} failed (111: Connection refused) while proxying for {email}",
    "kernel: [UFW BLOCK] IN=eth0 SRC={ip} DST={ip4} PROTO=TCP DPT=22",
    # CSV / TSV rows
    "employee_id,full_name,ssn,phone\nE-4471,{name},{ssn},{phone}",
    "{last}\t{first}\t{email}\t{phone}\tactive\t2024-11-02",
    '"{name}";"{iban}";"EUR";"1.250,00";"rent May"',
    # JSON snippets
    '{lb}"customer": {lb}"name": "{name}", "email": "{email}", "phone": '
    '"{phone}"{rb}, "order_id": 88123{rb}',
    '{lb}"event":"login_failed","src_ip":"{ip}","user":"{email}"{rb}',
    '{lb}"payee": "{name}", "iban": "{iban}", "amount": 120.5{rb}',
    # code comments
    "# TODO({lower}): remove the hard-coded test card {card} before release",
    "// ask {name} ({email}) before changing the retry logic",
    "-- temp fix: allow {ip4} for the reporting job; ping {first} in data-eng",
    'DEFAULT_ESCALATION_PHONE = "{phone}"  # {initials}, on-call lead',
    # meeting notes
    "Meeting notes 14 May\nAttendees: {name}, {name2}, {first} (guest)\nAction: {first} to "
    "send the vendor list to {email} by Friday.",
    "1:1 {first} / {name2}: discussed the promotion case; follow up with HR next week.",
    "Standup: {lower} blocked on VPN ({ip} unreachable), {name} reviewing the PR.",
    # SMS
    "Your courier {first} is on the way. Questions? Text {phone}. Reply STOP to opt out.",
    "FRM {caps}: running late, call me on {phone}",
    "Hi it's {first} from the dental practice, pls confirm ur appointment by calling {phone}",
    # possessives, initials, bare contact lines
    "{first}'s laptop was stolen; the card {card} saved in the browser has been blocked.",
    "I forwarded {name}'s CV to the hiring manager ({email}).",
    "Signed on behalf of the company by {initials}, Director, in the presence of {name}.",
    "{name} · {phone} · {email} · vCard attached",
    "Reach out any time: {phone} (WhatsApp) or {phone2} (office)",
    "Landlord: {name}, {phone}. Deposit account: {iban}.",
    # SSN, IP and card contexts
    "The W-2 for {name} shows an SSN of {ssn}; the 1099 lists a different one.",
    "Per the SSA letter, your social security number {ssn} has been verified, {first}.",
    "tax id (ssn): {ssn}, filer {caps}",
    "Geo-block triggered for {ip}; the user, {name}, says she was in Lisbon at the time.",
    "Firewall rule added: allow {ip4}/32 -> db01:5432 (requested by {first})",
    "ping6 {ip6} shows 100% loss from the Frankfurt PoP since 02:00.",
    "Refund to the card you gave us ({card}) is processing, {title} {last}.",
    "card no {card} exp 09/28 cvc *** - holder {name}",
)

# (kind, template): no personal data at all, no person's name either.
FRESH_NEGATIVES: tuple[tuple[str, str], ...] = (
    ("date", "Renewal window opens {date} and closes {date}."),
    ("timestamp", "Build finished at {stamp} (duration 00:14:52)."),
    ("time", "Store hours: Mon-Fri {time}-{time}, Sat {time}-{time}."),
    ("version4", "Upgraded the agent from {version4} to {version4} on every node."),
    ("version", "Requires Python >= 3.10 and numpy {version}."),
    ("isbn", "ISBN {isbn} (paperback), 412 pp."),
    ("barcode", "EAN {ean} / UPC {upc} printed on the outer carton."),
    ("order", "Order #{order} has shipped, tracking number {tracking}."),
    ("invoice", "Invoice {invoice} dated {date} is now overdue by 12 days."),
    ("luhn_fail", "Gift card {badcard} has a remaining balance of {price}."),
    ("product_code", "Replacement filter, part no. {pcode}, fits all 2019+ models."),
    ("hash", "sha256 {sha256}  release.tar.gz"),
    ("uuid", "trace_id={uuid} span_id={hex16} status=OK"),
    ("coords", "Meet at the north gate ({coords}), next to the bike racks."),
    ("price", "Total: {price} incl. 20% VAT; shipping {price}."),
    ("postcode", "We now deliver to {postcode} and the surrounding area."),
    ("brand", "Pay with {brand} at checkout and get free delivery over {price}."),
    ("name_words", "Grace period ends on {date}; after that a late fee of {price} applies."),
    (
        "name_words",
        "Rose Garden Café opens at {time} on weekends; the Victoria Station exit is closest.",
    ),
    (
        "name_words",
        "Will the May release include the June fixes? Mark the ticket as blocked if not.",
    ),
    ("name_words", "Summer sale: Joy-Con controllers and Dawn dish soap are 20% off until {date}."),
    (
        "name_words",
        "Jasmine rice, Ruby Red grapefruit and Iris bulbs are back in stock (SKU {sku}).",
    ),
    (
        "name_words",
        "Jenkins job #{build} failed after the Ruby on Rails upgrade; Amazon S3 was fine.",
    ),
    ("name_words", "Delays on the District line between Victoria and Earl's Court until {time}."),
    ("amazon_order", "Amazon order {amazon} will arrive {date}."),
    ("mac", "New device on the LAN: MAC {mac}, vendor Espressif."),
    ("oid", "SNMP OID {oid} returned 0 for ifHCInOctets."),
    ("cve", "Patched {cve} and bumped openssl to {version}."),
    ("doi", "See doi:{doi} for the full method."),
    ("ssn_shaped", "Bolt assortment {ssnshape} (M6, 40 pcs) is back in stock."),
    ("creditor_ref", "Please quote creditor reference {rf} with your payment."),
    ("serial", "Serial {serial} is covered until {date}."),
    ("stats", "p = 0.0312, n = {count}, 95% CI [0.18, 0.42], r = -0.07"),
    ("ports", "Ports {portrange}/udp must be open for the media relay."),
    ("case_ref", "Case ref {caseref}: the council will reply within 20 working days."),
    ("lot", "Lot {lot}, best before {date}."),
    ("flight", "Flight {flight} departs {time} from gate {gate}."),
    (
        "chat",
        "User: what's the capital of Georgia?\nAssistant: Tbilisi for the country, "
        "Atlanta for the US state.",
    ),
    ("chat", "user: convert {date} to ISO format please\nassistant: Sure, here it is."),
    ("code", "retry_after_ms = 86400000  # 24 h, see RFC 9110 section 10.2.3"),
    ("json", '{lb}"sku": "{sku}", "price": {amount}, "ean": "{ean}"{rb}'),
    ("csv", "date,sessions,bounce_rate\n{date},{count},0.41"),
    ("ticket", "Ticket HD-{order} closed: printer on floor 2 replaced (asset {asset})."),
    ("de", "Ihre Bestellung {order} vom {date} wurde heute versendet."),
    ("fr", "Commande n° {order} expédiée le {date}, livraison sous 48 h."),
    ("es", "Pedido {order}: entrega prevista el {date} entre las {time} y las {time}."),
    ("it", "Fattura n. {invoice} del {date}, importo {price}."),
    ("nl", "Uw pakket {tracking} wordt morgen tussen {time} en {time} bezorgd."),
)
