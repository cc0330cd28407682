"""English templates of the "fresh2" PII set (bench/pii_fresh2.py): positives and negatives.

Written blind (see bench/pii_fresh2.py). A slot ``{x}`` is filled by the set's value makers;
``{lb}`` / ``{rb}`` stand for literal braces (JSON, YAML flow maps), because the shared
filler ``pii_corpus.fill_template`` reads every brace as a slot. Titles, degrees and the
possessive "'s" are template text, outside the PERSON spans; so are ``tel:``, ``mailto:``,
ports, CIDR suffixes and brackets around IPv6 addresses.
"""

from __future__ import annotations

# {slot} -> entity of its value; every other slot holds no personal data.
FRESH2_SLOTS = {
    "name": "PERSON", "name2": "PERSON", "first": "PERSON", "last": "PERSON",
    "lower": "PERSON", "caps": "PERSON", "initials": "PERSON", "rev": "PERSON",
    "phone": "PHONE_NUMBER", "phone2": "PHONE_NUMBER",
    "email": "EMAIL_ADDRESS", "email2": "EMAIL_ADDRESS", "ssn": "US_SSN",
    "card": "CREDIT_CARD", "iban": "IBAN_CODE",
    "ip": "IP_ADDRESS", "ip4": "IP_ADDRESS", "ip6": "IP_ADDRESS",
}  # fmt: skip

