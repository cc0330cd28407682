"""Hand-written given and family names of the "fresh" PII set (bench/pii_fresh.py).

Composed by hand from general knowledge of naming customs, not copied from Faker's provider
files: real given and family names as they are written in English-language text (romanised
where the script is not Latin), across cultures. ``order`` says how a full name is written:
"gf" given name first, "fg" family name first (Chinese, Japanese, Korean, Vietnamese, as
such names are often written in their own order in support and HR data), "gf-patronym" for
names whose second part is a patronymic (Malay "bin"/"binti", written only in full).
Names are separated by "|" (a name may hold spaces: "María José", "van der Berg").

None was taken from Faker, but common real names are in its files too: checked once against
the union of every Faker 40.63 person provider's first/last name lists, 96 of the 200 given
names and 79 of the 197 family names occur there (for a name lexicon built from Faker, the
other half is unseen).
"""

from __future__ import annotations

from typing import NamedTuple


class Culture(NamedTuple):
    key: str
    given: tuple[str, ...]
    family: tuple[str, ...]
    order: str = "gf"


def _culture(key: str, given: str, family: str, order: str = "gf") -> Culture:
    return Culture(key, tuple(given.split("|")), tuple(family.split("|")), order)


HAND_CULTURES: tuple[Culture, ...] = (
    _culture(
        "west_african",
        (
            "Kwabena|Akosua|Yaw|Efua|Chiamaka|Adebayo|Ngozi|Oluwaseun|Moussa|Aminata|Fatoumata|"
            "Mamadou|Ousmane|Kofi|Abena|Tunde|Ebere|Chidubem|Seydou"
        ),
        (
            "Asante|Owusu|Boateng|Okafor|Adeyemi|Eze|Diallo|Ndiaye|Traoré|Keïta|Sow|Bamba|"
            "Coulibaly|Osei-Bonsu|Nwachukwu|Ogunleye|Agyeman|Nnamdi|Sissoko"
        ),
    ),
    _culture(
        "east_african",
        (
            "Wanjiru|Otieno|Achieng|Kiprop|Abebe|Tigist|Dawit|Nakato|Mugisha|Amani|Makena|Selam|"
            "Wairimu|Tsegaye"
        ),
        (
            "Kamau|Odhiambo|Mwangi|Kiplagat|Tesfaye|Haile|Bekele|Okello|Ssempala|Mushi|Wambui|"
            "Girma|Njoroge|Kipchumba|Wolde-Giorgis"
        ),
    ),
    _culture(
        "south_asian",
        (
            "Priyanka|Arjun|Lakshmi|Venkatesh|Sanjay|Ananya|Farhan|Nusrat|Tharindu|Dilani|Rohan|"
            "Meenakshi|Harpreet|Sushila"
        ),
        (
            "Ramaswamy|Chatterjee|Bhattacharya|Iyer|Krishnan|Deshpande|Siddiqui|Chowdhury|Perera|"
            "Jayasuriya|Gurung|Shrestha|Sandhu|Venkataraman"
        ),
    ),
    _culture(
        "chinese",
        ("Wei|Xiaoming|Meiling|Jing|Haoran|Yutong|Zihan|Jianguo|Ruoxi|Zhiwei|Shuang"),
        ("Zhang|Liu|Chen|Wang|Huang|Zhou|Xu|Guo|Deng|Xiao|Lin"),
        "fg",
    ),
    _culture(
        "japanese",
        ("Haruto|Yui|Sota|Aoi|Kenji|Yuki|Hiroshi|Sakura|Ren|Mitsuki|Daichi"),
        ("Tanaka|Suzuki|Watanabe|Nakamura|Kobayashi|Yamaguchi|Matsumoto|Inoue|Kuroda"),
        "fg",
    ),
    _culture(
        "korean",
        ("Min-jun|Ji-woo|Seo-yeon|Hyun-woo|Da-eun|Jae-sung|Eun-ji|Sung-min|Ha-eun"),
        ("Kim|Park|Lee|Choi|Jung|Kang|Yoon|Han|Seo"),
        "fg",
    ),
    _culture(
        "vietnamese",
        ("Thị Lan|Văn Minh|Thu Hà|Quang Huy|Ngọc Anh|Đức Thắng|Minh Châu|Bảo Ngọc"),
        ("Nguyễn|Trần|Phạm|Lê|Hoàng|Võ|Đỗ|Bùi|Huỳnh"),
        "fg",
    ),
    _culture(
        "southeast_asian",
        ("Somchai|Pimchanok|Malaya|Jose Miguel|Rizal|Dewi|Bunga|Arnel"),
        ("Srisuk|Wongsawat|dela Cruz|Bautista|Santos-Reyes|Wijaya|Hartono|Manalo"),
    ),
    _culture(
        "malay",
        ("Nurul Aisyah|Ahmad Faiz|Siti Hajar|Muhammad Haziq"),
        ("binti Rahman|bin Ismail|binti Osman|bin Abdullah"),
        "gf-patronym",
    ),
    _culture(
        "arabic",
        ("Youssef|Layla|Omar|Khalid|Noura|Tariq|Rania|Hamza|Samira|Abdulaziz"),
        (
            "Al-Masri|El-Sayed|Haddad|Khoury|Al-Rashid|Nasser|Abdelrahman|Al-Hashimi|Saleh|"
            "Benjelloun"
        ),
    ),
    _culture(
        "persian",
        ("Dariush|Shirin|Parisa|Behnam|Navid|Roya|Kourosh|Golnaz"),
        ("Tehrani|Hosseini|Farahani|Rostami|Moradi|Ghorbani|Shahbazi|Esfahani"),
    ),
    _culture(
        "slavic",
        ("Dmitri|Svetlana|Bogdan|Katarzyna|Miroslav|Zuzana|Oleksandr|Milena|Jaroslav|Yevgenia"),
        (
            "Ivanova|Kowalczyk|Novák|Horvat|Shevchenko|Petrović|Wiśniewska|Dvořáková|Sokolov|"
            "Bondarenko"
        ),
    ),
    _culture(
        "nordic",
        ("Sigrid|Bjørn|Ingrid|Åsa|Magnus|Eero|Sølvi|Halvard|Ragnhild|Tuva|Jónas"),
        (
            "Lindqvist|Haugland|Jóhannesdóttir|Sigurðsson|Bergström|Ødegaard|Virtanen|Kallio|"
            "Nyberg|Mikkelsen"
        ),
    ),
    _culture(
        "latin_american",
        ("Ximena|Joaquín|Valentina|Mateo|Guadalupe|Rodrigo|Camila|Yolanda|Thiago|María José"),
        (
            "García Márquez|Pérez de la Torre|Hernández Ruiz|Quispe "
            "Mamani|Fernández-Castillo|Olivera|Cárdenas|Sepúlveda Rojas|dos Santos|Villalobos"
        ),
    ),
    _culture(
        "pacific",
        ("Sione|Mele|Tevita|Losana|Manaia|Aroha|Tamatea|Keoni|Leilani"),
        ("Tuilagi|Fifita|Taufa|Ngata|Kealoha|Faleolo|Tupou|Parata"),
    ),
    _culture(
        "jewish",
        ("Avraham|Miriam|Yael|Shoshana|Eli|Tova|Mordechai|Rivka"),
        ("Goldberg|Rosenblum|Katz|Ben-David|Shapiro|Abramowitz|Friedman|Levinson"),
    ),
    _culture(
        "irish_scottish",
        ("Siobhán|Niamh|Eoghan|Ciarán|Aoife|Ruairí|Catriona|Hamish|Fionnuala"),
        (
            "O'Sullivan|MacLeod|McAllister|O'Donoghue|MacDonald|Mac Giolla "
            "Phádraig|O'Neill|McKenna|Ní Bhriain"
        ),
    ),
    _culture(
        "dutch_german",
        ("Pieter|Sanne|Jan-Willem|Femke|Klaus|Friederike|Marlies|Joost|Hannelore"),
        (
            "van der Berg|de Vries|van Dijk|ter Horst|von Bülow|von der Heyde|van 't Hek|Van "
            "Damme|Müller-Lüdenscheidt"
        ),
    ),
    _culture(
        "french_hyphenated",
        ("Anne-Sophie|Jean-Luc|Marie-Hélène|Pierre-Yves|Léa|Thibault|Maëlle|Gwenaël|Soizic"),
        (
            "Lefebvre-Okonkwo|Lloyd-Hughes|Dubois|Castelnau|Le "
            "Goff|d'Aubigny|Kerjean|Abitbol-Mercier"
        ),
    ),
    _culture(
        "caucasus_greek",
        ("Anahit|Tigran|Nino|Giorgi|Eleni|Konstantinos|Armen|Tamar|Dimitra"),
        (
            "Hovhannisyan|Sargsyan|Beridze|Kapanadze|Papadopoulou|Georgiou|Tsereteli|Karamanlis|"
            "Avetisyan"
        ),
    ),
)
