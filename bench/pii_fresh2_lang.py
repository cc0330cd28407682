"""Templates of the "fresh2" PII set in German, French, Spanish, Italian, Dutch, Portuguese,
Polish and Swedish (bench/pii_fresh2.py): positives and hard negatives.

Written blind (see bench/pii_fresh2.py). Titles of each language (Herr, Frau, M., Mme,
Sr., Sra., Sig., Dott.ssa, Dhr., Mevr., Sr.ª, Pan, Pani...) are template text, outside the
PERSON spans. Names stay in the nominative (Polish declension would change the name itself).
Negatives hold capitalised words of each language that are also given or family names
(German nouns such as Koch, Fischer; Spanish Rosario, Paz, Victoria, Mercedes; brands such
as Bianchi, Philips, Biedronka) but no person.
"""

from __future__ import annotations

_P = (
    # German
    ("de", "email_thread", "Hallo {first},\n\n> Am Dienstag schrieb {name} <{email}>:\n> "
     "Können Sie mich unter {phone} zurückrufen?\n\nErledigt, viele Grüße"),
    ("de", "clinical", "Arztbrief\nPatientin: Frau {name}, geb. 12.03.1961\nHausarzt: Dr. med. "
     "{name2}\nRückfragen an die Station: {phone}"),
    ("de", "insurance", "Schadenmeldung Hausrat\nVersicherungsnehmer: Herr {last}\nTelefon "
     "tagsüber: {phone}\nErstattung bitte auf IBAN {iban}"),
    ("de", "chat", "Kunde: guten tag, ich bin {lower} und meine karte {card} wurde gesperrt\n"
     "Agent: Das tut mir leid! Ich prüfe das sofort."),
    ("de", "recruiter", "Hallo Frau {last}, Ihr Profil passt hervorragend zu unserer Stelle als "
     "Teamleitung. Rufen Sie mich gern an: {phone}. Beste Grüße, {name}"),
    ("de", "config", "# Ansprechpartner Rechenzentrum\nverantwortlich: \"{name}\"\n"
     "rufbereitschaft: \"{phone}\"\nserver: {ip4}"),
    ("de", "meeting", "Protokoll der Teamsitzung\nAnwesend: {name}, {name2}, Herr {last}\n"
     "TOP 3: {first} schickt die Liste bis Freitag an {email}."),
    # French
    ("fr", "support_macro", "Bonjour {first},\nVotre remboursement de 49,90 € a été émis. Pour "
     "toute question, écrivez à {email} ou appelez le {phone}.\nCordialement, {name}"),
    ("fr", "clinical", "Compte rendu de consultation\nPatient : M. {last}\nMédecin traitant : "
     "Dr {name}\nJoignable au {phone} (poste 214)"),
    ("fr", "insurance", "Déclaration de sinistre n° {int} : Mme {name}, titulaire du contrat, "
     "demande le virement sur le compte {iban}."),
    ("fr", "chat", "client : slt c {lower}, mon adresse c'est {email}\nconseiller : Merci, "
     "je regarde votre dossier."),
    ("fr", "email_thread", "Le lundi, {name} <{email}> a écrit :\n> Mlle {last} sera absente, "
     "merci de contacter {name2} au {phone}."),
    ("fr", "markdown", "| Nom | Fonction | Téléphone |\n|---|---|---|\n| {name} | Directrice "
     "| {phone} |\n| Mme {last} | Assistante | {phone2} |"),
    ("fr", "ocr", "RELEVE D'IDENTITE BANCAIRE\nTitu1aire : {caps}\nIBAN : {iban}"),
    # Spanish
    ("es", "support_macro", "Hola {first}: hemos recibido tu reclamación. Te llamaremos al "
     "{phone} en las próximas 24 horas. Un saludo, {name}"),
    ("es", "clinical", "Informe de alta. Paciente: Sra. {last}. Médico responsable: Dr. "
     "{name}. Contacto del familiar ({name2}): {phone}."),
    ("es", "insurance", "Parte de accidente: el asegurado {name} (tel. {phone}) y el "
     "conductor contrario {name2}."),
    ("es", "chat", "usuario: hola soy {lower}, me cobraron dos veces en la tarjeta {card}\n"
     "asistente: Siento las molestias, lo reviso ahora."),
    ("es", "recruiter", "Estimado Sr. {last}: nos gustaría invitarle a una entrevista. "
     "Confirme su asistencia en {email}. Atentamente, {name}"),
    ("es", "email_thread", "El jue, {name} <{email}> escribió:\n> Mi nuevo móvil es {phone}, "
     "guárdalo por favor.\n\nHecho, gracias."),
    # Italian
    ("it", "clinical", "Lettera di dimissione\nPaziente: Sig. {name}\nMedico curante: "
     "Dott.ssa {last}\nRecapito: {phone}"),
    ("it", "support_macro", "Gentile {first}, la sua pratica è stata presa in carico. Per "
     "aggiornamenti scriva a {email}. Cordiali saluti, {name}"),
    ("it", "insurance", "Denuncia di sinistro: la Sig.ra {last} chiede il rimborso sull'IBAN "
     "{iban}. Perito incaricato: Ing. {name}."),
    ("it", "chat", "cliente: ciao sono {lower}, il mio numero è {phone}\noperatore: Grazie, "
     "la richiamiamo entro sera."),
    ("it", "meeting", "Verbale riunione\nPresenti: {name}, {name2}, Avv. {last}\nAzione: "
     "{first} invia il contratto a {email}."),
    ("it", "config", "[contatti]\nreferente = {name}\ntelefono = {phone}\nemail = {email}"),
    # Dutch
    ("nl", "support_macro", "Beste {first},\nBedankt voor je bericht. We bellen je terug op "
     "{phone}.\nMet vriendelijke groet,\n{name}"),
    ("nl", "clinical", "Verwijsbrief\nPatiënt: Mevr. {last}\nHuisarts: {name}\nBereikbaar "
     "op {phone}"),
    ("nl", "insurance", "Schadeclaim: dhr. {name} vraagt uitbetaling op {iban}. Expert: "
     "{initials}."),
    ("nl", "chat", "klant: hoi ik ben {lower}, mijn mail is {email}\nmedewerker: Top, ik "
     "zoek het even op."),
    ("nl", "email_thread", "Op maandag schreef {name} <{email}>:\n> Kun je {first}'s nummer "
     "doorsturen? Het is {phone}.\n\nIk heb het doorgestuurd."),
    ("nl", "recruiter", "Hoi {first}, ik ben recruiter bij een scale-up in Utrecht. Zin in "
     "een kop koffie? Bel me op {phone}. Groet, {name2}"),
    # Portuguese
    ("pt", "support_macro", "Olá {first}, o seu pedido de reembolso foi aprovado. Em caso de "
     "dúvida ligue para {phone}. Atenciosamente, {name}"),
    ("pt", "clinical", "Nota de alta: Sr.ª {last}, seguida pela Dr.ª {name}. Contacto do "
     "familiar: {phone}."),
    ("pt", "insurance", "Sinistro automóvel: o segurado {name} pede o pagamento no IBAN {iban}."),
    ("pt", "chat", "cliente: oi, aqui é {lower}, meu e-mail é {email}\natendente: Obrigada! "
     "Vou verificar."),
    ("pt", "recruiter", "Caro Sr. {last}, gostaríamos de agendar uma entrevista. Responda "
     "para {email} ou ligue {phone}. Cumprimentos, {name}"),
    ("pt", "markdown", "| Nome | Cargo | E-mail |\n|---|---|---|\n| {name} | Gerente | {email} |"),
    # Polish
    ("pl", "support_macro", "Dzień dobry, nazywam się {name} i kontaktuję się w sprawie "
     "reklamacji. Proszę o kontakt pod numerem {phone}."),
    ("pl", "clinical", "Karta informacyjna\nPacjent: Pan {name}\nLekarz prowadzący: dr "
     "{name2}\nTelefon do rodziny: {phone}"),
    ("pl", "insurance", "Zgłoszenie szkody: Pani {name} prosi o wypłatę na rachunek {iban}."),
    ("pl", "chat", "klient: hej tu {lower}, mój mail to {email}\nkonsultant: Dziękuję, "
     "sprawdzam."),
    ("pl", "meeting", "Notatka ze spotkania\nObecni: {name}, {name2}\nZadanie: {first} "
     "wyśle umowę na {email} do piątku."),
    ("pl", "ocr", "FAKTURA VAT\nNabywca: {caps}\nTe1efon: {phone}\nRachunek: {iban}"),
    # Swedish
    ("sv", "support_macro", "Hej {first}!\nTack för ditt meddelande. Vi ringer upp dig på "
     "{phone} inom två arbetsdagar.\nMed vänlig hälsning,\n{name}"),
    ("sv", "clinical", "Remiss\nPatient: {name}\nAnhörig: {name2}, tel. {phone}\nFrågeställning: "
     "ihållande yrsel."),
    ("sv", "insurance", "Skadeanmälan: försäkringstagaren {name} vill ha ersättningen till "
     "{iban}."),
    ("sv", "chat", "kund: hej det är {lower}, min mejl är {email}\nhandläggare: Tack, jag "
     "kollar."),
    ("sv", "recruiter", "Hej {first}, jag är rekryterare på ett bolag i Göteborg. Ring mig "
     "gärna på {phone} eller mejla {email}. /{name2}"),
    ("sv", "config", "[kontakt]\nansvarig = {name}\nmobil = {phone}\nserver = {ip}"),
)  # fmt: skip