_T = (
    # instruction / response pairs (fine-tuning data)
    ("instruct", "### Instruction:\nExtract the caller's details from this voicemail.\n\n"
     "### Input:\nHey, it's {name}, I'm calling about the leaking boiler, you can get me on "
     "{phone} after six.\n\n### Response:\nCaller: {name2}; topic: boiler leak; "
     "callback after 18:00."),
    ("instruct", "<s>[INST] Rewrite more formally: \"yo {lower}, wire the deposit to {iban} "
     "asap\" [/INST] Dear colleague, please transfer the deposit at your earliest "
     "convenience.</s>"),
    ("instruct", "Instruction: Classify the sentiment of the review.\nReview: \"{first} at the "
     "front desk was brilliant, she even rang me on {phone} when my bag turned up.\"\n"
     "Label: positive"),
    ("instruct", '{lb}"instruction": "Summarise the complaint", "input": "My name is {name} and '
     'your app charged {card} three times", "output": "Customer reports a triple charge."{rb}'),
    ("instruct", "Prompt: Draft a reply to {email} confirming the refund.\nCompletion: Hello "
     "{first},\nyour refund has been approved and will reach your account within 5 days."),
    ("instruct", "Below is a form. Fill in the missing field.\nHolder: {caps}\nSSN: {ssn}\n"
     "Employer: ___\nAnswer: The employer is not given in the input."),
    # multi-turn chat transcripts with speaker labels
    ("chat", "[agent] Thanks for waiting. Can I have the name on the account?\n[customer] "
     "{name}\n[agent] And the e-mail we have on file?\n[customer] {email}\n[agent] Perfect, "
     "I can see the order now."),
    ("chat", "Visitor: hello? anyone there\nBot: Hi! I'm the virtual assistant. What's "
     "your first name?\nVisitor: {lower}\nBot: Nice to meet you. What number should we text "
     "the code to?\nVisitor: {phone}"),
    ("chat", "<|im_start|>user\nmy landlord {name} keeps the deposit, his number is {phone}, "
     "what can I do?<|im_end|>\n<|im_start|>assistant\nYou can send a formal letter first."
     "<|im_end|>"),
    ("chat", "A: did {first} send you the wifi details?\nB: yes, the router is on {ip4}, "
     "admin page port 8443\nA: thx, and {name2} said the guest net is down"),
    ("chat", "human: my card {card} got declined at checkout, can u check\ngpt: I can't look "
     "up card details, but a decline often comes from the issuing bank.\nhuman: ok ty"),
    ("chat", "Operator 14: Who am I speaking with?\nCaller: This is {title} {last}.\n"
     "Operator 14: Could you confirm the last four of your SSN?\nCaller: The full number is "
     "{ssn}.\nOperator 14: Only the last four, please."),
    # customer-support macros
    ("support_macro", "Macro #58 - Refund sent\nHi {first},\nWe've refunded {money} to the card "
     "ending in your statement. If it isn't there in 5 days, reply here or call {phone}.\n"
     "— Billing Team"),
    ("support_macro", "[Zendesk] Internal note by {name}: customer {name2} ({email}) verified by "
     "callback on {phone}. Unlocking the account."),
    ("support_macro", "Escalation template\nCustomer: {caps}\nContact: {email}\nAlt. contact: "
     "{phone}\nIssue: login blocked after 5 attempts from {ip}"),
    ("support_macro", "Hi there, I'm {first} and I'll be looking after your case. For "
     "anything urgent you can reach me directly at {email}."),
    ("support_macro", "Account merge request: please merge {email} into {email2}; both belong "
     "to {name}, confirmed via ID check."),
    # clinical notes
    ("clinical", "SOAP NOTE\nPt: {caps}   MRN 448120\nS: 3 days of productive cough, T 38.4 C.\n"
     "O: crackles R base.\nA/P: CAP; amoxicillin. Daughter ({name}) to be called on {phone}."),
    ("clinical", "Referral letter\nDear Dr {last},\nI would be grateful if you could see "
     "{name2}, a 54-year-old man with exertional chest pain.\nYours sincerely,\n{initials}, MRCP"),
    ("clinical", "Nursing handover 07:00: bed 12, {name}, NBM from midnight for theatre; next "
     "of kin {name2}, mobile {phone}."),
    ("clinical", "Telehealth consult with {name}; video dropped twice, continued by "
     "phone ({phone}). Rx sent to pharmacy."),
    ("clinical", "Pharmacy query: prescriber {title} {last} ({email}) to confirm the dose of "
     "methotrexate for patient {name2}."),
    # insurance claims
    ("insurance", "CLAIM FORM - MOTOR\nPolicyholder: {name}\nPolicy no.: HM-{int}-7713\nThird "
     "party: {name2}, tel. {phone}\nDescription: rear-ended at the roundabout."),
    ("insurance", "Claim CLM-{order} / payout approved. Beneficiary {caps}, account {iban}. "
     "Adjuster: {initials}."),
    ("insurance", "The claimant, {name}, states that the water damage began on the 3rd. "
     "Contact through her solicitor at {email}."),
    ("insurance", "Subrogation notice: our insured {name} was struck by a vehicle driven by "
     "{name2} (SSN {ssn} per the police report)."),
    ("insurance", "Travel claim: medical expenses abroad, card used {card}; insured's "
     "phone while abroad {phone}."),
    # recruiter messages
    ("recruiter", "Hi {first}, I came across your profile and think you'd be a great fit for a "
     "Staff Data Engineer role in Lisbon. Fancy a quick call? My number is {phone}.\n"
     "Cheers,\n{name2}"),
    ("recruiter", "Candidate summary\n{name} — 8 yrs Go/Kubernetes, notice 1 month\nEmail: "
     "{email} | Mobile: {phone}\nSubmitted to: client B, 2nd round"),
    ("recruiter", "Reference check for {name}: referee {title} {last} confirmed dates of "
     "employment by phone ({phone})."),
    ("recruiter", "Offer accepted! Please send {first}'s onboarding pack to {email} and set up "
     "payroll (SSN {ssn})."),
    ("recruiter", "Hey {lower}! quick one - are you still open to contract work? drop me a "
     "line at {email}"),
    # meeting transcripts
    ("meeting", "[00:03:12] {name}: Can everyone see my screen?\n[00:03:15] {name2}: Yes.\n"
     "[00:03:20] {first}: Before we start, the dial-in for latecomers is {phone}."),
    ("meeting", "Transcript (auto-generated)\nSpeaker 1 ({name}): so the server at {ip} is "
     "the old one\nSpeaker 2 ({name2}): right, we'll decommission it in Q3"),
    ("meeting", "Minutes - budget review\nPresent: {name}, {name2}, {initials}\nApologies: "
     "{first}\nAction: {last} to circulate the revised forecast."),
    ("meeting", "{name} joined the meeting from {ip4}\n{name2} left the meeting\n"
     "Recording started"),
    # git commit messages and stack traces
    ("git", "commit {sha}\nAuthor: {name} <{email}>\nDate:   {stamp}\n\n    fix: stop "
     "logging the full request body on 500s"),
    ("git", "Merge pull request #{int} from {lower}/hotfix-ipv6\n\nallow {ip6} in the "
     "staging allow-list\n\nCo-authored-by: {name2} <{email}>"),
    ("git", "Signed-off-by: {name} <{email}>\nReviewed-by: {name2} <{email2}>"),
    ("git", "revert: remove test fixture with a real card number ({card}), reported by {first}"),
    ("stacktrace", "Traceback (most recent call last):\n  File \"billing/charge.py\", line "
     "{line}, in charge\n    gateway.capture(card=\"{card}\")\nGatewayError: declined for "
     "customer {email}"),
    ("stacktrace", "java.net.ConnectException: Connection timed out: connect to /{ip4}:{port}\n"
     "\tat com.acme.sync.Client.open(Client.java:{line})\n\t... 12 more\nuser={email}"),
    ("stacktrace", "ERROR 2025-11-02 user_lookup failed: KeyError('{email}')\n  during "
     "handling of request from {ip6}"),
    ("stacktrace", "panic: invalid phone \"{phone}\" for contact {name}\n\ngoroutine 1 "
     "[running]:\nmain.normalise(...)"),
    # YAML / INI / .env config snippets
    ("config", "maintainers:\n  - name: {name}\n    email: {email}\n  - name: {name2}\n    "
     "email: {email2}\nlicense: Apache-2.0"),
    ("config", "[smtp]\nhost = {ip4}\nport = 587\nuser = {email}\n\n[oncall]\nprimary = "
     "{name}\nphone = {phone}"),
    ("config", "ALERT_SMS_TO={phone}\nADMIN_EMAIL={email}\nBIND_ADDR={ip}\nDEBUG=false"),
    ("config", "contacts: {lb}owner: \"{name}\", pager: \"{phone}\"{rb}\nretention_days: 30"),
    ("config", "payout:\n  holder: {caps}\n  iban: {iban}\n  currency: EUR\n  schedule: monthly"),
    ("config", "# allow-list for the admin panel (ask {first} before editing)\nallow:\n  - "
     "{ip4}/32\n  - {ip6}/128"),
    # markdown tables
    ("markdown", "| Name | Role | Phone |\n|---|---|---|\n| {name} | Site lead | {phone} |\n"
     "| {name2} | Deputy | {phone2} |"),
    ("markdown", "| Employee | SSN | Start date |\n|----------|-----|------------|\n| {name} | "
     "{ssn} | {date} |"),
    ("markdown", "## Escalation contacts\n\n| Tier | Contact | E-mail |\n| --- | --- | --- |\n"
     "| 1 | {first} | {email} |\n| 2 | {title} {last} | {email2} |"),
    ("markdown", "| Vendor | Beneficiary | IBAN |\n|:--|:--|:--|\n| Cleaning | {name} | {iban} |"),
    ("markdown", "- **Owner:** {name}\n- **Host:** `{ip}`\n- **Pager:** {phone}"),
    # e-mail threads with quoted replies
    ("email_thread", "Sounds good, see you then.\n\n> On Mon, {name} <{email}> wrote:\n> Could "
     "we move the call to Thursday? My new number is {phone}.\n>> Original message from {name2}"),
    ("email_thread", "From: \"{rev}\" <{email}>\nTo: {email2}\nSubject: RE: RE: "
     "lease renewal\n\nPlease see my comments inline."),
    ("email_thread", "-----Original Message-----\nFrom: {name}\nSent: Friday\nTo: Accounts\n"
     "Subject: bank details changed\n\nOur new IBAN is {iban}; please update your records."),
    ("email_thread", "Hi {first},\n\nforwarding this from {name2} below.\n\n---------- "
     "Forwarded message ---------\nFrom: {email}\nPlease call me back on {phone}."),
    ("email_thread", "> > can you cc {name} on this?\n> done, added {email}\nthanks!"),
    # forum posts with signatures
    ("forum_sig", "Same problem here after the firmware update, the NAS drops off the network.\n"
     "--\n{name} | homelab nerd | {email}"),
    ("forum_sig", "Solved it: set a static lease for {ip4} on the router.\n\n___\n{first} "
     "~ sent from my phone ~ WhatsApp {phone}"),
    ("forum_sig", "Quote from {lower}: just flash the older BIOS\nThat bricked mine. Thanks "
     "anyway.\n-- \n{initials} (mod)"),
    ("forum_sig", "Selling my old bike, DM or call {phone}. Cash only.\n---\n{name}, Brighton"),
    # OCR-like noisy scans
    ("ocr", "INV0ICE\nBi11 to: {caps}\nTe1: {phone}\nAm0unt due: {money}\nPay to IBAN: {iban}"),
    ("ocr", "P A Y S L I P\nEmp1oyee: {name}   SSN: {ssn}\nNet pay: {money}"),
    ("ocr", "~~ scanned ~~ Dear {title} {last} , re your c1aim of the 12th , p1ease ca11 "
     "{phone} or e-mai1 {email} ."),
    ("ocr", "RECEIPT # {int}\nCARD {card}\nAPPR0VED\nCARDHOLDER: {caps}\nTHANK Y0U"),
    ("ocr", "Page 2 of 3 | Witness statement of {name} | signed .......... {initials} |"),
    # more payment cards and SSNs, in the genres above
    ("instruct", "### Instruction:\nMask the card number in this message.\n### Input:\n"
     "\"please bill {card} for the renewal, thanks {first}\"\n### Response:\n\"please bill "
     "[CARD] for the renewal, thanks [NAME]\""),
    ("chat", "[customer] can I pay the rest with another card?\n[agent] Sure, go ahead.\n"
     "[customer] {card}, expiry 11/29"),
    ("support_macro", "Chargeback dispute: cardholder {name}, card {card}, merchant ref "
     "{order}. Evidence due in 10 days."),
    ("stacktrace", "ValueError: card {card} failed AVS check\n  at payments/avs.py:{line}\n"
     "  customer_id=C-{int} phone={phone}"),
    ("markdown", "| Cardholder | Card | Limit |\n|---|---|---|\n| {name} | {card} | {money} |"),
    ("config", "test_payment:\n  # real card pasted by mistake, rotate! ({initials})\n  "
     "number: \"{card}\"\n  cvc: \"***\""),
    ("insurance", "Disability claim: claimant {name}, Social Security No. {ssn}, employer "
     "reported last day worked {date}."),
    ("recruiter", "I-9 section 2 done for {name}; SSN {ssn} matched in E-Verify."),
    ("clinical", "Medicare/insurance intake: {caps}, SSN {ssn}, guarantor {name2}."),
    ("markdown", "| Dependent | Relationship | SSN |\n|---|---|---|\n| {name} | child | {ssn} |\n"
     "| {name2} | spouse | {ssn} |"),
    ("email_thread", "> What SSN did you put on the 1040?\n{ssn}, same as last year. - {first}"),
    ("ocr", "FORM W-4 (scan)\nFirst name and midd1e initia1: {first}\nLast name: {last}\n"
     "Socia1 security number: {ssn}"),
)  # fmt: skip

