"""Shopping words that do not depend on a catalog: colours, materials, recipients, occasions, size words, type
synonyms, and the filler words of requests. General English only; the catalog's own names (categories, brands)
come from tools/recommend/catalog_terms.py.
"""

from __future__ import annotations

import re

# colour word -> the name it is matched and shown as
COLOURS = {
    "black": "Black", "white": "White", "blue": "Blue", "navy": "Navy", "red": "Red", "green": "Green",
    "yellow": "Yellow", "orange": "Orange", "pink": "Pink", "purple": "Purple", "violet": "Purple",
    "brown": "Brown", "tan": "Tan", "beige": "Beige", "cream": "Cream", "grey": "Grey", "gray": "Grey",
    "silver": "Silver", "gold": "Gold", "golden": "Gold", "maroon": "Maroon", "burgundy": "Maroon",
    "wine": "Maroon", "olive": "Olive", "teal": "Teal", "turquoise": "Turquoise", "khaki": "Khaki",
    "charcoal": "Charcoal", "copper": "Copper", "bronze": "Bronze", "peach": "Peach", "magenta": "Magenta",
    "lavender": "Lavender", "mustard": "Mustard", "rust": "Rust", "ivory": "Ivory", "multicolor": "Multicolor",
    "multicolour": "Multicolor", "multi-colour": "Multicolor", "multi-color": "Multicolor", "colourful": "Multicolor",
    "colorful": "Multicolor", "off-white": "Off White",
}
# colour names that are also things ("face cream", "red wine", "orange juice"): a colour only before a noun or
# after "in"/"and"/"or", not when they end a phrase after another word
NOUN_COLOURS = frozenset({"cream", "wine", "rust", "orange", "peach", "olive", "mustard", "charcoal", "lavender",
                          "ivory", "copper", "coffee", "chocolate"} & set(COLOURS))
# how a product is sold, not what it is: "deo combo" is a deodorant, "mug set" a mug
PACKAGING = frozenset({"combo", "kit", "set", "pack", "pair", "bundle", "box", "collection", "hamper", "gift"})
# words of category names for children, left out unless the request is for a child
AGE_WORDS = frozenset({"baby", "babies", "kid", "kids", "boys", "girls", "infant", "infants", "children", "child",
                       "toddler", "toddlers", "newborn"})
# a colour also matches products recorded under these names
COLOUR_ALIASES = {"Navy": {"navy", "navy blue"}, "Grey": {"grey", "gray", "charcoal"}, "Gold": {"gold", "golden"},
                  "Multicolor": {"multicolor", "multicolour", "multi"}, "Off White": {"off white", "cream"},
                  "Maroon": {"maroon", "burgundy", "wine"}}

MATERIALS = {
    "leather": "Leather", "genuine leather": "Leather", "faux leather": "Faux Leather", "pu": "Faux Leather",
    "suede": "Suede", "canvas": "Canvas", "cotton": "Cotton", "silk": "Silk", "wool": "Wool", "woollen": "Wool",
    "woolen": "Wool", "denim": "Denim", "linen": "Linen", "polyester": "Polyester", "nylon": "Nylon",
    "steel": "Steel", "stainless steel": "Steel", "ceramic": "Ceramic", "porcelain": "Ceramic",
    "stoneware": "Stoneware", "glass": "Glass", "wood": "Wood", "wooden": "Wood", "plastic": "Plastic",
    "brass": "Brass", "aluminium": "Aluminium", "aluminum": "Aluminium", "bamboo": "Bamboo", "jute": "Jute",
    "velvet": "Velvet", "rubber": "Rubber", "metal": "Metal", "fleece": "Fleece", "chiffon": "Chiffon",
    "georgette": "Georgette", "rayon": "Rayon", "satin": "Satin", "microfibre": "Microfibre",
    "microfiber": "Microfibre", "terracotta": "Terracotta", "marble": "Marble", "crystal": "Crystal",
}
# what a material name may be written as in product text
MATERIAL_ALIASES = {"Wood": {"wood", "wooden"}, "Steel": {"steel", "stainless"}, "Wool": {"wool", "woollen", "woolen"},
                    "Ceramic": {"ceramic", "porcelain"}, "Faux Leather": {"faux leather", "pu leather", "pu"},
                    "Microfibre": {"microfibre", "microfiber"}, "Aluminium": {"aluminium", "aluminum"}}