LANG_TEMPLATES: tuple[tuple[str, str, str], ...] = tuple((g, lang, t) for lang, g, t in _P)

_N = (
    ("de", "name_words", "Der Koch hat heute frei, der Fischer liefert erst am {date}; die "
     "Bäckerei Sonne hat geöffnet."),
    ("de", "order", "Ihre Bestellung {order} über {money} wurde am {date} versendet, "
     "Sendungsnummer {tracking}."),
    ("de", "ssn_shaped", "Ersatzteil Nr. {ssnpart}, Menge {int}, Lagerplatz {postcode}."),
    ("fr", "name_words", "La Marine nationale et la gare de Lyon : le défilé passe par la "
     "place de la Concorde le {date}."),
    ("fr", "invoice", "Facture n° {invoice} du {date}, montant {money}, échéance {date}."),
    ("fr", "phone_shaped", "Référence pièce {phonepart}, lot {int}, conforme à la norme."),
    ("es", "name_words", "En Rosario y La Paz bajaron los precios; la cerveza Victoria y los "
     "Mercedes-Benz, no."),
    ("es", "tracking", "Su pedido {order} saldrá el {date}; número de seguimiento {tracking}."),
    ("es", "timestamp", "Copia de seguridad completada el {stamp} en {duration}."),
    ("it", "name_words", "Bianchi e Ferrari in vetrina, poi un caffè in piazza Duomo a Firenze."),
    ("it", "invoice", "Fattura {invoice} del {date}: totale {money}, IVA {pct}."),
    ("it", "imei", "Sostituzione in garanzia: IMEI {imei}, ordine {order}."),
    ("nl", "name_words", "Bij Jumbo en de Bijenkorf: Philips-lampen in de aanbieding tot "
     "{date}."),
    ("nl", "postcode", "Afhaalpunten: {postcode} en {postcode}, open tot 21.00 uur."),
    ("nl", "luhn_fail", "Cadeaukaart {badcard16}, saldo {money}."),
    ("pt", "name_words", "Natal em Vitória e Belo Horizonte: as lojas Pão de Açúcar abrem às "
     "9 horas, até {date}."),
    ("pt", "order", "Encomenda {order} enviada em {date}; código de rastreio {tracking}."),
    ("pt", "measure", "Medidas da peça: {measure}, peso {weight}."),
    ("pl", "name_words", "Promocja w Biedronce i Żabce: Wawel i Prince Polo taniej do {date}."),
    ("pl", "invoice", "Faktura {invoice} z dnia {date}, kwota {money}."),
    ("pl", "tracking", "Przesyłka {tracking} czeka w paczkomacie {postcode}."),
    ("sv", "name_words", "Systembolaget och Ica har öppet, men Åhléns stänger redan kl. 18."),
    ("sv", "version", "Uppdatera appen till {semver}; bygget {build} är trasigt."),
    ("de", "name_words", "Schlagwörter: {nw}, {nw}, {nw}"),
    ("fr", "name_words", "Mots-clés : {nw}, {nw}, {nw}"),
    ("es", "name_words", "Etiquetas: {nw}, {nw}, {nw}"),
    ("it", "name_words", "Parole chiave: {nw}, {nw}, {nw}"),
    ("nl", "name_words", "Trefwoorden: {nw}, {nw}, {nw}"),
    ("pt", "name_words", "Palavras-chave: {nw}, {nw}, {nw}"),
    ("pl", "name_words", "Tagi: {nw}, {nw}, {nw}"),
    ("sv", "name_words", "Taggar: {nw}, {nw}, {nw}"),
    ("sv", "postcode", "Leverans till {postcode} tar {int} dagar, vikt {int} kg."),
)  # fmt: skip

LANG_NEGATIVES: tuple[tuple[str, str, str], ...] = tuple((k, lang, t) for lang, k, t in _N)