TEXT_TEMPLATES: tuple[tuple[str, str, str], ...] = tuple((g, "en", t) for g, t in _T)

_N = (
    ("version", "Bumped the SDK from {semver} to {semver}; firmware {version4} is unchanged."),
    ("version", "### Instruction:\nWhich version fixed the leak?\n### Response:\nRelease {semver} "
     "(build {build}), shipped {date}."),
    ("git", "commit {sha}\nDate: {stamp}\n\n    chore(deps): bump lodash to {semver}"),
    ("git", "Cherry-picked {sha} and {sha} onto release/{semver}; CI run {build} green."),
    ("stacktrace", "  File \"app/core.py\", line {line}, in run\nTimeoutError: no reply after "
     "{duration} (attempt 3 of 5)"),
    ("timestamp", "[{stamp}] worker-{int} finished batch in {duration}"),
    ("config", "[server]\nport = {port}\nworkers = {int}\nbuild = {build}\ntimeout = {duration}"),
    ("config", "service:\n  image: registry.local/api:{semver}\n  replicas: {int}\n  "
     "oid: \"{oid}\""),
    ("markdown", "| SKU | EAN | Price |\n|---|---|---|\n| PARK-{int} | {ean13} | {money} |\n"
     "| RIV-{int} | {ean8} | {money} |"),
    ("markdown", "| Ticket | Opened | Duration |\n|---|---|---|\n"
     "| {ticket} | {date} | {duration} |"),
    ("isbn", "Reading list: ISBN {isbn13}; older edition ISBN {isbn10}; journal ISSN {issn}."),
    ("luhn_fail", "Voucher code {badcard16} — balance {money}, expires {date}."),
    ("imei", "Device swap approved: old unit IMEI {imei}, new unit IMEI {imei}."),
    ("ssn_shaped", "Replacement hinge, part {ssnpart}, qty {int}, bin C-{int}."),
    ("phone_shaped", "Order part no. {phonepart} (gasket set), see drawing rev. {int}."),
    ("tracking", "Your parcel {tracking} left the sorting centre on {date}."),
    ("order", "Order {order} ({money}) was split into two shipments: {tracking} and {tracking}."),
    ("invoice", "Invoice {invoice} for {money} is due {date}; PO reference {ticket}."),
    ("coords", "Drone survey area: {coords} to {coords}, altitude {int} m, strip {measure}."),
    ("postcode", "Depots: {postcode}, {postcode} and {postcode}."),
    ("oid", "snmpget returned {oid} = Counter32: {int}"),
    ("measure", "Vitals: BP {bp}, temp {temp}, weight {weight}. No concerns."),
    ("masked", "Paid with card **** ending {int}; receipt shows {masked_card}, SSN on file "
     "{masked_ssn}."),
    ("clinical", "SOAP: S: headache x {small} days. O: BP {bp}. A/P: paracetamol {dose}, "
     "review in {small} days."),
    ("insurance", "Claim {ticket}: reserve {money}, deductible {money}, loss date {date}."),
    ("chat", "user: how long is {duration} in minutes?\n"
     "assistant: Convert the hours and add them."),
    ("chat", "[agent] Your ticket {ticket} is now closed.\n[customer] ty!\n[agent] Anything else?"),
    ("ocr", "T0TAL {money}\nVAT {pct}\nTRANS {int}  TERM {hexid}\nTHANK Y0U F0R SH0PPING"),
    ("uuid", "request_id={uuid} latency={duration} status=200"),
    ("cve", "CVSS {cvss} for CVE-{int}-{int}; patched in {semver}."),
    ("name_words", "Chase Bank and Barclays both reported outages; Discover was unaffected."),
    ("name_words", "Victoria sponge, Jersey cream scones and a Florence fennel salad on {date}."),
    ("name_words", "Flights to Georgia, Jordan and Chad were cancelled; "
     "Lincoln airport stays open."),
    ("name_words", "The Ford Transit and Tesla Model Y fleet passed inspection; Mercedes vans "
     "are due in {small} weeks."),
    ("name_words", "Hope Street depot is closed; use the Baker Street entrance or the Mason "
     "Road car park."),
    ("name_words", "Grace notes, the Ivy League and Hope Valley: three things our tour guide "
     "mentions."),
    ("name_words", "Summer Reading Challenge: {int} books by {date}; "
     "prizes from Amazon and Apple."),
    ("name_words", "Austin, Florence, Sydney and Lourdes: the most searched "
     "destinations this week."),
    ("name_words", "Trending: {nw} · {nw} · {nw}"),
    ("name_words", "Tags: {nw}, {nw}, {nw}, travel, deals"),
)  # fmt: skip

TEXT_NEGATIVES: tuple[tuple[str, str, str], ...] = tuple((k, "en", t) for k, t in _N)
