"""Made-up but ordinary names, by sex and broad ethnic group, so that strangers share names as in
real life (the linkage has to cope with two John Smiths in one postcode district)."""

from __future__ import annotations

import random

_WHITE_FAMILY = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright",
    "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke",
    "Hughes", "Edwards", "Lewis", "Harris", "Martin", "Cooper", "Hill", "Ward", "Morris", "Moore",
    "Clark", "Lee", "King", "Baker", "Harrison", "Morgan", "Allen", "James", "Scott", "Phillips",
    "Watson", "Davis", "Parker", "Price", "Bennett", "Young", "Griffiths", "Mitchell", "Kelly", "Cook",
    "Carter", "Richardson", "Bailey", "Collins", "Bell", "Shaw", "Murphy", "Miller", "Cox", "Richards",
    "Khan", "Marshall", "Anderson", "Simpson", "Ellis", "Adams", "Singh", "Begum", "Wilkinson", "Foster",
    "Chapman", "Powell", "Webb", "Rogers", "Gray", "Mason", "Ali", "Hunt", "Hussain", "Campbell",
    "Matthews", "Owen", "Palmer", "Holmes", "Mills", "Barnes", "Knight", "Lloyd", "Butler", "Russell",
    "Barker", "Fisher", "Stevens", "Jenkins", "Murray", "Dixon", "Harvey", "Graham", "Pearson", "Ahmed",
    "O'Brien", "McCarthy", "Fletcher", "Hargreaves", "Ashworth", "Kowalski", "Nowak", "Byrne",
)
_ASIAN_FAMILY = (
    "Khan", "Ali", "Hussain", "Ahmed", "Begum", "Shah", "Patel", "Singh", "Akhtar", "Iqbal", "Mahmood",
    "Rahman", "Kaur", "Sharma", "Chowdhury", "Malik", "Butt", "Mirza", "Qureshi", "Bibi", "Aziz", "Chen",
    "Wang", "Li", "Zhang",
)
_BLACK_FAMILY = (
    "Okafor", "Mensah", "Adeyemi", "Campbell", "Williams", "Johnson", "Brown", "Asante", "Okoro", "Bello",
    "Boateng", "Mohamed", "Ibrahim", "Thomas", "Clarke", "Reid",
)
_MALE_GIVEN = (
    "Oliver", "George", "Harry", "Jack", "Jacob", "Noah", "Charlie", "Thomas", "Oscar", "William",
    "James", "Henry", "Leo", "Alfie", "Joshua", "Freddie", "Archie", "Ethan", "Isaac", "Alexander",
    "John", "David", "Michael", "Paul", "Peter", "Robert", "Stephen", "Mark", "Andrew", "Richard",
    "Christopher", "Daniel", "Anthony", "Kevin", "Gary", "Brian", "Kenneth", "Ronald", "Derek", "Keith",
    "Mohammed", "Muhammad", "Ibrahim", "Adam", "Yusuf", "Omar", "Hamza", "Ravi", "Arjun", "Samuel",
    "Kwame", "Emmanuel", "Tomasz", "Piotr", "Sean", "Liam", "Ryan", "Matthew", "Luke", "Dylan",
)
_FEMALE_GIVEN = (
    "Olivia", "Amelia", "Isla", "Ava", "Mia", "Isabella", "Sophia", "Grace", "Lily", "Freya",
    "Emily", "Ivy", "Ella", "Rosie", "Evie", "Florence", "Poppy", "Charlotte", "Willow", "Sienna",
    "Margaret", "Susan", "Patricia", "Elizabeth", "Mary", "Jean", "Barbara", "Linda", "Christine", "Janet",
    "Sarah", "Claire", "Emma", "Rachel", "Helen", "Karen", "Julie", "Nicola", "Joanne", "Lisa",
    "Aisha", "Fatima", "Maryam", "Zara", "Amina", "Hannah", "Priya", "Sana", "Ayesha", "Nadia",
    "Grace", "Blessing", "Abena", "Agnieszka", "Siobhan", "Megan", "Chloe", "Jessica", "Lauren", "Sophie",
)


def draw_names(rng: random.Random, sex: str, ethnic_category: str) -> tuple[str, str]:
    """A (given, family) name pair for a person of this sex and ethnic category."""
    if ethnic_category in "HJKL":
        family = rng.choice(_ASIAN_FAMILY)
    elif ethnic_category in "MNP":
        family = rng.choice(_BLACK_FAMILY)
    else:
        family = rng.choice(_WHITE_FAMILY)
    given = rng.choice(_MALE_GIVEN if sex == "male" else _FEMALE_GIVEN)
    return given, family