# who it is for -> the gender the catalog records ("men", "women", "boys", "girls", "baby"); "" = unknown
RECIPIENTS = {
    "dad": "men", "daddy": "men", "father": "men", "husband": "men", "boyfriend": "men", "brother": "men",
    "grandfather": "men", "grandpa": "men", "uncle": "men", "him": "men", "man": "men", "men": "men",
    "gentleman": "men", "gentlemen": "men", "guy": "men", "guys": "men", "fiance": "men",
    "mom": "women", "mum": "women", "mother": "women", "wife": "women", "girlfriend": "women",
    "sister": "women", "grandmother": "women", "grandma": "women", "aunt": "women", "her": "women",
    "woman": "women", "women": "women", "lady": "women", "ladies": "women", "fiancee": "women",
    "son": "boys", "boy": "boys", "boys": "boys", "nephew": "boys",
    "daughter": "girls", "girl": "girls", "girls": "girls", "niece": "girls",
    "baby": "baby", "babies": "baby", "newborn": "baby", "infant": "baby", "toddler": "baby",
    "kid": "kids", "kids": "kids", "child": "kids", "children": "kids",
    "friend": "", "colleague": "", "boss": "", "teacher": "", "parents": "", "someone": "", "myself": "", "me": "",
}
GENDER_WORDS = {"mens": "men", "men's": "men", "male": "men", "womens": "women", "women's": "women",
                "female": "women", "ladies'": "women", "boys'": "boys", "girls'": "girls", "unisex": "unisex"}
# genders whose products are not for a recipient of this gender (the other sex)
OTHER_SEX = {"men": {"women", "girls", "girl", "woman", "ladies"}, "women": {"men", "boys", "boy", "man"},
             "boys": {"women", "girls", "girl"}, "girls": {"men", "boys", "boy"}}

OCCASIONS = {
    "party": "Party", "parties": "Party", "wedding": "Wedding", "weddings": "Wedding", "festive": "Festive",
    "festival": "Festive", "diwali": "Festive", "office": "Formal", "work": "Formal", "formal": "Formal",
    "business": "Formal", "interview": "Formal", "casual": "Casual", "everyday": "Casual", "daily": "Casual",
    "sports": "Sports", "sport": "Sports", "gym": "Sports", "running": "Sports", "workout": "Sports",
    "training": "Sports", "yoga": "Sports", "travel": "Travel", "travelling": "Travel", "traveling": "Travel",
    "trip": "Travel", "ethnic": "Ethnic", "traditional": "Ethnic", "beach": "Beach", "summer": "Summer",
    "winter": "Winter", "birthday": "Gift", "gift": "Gift", "present": "Gift", "anniversary": "Gift",
}

SIZE = re.compile(r"\b(?:size\s+(\w{1,4})|(x{0,3}s|x{0,3}l|m)\s+size|(king|queen|single|double)[\s-]+(?:size|bed)|"
                  r"(\d+(?:\.\d+)?\s?(?:ml|l|litres?|liters?|gb|tb|inch(?:es)?|cm|mm)))\b")

