"""Hand-written given and family names of the "fresh" PII set (bench/pii_fresh.py).

Composed by hand from general knowledge of naming customs, not copied from Faker's provider
files: real given and family names as they are written in English-language text (romanised
where the script is not Latin), across cultures. ``order`` says how a full name is written:
"gf" given name first, "fg" family name first (Chinese, Japanese, Korean, Vietnamese, as
such names are often written in their own order in support and HR data), "gf-patronym" for
names whose second part is a patronymic (Malay "bin"/"binti", written only in full).
"""

from __future__ import annotations

from typing import NamedTuple


class Culture(NamedTuple):
    key: str
    given: tuple[str, ...]
    family: tuple[str, ...]
    order: str = "gf"


# fmt: off
HAND_CULTURES: tuple[Culture, ...] = (
    Culture(
        "west_african",
        ("Kwabena", "Akosua", "Yaw", "Efua", "Chiamaka", "Adebayo", "Ngozi", "Oluwaseun",
         "Moussa", "Aminata", "Fatoumata", "Mamadou", "Ousmane", "Kofi", "Abena", "Tunde"),
        ("Asante", "Owusu", "Boateng", "Okafor", "Adeyemi", "Eze", "Diallo", "Ndiaye",
         "Traoré", "Keïta", "Sow", "Bamba", "Coulibaly", "Osei-Bonsu", "Nwachukwu", "Ogunleye"),
    ),
    Culture(
        "east_african",
        ("Wanjiru", "Otieno", "Achieng", "Kiprop", "Abebe", "Tigist", "Dawit", "Nakato",
         "Mugisha", "Amani", "Makena", "Selam"),
        ("Kamau", "Odhiambo", "Mwangi", "Kiplagat", "Tesfaye", "Haile", "Bekele", "Okello",
         "Ssempala", "Mushi", "Wambui", "Girma"),
    ),
    Culture(
        "south_asian",
        ("Priyanka", "Arjun", "Lakshmi", "Venkatesh", "Sanjay", "Ananya", "Farhan", "Nusrat",
         "Tharindu", "Dilani", "Rohan", "Meenakshi", "Harpreet", "Sushila"),
        ("Ramaswamy", "Chatterjee", "Bhattacharya", "Iyer", "Krishnan", "Deshpande",
         "Siddiqui", "Chowdhury", "Perera", "Jayasuriya", "Gurung", "Shrestha", "Sandhu",
         "Venkataraman"),
    ),
    Culture(
        "chinese",
        ("Wei", "Xiaoming", "Meiling", "Jing", "Haoran", "Yutong", "Zihan", "Jianguo"),
        ("Zhang", "Liu", "Chen", "Wang", "Huang", "Zhou", "Xu", "Guo"),
        "fg",
    ),
    Culture(
        "japanese",
        ("Haruto", "Yui", "Sota", "Aoi", "Kenji", "Yuki", "Hiroshi", "Sakura", "Ren"),
        ("Tanaka", "Suzuki", "Watanabe", "Nakamura", "Kobayashi", "Yamaguchi", "Matsumoto"),
        "fg",
    ),
    Culture(
        "korean",
        ("Min-jun", "Ji-woo", "Seo-yeon", "Hyun-woo", "Da-eun", "Jae-sung", "Eun-ji"),
        ("Kim", "Park", "Lee", "Choi", "Jung", "Kang", "Yoon"),
        "fg",
    ),
    Culture(
        "vietnamese",
        ("Thị Lan", "Văn Minh", "Thu Hà", "Quang Huy", "Ngọc Anh", "Đức Thắng"),
        ("Nguyễn", "Trần", "Phạm", "Lê", "Hoàng", "Võ"),
        "fg",
    ),
    Culture(
        "southeast_asian",
        ("Somchai", "Pimchanok", "Malaya", "Jose Miguel", "Rizal", "Dewi", "Bunga", "Arnel"),
        ("Srisuk", "Wongsawat", "dela Cruz", "Bautista", "Santos-Reyes", "Wijaya", "Hartono",
         "Manalo"),
    ),
    Culture(
        "malay",
        ("Nurul Aisyah", "Ahmad Faiz", "Siti Hajar", "Muhammad Haziq"),
        ("binti Rahman", "bin Ismail", "binti Osman", "bin Abdullah"),
        "gf-patronym",
    ),
    Culture(
        "arabic",
        ("Youssef", "Layla", "Omar", "Khalid", "Noura", "Tariq", "Rania", "Hamza", "Samira",
         "Abdulaziz"),
        ("Al-Masri", "El-Sayed", "Haddad", "Khoury", "Al-Rashid", "Nasser", "Abdelrahman",
         "Al-Hashimi", "Saleh", "Benjelloun"),
    ),
    Culture(
        "persian",
        ("Dariush", "Shirin", "Parisa", "Behnam", "Navid", "Roya", "Kourosh", "Golnaz"),
        ("Tehrani", "Hosseini", "Farahani", "Rostami", "Moradi", "Ghorbani", "Shahbazi",
         "Esfahani"),
    ),
    Culture(
        "slavic",
        ("Dmitri", "Svetlana", "Bogdan", "Katarzyna", "Miroslav", "Zuzana", "Oleksandr",
         "Milena", "Jaroslav", "Yevgenia"),
        ("Ivanova", "Kowalczyk", "Novák", "Horvat", "Shevchenko", "Petrović", "Wiśniewska",
         "Dvořáková", "Sokolov", "Bondarenko"),
    ),
    Culture(
        "nordic",
        ("Sigrid", "Bjørn", "Ingrid", "Åsa", "Magnus", "Eero", "Sølvi", "Halvard", "Ragnhild",
         "Tuva", "Jónas"),
        ("Lindqvist", "Haugland", "Jóhannesdóttir", "Sigurðsson", "Bergström", "Ødegaard",
         "Virtanen", "Kallio", "Nyberg", "Mikkelsen"),
    ),
    Culture(
        "latin_american",
        ("Ximena", "Joaquín", "Valentina", "Mateo", "Guadalupe", "Rodrigo", "Camila",
         "Yolanda", "Thiago", "María José"),
        ("García Márquez", "Pérez de la Torre", "Hernández Ruiz", "Quispe Mamani",
         "Fernández-Castillo", "Olivera", "Cárdenas", "Sepúlveda Rojas", "dos Santos",
         "Villalobos"),
    ),
    Culture(
        "pacific",
        ("Sione", "Mele", "Tevita", "Losana", "Manaia", "Aroha", "Tamatea", "Keoni",
         "Leilani"),
        ("Tuilagi", "Fifita", "Taufa", "Ngata", "Kealoha", "Faleolo", "Tupou", "Parata"),
    ),
    Culture(
        "jewish",
        ("Avraham", "Miriam", "Yael", "Shoshana", "Eli", "Tova", "Mordechai", "Rivka"),
        ("Goldberg", "Rosenblum", "Katz", "Ben-David", "Shapiro", "Abramowitz", "Friedman",
         "Levinson"),
    ),
    Culture(
        "irish_scottish",
        ("Siobhán", "Niamh", "Eoghan", "Ciarán", "Aoife", "Ruairí", "Catriona", "Hamish",
         "Fionnuala"),
        ("O'Sullivan", "MacLeod", "McAllister", "O'Donoghue", "MacDonald", "Mac Giolla Phádraig",
         "O'Neill", "McKenna", "Ní Bhriain"),
    ),
    Culture(
        "dutch_german",
        ("Pieter", "Sanne", "Jan-Willem", "Femke", "Klaus", "Friederike", "Marlies", "Joost",
         "Hannelore"),
        ("van der Berg", "de Vries", "van Dijk", "ter Horst", "von Bülow", "von der Heyde",
         "van 't Hek", "Van Damme", "Müller-Lüdenscheidt"),
    ),
    Culture(
        "french_hyphenated",
        ("Anne-Sophie", "Jean-Luc", "Marie-Hélène", "Pierre-Yves", "Léa", "Thibault"),
        ("Lefebvre-Okonkwo", "Lloyd-Hughes", "Dubois", "Castelnau", "Le Goff", "d'Aubigny"),
    ),
    Culture(
        "caucasus_greek",
        ("Anahit", "Tigran", "Nino", "Giorgi", "Eleni", "Konstantinos"),
        ("Hovhannisyan", "Sargsyan", "Beridze", "Kapanadze", "Papadopoulou", "Georgiou"),
    ),
)
# fmt: on