# general shopping synonyms: a word people type -> words that appear in category names
TYPE_SYNONYMS = {
    "purse": ["wallet", "clutch"], "billfold": ["wallet"], "cardholder": ["wallet"], "card holder": ["wallet"],
    "tee": ["tshirt"], "t-shirt": ["tshirt"], "t shirt": ["tshirt"], "sneaker": ["sports shoe", "casual shoe"],
    "trainer": ["sports shoe"], "running shoe": ["sports shoe"], "cup": ["mug"], "fragrance": ["perfume"],
    "scent": ["perfume"], "cologne": ["perfume"], "deo": ["deodorant"], "shades": ["sunglass"],
    "spectacle": ["sunglass"], "rucksack": ["backpack"], "schoolbag": ["backpack"], "wristwatch": ["wrist watch"],
    "timepiece": ["watch"], "tote": ["handbag"], "slipper": ["flip flop"], "chappal": ["flip flop", "sandal"],
    "pant": ["trouser"], "hoodie": ["sweatshirt"], "jumper": ["sweater"], "pullover": ["sweater"],
    "comforter": ["quilt"], "rug": ["carpet"], "pendrive": ["pen drive"], "usb stick": ["pen drive"],
    "flash drive": ["pen drive"], "charger": ["adapter"], "flask": ["bottle"], "necktie": ["tie"],
    "beanie": ["cap"], "kurtha": ["kurta"], "sari": ["saree"], "frock": ["dress"], "gown": ["dress"],
    "blazer": ["jacket"], "coat": ["jacket"], "cardigan": ["sweater"], "jogger": ["track pant"],
    "sweatpant": ["track pant"], "underwear": ["brief", "boxer"], "lingerie": ["bra"], "heel": ["heel"],
    "stiletto": ["heel"], "loafer": ["casual shoe"], "oxford": ["formal shoe"], "brogue": ["formal shoe"],
    "modem": ["router"], "wifi": ["router"], "lamp": ["lamp"], "light": ["light", "lamp", "bulb"],
    "pillow cover": ["cushion cover"], "bedspread": ["bedsheet"], "bed sheet": ["bedsheet"],
    "diaper": ["nappy", "diaper"], "sippy cup": ["sipper"], "water bottle": ["bottle"], "tumbler": ["glass"],
    "painting": ["painting"], "wall art": ["painting", "poster", "wall decal"], "lipstick": ["lip"],
    "moisturiser": ["face care"], "moisturizer": ["face care"], "suitcase": ["trunk", "duffel bag"],
    "luggage": ["trunk", "duffel bag", "suitcase"], "belt": ["belt"], "clock": ["clock"],
    "fridge": ["refrigerator"], "tv": ["television"], "telly": ["television"], "ac": ["air conditioner"],
    "earphone": ["headphone"], "earbud": ["headphone"], "headset": ["headphone"], "trolley": ["suitcase"],
    "idol": ["showpiece"], "statue": ["showpiece"], "figurine": ["showpiece"], "sneakers": ["sports shoe"],
    "bellie": ["ballerina"], "belly": ["ballerina"], "ballet flat": ["ballerina", "flat"], "kadai": ["kadhai"],
    "duffle": ["duffel bag"], "duffle bag": ["duffel bag"], "racket": ["racquet"], "cctv": ["security camera"],
}

# words of a request that carry no product meaning
_STOPWORD_TEXT = """
a an the some any few couple of for to from in on at by with without and or but so also too very really just
please thanks thank you i im i'm me my mine we our us he she they them their his its it this that these those
is are was were be been am do does did can could would should will shall may might must want wants wanted need
needs needed looking look find show give get got buy buying recommend suggest something anything things thing
one ones item items product products stuff kind sort type like nice good great best better new now then again
still instead maybe perhaps about around which what who where when how there here than more most less much many
other another else same different lot lots bit little quite rather pretty prefer preferably ideally maybe okay ok
yes no not dont don't hi hello hey ideal suitable perfect cool lovely right true deep zero prime rock times port
globe ocean now under over above below between
sell sells have has had having i'd i'll i've we'd during if possible idea ideas pair likes loves enjoys
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

NEGATIONS = ("not", "no", "without", "except", "exclude", "excluding", "avoid", "skip", "forget", "drop", "hide",
             "never", "nothing from", "anything but", "other than")


def singular(word: str) -> str:
    """A plural noun's singular, by spelling rules (wallets -> wallet, batteries -> battery, watches -> watch)."""
    w = word.casefold()
    if len(w) <= 3 or w.endswith(("ss", "us", "is", "series")):
        return w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("ches", "shes", "xes", "zes", "sses")):
        return w[:-2]
    if w.endswith("s"):
        return w[:-1]
    return w


def words(text: str) -> list[str]:
    """Lower-case words of a name or request, singular, '&' and punctuation dropped: "Coffee Mugs" -> coffee mug."""
    return [singular(w) for w in re.findall(r"[a-z0-9]+(?:[-'][a-z0-9]+)*", text.casefold())
            if w not in ("and",)]
