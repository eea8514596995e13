"""The "possible risk" check: words in a concern that a person must look at first.

Run on the description at intake, on every later message from the reporter and on each check-in
answer. It never triages: it raises a flag (`Case.risk_signals`, the words that matched) that
puts the case at the top of the queue, highlights those words on the case page and, for an
online report, shows the reporter crisis signposting at once. Only a person sets `risk`.

It matches **kinds of risk**, not a list of literal phrases, so that a way of saying it nobody
listed may still be found ("I keep driving past the reservoir", "handed over all her passwords"):

1. **Normalising**: lower case, curly quotes made straight, contractions and text-speak spelled
   out ("cant" and "can't" are "can not", "im" is "i am", "wld" is "would", "2nite" is "tonight"),
   every word reduced to its Porter2 stem (the theme suggester's stemmer); sentences end at
   . ! ? ; and line breaks.
2. **Rules** (`RULES`): small patterns over groups of words (`CONCEPTS`: oneself, a means such as
   tablets or a rope, a place such as a bridge, a violent act, a victim, a threat, a child, a
   weapon, someone about to drive, ...) with gaps of a few words allowed inside one sentence:
   "@hoard ~3 @pills" finds "stockpiling paracetamol" and "saved up my tablets". Each rule is a
   **strong** sign (3: "kill myself", "he said he'd burn the house down with me in it"), a
   **distinctive** one (2: "a burden", "bruises on her arms", "slurring") or a **faint** one (1:
   "tonight", "nobody knows", "a rope", "went to the bridge", "not answering his phone").
3. **Negation**: a negator shortly before a match in the same clause cancels it ("I have never
   felt unsafe", "no thoughts of harming myself"); rules whose danger is the negation itself
   start with it ("not ~2 feel safe", "can not go home").
4. **What lowers a match**: a *figure of speech* (`IDIOMS`: "this rota will kill me", "could
   murder a brew", "stabbed me in the back") cancels the matches it overlaps. Some rules are
   *soft*: the words around cancel them when the text is about *work* (training, a course, an
   exercise, a call attended, an RTC, a story or a film: a weapon or an overdose named there is not
   a risk), a *joke* (banter, "lol", the telly: a threat said in jest) or *leaving* (retiring, a
   new job: goodbyes and giving kit away). A *resolved past* ("years ago", "last year" together
   with "I'm fine now", "doing well", "no contact since") takes 3 off the score unless something
   says it is back ("again", "this week", "tonight"); a plain *denial* ("not in any danger",
   "nothing urgent") takes 1 off.
5. **Score**: matches that share words are one sign, as strong as the strongest of them; each
   rule counts once. The text is flagged when the sum, after what lowers it, is at least
   `THRESHOLD` (1: any one sign; measured on an unseen set at 0.97 recall with 17% false flags,
   where 2 gave 0.73 and 7%: docs/casework.md). The words of every sign then become the signals
   (overlapping ones joined into one phrase).

Recall matters more than precision here: a missed risk can cost a life, a false flag costs a
minute of a safeguarding officer's time. The measured recall and false-flag rate, on texts
written by people who never saw these rules, and how well the rules carry over to texts they
were not written from, are in docs/casework.md ("Possible risk"); `bench/risk/measure.py`
measures any set of texts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache, cached_property, lru_cache
from typing import NamedTuple

from app.themes.suggest import negation_governs, stem

THRESHOLD = 1
STRONG, WEAK, FAINT = 3, 2, 1
NEGATION_WINDOW = 4
PAST_RESOLVED_PENALTY = 3
DENIAL_PENALTY = 1

# ---------------------------------------------------------------------------------------------
# 1. Normalising
# ---------------------------------------------------------------------------------------------

_SPELLED_OUT: dict[str, str] = {
    # contractions, with and without the apostrophe
    "can't": "can not", "cant": "can not", "cannot": "can not", "don't": "do not", "dont": "do not",
    "doesn't": "does not", "doesnt": "does not", "didn't": "did not", "didnt": "did not",
    "won't": "will not", "wont": "will not", "wouldn't": "would not", "wouldnt": "would not",
    "isn't": "is not", "isnt": "is not", "wasn't": "was not", "wasnt": "was not", "aren't": "are not",
    "arent": "are not", "weren't": "were not", "werent": "were not", "haven't": "have not",
    "havent": "have not", "hasn't": "has not", "hasnt": "has not", "hadn't": "had not", "hadnt": "had not",
    "shouldn't": "should not", "shouldnt": "should not", "couldn't": "could not", "couldnt": "could not",
    "ain't": "is not", "aint": "is not", "mustn't": "must not",
    "i'm": "i am", "im": "i am", "i've": "i have", "ive": "i have", "i'll": "i will", "i'd": "i would",
    "he's": "he is", "hes": "he is", "she's": "she is", "shes": "she is", "he'll": "he will",
    "she'll": "she will", "he'd": "he would", "hed": "he would", "she'd": "she would",
    "they're": "they are", "theyre": "they are", "they've": "they have", "they'll": "they will",
    "we're": "we are", "we've": "we have", "we'll": "we will", "you're": "you are", "youre": "you are",
    "you'll": "you will", "it's": "it is", "its": "it is", "that's": "that is", "thats": "that is",
    "there's": "there is", "theres": "there is", "what's": "what is", "whats": "what is",
    "who's": "who is", "whos": "who is", "this'll": "this will", "that'll": "that will",
    "it'll": "it will", "it'd": "it would", "that'd": "that would", "there'll": "there will", "let's": "let us", "y'all": "you all",
    # text-speak and common misspellings
    "wld": "would", "cld": "could", "shld": "should", "pls": "please", "plz": "please", "u": "you",
    "ur": "your", "coz": "because", "cos": "because", "cuz": "because", "bc": "because",
    "gonna": "going to", "wanna": "want to", "gotta": "got to", "idk": "i do not know", "dunno": "do not know",
    "tonite": "tonight", "2nite": "tonight", "2night": "tonight", "2day": "today", "tmrw": "tomorrow",
    "tmr": "tomorrow", "tomoz": "tomorrow", "b4": "before", "yr": "year", "yrs": "years", "mam": "mum",
    "mom": "mum", "mummy": "mum", "anymore": "any more", "alot": "a lot", "nite": "night", "nd": "and",
    "thru": "through", "atm": "at the moment", "rn": "right now", "asap": "as soon as possible",
    "kno": "know", "tho": "though", "bf": "boyfriend", "gf": "girlfriend", "sis": "sister",
    "selfharm": "self harm", "selfharming": "self harming", "od": "overdose",
    "od'd": "overdose", "paracetemol": "paracetamol", "paracetomol": "paracetamol",
    "sucide": "suicide", "suicidle": "suicidal", "sucidal": "suicidal", "tablettes": "tablets",
}
_ILL_AS_I_WILL = frozenset("be have do go never just probably kill end take not".split())
_SENTENCE_END = frozenset(".!?;\n")
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)*|[.,;:!?()\"\n]", re.IGNORECASE)
_NEGATORS = frozenset("no not never nobody nothing none neither nor without".split())
_PSEUDO_NEGATED = frozenset("only just stop help wait doubt know sure".split())
_SCOPE_END = frozenset("but although though however yet because whereas i he she they we you it".split())


class _Text:
    """A text's tokens as the matcher reads them: side by side, the spelled-out words and their
    stems (None for punctuation), where a sentence ends and where each token stands in the
    original text; and where each word and stem stands, the only places a rule can start."""

    __slots__ = ("words", "stems", "breaks", "starts", "ends", "count", "at_word", "at_stem", "word_set", "stem_set")
    words: tuple[str | None, ...]
    stems: tuple[str | None, ...]
    breaks: tuple[bool, ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def __init__(self, tokens: list[tuple[str | None, str | None, bool, int, int]]) -> None:
        # Tuples: the matcher compares slices of them with its phrases.
        self.words, self.stems, self.breaks, self.starts, self.ends = zip(*tokens, strict=True) if tokens else ((),) * 5
        words, stems, self.count = self.words, self.stems, len(tokens)
        at_word: dict[str, list[int]] = {}
        at_stem: dict[str, list[int]] = {}  # also each two stems in a row, "i am" (`Rule.firsts`)
        for pos, word in enumerate(words):
            stemmed = stems[pos]
            if word is not None and stemmed is not None:  # a word (punctuation has neither)
                at_word.setdefault(word, []).append(pos)
                at_stem.setdefault(stemmed, []).append(pos)
                if pos + 1 < self.count and stems[pos + 1] is not None:
                    at_stem.setdefault(f"{stemmed} {stems[pos + 1]}", []).append(pos)
        self.at_word, self.at_stem = at_word, at_stem
        # Sets, so that a rule's words (`Rule.needs`) are checked by walking the fewer.
        self.word_set, self.stem_set = frozenset(at_word), frozenset(at_stem)


def _normalise(text: str) -> _Text:
    """The text's words, spelled out and stemmed, each with its span in the original text."""
    # Same length as the text: spans hold for the original.
    plain = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u00b4", "'").replace("`", "'")
    raw = [(m.group(0).lower(), m.start(), m.end()) for m in _TOKEN.finditer(plain)]
    tokens: list[tuple[str | None, str | None, bool, int, int]] = []
    stems: dict[str, str] = {}  # a text's words repeat: each stemmed once
    for n, (w, start, end) in enumerate(raw):
        if not w[0].isalnum():
            tokens.append((None, None, w in _SENTENCE_END, start, end))
            continue
        if w == "ill" and n + 1 < len(raw) and raw[n + 1][0] in _ILL_AS_I_WILL:
            words = ["i", "will"]
        elif w in _SPELLED_OUT:
            words = _SPELLED_OUT[w].split()
        else:
            if w.endswith("'s"):
                w = w[:-2]  # "dave's", "ex's"
            words = [p for p in w.split("'") if p] if "'" in w else [w]
        for word in words:
            stemmed = stems.get(word)
            if stemmed is None:
                stemmed = stems[word] = stem(word)
            tokens.append((word, stemmed, False, start, end))
    return _Text(tokens)


class _Word(NamedTuple):  # what negation_governs reads of a token
    word: str
    is_word: bool


def _is_negated(text: _Text, start: int) -> bool:
    """Whether a negator shortly before `start`, in the same clause, governs what starts there."""
    # Only the tokens negation_governs reads: the window before `start`, and `start` itself.
    first = max(0, start - NEGATION_WINDOW)
    window = [_Word(word or "", word is not None) for word in text.words[first:start + 1]]
    return negation_governs(window, start - first, window=NEGATION_WINDOW, negator=_NEGATORS.__contains__,
                            pseudo=_PSEUDO_NEGATED, scope_end=_SCOPE_END)


# ---------------------------------------------------------------------------------------------
# 2. Concepts: groups of words a rule refers to as @name (each a word or a phrase; matched as stems)
# ---------------------------------------------------------------------------------------------

CONCEPTS: dict[str, tuple[str, ...]] = {
    "self": ("myself", "himself", "herself", "themselves", "themself", "yourself", "ourselves"),
    "victim": ("me", "us", "him", "her", "them", "you", "myself", "mum", "my mum", "the kids", "the children",
               "the baby", "my son", "my daughter", "my wife", "my husband", "my partner", "both of us",
               "my little brother", "my little sister", "his wife", "her husband", "everyone", "my family",
               "the station manager", "my manager", "his manager", "my dad", "my brother", "my sister"),
    "person": ("he", "she", "they", "him", "her", "colleague", "mate", "friend", "partner", "husband", "wife", "son",
               "daughter", "brother", "sister", "dad", "mum", "father", "mother", "child", "boy", "girl", "baby", "kid",
               "teenager", "nan", "grandad", "grandma", "uncle", "aunt", "neighbour", "lad", "crewmate", "old", "yr old",
               "year old", "someone", "firefighter", "ff", "manager", "carer", "client", "resident", "he is", "she is"),
    "victim1": ("me", "us", "you", "myself", "the kids", "the children", "the baby", "my son", "my daughter",
                "my wife", "my husband", "my partner", "both of us", "my little brother", "my little sister",
                "my family", "mum", "my mum", "all of us", "me and the kids", "the kids and me"),
    "victim3": ("him", "her", "them", "someone", "somebody", "everyone", "people", "whoever", "anyone", "his wife",
                "her husband", "the station manager", "his manager", "her manager", "my manager", "the boss",
                "his boss", "the manager"),
    "afraid": ("scared", "afraid", "frightened", "terrified", "petrified", "fear", "fearing", "dread", "dreading",
               "too scared", "too frightened", "too afraid"),
    "kin": ("kids", "children", "girls", "boys", "son", "daughter", "wife", "husband", "partner", "mum", "dad",
            "family", "sister", "brother", "parents", "mother", "father", "two girls", "two boys", "little ones",
            "my kids", "the kids", "my children", "my family", "my wife", "my husband", "my partner", "my mum"),
    "owner": ("my", "his", "her", "their", "your", "our"),
    "die": ("dead", "die", "not here", "not alive", "never born", "never been born", "disappear", "gone for good"),
    "life": ("my life", "his life", "her life", "their life", "my own life", "his own life", "her own life",
             "it all", "everything"),
    "pills": ("tablets", "tablet", "pills", "pill", "paracetamol", "medication", "co codamol", "codeine",
              "sleeping pills", "antidepressants", "sertraline", "insulin", "painkillers", "pain killers",
              "ibuprofen", "aspirin", "tramadol", "diazepam", "meds"),
    "means": ("rope", "noose", "ligature", "razor", "razor blades", "blades", "hosepipe", "exhaust", "charcoal",
              "belt"),
    "place": ("bridge", "platform", "edge", "cliff", "cliffs", "reservoir", "railway", "railway line", "tracks",
              "train tracks", "level crossing", "viaduct", "multi storey", "roof", "motorway", "river",
              "canal", "quarry", "pier", "the sea", "the lake", "train line", "flyover", "overpass", "top floor", "balcony", "ledge",
              "beachy head", "cliff edge", "car park roof", "top of the car park", "top of a car park", "top floor of the car park", "tower block", "high bridge", "water", "dam", "rail line"),
    "hoard": ("stockpiling", "stockpile", "stockpiled", "saved up", "saving up", "saved", "saving", "hoarding",
              "hoarded", "stash", "stashed", "lined up", "counted out", "boxes of", "packets of", "packs of",
              "bottles of", "stash of", "been keeping"),
    "lots": ("a load of", "loads of", "a lot of", "lots of", "a handful of", "handful", "all", "all of", "the whole",
             "whole", "too many", "a bunch of", "a box of", "a packet of", "a bottle of", "a pile of", "a stack of", "a strip of", "strips of", "a sheet of", "a blister pack of", "blister packs of",
             "boxes of", "packets of", "every one of"),
    "fear": ("scared", "afraid", "frightened", "terrified", "petrified", "fear", "fearing", "dread", "dreading",
             "too scared", "too frightened", "worried", "nervous", "panicking", "panic"),
    "violence": ("hit", "hits", "hitting", "punched", "punches", "punching", "kicked", "kicks",
                 "kicking", "beat", "beats", "beating", "beaten", "slapped", "slaps", "slapping",
                 "strangled", "strangles", "strangling", "throttled", "smacked", "smacks",
                 "shoved", "pinned", "grabbed", "grabs", "dragged", "headbutted", "stamped on", "burns", "punch", "kick", "slap",
                 "attacked", "assaulted", "raped", "rape", "sexually assaulted", "battered", "thumped", "stabbed",
                 "scalded", "abused", "abuses", "shakes", "shook", "abusing", "molested", "bites", "whacked", "whips", "belted"),
    "harmverb": ("kill", "hurt", "harm", "stab", "shoot", "strangle", "burn", "finish", "batter", "beat", "attack",
                 "murder", "smash", "torch", "run over", "throw acid at", "use it on", "do in", "beat up", "kill off",
                 "break the neck of", "slit", "glass", "knife", "strangle"),
    "will": ("will", "would", "going to", "is going to", "about to", "threatened to", "threatens to",
             "threatening to", "threaten to", "wants to", "want to", "try to", "tried to", "says he will",
             "said he would", "swore to", "swears he will", "promised to", "gets to"),
    "said": ("said", "says", "saying", "told", "tells", "telling", "texted", "texting", "messaged", "messaging",
             "shouted", "screamed", "warned", "threatened", "keeps saying", "wrote", "posted", "sent", "voicemail",
             "voice note", "note saying"),
    "weapon": ("knife", "knives", "blade", "hunting knife", "kitchen knife", "gun", "guns", "shotgun", "rifle",
               "firearm", "pistol", "airgun", "air rifle", "machete", "axe", "crossbow", "baseball bat", "bat",
               "hammer", "acid", "taser", "weapon", "weapons", "sword", "meat cleaver", "cleaver", "screwdriver",
               "scissors"),
    "child": ("child", "children", "kid", "kids", "son", "daughter", "baby", "toddler", "boy", "girl", "brother",
              "sister", "stepson", "stepdaughter", "grandson", "granddaughter", "teenager", "teen", "infant",
              "newborn", "year old", "years old", "niece", "nephew", "pupil", "little one", "little ones",
              "apprentice", "schoolgirl", "schoolboy"),
    "family": ("kids", "children", "girls", "boys", "son", "daughter", "wife", "husband", "partner", "mum", "dad",
               "family", "sister", "brother", "parents", "mother", "father", "friends", "everyone", "all of you",
               "the lads", "the crew", "the watch"),
    "neck": ("neck", "throat", "windpipe", "airway"),
    "home": ("home", "back home", "back", "back there", "back to the house", "back to him", "back to her",
             "to the house", "the house", "in the house", "my house", "my flat", "the flat", "out", "outside",
             "out of the house", "out to my car"),
    "now": ("tonight", "right now", "now", "this evening", "later tonight", "within the hour", "in an hour",
            "in a few hours", "as we speak", "at the moment", "this minute", "straight away", "today",
            "this afternoon", "after shift", "after my shift", "when i get home", "when he gets home",
            "when she gets home", "when i get back"),
    "here": ("here", "there", "outside", "in the car park", "at the door", "at the station", "on his way",
             "on her way", "on the way", "coming round", "coming over", "coming here"),
    "neglect": ("in the car outside", "outside the pub", "in the car for hours", "left in the car", "in the car at night",
                "for hours at night", "sleep in the shed", "sleep in the garden", "sleep outside", "sleep in the garage", "sleeps in the shed",
                "sleeps outside", "sleeping in the shed", "sleeping outside", "in the shed", "in the garage at night",
                "locked outside", "shut outside", "no dinner", "no tea", "not given food", "does not give him food",
                "does not give her food", "does not give him tea", "does not give her tea", "does not feed",
                "no food in the house", "makes him sleep", "makes her sleep", "kept home to look after",
                "keeps her off school", "keeps him off school", "looking after the younger ones",
                "looking after the little ones", "no one there", "nobody there", "not been fed", "not fed", "no food", "hungry", "starving", "dirty nappy", "in a nappy", "no coat", "no shoes",
                "filthy", "unwashed", "at midnight", "left outside", "locked out", "no heating", "no electric",
                "sleeping on the floor", "covered in", "lice", "nits", "not at school", "not been to school",
                "not going to school", "no one looking after", "nobody looking after", "no adult", "no adults",
                "not been collected", "nobody picked", "no one picked", "wandering", "out at night", "on the streets"),
    "abuse_signs": ("into her room at night", "into his room at night", "into her room", "into his room", "into their room",
                    "room at night", "in her bed", "in his bed", "wetting the bed", "wets the bed", "bedwetting",
                    "nightmares", "scared of him", "scared of her", "frightened of him", "terrified of him",
                    "does not want to be left with", "will not be left alone", "touches her", "touches him",
                    "touched her", "touched him", "inappropriate", "in the bath with", "showers with", "sleeps in her bed",
                    "sleeps in his bed", "secret game", "our secret", "keep secrets", "sexualised", "self harming",
                    "says he hurts", "says she hurts", "flinches", "stopped eating", "does not want to go home",
                    "will not go home", "cries when", "hides when"),
    "possessions": ("things", "stuff", "belongings", "possessions", "tools", "gear", "kit", "dog", "cat", "pets",
                    "car", "watch", "guitar", "clothes", "records", "medals", "bike", "money", "savings",
                    "passwords", "books", "collection", "everything"),
    "missing": ("not answering", "not answered", "not replying", "not replied", "not responding", "not picking up",
                "not been seen", "not seen", "not heard from", "not come in", "not came in", "not turned up",
                "not shown up", "not showed up", "not been in touch", "not come home", "not come back",
                "not been home", "not been back", "not come in today", "gone missing",
                "went missing", "been missing", "is missing", "reported missing", "went offline", "gone offline", "phone off", "phone is off",
                "phone switched off", "no one can reach", "nobody can reach", "can not reach", "can not get hold",
                "can not contact", "can not find", "no answer", "no reply", "no response", "unreachable",
                "not answering the door", "not answering his phone", "not answering her phone",
                "straight to voicemail", "going to voicemail", "goes to voicemail", "location off", "location is off",
                "turned his location off", "turned her location off", "not been seen since", "nobody has seen",
                "no one has seen", "not been in contact", "not heard from him", "not heard from her"),
    "alcohol": ("over the limit", "stinks of drink", "stank of drink", "smells of drink", "smelt of drink",
                "smelled of drink", "stinks of booze", "smells of booze", "smelling of alcohol", "smells of alcohol",
                "still drunk", "drunk", "off his face", "off her face", "off my face", "hammered",
                "most of a bottle", "binge drinking", "binge", "drinking every night", "drinking heavily", "drinking a lot",
                "blacking out", "blackouts", "blacked out drunk", "on the vodka", "on the whisky", "on the drink", "been drinking",
                "drinking since", "had a lot to drink", "pissed", "coked up", "stoned", "drinking on shift",
                "drinking on duty", "drinking at work"),
    "duty": ("drove in", "driving in", "drive in", "driving", "drove", "drive", "riding the pump",
             "riding", "taken the pump", "took the pump", "taken the appliance", "took the appliance",
             "the pump out", "behind the wheel", "car keys", "on shift", "this shift", "on duty",
             "on the run", "on the appliance", "taken the engine", "driving the appliance", "in charge of"),
    "duty_now": ("just been paged", "been paged", "paged", "shift starts", "starts in", "on in", "next shout", "the next shout",
                 "down as driver", "down as the driver", "driver on the pump", "driving the pump", "driving the appliance",
                 "ride the aerial", "riding the aerial", "riding the pump", "ride the pump", "ride the appliance",
                 "riding the appliance", "taken the pump out", "took the pump out", "going to drive", "about to drive",
                 "drive himself in", "drive herself in", "drive in", "drove in", "driving in", "driving home",
                 "about to go on", "on the run now", "in charge of the watch", "in charge of the crew", "on call tonight",
                 "behind the wheel", "car keys in", "got my car keys", "just turned up for", "turned up for nights",
                 "turned up for days", "in 20 mins", "in 10 mins", "in 20 minutes", "in 10 minutes", "in half an hour",
                 "in 30 mins", "just taken", "first shift tomorrow", "on shift tomorrow", "driving tomorrow",
                 "on the first shift", "drove the pump back", "drove the pump", "drove the appliance", "drove the engine",
                 "on the engine", "on the pump today", "on the run today", "driving today",
                 "on shift today", "riding today", "on days today", "on nights tonight", "on duty today", "on duty tonight",
                 "driving the kids", "driving to", "on the motorway", "at the wheel", "in the cab"),
    "impairing": ("codeine", "diazepam", "valium", "tramadol", "cocaine", "coke", "ketamine", "pills", "tablets",
                  "sleeping tablets", "drink", "drinking", "beer", "vodka", "wine", "whisky", "spliff", "weed"),
    "urgent_words": ("please hurry", "hurry", "help me", "please help", "someone help", "as soon as possible",
                     "do something now", "needs to do something", "emergency", "urgently", "urgent", "now please",
                     "please someone", "before it is too late", "too late"),
    "secret": ("nobody knows", "no one knows", "noone knows", "not told anyone", "not told anybody",
               "have not told", "not telling anyone", "do not tell anyone", "do not tell", "please do not tell",
               "not sure why i am telling", "not sure why i am writing", "do not know why i am writing",
               "do not know why i am telling", "so someone stops me", "someone to know", "somebody to know",
               "wanted someone to know", "just need to tell someone", "keep it quiet", "not to tell anyone",
               "tell no one", "do not want anyone to know", "in case someone sees", "in case anyone finds out"),
    "work": ("collection", "collector", "legal", "locked cabinet", "cabinet", "declare", "climbing", "hobby", "camping",
             "sailing", "boat", "allotment", "scouts", "home visit", "safe and well", "safe and well visit", "home fire safety", "hfsv", "first aid", "cadet", "cadets", "class", "lesson", "lessons", "awareness evening", "talk about",
             "health and safety", "h and s", "hazard", "hazards", "risk assessment", "sink", "dishwasher", "blunt", "cutlery",
             "blade up", "chopping", "training", "course", "courses", "awareness", "exercise", "exercises", "scenario", "scenarios",
             "drill", "drills", "debrief", "defusing", "trim", "briefing", "presentation", "campaign", "leaflets",
             "recruits", "attended", "attending", "call out", "callout", "shout", "rtc", "rta", "casualty",
             "casualties", "patient", "patients", "first crew", "crew in", "fire safety visit", "first aid kit",
             "first aid kits", "inspection", "prevention", "rescue", "abseil", "charity", "school talk", "lecture",
             "module", "e learning", "workshop", "seminar", "documentary", "mandatory", "refresher",
             "firearms officer", "police exercise", "mock", "dummy", "dummies", "simulation", "role play",
             "knife crime", "out of date", "vetting", "licence", "license", "licensed", "locked up properly",
             "gun cabinet", "gamekeeper", "shooting club", "clay pigeon", "the incident", "an incident", "the job",
             "a job", "the casualty", "the patient", "appliance kit", "story", "stories", "book", "novel", "film",
             "programme", "tv", "series", "character", "episode", "podcast", "homework", "essay", "set topic",
             "shouts", "jobs", "drama", "soap", "course", "trainer",
             "instructor", "session", "sessions", "students", "pupils", "assembly", "school talk"),
    "joke": ("joke", "joking", "jokes", "joked", "banter", "lol", "haha", "hahaha", "kidding", "telly", "jokingly", "joker", "lolz", "lmao", "rofl",
             "football", "the ref", "penalty", "obviously joking", "nobody meant", "no one meant", "figure of speech",
             "not serious", "not literally", "in jest", "only messing", "taking the mick"),
    "past": ("years ago", "year ago", "a year ago", "last year", "months ago", "in the past", "back in", "used to",
             "when i was younger", "as a teenager", "when i was a teenager", "when i was at school", "historic",
             "historical", "a while ago", "a long time ago", "long ago", "previously", "in 2015", "in 2016",
             "in 2017", "in 2018", "in 2019", "in 2020", "in 2021", "in 2022", "in 2023", "in 2024",
             "since 2015", "since 2016", "since 2017", "since 2018", "since 2019", "since 2020", "since 2021",
             "since 2022", "since 2023", "a few years", "ten years", "two years", "three years", "five years",
             "was violent", "was abusive", "had suicidal", "in my twenties", "in my teens", "in my 20s", "in my thirties",
             "in my late teens", "at university", "at uni", "as a student", "decades ago", "when i was young"),
    "resolved": ("fine now", "well now", "ok now", "okay now", "better now", "good now", "safe now", "sorted now",
                 "doing well", "doing better", "doing much better", "doing ok", "doing okay", "doing fine",
                 "doing great", "much better", "been well", "been fine", "i am fine", "i am well", "i am ok",
                 "i am okay", "i am safe", "she is safe", "he is safe", "no contact since", "convicted",
                 "dealt with", "got help", "had help", "recovered", "coping ok", "coping well", "coping fine",
                 "moved on", "left him", "left her", "court order is in place", "order in place", "in a good place",
                 "well supported", "under control", "seeing a counsellor", "seeing my gp", "seeing her gp",
                 "seeing his gp", "seeing a grief counsellor", "the eap is helping", "people round me",
                 "people around me", "all behind me", "behind me now", "support in place", "is helping",
                 "no problems", "no issues", "happily married", "happily", "and well", "share my story", "lived experience",
                 "peer supporter", "in recovery", "recovered now"),
    "leaving": ("retiring", "retire", "retired", "retirement", "leaving do", "leaving the service", "new job",
                "moving station", "moving stations", "transfer", "transferring", "promotion", "promoted",
                "moving to", "relocating", "emigrating", "moving house", "maternity leave", "career break",
                "handing over to", "probationers", "my replacement", "leaving party", "last day before",
                "after 30 years", "after 25 years", "after 20 years", "pension forecast"),
    "denial": ("not in any danger", "not in danger", "no danger", "no violence", "nothing physical", "no safety worries",
               "no safety issue", "no safety issues", "no safety concern", "no safety concerns", "i feel safe",
               "feel safe", "i am safe", "not urgent", "nothing urgent", "no risk", "not a risk", "not a risk thing",
               "no worries at all", "had no worries", "not a concern", "no concern", "absolutely fine", "all fine", "no threat", "not threatening", "no immediate risk",
               "nothing like that", "no thoughts of"),
    "current": ("again", "are back", "is back", "it is back", "coming back", "came back", "worse", "this week",
                "last night", "tonight", "right now", "currently", "at the moment", "these days", "every day",
                "every night", "most nights"),
}

# ---------------------------------------------------------------------------------------------
# 3. Rules. Syntax: words separated by spaces, each element one of
#    word           the word (compared as its stem, after spelling out: "cant" is "can not")
#    a|b|c          any one of these; "a_b" is the two words "a b"
#    @concept       any phrase of CONCEPTS[concept]
#    =...           compare the spelled-out words, not their stems ("=slurring" is not "slurs")
#    x?             the element may be missing
#    ~N             up to N words of anything, in the same sentence
#    !x             the next word is not x (looks, takes nothing)
#    Each rule: (kind of risk, weight, pattern, soft): soft names the contexts that cancel it
#    ("work", "joke", "leaving", joined by "+"), "" when nothing does.
# ---------------------------------------------------------------------------------------------

SUICIDE = "suicide or self-harm"
HOME = "afraid to go home"
DANGER = "immediate danger"
CHILD = "a child at risk"
WEAPONS = "weapons"
SIGN = "a sign to read with others"  # weak signs of many kinds: now, secrecy, someone not answering

RULES: tuple[tuple[str, int, str, str], ...] = (
    # --- suicide and self-harm, said outright
    (SUICIDE, STRONG, "kill|killing|hang|hanging|top|topping|harm|harming|gas|gassing|drown|drowning|poison|poisoning|starve|starving|strangle|strangling|strangled|choke|choking|suffocate|suffocating|smother|smothering|stab|stabbing|shoot|shooting|electrocute|throttle @self", ""),
    (SUICIDE, STRONG, "hurt|hurting|cut|cutting|burn|burning|burnt|burned myself|himself|herself !at !on !in !at_work !lifting !playing !during !while !when !cooking !falling !moving", ""),
    (SUICIDE, STRONG, "end|ending|take|taking ~1 @life", ""),
    (SUICIDE, STRONG, "ending it !with", ""),
    (SUICIDE, STRONG, "end it all|end_it_all|finish_it_all|just_end_it|to_end_it|will_end_it|going_to_end_it|thinking_of_ending|thought_of_ending|thinking_about_ending_it", ""),
    (SUICIDE, STRONG, "want|wants|wanted|wanting|wish|wished|rather|ready ~2 to? die", ""),
    (SUICIDE, STRONG, "wish|wished ~3 @die", ""),
    (SUICIDE, STRONG, "better off ~2 dead|without_me|without_him|without_her|without_us|if_i_was_gone|if_i_was_not_here|if_i_died|if_i_were_gone|if_i_was_dead|gone", ""),
    (SUICIDE, STRONG, "feel|felt|feeling|am|is|been|having|have|had|get|getting|was|being ~3 =suicidal", ""),
    (SUICIDE, WEAK, "=suicidal|=suicide", "work"),
    (SUICIDE, STRONG, "commit|committed|attempt|attempted|tried ~2 suicide", "work"),
    (SUICIDE, STRONG, "suicide ~1 note|letter|plan|attempt", "work"),
    (SUICIDE, STRONG, "self harm|harmed|harming|injure|injuring|injury", "work"),
    (SUICIDE, STRONG, "i|he|she|they|been|started|still|keep|keeps|again|am|is ~2 self harm|harmed|harming", ""),
    (SUICIDE, STRONG, "been|started|still|keep|keeps|kept|began|begun ~1 cutting|burning|scratching", ""),
    (SUICIDE, STRONG, "cutting|burning|cut|burnt|burned ~2 again|my_arms|his_arms|her_arms|my_legs|his_legs|her_legs|my_wrists|his_wrists|her_wrists|my_skin|her_skin|his_skin|my_thighs|her_thighs|his_thighs|deeper", ""),
    (SUICIDE, STRONG, "keep|keeping ~1 @self ~1 safe", ""),
    (SUICIDE, STRONG, "not|no|nothing ~3 point ~4 any_more|anything|going_on|go_on|carrying_on|carry_on|living|life|trying|in_me|existing|waking|being_here|being_alive|it_all|any_of_it", ""),
    (SUICIDE, WEAK, "not|no ~3 see ~1 the? point", ""),
    (SUICIDE, STRONG, "no|nothing ~2 reason|left ~1 to live", ""),
    (SUICIDE, STRONG, "nothing_to_live_for|nothing_left_to_live_for|no_way_out|no_future_for_me|no_life_left|no_reason_to_go_on", ""),
    (SUICIDE, STRONG, "can not ~1 go_on|carry_on|keep_going|do_this_any_more|do_it_any_more|live_like_this|cope_any_more|face_it_any_more|take_it_any_more|take_any_more|take_this_any_more|be_here_any_more", ""),
    (SUICIDE, WEAK, "can not ~1 do_this|take_it|face_it|face_anything|see_a_way|see_any_way|go_on_like_this", ""),
    (SUICIDE, FAINT, "can not ~1 cope", ""),
    (SUICIDE, WEAK, "had_enough_of_life|had_enough_of_everything|given_up_on_life|give_up_on_life|tired_of_living|tired_of_life|tired_of_being_alive", ""),
    (SUICIDE, FAINT, "had_enough|given_up|tired_of_pretending|tired_of_everything", ""),
    (SUICIDE, STRONG, "want|wants|need|needs|wanted ~2 it|everything|it_all|this|the_pain ~1 to_stop|to_end|to_be_over", ""),
    (SUICIDE, STRONG, "not|never ~1 wake up", ""),
    (SUICIDE, STRONG, "not|never ~2 want|wants|wanted ~2 to ~1 be_here|be_alive|be_around|live|exist|wake_up|carry_on|go_on", ""),
    (SUICIDE, STRONG, "am|is|feel|feels|felt|being|was|a|just|like ~2 a burden", ""),
    (SUICIDE, STRONG, "burden to|on ~1 everyone|everybody|my_family|the_family|them|you_all|all_of_you|the_kids", ""),
    (SUICIDE, STRONG, "easier|better ~3 for_everyone_if|for_everybody_if|if_i_was_gone|if_i_was_not_here|if_i_were_gone|without_me|if_i_died|if_i_was_dead|if_i_were_dead", ""),
    (SUICIDE, STRONG, "dark_thoughts|darker_thoughts|black_thoughts|suicidal_thoughts|thoughts_of_suicide|dark_place|darkest_place", ""),
    (SUICIDE, WEAK, "bad_place|intrusive_thoughts|bad_thoughts|low_place|rock_bottom|lowest_point|breaking_point|end_of_my_tether", ""),
    (SUICIDE, STRONG, "thoughts|thinking|thought|think|thinks ~2 of|about ~1 ending_it|ending_things|ending_my_life|dying|killing_myself|killing_himself|killing_herself|suicide|not_being_here|not_waking_up|hanging|jumping|overdosing|taking_my_life", ""),
    (SUICIDE, STRONG, "worked_out_how|know_how_i_would|know_how_i_will|planned_how|planned_it_out|a_date_in_mind|picked_a_date|set_a_date|chosen_a_date|know_how_and_when", ""),
    (SUICIDE, FAINT, "got|have|had|made ~1 a plan", ""),
    (SUICIDE, STRONG, "will|would|going_to ~1 do ~1 it properly", ""),
    (SUICIDE, STRONG, "looking|looked|look|searching|searched|researching|researched|googling|googled|reading|read ~2 up? ~1 ways|methods ~2 online|on_the_internet|on_my_phone|to_die|to_end|to_kill|to_do_it|of_ending|of_dying|of_doing_it|it_could_be_done", ""),
    (SUICIDE, STRONG, "looking|looked|searching|searched|researching|researched|googling|googled ~2 up? ~1 how_to_die|how_to_end_it|how_to_kill|how_many|how_much_it_would_take|how_long_it_takes|what_it_would_take|methods|suicide", ""),
    (SUICIDE, WEAK, "looking|looked|searching|searched|googling|googled ~1 up ~1 ways|methods|how", ""),
    (SUICIDE, STRONG, "how_many|how_much ~4 of? ~1 my|the|his|her|their ~1 @pills", ""),
    (SUICIDE, STRONG, "how_many ~6 it_would_take|would_do_it|would_be_enough|to_kill|would_kill|it_takes|to_take", ""),
    (SUICIDE, STRONG, "@hoard ~3 @pills", "work"),
    (SUICIDE, STRONG, "@pills ~3 lined_up|saved|stashed|stockpiled|hidden|counted_out|in_my_locker|in_my_bag|in_the_car|in_my_car|in_my_pocket|with_me|on_the_side|on_the_table|in_a_pile", ""),
    (SUICIDE, STRONG, "took|taken|take|taking|swallowed|swallow|had|necked|downed|tried ~2 @lots ~3 @pills", ""),
    (SUICIDE, STRONG, "took|taken|take|taking|had|tried|attempted|done|did ~2 an? overdose", ""),
    (SUICIDE, STRONG, "took|taken|take|taking|swallowed|swallow|had|necked|downed ~3 8|10|12|14|15|16|20|24|25|30|32|40|48|50|60|100|ten|twelve|fifteen|twenty|thirty|forty|fifty|a_hundred|dozens ~2 @pills", ""),
    (SUICIDE, WEAK, "overdose", "work"),
    (SUICIDE, STRONG, "=overdosed|=overdosing", ""),
    (SUICIDE, FAINT, "@pills", "work+joke"),
    (SUICIDE, STRONG, "got|have|has|had|bought|buy|keep|keeps|kept|found|hidden|hid|hides ~3 a? rope|noose|ligature|hosepipe|razor_blades", "work"),
    (SUICIDE, STRONG, "rope|noose|ligature ~2 in|under ~1 the|my|his|her ~1 boot|garage|shed|car|loft|house|bag|locker|van|room|bedroom|cupboard|wardrobe", "work"),
    (SUICIDE, STRONG, "noose|ligature", "work+joke"),
    (SUICIDE, FAINT, "rope", "work+joke"),
    (SUICIDE, STRONG, "jump|jumping|jumped|throw_myself|throwing_myself|threw_myself ~2 off|in_front_of|into_the_river|into_the_sea|into_the_water|from_the_bridge|from_a_bridge|from_the_roof", "work+joke"),
    (SUICIDE, STRONG, "in_front_of ~1 a|the ~1 train|trains|lorry|bus|tube|truck", "work+joke"),
    (SUICIDE, STRONG, "drive|driving|drove|crash|crashing|steer|steering|swerve|swerving|plough|ploughing ~4 into|off ~2 a|the ~2 tree|wall|lorry|bridge|river|sea|barrier|oncoming|cliff|quarry|reservoir|truck|pillar|bollard", ""),
    (SUICIDE, FAINT, "stood|standing|stand|sat|sitting|sit|went|go|going|gone|drive|driving|drove|walked|walking|been|parked|keep|thinking|think|thought ~4 @place", "work+joke"),
    (SUICIDE, FAINT, "edge of", "work+joke"),
    (SUICIDE, WEAK, "on|at|by|under|off ~1 the|a ~1 @place ~3 now|right_now|tonight|as_we_speak|at_the_moment", "work+joke"),
    (SUICIDE, FAINT, "sorry_everyone|sorry_to_everyone|sorry_all|so_sorry_everyone|sorry_for_this|forgive_me|please_forgive_me", ""),
    (SUICIDE, FAINT, "did|do not ~1 do it", ""),
    (SUICIDE, FAINT, "how_easy|how_close|how_quick|how_quickly|how_simple ~3 it|i|would|be|to|am", ""),
    (SUICIDE, FAINT, "keep_going|just_keep_going|keep_on_going|carry_on_driving|keep_driving|not_stop_driving", ""),
    (SUICIDE, FAINT, "next time", ""),
    (SUICIDE, WEAK, "not|never ~3 see ~1 the? ~1 kids|children|family|my_kids|my_girls|my_boys|her|him|them|my_son|my_daughter ~2 again|grow_up", ""),
    (SUICIDE, STRONG, "can not|could_not|never ~1 see ~2 a_way_out|any_way_out|way_out|a_way_forward|any_way_forward|a_future|any_future|any_point|an_end_to_it", ""),
    (SUICIDE, STRONG, "everyone|everybody|they|the_kids|my_kids|my_family|the_family|my_wife|my_husband|my_partner|she|he|you_all|the_world ~2 would|will|would_all|be ~2 better_off", ""),
    (SUICIDE, FAINT, "life_insurance|life_insurance_payout|death_in_service|my_policy_pays_out|pays_out_if", ""),
    (SUICIDE, STRONG, "nothing_left_for_me|nothing_left_to_live|nothing_to_live|nothing_left_in_me|nothing_left_to_give|no_reason_to_stay", ""),
    (SUICIDE, FAINT, "what_is_the_point|no_point|pointless_going_on", ""),
    (SUICIDE, STRONG, "looking|looked|look|searching|searched|researching|researched|googling|googled|reading|read|checking|checked|working_out|worked_out ~2 up? ~1 how_much|how_many|how_long|how_high|how_to|where_to|what_dose|the_dose ~4 @means|@pills|@place|rope|you_would_need|it_would_take|it_takes|to_die|to_do_it", ""),
    (SUICIDE, STRONG, "@means|hose|hose_pipe|pipe|tube|cable|flex|charcoal ~4 in|under ~1 the|my|his|her ~1 boot|garage|shed|car|loft|bag|locker|van|bedroom|cupboard|wardrobe|glovebox", "work"),
    (SUICIDE, FAINT, "not_decided|not_decided_yet|not_made_up_my_mind|still_deciding|undecided|have_not_decided|not_sure_if_i_will|not_sure_when", ""),
    (SUICIDE, FAINT, "working_out|worked_out|picked|picking|chosen|choosing ~3 where|the_spot|a_spot|the_place", ""),
    (SUICIDE, WEAK, "tired|sick ~2 of ~1 waking_up|being_here|being_alive|existing|breathing|living|life", ""),
    (SUICIDE, FAINT, "tired|sick ~2 of ~1 everything|it_all|fighting|pretending", ""),
    (SUICIDE, WEAK, "would_not_mind|wouldnt_mind|would_not_care|not_bothered|a_relief|would_be_a_relief|be_a_relief ~6 wake|waking|alive|died|dead|not_here|never_woke|woke_up", ""),
    (SUICIDE, WEAK, "if ~1 i|he|she ~1 did_not|never ~1 wake|woke", ""),
    (SUICIDE, FAINT, "not|never ~2 be|going_to_be|will_be ~1 needing|need|needing_them|using ~1 them|it|these|those|any_more", "leaving"),
    (SUICIDE, FAINT, "not|never ~3 have|need ~1 to ~1 worry|put_up|deal|bother ~2 about|with ~2 me|much_longer|after|any_more", "leaving"),
    (SUICIDE, FAINT, "something ~1 not|wrong ~1 right|with_him|with_her", ""),
    (SUICIDE, FAINT, "laughed|laughing|brushed|shrugged ~1 it ~1 off", ""),
    (SUICIDE, FAINT, "not|no ~3 anyone_s|anybody_s|anyones|anybodys|your|anyone|anything_you_did|something_you_did|because_of_you ~1 fault|did|do", ""),
    (SUICIDE, FAINT, "not ~2 think ~2 it ~1 is|was ~1 anything_you|your_fault|because_of_you", ""),
    (SUICIDE, FAINT, "sorted|sorting|sort|put|putting|got|get ~2 my|his|her|their|all ~1 paperwork|affairs|finances|papers|documents|accounts|passwords|bills ~1 in_order|sorted|out|together|done|straight", "leaving"),
    (SUICIDE, FAINT, "been_good_to_me|been_so_good_to_me|thank_you_for_everything|thanks_for_everything|been_a_good_run|good_run|been_a_pleasure|been_an_honour|thanks_for_putting_up", "leaving"),
    (SUICIDE, WEAK, "gave|given|giving|give|handed|handing|passed|passing|left ~2 me|us|them|away|his|her|my|all|the_lads ~4 @possessions|signed|rugby_shirt|shirt|medals|ring|jewellery|photos|helmet|bike|tools|records|collection ~3 away|to|on|over", "leaving"),
    (SUICIDE, FAINT, "gave|given|giving|handed|handing ~2 me|us|her|him ~1 his|her|their ~2 @possessions|signed|shirt|medals|ring|jewellery|photos|helmet|bike|tools|watch", "leaving"),
    (SUICIDE, STRONG, "happier|better|easier|relieved|lighter ~4 if|without|once ~2 i|me ~3 gone|disappeared|disappear|was_not_here|was_gone|were_gone|died|was_dead|did_not_exist|was_never_born|not_around|was_not_around", ""),
    (SUICIDE, WEAK, "want|wanted|wish|just|could|going_to ~2 disappear|vanish|sleep_forever|not_exist|stop_existing|fade_away", ""),
    (SUICIDE, STRONG, "no ~1 way_back|escape|way_forward|light_at_the_end|future|hope_left", ""),
    (SUICIDE, FAINT, "drowning|going_under|falling_apart|can_not_breathe|at_the_end_of_my|the_end_of_the_road|end_of_the_line|suffocating|in_a_black_hole|dark_hole|pit", ""),
    (SUICIDE, STRONG, "wrote|written|writing|write|left|leaving ~2 @kin|my_kids|the_kids|my_wife|my_husband|my_mum|everyone|them ~1 a|some ~1 letter|letters|note|notes|message|video", ""),
    (SUICIDE, STRONG, "took|taken|take|swallowed|necked|downed|had ~6 a_strip_of|strips_of|a_sheet_of|blister|everything_in_the_cupboard|the_whole_box|the_whole_packet|all_my|all_of_my|all_the ~3 @pills", ""),
    (SUICIDE, STRONG, "emptied|cleared_out ~2 the|my ~1 medicine_cabinet|medicine_cupboard|meds|pills|tablets", ""),
    (SUICIDE, STRONG, "voices ~3 telling|tell|told|saying|say|said ~2 me|him|her|i|he|she ~2 to|should|must|ought", ""),
    (SUICIDE, WEAK, "hearing_voices|hear_voices|heard_voices|hearing_things|seeing_things|psychotic", ""),
    (SUICIDE, FAINT, "paranoid|manic|not_slept_for_days|not_sleeping_for_days", ""),
    (SUICIDE, WEAK, "never_hear_from_me|not_hear_from_me|last_message|last_time_you_will|will_not_see_me|not_see_me_again|never_see_me_again|say_goodbye|saying_goodbye|said_goodbye|final_message !about", "leaving"),
    (SUICIDE, STRONG, "can_not_live_with_myself|can_not_live_with_it|can_not_face_tomorrow|can_not_face_another_day|can_not_face_anyone|do_not_want_to_wake_up|do_not_want_to_be_alive", ""),
    (SUICIDE, FAINT, "punching|punched|hitting|banging ~1 walls|the_wall|my_head", ""),
    (SUICIDE, FAINT, "fresh ~1 cuts|scars|wounds|burns", "work"),
    (SUICIDE, STRONG, "can not|could_not|do_not ~1 see ~2 me|myself|him|himself|her|herself ~1 being_here|being_around|here|around|alive|making_it|lasting|getting_through", ""),
    (SUICIDE, WEAK, "got_it_all_planned|all_planned|all_planned_out|it_is_all_planned|got_it_planned|planned_it_all|know_exactly_how|know_exactly_when|know_exactly_where", ""),
    (SUICIDE, STRONG, "nobody|no_one|noone|nobody_would|no_one_would|no_one_will|nobody_will ~1 will|would? ~1 miss|notice|care ~1 me|if_i", ""),
    (SUICIDE, STRONG, "will_not_be_missed|would_not_be_missed|not_be_missed|no_one_would_notice|nobody_would_notice|no_one_would_care|nobody_would_care", ""),
    (SUICIDE, WEAK, "if ~1 anything|something ~1 happens|happened|happen|was_to_happen|were_to_happen|should_happen ~2 to_me|to_him|to_her", ""),
    (SUICIDE, WEAK, "sorted|sorting|got|put ~1 everything|it_all|all ~1 sorted|in_order|out|straight", ""),
    (SUICIDE, FAINT, "sorted_everything|sorted_it_all|everything_sorted|everything_in_order|tied_up_loose_ends|loose_ends", "leaving"),
    (SUICIDE, FAINT, "look|looking ~1 after ~1 my|his|her ~1 dog|cat|kids|children|pets|girls|boys|family|mum", ""),
    (SUICIDE, STRONG, "bought|buying|got|have|has|picked_up|ordered ~3 a|some|the ~2 hose|hosepipe|tape|duct_tape|charcoal|rope|ligature|noose|razor_blades|blades|helium|exhaust_pipe", "work"),
    (SUICIDE, STRONG, "do|doing|did ~1 something ~1 stupid|silly|drastic|daft|i_will_regret|to_myself|to_himself|to_herself|final", ""),
    (SUICIDE, FAINT, "can_not_stop_thinking_about_it|can_not_stop_thinking_about|keep_thinking_about_it|crying|in_tears|sobbing|breaking_down", ""),
    (SUICIDE, WEAK, "not|never ~3 see|make_it_to|be_here_for|be_around_for|last_until|last_till|get_to ~2 the_new_year|christmas|my_birthday|his_birthday|her_birthday|next_week|next_month|the_weekend|summer|tomorrow|next_year|the_end_of_the_week|friday", ""),
    (SUICIDE, FAINT, "who_gets_what|who_gets_my|who_should_have_my|leave_everything_to|left_everything_to|list_of_who", ""),
    (SUICIDE, WEAK, "nothing|no_one|nobody|noone ~1 to ~1 go_home_to|live_for|get_up_for|stay_for|wake_up_for", ""),
    (SUICIDE, STRONG, "looking|looked|look|searching|searched|browsing|browsed|googling|googled|researching|researched|reading_about|ordered|ordering ~3 @means|@pills|ropes|nooses|bridges|heights|the_dose|doses|overdoses ~2 online|on_the_internet|on_my_phone|on_amazon|on_ebay|on_the_dark_web", ""),
    (SUICIDE, STRONG, "if ~6 killed_me|had_killed_me|died|had_died|was_dead|had_been_dead|had_not_survived|did_not_survive ~6 solved|solve|better|easier|relief|answer|best|kinder|fine", ""),
    (SUICIDE, WEAK, "would_solve_everything|would_have_solved_everything|solve_all_my_problems|would_solve_all|be_the_answer|only_way_out|only_way_to_make_it_stop|only_option_left|only_answer_left", ""),
    (SUICIDE, WEAK, "should|going_to|want_to|will|might|could|about_to|thinking_of|tempted_to ~1 jump", "work+joke"),
    (SUICIDE, STRONG, "written|wrote|writing|write|said|say|saying|sent|recorded ~1 my|his|her ~1 goodbyes|goodbye|last_words|final_words", ""),
    (SUICIDE, FAINT, "i_am_done|i_am_finished|i_give_up|that_is_it_for_me|i_am_out", ""),
    (SUICIDE, FAINT, "put|posted|left|pushed|dropped ~2 my|the|his|her ~1 house_keys|keys|key|door_key ~3 through|in|on|with|at", ""),
    (SUICIDE, STRONG, "engine_running|engine_on|car_running ~6 garage|shut|closed|hose|hosepipe|exhaust", ""),
    (SUICIDE, STRONG, "garage|shut_garage|closed_garage ~6 engine_running|engine_on|car_running|exhaust|hosepipe", ""),
    (SUICIDE, WEAK, "see_what_it_feels_like|see_what_it_would_feel_like|see_how_it_feels|see_how_it_would_feel|practising_it|practised_it|practise_it|rehearsing_it|rehearsed_it|tried_it_out|a_trial_run|a_practice_run|a_dry_run", "work+joke"),
    (SUICIDE, WEAK, "end|ending|finish|finishing ~1 things|everything|it_all|my_life|the_pain", ""),
    (SUICIDE, FAINT, "gone_quiet|gone_very_quiet|withdrawn|will_not_talk_about_it|will_not_talk|shut_himself_away|shut_herself_away|isolating", ""),
    (SUICIDE, STRONG, "cope|manage|be_fine|be_ok|be_okay|do_fine|get_on|be_happier|be_better ~3 without ~1 me|him|her", ""),
    (SUICIDE, WEAK, "looking|looked|staring|stared|keep_looking ~2 at ~2 the|my|his|her|those ~2 @pills|@means|@place", ""),
    (SUICIDE, FAINT, "does_not_matter|it_does_not_matter|will_not_matter|nothing_matters|what_does_it_matter|no_longer_matters|will_not_be_my_problem", ""),
    (SUICIDE, STRONG, "see|find|have|got|there_is ~3 no|a|any ~1 reason|point ~2 to_keep_going|to_carry_on|to_go_on|to_live|to_be_here|to_get_up|in_living|in_going_on|to_stay|to_keep_trying|in_being_here", ""),
    # goodbyes and putting things in order
    (SUICIDE, STRONG, "sorry ~1 for everything", ""),
    (SUICIDE, STRONG, "sorry ~1 to whoever", ""),
    (SUICIDE, STRONG, "goodbye|farewell|bye ~2 forever|for_good|cruel_world|for_the_last_time", ""),
    (SUICIDE, FAINT, "goodbye|farewell|said_bye|say_bye|saying_bye", "leaving"),
    (SUICIDE, FAINT, "love_you_all|love_you_guys|love_you_lads|love_you_both|love_you_always|tell_them_i_love_them|tell_the_kids", ""),
    (SUICIDE, FAINT, "look after ~2 yourselves|each_other|the_kids|the_dog|mum|them|my_kids|my_girls|my_boys|my_family|her_for_me|him_for_me", ""),
    (SUICIDE, WEAK, "last_shift|last_day|last_time ~3 ever|will_ever", "leaving"),
    (SUICIDE, STRONG, "whoever ~2 finds|find|found|has_to_deal_with_it|has_to_deal_with_me|has_to_clean|has_to_find", ""),
    (SUICIDE, STRONG, "not|never ~3 be|being ~1 around|here ~2 much_longer|any_more|for_long|for_much_longer|long|longer|much", ""),
    (SUICIDE, FAINT, "not|never ~3 be|being ~1 around|here", "leaving"),
    (SUICIDE, STRONG, "put_up_with_me|putting_up_with_me|deal_with_me ~2 much_longer|for_long|any_more|any_longer|for_much_longer", ""),
    (SUICIDE, WEAK, "put_up_with_me|putting_up_with_me", ""),
    (SUICIDE, STRONG, "made|making|make ~1 my|his|her|their ~1 peace", ""),
    (SUICIDE, STRONG, "affairs ~1 in_order|sorted", ""),
    (SUICIDE, WEAK, "sorted|sorting|made|making|wrote|written|writing|updated|updating|changed|done|did ~2 my|his|her|a|their ~1 will", ""),
    (SUICIDE, STRONG, "gave|given|giving|give ~1 away ~3 @possessions|all|his|her|my|everything|stuff|things", "leaving"),
    (SUICIDE, WEAK, "given_away|gave_away|giving_away|handed_over|handing_over|handed_out|passed_on|rehomed|rehoming|rehome ~3 @possessions", "leaving"),
    (SUICIDE, FAINT, "gave|given|giving|asked ~4 @possessions ~2 to|away|have", "leaving"),
    (SUICIDE, FAINT, "cleared|clearing|emptied|emptying ~1 out? ~1 my|his|her|their ~1 locker|desk|room|flat|drawers", "leaving"),
    (SUICIDE, STRONG, "wrote|written|writing|write|left|leaving|leave ~2 letters|letter|notes|note|cards ~3 to|for ~2 @kin !school !teacher !nursery !council !club !dentist !solicitor", ""),
    (SUICIDE, FAINT, "wrote|written|writing|left ~2 letters|letter|note|notes", ""),
    (SUICIDE, FAINT, "when the time comes", ""),
    (SUICIDE, STRONG, "not|no ~2 safe ~2 from_myself|from_himself|from_herself|around_myself|with_myself|on_my_own|alone|by_myself", ""),
    (SUICIDE, WEAK, "hopeless|worthless|feel_trapped|feeling_trapped|i_am_trapped|so_trapped|no_hope|am_a_failure|feel_like_a_failure|such_a_failure|a_complete_failure|a_waste_of_space|a_shell_of|i_am_a_mess|am_a_mess|feel_numb|feeling_numb", "work"),
    (SUICIDE, FAINT, "not|no|barely ~1 sleeping|eating", ""),
    (SUICIDE, FAINT, "not ~1 himself|herself|myself|themselves|coping|ok|okay|right_in_the_head", ""),
    (SUICIDE, WEAK, "feelings|thoughts|urges|voices ~1 are|is ~1 back|coming_back|worse|stronger|getting_worse|getting_stronger", ""),
    (SUICIDE, WEAK, "tried ~1 to ~2 hang|kill|end|overdose|jump|cut", ""),
    (SUICIDE, FAINT, "scared_of_myself|scares_me|scaring_me|frightens_me|frightening_me|scared_what_i_might_do|what_i_might_do", ""),
    (SUICIDE, FAINT, "only_thing ~3 calm|peace|better|help|helps|relief", ""),
    # --- afraid to go home, afraid of a person
    (HOME, STRONG, "@afraid ~4 go|going|get|getting|be|being|return|returning|leave|leaving ~1 @home", ""),
    (HOME, STRONG, "@afraid ~2 to ~1 leave|go_out|go_outside|go_back|move|get_out ~1 !job !the_service !work !my_job !the_job", ""),
    (HOME, STRONG, "can not|not|never ~1 go|going|face_going|get ~1 home|back_there|back_home|back_to_him|back_to_her|back_to_the_house", ""),
    (HOME, STRONG, "not|never ~3 feel|felt|feeling ~1 safe", ""),
    (HOME, STRONG, "not|never safe ~3 home|at_home|there|with_him|with_her|tonight|here|in_the_house|in_my_house|going_home", ""),
    (HOME, STRONG, "unsafe|in_danger ~3 home|at_home|there|with_him|with_her|tonight|here|in_the_house|in_my_house", ""),
    (HOME, FAINT, "unsafe|not_safe", ""),
    (HOME, WEAK, "i|feel|feeling|felt ~1 unsafe|not_safe ~2 at_home|with_him|with_her|around_him|around_her|in_my_home|in_the_house|going_home|in_my_flat|tonight|now", ""),
    (HOME, STRONG, "@afraid ~1 of ~1 him|her|them|my_partner|my_husband|my_wife|my_ex|my_boyfriend|my_girlfriend|my_dad|my_stepdad|my_son|what_he|what_she|what_will_happen|going_home|what_they", ""),
    (HOME, STRONG, "@afraid ~3 to ~1 leave ~1 him|her|them|the_kids|the_children|the_baby ~1 with", ""),
    (HOME, FAINT, "@afraid", ""),
    (HOME, STRONG, "sleep|sleeping|slept|stay|staying|stayed ~2 in|at ~1 my|the|a ~1 car|van|refuge", ""),
    (HOME, FAINT, "sleep|sleeping|slept|stay|staying|stayed ~2 in|at ~1 my|the|a ~1 station|work", ""),
    (HOME, FAINT, "staying|stay|sleeping|sleep ~1 at|with ~1 my? ~1 mum|sister|brother|friend|mate|nan|parents|neighbours|neighbour", ""),
    (HOME, STRONG, "nowhere ~1 to_go|safe|else_to_go|to_stay|else", ""),
    (HOME, STRONG, "hiding|hid|hide ~2 at|in|from|with|under|round", ""),
    (HOME, STRONG, "locked|lock|locking ~1 @self|ourselves ~1 in", ""),
    (HOME, STRONG, "know|knows|found|find|worked_out ~2 where ~2 i|she|he|we|they|you|my_mum ~1 live|lives|living|staying|stays", ""),
    (HOME, STRONG, "found|tracked_down|knows|got_hold_of ~1 my|her|his|our ~1 new? ~1 address|flat|house", ""),
    (HOME, FAINT, "sat|sitting|hiding|waiting ~1 in ~1 the|my ~1 car|van", ""),
    (HOME, FAINT, "if_i_leave|if_i_go|if_she_leaves|if_he_leaves|if_i_tell|if_i_report|if_she_tells|if_he_tells|if_anyone_finds_out|if_i_ever_left|if_i_left", ""),
    # --- violence and threats: what a person did, or said they would do
    (DANGER, STRONG, "=@violence @victim", ""),
    (DANGER, STRONG, "=punched|kicked|slammed|smashed|threw|thumped|headbutted|pinned|shoved|pushed ~3 in|on|round|around|by|against|across|into ~1 the|my|her|his ~1 face|head|stomach|belly|neck|throat|chest|ribs|back|wall|fridge|floor|door|stairs|eye|mouth|arm|arms|legs", "work"),
    (DANGER, STRONG, "hand|hands|fingers|grip|grabbed|grab|pinned|squeezed|squeezing|marks|fingermarks|bruises|bruising ~3 @neck", ""),
    (DANGER, WEAK, "round|around|by ~1 my|her|his|the ~1 @neck", ""),
    (DANGER, STRONG, "=strangled|strangles|strangling|strangulation|throttled|choked_me|choking_me|choked_her|chokes_me|chokes_her", ""),
    (DANGER, WEAK, "passed_out|pass_out|could_not_breathe|can_not_breathe|blacked_out", "work"),
    (DANGER, WEAK, "fingermarks|fingertip_bruises|bite_marks|fingermarks_on|hand_marks", ""),
    (DANGER, FAINT, "split_lip|black_eye|black_eyes|fat_lip|cut_head|split_eyebrow|burst_lip|cut_lip|split_head", "work"),
    (DANGER, FAINT, "=bleeding|concussion|broken_nose|broken_rib|broken_ribs|broken_arm|stitches|a_and_e", ""),
    (DANGER, STRONG, "bruise|bruises|bruising|bruised|marks|burns|burn_marks|welts|cuts|scratches|scars ~3 on|all_over|up|along|across|down ~1 his|her|their|my|the|the_baby|both ~2 face|legs|arms|forearms|forearm|wrists|wrist|thighs|body|back|neck|head|bottom|chest|tummy|hands|ear|ears", ""),
    (DANGER, WEAK, "covered_with_makeup|covered_up_the_bruises|covered_up_the_marks|said_she_fell|said_he_fell|says_she_fell|says_he_fell|walked_into_a_door|fell_down_the_stairs_again", ""),
    (DANGER, FAINT, "bruise|bruises|bruising|bruised", "work"),
    (DANGER, STRONG, "@will ~2 @harmverb ~3 @victim1", "joke"),
    (DANGER, STRONG, "@will ~2 @harmverb ~3 @victim3", "joke"),
    (DANGER, STRONG, "threatened|threatening|threatens|threats|threat ~4 to? ~1 kill|hurt|harm|stab|shoot|burn|attack|beat|smash|batter|kidnap|take_the_kids|take_the_children|acid|strangle|murder|petrol|finish|do_me|do_him|do_her", "work+joke"),
    (DANGER, STRONG, "burn|burning|burnt|torch|torching|set_fire_to|petrol ~3 the|my|our|her|his ~1 house|flat|home|car|place", ""),
    (DANGER, STRONG, "set_fire|set_light|pour_petrol|smoke_alarms_down|smoke_alarm_down|took_the_smoke_alarms|taken_the_smoke_alarms", "work"),
    (DANGER, STRONG, "finish|finishes ~1 me|you|her|him|us ~1 off?", ""),
    (DANGER, STRONG, "next time ~4 let_go|kill|finish|hurt|aim|mean_it|make_sure|not_miss|will_not_miss|dead|not_stop|will_not_stop|really_hurt|do_it_properly|end_up|be_worse|worse", ""),
    (DANGER, STRONG, "make|makes ~1 me|her|him|you|us ~1 pay|suffer|regret !for !to !the !more !extra !it", ""),
    (DANGER, STRONG, "get|gets|got ~1 what ~1 is|was ~1 coming", ""),
    (DANGER, STRONG, "do|doing ~1 me|you|her|him ~1 over|in", ""),
    (DANGER, STRONG, "@said ~5 i_am_dead|you_are_dead|she_is_dead|he_is_dead|dead_meat|a_dead_man|a_dead_woman|i_will_be_dead|will_be_dead|be_sorry|regret_it", "joke"),
    (DANGER, STRONG, "take|taking|bring|bringing ~1 a_few_people|some_people|people|others|everyone|a_few|a_few_of_us|some_of_us|a_few_of_them ~1 with ~1 him|her|me|them", ""),
    (DANGER, STRONG, "use ~1 it|that|them|a_knife|the_gun|the_knife|the_shotgun|it_on_us ~1 on ~2 @victim", ""),
    (DANGER, STRONG, "coming|come|comes ~3 to ~1 sort|do|hurt|kill|deal_with ~1 me|her|him|us|you|them", ""),
    (DANGER, FAINT, "sort|sorted|sorting ~2 out ~1 !the_rota !it !this !the_problem !the_issue", ""),
    (DANGER, FAINT, "sort ~1 it|me|you|him|her|them ~1 out", ""),
    (DANGER, FAINT, "@said ~6 soon|watch_out|warning|you_will_see|regret|get_you|coming_for|watch_your_back|last_chance", ""),
    (DANGER, STRONG, "locked|locks|lock|locking ~1 me|us|her|him|them ~1 in", ""),
    (DANGER, STRONG, "locked|locks|lock|locking ~1 me|us|her|him|them ~1 out ~1 of_the_house|of_the_flat|of_my_home|of_the_home|overnight|all_night|in_the_cold", ""),
    (DANGER, STRONG, "not|never ~1 let|lets|allowed|allow ~1 me|her|him|us|them? ~1 to? ~1 leave|out|go_out|have_a_phone|have_money|see_my_family|see_my_friends|see_anyone|talk_to_anyone|have_friends", ""),
    (DANGER, FAINT, "took|takes|taken|take|smashed|hides|hid ~1 my|her|his ~1 phone|keys|car_keys|passport|bank_card", ""),
    (DANGER, FAINT, "checks|checking|check|tracks|tracking|track|monitors|reads|goes_through|went_through ~1 my|her|his ~1 phone|car|location|messages|texts|emails|bank", ""),
    (DANGER, FAINT, "@alcohol", ""),
    (DANGER, STRONG, "@alcohol ~12 @duty", ""),
    (DANGER, STRONG, "@duty ~12 @alcohol", ""),
    (DANGER, FAINT, "stink|stinking|stinks|stank|smell|smelling|smelt|smells|reek|reeking|reeks ~1 of ~1 drink|booze|alcohol|beer|whisky|vodka|cannabis|weed|wine", ""),
    (DANGER, WEAK, "=slurring|clearly_high|obviously_high|was_high|is_high|he_is_high|she_is_high|pupils_like|dilated_pupils|pinned_pupils|coked_up|on_drugs|taken_drugs|high_as_a_kite|stoned|slurred|slurs_his_words|slurring_his_words|swaying|staggering|staggered|unsteady|groggy|woozy|drowsy|can_not_stand|could_not_stand|taken_something|had_something|off_his_head|off_her_head|spaced_out|not_fit_to_drive|unfit_to_drive|not_fit_to_ride|not_fit_for_duty|unfit_for_duty", ""),
    (DANGER, FAINT, "hungover|hung_over|still_drunk_from|a_bit_worse_for_wear", ""),
    (DANGER, FAINT, "=@duty_now", ""),
    (DANGER, WEAK, "@impairing ~10 =@duty_now", ""),
    (DANGER, WEAK, "@person ~3 is|are|be|was|being|at ~1 at? ~1 immediate|serious|real|high? ~1 risk", ""),
    (DANGER, FAINT, "at_risk|at_immediate_risk|at_serious_risk|at_real_risk|a_risk_to", ""),
    (DANGER, STRONG, "in|into ~2 immediate|real|serious? ~1 danger", ""),
    (DANGER, STRONG, "danger to ~2 himself|herself|myself|themselves|others|me|the_kids|the_children|the_public|her|him", ""),
    (DANGER, STRONG, "fear|feared|fearing|scared|afraid|frightened|terrified ~2 for ~1 my|her|his|their|our ~1 life|lives|safety", ""),
    (DANGER, STRONG, "=punched|kicked|smashed|smashing|slammed|trashed ~1 up? ~1 the|my|our ~1 house|flat|door|wall|room|place|windows|car|kitchen|phone", "work"),
    (DANGER, FAINT, "smashed|smashing|smashes|throwing_things|threw_things|raging|kicking_off|kicked_off|went_for|lashed_out|violent|erratic|volatile", ""),
    (DANGER, STRONG, "pushed|shoved|threw|thrown|kicked|dragged|pulled ~1 me|her|him|us ~2 down|into|against|over|out|across|off|onto|along", ""),
    (DANGER, STRONG, "grabbed|pulled|yanked|dragged|grabs|pulls ~2 my|her|his|by_the|by_my|by_her ~1 hair", ""),
    (DANGER, STRONG, "threw|throws|thrown|throwing|hurled|lobbed ~6 at ~1 me|her|him|us|my_head|her_head|the_kids", ""),
    (DANGER, STRONG, "=spat_at|spits_at|held_me_down|holds_me_down|pinned_me_down|sat_on_me|forced_himself|forced_me|made_me_have_sex|without_my_consent|spiked|drink_was_spiked|was_spiked|touched_me|groped", "work"),
    (DANGER, FAINT, "@afraid ~6 @will|again|do_it_again|happen_again|what_he_will|what_she_will|what_he_might|what_she_might|what_will_happen|he_will|she_will", ""),
    (DANGER, FAINT, "do ~1 it ~1 again|happen_again|happens_again", ""),
    (DANGER, FAINT, "if ~1 i|she|you|we ~6 he|she|they|he_will|she_will|they_will ~1 will|would|is_going_to|make_sure|said_he_would|says_he_will", ""),
    (DANGER, WEAK, "find|hunt|track ~1 me|her|you|us|them ~1 down|wherever|anywhere|where_ever|wherever_she_goes|wherever_i_go", ""),
    (DANGER, FAINT, "bag_packed|packed_a_bag|go_bag|escape_bag|bag_by_the_door|emergency_bag", ""),
    (DANGER, WEAK, "car|van|bike|wallet|phone|belongings|clothes ~3 found|been_found|abandoned|left ~3 at|by|near|on ~1 the? ~1 coast|cliff|cliffs|bridge|beach|reservoir|river|woods|lake|sea|seafront|pier|quarry|railway|canal", ""),
    (DANGER, FAINT, "=controlling|coercive|coercive_control|isolates_me|isolating_me|jealous|walking_on_eggshells|eggshells|possessive|his_temper|her_temper|a_temper", ""),
    (DANGER, STRONG, "forced ~2 marriage|marry|to_marry|into_marriage|to_get_married|abroad", ""),
    (DANGER, FAINT, "take|taking|taken|send|sending ~2 me|her|him ~1 abroad|to_pakistan|to_india|to_bangladesh|out_of_the_country", ""),
    (DANGER, FAINT, "he|she|they|ex|partner ~6 on_his_way|on_her_way|on_their_way|coming_round|coming_over|outside|at_the_door|downstairs|here_now|on_the_way", ""),
    (DANGER, STRONG, "=bit|bites|pinned|scratched|slapped|punched|kicked|headbutted|twisted|burnt|burned|squeezed|choked ~1 my|her|his ~1 face|arms|arm|neck|hair|throat|wrists|wrist|breasts|chest|ear|nose|lip|cheek", "work"),
    (DANGER, STRONG, "pillow|hand|hands|bag|cushion ~2 over ~1 my|her|his ~1 face|mouth|head|nose", ""),
    (DANGER, STRONG, "held|holds|holding|put|puts ~2 a|the|his ~1 lighter|match|flame|iron|cigarette|knife|blade|gun ~3 to|against|near|at ~1 my|her|his|the_baby_s ~1 hair|face|skin|throat|neck|head|arm", ""),
    (DANGER, STRONG, "he|she|they|partner|husband|wife|ex|boyfriend|girlfriend|dad|stepdad|mum|stepmum|son|brother ~2 broke|broken|fractured|dislocated|cracked ~1 my|her|his ~1 finger|fingers|arm|wrist|nose|jaw|ribs|rib|leg|hand|cheekbone|collarbone|tooth|teeth", ""),
    (DANGER, WEAK, "hiding|hid|hide|covering|covered|cover|covers ~1 up? ~1 bruises|the_bruises|my_bruises|her_bruises|marks|the_marks|injuries|my_injuries|her_injuries", ""),
    (DANGER, FAINT, "drink_driving|drink_drive|drove_home_drunk|driving_drunk|drove_drunk|drunk_driving|drove_after_drinking|driving_after_drinking|woke_up_in_my_car|woke_up_in_the_car|no_idea_how_i_got|do_not_remember_driving|do_not_remember_getting_home", ""),
    (DANGER, WEAK, "tried|trying|tries|rattled|rattling ~2 the|my|our? ~1 door|door_handle|handle|windows|window|letterbox|back_door|front_door", ""),
    (DANGER, WEAK, "not ~1 supposed|meant|allowed ~1 to ~1 know|have_my_address|come_near|contact|be_near|approach", ""),
    (DANGER, WEAK, "says|said|saying|claims ~2 his|her|my|their ~1 brother|dad|stepdad|mum|stepmum|partner|husband|wife|boyfriend|girlfriend|uncle|father|mother ~1 did ~1 it|that|this", ""),
    (DANGER, WEAK, "makes|made|forces|forced|making ~1 me|her|him|them ~2 sleep_on_the_floor|sleep_in_the|ask_for_money|ask_permission|beg|kneel|eat_on_the_floor|stay_in_the|account_for_every|hand_over_my|hand_over_her|watch", ""),
    (DANGER, WEAK, "has_to_ask_for_money|have_to_ask_for_money|has_to_ask_permission|have_to_ask_permission|not_allowed_money|no_access_to_money|gives_me_an_allowance|controls_the_money|controls_all_the_money", ""),
    (DANGER, STRONG, "=drowned|killed|strangled|kicked|hurt|hanged|burned|burnt|stabbed|beat|beaten|tortured|hit|threw ~2 the|my|our|his|her ~1 dog|cat|pets|puppy|kitten|rabbit|hamster", ""),
    (DANGER, WEAK, "be_next|you_are_next|i_am_next|you_will_be_next|i_would_be_next|she_would_be_next|you_would_be_next|same_will_happen_to_you|same_thing_will_happen", ""),
    (DANGER, WEAK, "got|has|took|taken|takes|keeps|kept|holding|hidden|hides|hid ~1 my|her|his ~1 passport|documents|visa|papers|id|birth_certificate", ""),
    (DANGER, WEAK, "will|would ~1 never|not ~1 see ~1 @kin|her|him|them|my_son|my_daughter|my_kids|my_children|the_kids|the_children", ""),
    (DANGER, STRONG, "found|tracked_down|traced|knows_about|turned_up_at ~3 refuge|the_refuge|her_refuge|my_refuge|safe_house|the_safe_house|where_she_is_staying|where_we_are_staying|where_i_am_staying", ""),
    (DANGER, FAINT, "refuge|safe_house|womens_aid|women_aid|shelter|idva|marac", ""),
    (DANGER, FAINT, "call|ring|phone|dial|called|rang ~1 999|the_police", ""),
    # being followed, watched, turned up on
    (DANGER, WEAK, "followed|stalked|stalking|stalks|stalker ~1 me|her|him|us|home|to|them !up !the !it", ""),
    (DANGER, STRONG, "following|follows ~1 me|her ~1 home|around|to|everywhere|in_his_car|in_a_car|from_work", ""),
    (DANGER, STRONG, "stalking|stalker", "work"),
    (DANGER, STRONG, "being|been|was|am|is|were|getting ~1 followed|stalked ~1 !up !it !through", ""),
    (DANGER, WEAK, "parked|waiting|sitting|sat|standing|stood|hanging_around|lurking|watching|loitering ~3 outside|opposite|across_from|near ~2 my|her|his|our|the ~1 house|flat|home|door|window|school", ""),
    (DANGER, FAINT, "parked|waiting|sitting|sat|standing|stood|hanging_around|lurking|watching|loitering ~3 outside ~2 my|her|his|our|the ~1 work|station|building|car", ""),
    (DANGER, WEAK, "watching ~1 me|her|us|the_house|my_house|the_flat|my_flat|her_house|my_every_move", ""),
    (DANGER, FAINT, "turned|turns|turning ~1 up ~3 at|outside|to", ""),
    (DANGER, WEAK, "keeps|kept|keep|always ~1 turning_up|showing_up|appearing|turning_up_where|showing_up_where|turning_up_wherever|hanging_around|waiting_for_me", ""),
    (DANGER, WEAK, "turning|turns|turned|showing|shows|showed|appearing|appears ~1 up? ~1 where_i_am|where_i_go|wherever_i_go|wherever_i_am|everywhere_i_go|at_my_gym|at_my_work", ""),
    (DANGER, STRONG, "banging|hammering|kicking|pounding ~2 on|at|the ~2 door|doors|window|windows", "work"),
    (DANGER, WEAK, "photo|photos|picture|pictures|video ~2 of ~1 me|her|him|us ~2 through|taken_through|outside|from_outside|without", ""),
    (DANGER, FAINT, "photo|photos|picture|pictures ~2 of_me|of_her|of_us", ""),
    (DANGER, WEAK, "not allowed|banned ~2 near_me|near_her|near_us|near_the_kids|to_contact|to_come_near|within", ""),
    (DANGER, FAINT, "non_molestation|non_mol|restraining_order|injunction|bail_conditions|protective_order|protection_order|court_order|breached|breaching|breach", ""),
    (DANGER, FAINT, "withheld|unknown|private|blocked ~1 number|numbers|calls|caller", ""),
    (DANGER, WEAK, "in ~1 my|the ~1 garden|back_garden|driveway|porch|hallway|bedroom ~3 at|in_the_night|2am|3am|4am|1am|midnight|last_night", ""),
    (DANGER, WEAK, "dead ~1 bird|animal|cat|rat|rabbit|fox|mouse|flowers", ""),
    (DANGER, FAINT, "behind_me|cars_behind|on_my_tail|tailgating|tailing", ""),
    (DANGER, FAINT, "done|did|served ~1 time|prison|jail|a_sentence", ""),
    (DANGER, WEAK, "for_gbh|for_abh|for_assault|for_violence|for_wounding|violent_past|history_of_violence|record_of_violence", ""),
    (DANGER, STRONG, "@person ~4 been|is|gone|went|reported|has_been|now ~1 missing ~3 since|for|overnight|all|from|and|hours|days", ""),
    (DANGER, WEAK, "know|knows|knew|found_out|worked_out ~1 my|her ~1 shift_pattern|shifts|routine|movements|where_i_park|new_address|new_number|every_move", ""),
    (DANGER, FAINT, "left|leaving|leaves|put|stuck ~2 a_note|notes|flowers|a_message|something|a_card|a_letter|a_photo ~2 on|at|under|through ~1 my|her|the ~1 car|door|doorstep|step|windscreen|letterbox|locker|wipers", ""),
    (DANGER, WEAK, "see_you_at_home|always_watching|i_am_always_watching|i_am_watching|i_know_where_you|know_where_you_live|i_am_watching_you|watching_you|you_will_pay|this_is_not_over|you_will_regret", ""),
    (DANGER, FAINT, "he|she|they|partner|husband|wife|ex ~3 back_at|home_at|gets_back|gets_home|back_from_the_pub|is_back|will_be_back|comes_home|home_soon|due_home|due_back|back_tonight|back_later|picks_me_up|picking_me_up", ""),
    (DANGER, FAINT, "getting_worse|worse_than_usual|worse_than_before|worse_than_last_time|more_often|escalating|gone_that_far|further_than_ever|worst_yet|never_been_this_bad", ""),
    (DANGER, FAINT, "=taking|takes|took|taken|controls|control|keeps ~2 her|his|my ~1 pension|wages|money|benefits|bank_card|savings", ""),
    (DANGER, WEAK, "locked|locking|lock ~1 in|inside ~1 the|my ~1 bathroom|bedroom|toilet|car|room|loo|cupboard", ""),
    (DANGER, STRONG, "locked|locks|lock|locking|shut|shuts ~1 me|him|her|them|us|the_kids|the_children|my_son|my_daughter|the_baby ~1 in|into|inside ~2 the|a|his|her|my? ~1 cupboard|cellar|shed|room|bedroom|bathroom|car|boot|loft|cage|garage|house|flat", ""),
    (DANGER, STRONG, "=@violence ~2 the|my|our|his|her ~1 dog|cat|pets|puppy", ""),
    (DANGER, WEAK, "across_the_road|opposite_my_house|opposite_the_house|at_the_end_of_my_road|on_my_street|outside_my_house|outside_my_flat|outside_my_work|near_my_house ~6 every_night|every_evening|every_day|every_morning|all_night|all_day|for_hours|again", ""),
    (DANGER, WEAK, "photographs|photographing|photographed|filming|filmed|takes_pictures_of|taking_pictures_of|took_pictures_of|takes_photos_of|taking_photos_of|took_photos_of ~1 me|her|us|my_house|my_kids|the_house", ""),
    # --- a child at risk
    (CHILD, STRONG, "@child ~6 left|been|is|are|was|were|home ~3 on_their_own|on_his_own|on_her_own|alone|by_themselves|by_himself|by_herself|unsupervised|with_no_one|with_nobody|with_no_adult|with_no_food", ""),
    (CHILD, STRONG, "left|leaves|leaving|been ~3 on_their_own|on_his_own|on_her_own|alone|by_themselves|home_alone|unsupervised ~3 since|for_days|all_night|all_weekend|overnight|for_hours", ""),
    (CHILD, FAINT, "@child ~8 on_their_own|on_his_own|on_her_own|home_alone|by_themselves|unsupervised|alone", ""),
    (CHILD, STRONG, "mum|mother|dad|father|parent|parents|carer|nobody|no_one ~3 not|never ~2 come_back|come_home|been_back|been_home|came_back|came_home|returned|back", ""),
    (CHILD, STRONG, "@child ~8 @missing|run_away|ran_away|runs_away|not_come_home|not_came_home|not_back|out_all_night|staying_at_his|staying_at_hers|stay_at_his|sleep_at_his|sleeping_at_his|stays_at_his", ""),
    (CHILD, STRONG, "@child ~10 older_man|older_men|older_boyfriend|much_older|older_guy|older_lads", ""),
    (CHILD, STRONG, "older_man|older_men|older_boyfriend|older_guy ~10 @child", ""),
    (CHILD, FAINT, "older_man|older_men|older_boyfriend|older_guy", ""),
    (CHILD, FAINT, "boyfriend|girlfriend|man|guy ~2 is|aged ~1 18|19|20|21|22|23|24|25|26|27|28|29|30|31|32|33|34|35|40|45|50", ""),
    (CHILD, FAINT, "she|he|daughter|son|girl|boy ~2 is|aged|only ~1 10|11|12|13|14|15", ""),
    (CHILD, WEAK, "comes|coming|came|come ~1 home|back ~2 with ~2 new? ~1 phones|phone|cash|money|gifts|presents|clothes|stuff|trainers|things|drugs|alcohol", ""),
    (CHILD, FAINT, "staying|stay|sleep|sleeping|stays ~1 at|over_at|round ~1 his|hers|his_place|his_house|his_flat|their_place", ""),
    (CHILD, FAINT, "picks|picked|pick ~1 her|him|them ~1 up ~2 from ~1 school|college|the_park", ""),
    (CHILD, STRONG, "@child ~8 =@violence|bruise|bruises|bruised|bruising|injuries|burns|scared_of|frightened_of|terrified_of|does_not_want_to_go_home|will_not_go_home|not_safe|unsafe|cutting|wants_to_die|want_to_die|self_harm|self_harming|suicidal|hungry|starving|filthy|neglected", ""),
    (CHILD, STRONG, "@child ~10 @neglect", ""),
    (CHILD, STRONG, "@neglect ~10 @child", ""),
    (CHILD, STRONG, "@child ~12 @abuse_signs", ""),
    (CHILD, STRONG, "@abuse_signs ~12 @child", ""),
    (CHILD, STRONG, "@child ~12 keep_it_secret|keep_it_a_secret|our_secret|send_pictures|send_photos|send_him_pictures|send_him_photos|nudes|naked|pictures_of_herself|pictures_of_himself|sexual|sexually|inappropriate_messages|meet_him_alone|meet_up_with_him|meet_a_man|meet_an_older|meet_him_on_his_own|meet_her_alone", ""),
    (CHILD, FAINT, "messaging|messages|chatting|talking|snapchat|online ~4 a|an|older|grown ~1 man|men|adult|stranger|guy", ""),
    (CHILD, WEAK, "@child ~12 buys_her|buys_him|bought_her|bought_him|gives_her|gives_him|gave_her|gave_him|drives_her|drives_him|picks_her_up|picks_him_up|takes_her|takes_him ~4 vapes|vape|alcohol|drink|cigarettes|gifts|presents|phones|phone|money|cash|round|around|out|at_night|places|drugs", ""),
    (CHILD, WEAK, "@child ~12 17_year_old|18_year_old|19_year_old|20_year_old|21_year_old|22_year_old|23_year_old|24_year_old|25_year_old|30_year_old|17_yr_old|18_yr_old|19_yr_old|20_yr_old|21_yr_old|older_friend|adult_friend|grown_man|grown_up_friend|older_man|older_men|man_in_his", ""),
    (CHILD, WEAK, "@child ~15 man|men|adult|stranger|guy|someone_online|older_boy ~10 meet|meeting|pick|collect|coming_to_get|visit|come_round", ""),
    (CHILD, STRONG, "take|taking|snatch|snatching|took ~1 her|him|them|the_kids|the_children|my_daughter|my_son|our_daughter|our_son ~6 never_see|not_see|abroad|away_from_me|out_of_the_country|and_disappear", ""),
    (CHILD, FAINT, "no_contact_rights|not_allowed_contact|no_contact_order|no_parental_responsibility|supervised_contact_only|not_allowed_unsupervised", ""),
    (CHILD, STRONG, "@child ~15 not_to_tell|told_her_not_to_tell|told_him_not_to_tell|keep_it_between_them|keep_it_quiet|our_little_secret|do_not_tell_your|not_to_tell_her_parents|not_to_tell_his_parents|not_to_tell_anyone", ""),
    (CHILD, WEAK, "@child ~15 messages|messaging|texts|texting|dms|snapchats|calls|contacts ~2 her|him ~3 late_at_night|at_night|at_midnight|in_the_night|all_night|after_midnight", ""),
    (CHILD, STRONG, "child_abuse|neglect|neglected|neglecting|grooming|groomed|underage|exploited|exploitation|trafficked|county_lines", "work"),
    (CHILD, FAINT, "crying|screaming ~3 through|next_door|for_hours|all_night|all_day", ""),
    (CHILD, WEAK, "told me ~4 =@violence|touches|touched|hurts|hits|beats|burns|does_things|makes_her|makes_him", ""),
    (CHILD, FAINT, "could|can|asked_if_he_could|asked_if_she_could ~3 sleep|stay ~2 at|here|over ~1 the? ~1 station|my|work|our", ""),
    # --- weapons, with a person or an intent
    (WEAPONS, STRONG, "got|has|have|had|keeps|keep|kept|carrying|carries|carry|carried|took|takes|pulled|pulls|produced|held|holding|holds|waving|waved|brandishing|brandished|put|puts|sat_with|bought|buys|bring|bringing|brought|fetch|fetching|sharpening|sharpened|hidden|hides|hid|showed|pointed|pointing|aimed|with|wielding|threatened_me_with|threatened_her_with|threatened_him_with|came_at_me_with|came_at_her_with|got_out|got_it_out ~3 a|his|her|the|my|their|an ~3 @weapon !licence !license !cabinet !safe !crime !amnesty !awareness !training !course !certificate", "work+joke"),
    (WEAPONS, STRONG, "@weapon ~4 to|at|against|on|in|into|for ~1 me|him|her|us|them|my_throat|his_throat|her_throat|my_neck|her_neck|my_head|her_head|his_head|my_face|her_face|the_table|the_bed|the_kids|his_chest", "work+joke"),
    (WEAPONS, STRONG, "stab|stabbed|shoot|shot|slash|slashed|glassed me|him|her|us|them|my|his|you|someone|somebody|people|everyone !an !a !a_message !a_text !an_email !a_look !a_quick !down !in_the_back !in_the_foot", "work+joke"),
    (WEAPONS, STRONG, "@weapon ~8 @will ~2 @harmverb|use|use_it|get|sort|go_for", "work+joke"),
    (WEAPONS, STRONG, "@weapon ~8 said|says|saying|threatened|threatening|what_it_is_for|what_it_was_for|for_when|for_me|for_you|for_her|for_him|use_it|got_it_out|took_it_out|sat_with_it|waved_it|pointed_it|in_the_drawer|under_the_bed|under_the_pillow|in_his_bag|in_her_bag|in_the_car|in_his_car", "work+joke"),
    (WEAPONS, FAINT, "@weapon|acid", "work+joke"),
    # --- signs that mean something only with another: now, secrecy, someone not answering
    # --- ways of saying it learned from the fourth set (measured afterwards on the fifth, unseen)
    (SUICIDE, STRONG, "using|used|use|uses|put|putting|held|holding|pressing|pressed|taking|took ~2 a|the|my|his|her ~1 lighter|blade|razor|compass|scissors|cigarette|iron ~2 on|to|across ~1 my|his|her ~1 arm|arms|thigh|thighs|leg|legs|wrist|wrists|skin|stomach|belly|chest", ""),
    (SUICIDE, STRONG, "started|starting|start|doing|done ~1 it? ~1 again ~2 with|on ~1 my|his|her ~1 arm|arms|legs|thighs|wrists|skin", ""),
    (SUICIDE, STRONG, "went|gone|go|cut|cuts ~1 deeper_than", ""),
    (SUICIDE, STRONG, "tell|telling ~1 my|the|our ~1 @kin|boys|girls|lads|kids ~1 i|that_i ~1 love|loved|am_sorry", ""),
    (SUICIDE, WEAK, "sorry_for_the_mess|sorry_about_the_mess|sorry_for_being_a_burden|please_forgive_me", ""),
    (SUICIDE, WEAK, "sorry ~3 i ~1 love|loved ~1 you|them|you_all", ""),
    (SUICIDE, FAINT, "found|left|leaves|leaving|wrote|writing|written ~3 a|his|her ~1 note|letter", "work"),
    (SUICIDE, WEAK, "standing|stood|stand|stands|sitting|sat|sit|sits|leaning|leaned|lean|hanging_around ~3 near|on|over|by|at ~1 the ~1 edge|ledge|railing|railings|drop", "work+joke"),
    (SUICIDE, FAINT, "looking|look|looked|stare|staring|stared ~8 thinking_about_it|thinking_about_doing_it|thinking_about_jumping|thinking_how_easy", "leaving"),
    (SUICIDE, FAINT, "i_know_how_that_sounds|i_know_how_this_sounds|i_know_that_sounds|i_know_this_sounds|i_know_how_it_sounds", ""),
    (SUICIDE, STRONG, "life_insurance|death_in_service|insurance|policy ~4 pays|pay|paid|payout|pays_out|would_pay|will_pay|covers|cover ~3 either_way|if_i|for_them|for_the_kids|for_my_family|even_if|suicide|if_something_happened", ""),
    (SUICIDE, WEAK, "clear|pay_off|sort|cover ~2 everything|the_debt|the_debts|it_all ~2 for_them|for_the_kids|for_my_family|for_her|for_him", ""),
    (SUICIDE, FAINT, "peaceful|at_peace ~1 here|now|soon|at_last|finally", ""),
    (SIGN, FAINT, "last|final ~1 text|message|words|call|voicemail|post ~2 to|from ~1 me|us|him|her", ""),
    (DANGER, STRONG, "what ~1 i ~1 will|would|might|could ~2 do|doing ~1 to ~1 him|her|them", "joke"),
    (DANGER, FAINT, "i ~1 mean|meant ~1 it", "joke"),
    (DANGER, FAINT, "driving|drive|drove|driven|walking|walked|sitting|sat|parked|parking|waiting|waited ~1 past|outside|by|near ~2 his|her|their ~1 house|home|flat|place", ""),
    (DANGER, WEAK, "was|is|were not ~1 laughing|joking|smiling|kidding", ""),
    (DANGER, WEAK, "put|throw|throwing|putting|puts ~1 him|her|me|you|them ~1 through ~1 a|the ~1 wall|window|doors|door|bay_doors|windscreen|glass", "joke"),
    (WEAPONS, WEAK, "cleaning|cleans|polishing|polishes|loading|loads|loaded|holding|holds|sitting_with|sits_with ~2 it|the_gun|his_gun|the_shotgun|his_shotgun|the_rifle|his_rifle ~8 late_at_night|at_night|in_the_night|every_night|in_the_early_hours|at_3am|at_2am", "joke"),
    (SIGN, FAINT, "tonight|right_now|as_we_speak|this_minute|in_an_hour|within_the_hour|in_the_next_hour|there_now|here_now|outside_now|happening_now|is_back_tonight|back_at_4|he_is_there_now", ""),
    (SIGN, FAINT, "@urgent_words", ""),
    (SIGN, FAINT, "@secret", ""),
    (SIGN, FAINT, "@missing", ""),
)

# Figures of speech: a rule's match that shares words with one of these does not count ("this rota
# will kill me", "the deadline is killing me", "I could murder a brew", "stabbed me in the back").
IDIOMS: tuple[str, ...] = (
    "it|this|that|rota|rotas|job|commute|work|shift|shifts|deadline|course|training|nights|overtime|kids|back|knee|feet|boss|paperwork|audit|heat|drive|traffic|stairs|exam|hill|run|gym|diet|ladder|hours|workload|meeting|meetings|system|weather|it_all ~2 will|is_going_to|would|going_to|is_gonna|gonna ~1 kill|be_the_death_of|finish|murder ~1 me|us|you|off|him|her",
    "symptoms|menopause|grief|news|stress|reality|tiredness|fatigue|loss|it_all|the_cold|winter|exhaustion|the_heat ~3 hitting|hit|hits ~1 me|us|him|her ~1 hard|for_six",
    "last_time_you_will_hear_from_me_about|last_time_you_hear_from_me_about|last_time_i_will_mention|last_time_i_will_raise|last_time_i_will_complain",
    "is|are|was|were|be|been ~1 killing|murdering ~1 me|us|my|him|her",
    "killing|kills|killed ~1 me|us|my ~2 slowly|haha|lol",
    "could|would|i_could|i_would ~1 kill|murder ~1 for|a|an|some",
    "kill_for_a|murder_a|dying_for|dying_to|to_die_for|nearly_died_laughing|died_laughing|dead_on_my_feet|dead_on_his_feet|dead_on_her_feet|dead_tired|bored_to_death|dead_easy|dead_end|over_my_dead_body|kill_time|kill_two_birds|knock_them_dead|killer_workout|the_death_of_me",
    "stab|stabbed|stabbing|knife|knifed ~1 me|him|her|us|them|you? ~1 in ~1 the ~1 back",
    "backstab|backstabbing|backstabbed|knife_edge|shot_down|shoot_me_down|shot_me_down|took_a_shot_at|have_a_shot|gunning_for|bite_the_bullet|jumped_the_gun|jump_the_gun|hang_in_there|hang_on|hanging_on|hang_out|hanging_out|cut_corners|cut_short|cut_back|cut_off|cutting_corners|cutting_back|choked_up|hit_the_roof|hit_the_road|hit_and_miss|hit_it_off|hit_me_up|beat_around_the_bush|beaten_track|nearly_killed_me|almost_killed_me|practically_killed_me|suicide_mission|suicide_run|killed_it|smashed_it|smashing_it|nailed_it|killing_it",
)

_CONTEXT_RULES: dict[str, str] = {
    "work": "=@work",
    "joke": "=@joke",
    "past": "@past",
    "resolved": "@resolved",
    "current": "@current",
    "denial": "@denial",
    "leaving": "@leaving",
}


# ---------------------------------------------------------------------------------------------
# The matcher
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Item:
    by_first: dict[str, tuple[tuple[str, ...], ...]]  # alternatives by their first stem, longest first
    exact: bool = False  # compare the spelled-out words, not their stems


@dataclass(frozen=True, slots=True)
class _Elem:
    kind: str  # "item", "gap", "not"
    item: _Item | None = None
    gap: int = 0
    optional: bool = False
    then: _Item | None = None  # a gap's next item when a match needs it: the rest is tried only where it starts


@dataclass(frozen=True)
class Rule:
    kind: str
    weight: int
    pattern: str
    soft: str
    elems: tuple[_Elem, ...]

    @cached_property
    def needs(self) -> tuple[tuple[bool, frozenset[str]], ...]:
        """(exact, words) for each item a match cannot do without: a text with none of an item's
        first words is no match, so the rule is not tried on it."""
        return tuple((e.item.exact, frozenset(e.item.by_first)) for e in self.elems
                     if e.kind == "item" and not e.optional and e.item is not None)

    @cached_property
    def later_needs(self) -> tuple[tuple[bool, frozenset[str]], ...]:
        """`needs` but for the first words (`firsts`): a text has those where the rule is tried."""
        return self.needs[1:] if self.firsts is not None else self.needs

    @cached_property
    def softened_by(self) -> frozenset[str]:
        """The contexts that cancel the rule (`soft`, "+"-separated)."""
        return frozenset(name for name in self.soft.split("+") if name)

    @cached_property
    def firsts(self) -> tuple[bool, frozenset[str]] | None:
        """(exact, what a match can start with), or None when it can start anywhere. On stems, a
        word that begins only longer phrases counts with the word after it ("i am" for "i am done",
        not every "i"): a text's two stems in a row are looked up too (`_Text.at_stem`)."""
        first = self.elems[0]
        if first.kind != "item" or first.optional or first.item is None:
            return None
        if first.item.exact:
            return self.needs[0]
        keys: set[str] = set()
        for word, phrases in first.item.by_first.items():
            if len(phrases[-1]) == 1:  # longest first: the last is the shortest
                keys.add(word)
            else:
                keys.update(" ".join(p[:2]) for p in phrases)
        return False, frozenset(keys)


def _stems_of(phrase: str) -> tuple[str, ...]:
    return tuple(s for s in _normalise(phrase).stems if s is not None)


def _words_of(phrase: str) -> tuple[str, ...]:
    return tuple(w for w in _normalise(phrase).words if w is not None)


@cache
def _concept(name: str, exact: bool = False) -> tuple[tuple[str, ...], ...]:
    return tuple(p for p in {(_words_of if exact else _stems_of)(p) for p in CONCEPTS[name]} if p)


def _parse(pattern: str) -> tuple[_Elem, ...]:
    elems: list[_Elem] = []
    for part in pattern.split():
        if part.startswith("~"):
            elems.append(_Elem("gap", gap=int(part[1:])))
            continue
        kind = "item"
        if part.startswith("!"):
            kind, part = "not", part[1:]
        optional = part.endswith("?") and len(part) > 1
        part = part.rstrip("?") if optional else part
        exact = part.startswith("=")
        phrases: set[tuple[str, ...]] = set()
        for alt in part.lstrip("=").split("|"):
            if alt.startswith("@"):
                phrases.update(_concept(alt[1:], exact))
            else:
                text = alt.replace("_", " ")
                phrases.add(_words_of(text) if exact else _stems_of(text))
        by_first: dict[str, list[tuple[str, ...]]] = {}
        for phrase in sorted((p for p in phrases if p), key=lambda p: (-len(p), p)):
            by_first.setdefault(phrase[0], []).append(phrase)
        item = _Item({k: tuple(v) for k, v in by_first.items()}, exact)
        if kind == "item" and not optional and elems and elems[-1].kind == "gap":
            elems[-1] = replace(elems[-1], then=item)
        elems.append(_Elem(kind, item=item, optional=optional))
    return tuple(elems)


@dataclass(frozen=True)
class _Rules:
    rules: tuple[Rule, ...]
    contexts: dict[str, Rule]
    by_stem: dict[str, tuple[int, ...]]  # the rules (by number) that can start at this stem (or two: `Rule.firsts`)
    by_word: dict[str, tuple[int, ...]]  # ... with this spelled-out word (rules on exact words)
    anywhere: tuple[int, ...]  # ... at any word


@lru_cache(maxsize=1)
def _idioms() -> tuple[Rule, ...]:
    return tuple(Rule("idiom", 0, pattern, "", _parse(pattern)) for pattern in IDIOMS)


@lru_cache(maxsize=1)
def _rules() -> _Rules:
    rules = tuple(Rule(kind, weight, pattern, soft, _parse(pattern)) for kind, weight, pattern, soft in RULES)
    contexts = {name: Rule(name, 0, pattern, "", _parse(pattern)) for name, pattern in _CONTEXT_RULES.items()}
    by_stem: dict[str, list[int]] = {}
    by_word: dict[str, list[int]] = {}
    anywhere: list[int] = []
    for n, rule in enumerate(rules):
        firsts = rule.firsts
        if firsts is None:
            anywhere.append(n)
            continue
        exact, words = firsts
        for word in words:
            (by_word if exact else by_stem).setdefault(word, []).append(n)
    return _Rules(rules, contexts, {k: tuple(v) for k, v in by_stem.items()},
                  {k: tuple(v) for k, v in by_word.items()}, tuple(anywhere))


_NONE: tuple[int, ...] = ()


def _match(text: _Text, pos: int, elems: tuple[_Elem, ...], k: int) -> int:
    """The end of a match of elems[k:] starting at `pos`, or -1. A loop while there is one way on;
    it recurses only where there are several (phrases of different lengths, an optional item, a gap)."""
    count = text.count
    while k < len(elems):
        elem = elems[k]
        k += 1
        if elem.kind == "gap":
            then = elem.then
            seq = text.words if then is None or then.exact else text.stems
            for at in range(pos, min(pos + elem.gap, count) + 1):
                if then is None or (at < count and seq[at] in then.by_first):
                    end = _match(text, at, elems, k)
                    if end >= 0:
                        return end
                if at < count and text.breaks[at]:
                    break
            return -1
        item = elem.item
        assert item is not None
        seq = text.words if item.exact else text.stems
        ends: list[int] = []
        phrases = item.by_first.get(seq[pos]) if pos < count else None  # type: ignore[arg-type]
        if phrases:
            for phrase in phrases:
                end = pos + len(phrase)
                if end == pos + 1 or seq[pos:end] == phrase:
                    ends.append(end)
        if elem.kind == "not":
            if ends:
                return -1
            continue
        if not ends:
            if elem.optional:
                continue
            return -1
        if k == len(elems) or (len(ends) == 1 and not elem.optional):
            pos = ends[0]  # the longest phrase
            continue
        for end in ends:
            found = _match(text, end, elems, k)
            if found >= 0:
                return found
        if not elem.optional:
            return -1
    return pos


def _find(text: _Text, rule: Rule, starts: Sequence[int], negatable: bool = True) -> list[tuple[int, int]]:
    """Where the rule matches from these starts, as (first token, end) runs that do not overlap;
    negated ones left out."""
    found: list[tuple[int, int]] = []
    after = 0
    words = text.words
    elems = rule.elems
    # A rule that starts with an item it needs starts only at its first words (`Rule.firsts`): that
    # item is matched here, in a loop, as most starts end there (a word that begins only longer
    # phrases), and most rules are that one item.
    first = elems[0].item if rule.firsts is not None else None
    seq = text.words if first is None or first.exact else text.stems
    for pos in starts:
        if pos < after or words[pos] is None:
            continue
        if first is None:
            end = _match(text, pos, elems, 0)
        else:
            end = -1
            for phrase in first.by_first.get(seq[pos], ()):  # type: ignore[arg-type]
                stop = pos + len(phrase)
                if stop == pos + 1 or seq[pos:stop] == phrase:
                    end = stop if len(elems) == 1 else _match(text, stop, elems, 1)
                    if end >= 0:
                        break
        if end > pos and not (negatable and _is_negated(text, pos)):
            last = end  # a match ends on a word: trim the gaps' punctuation at its edge
            while last > pos and words[last - 1] is None:
                last -= 1
            found.append((pos, last))
            after = end
    return found


def _starts(text: _Text, rule: Rule) -> Sequence[int]:
    """Where in the text the rule can start (`Rule.firsts`); nowhere when it lacks a word the rule
    needs (`Rule.needs`)."""
    for exact, words in rule.later_needs:
        if words.isdisjoint(text.word_set if exact else text.stem_set):
            return _NONE
    if rule.firsts is None:
        return range(text.count)
    exact, words = rule.firsts
    at = text.at_word if exact else text.at_stem
    found: list[int] = []
    for word in words & (text.word_set if exact else text.stem_set):
        found.extend(at[word])
    return sorted(found)


@dataclass(frozen=True)
class Reading:
    """What the check found in one text: the score, the rules that matched, and why."""

    score: int
    flagged: bool
    matches: tuple[tuple[Rule, int, int], ...]  # rule, first token, end token
    rules: frozenset[int]  # the numbers (in RULES) of the rules that matched
    context: frozenset[str]  # work, joke, past, resolved, current, denial


def _read(text: _Text, only: frozenset[int] | None = None) -> Reading:
    index = _rules()
    context: set[str] = set()
    for name, rule in index.contexts.items():
        where = _starts(text, rule)
        if where and _find(text, rule, where, negatable=name != "current"):
            context.add(name)
    # The rules that can start in this text, and where: looked up once per distinct word.
    starts: dict[int, list[int]] = {n: list(range(text.count)) for n in index.anywhere}
    for table, at in ((index.by_stem, text.at_stem), (index.by_word, text.at_word)):
        for word, positions in at.items():
            for n in table.get(word, _NONE):
                starts.setdefault(n, []).extend(positions)
    matches: list[tuple[Rule, int, int]] = []
    matched: set[int] = set()
    for n in sorted(starts):
        if only is not None and n not in only:
            continue
        rule = index.rules[n]
        if rule.softened_by and not context.isdisjoint(rule.softened_by):
            continue
        for exact, words in rule.later_needs:  # a loop, not all(...): this runs for most rules on every report
            if words.isdisjoint(text.word_set if exact else text.stem_set):
                break
        else:
            for start, end in _find(text, rule, sorted(starts[n])):
                matched.add(n)
                matches.append((rule, start, end))
    idioms: list[tuple[int, int]] = []
    for rule in _idioms():
        where = _starts(text, rule)
        if where:
            idioms += _find(text, rule, where, negatable=False)
    if idioms:
        matches = [m for m in matches if not any(m[1] < end and start < m[2] for start, end in idioms)]
        matched = {n for n in matched if any(m[0] is index.rules[n] for m in matches)}
        context.add("idiom")
    matches.sort(key=lambda m: (m[1], -m[2]))
    # Matches that share words are one sign, as strong as the strongest of them; each rule counts once.
    score = 0
    counted: set[str] = set()
    cluster: list[Rule] = []
    reach = -1

    def close(cluster: list[Rule]) -> int:
        weight = 0
        for r in cluster:
            if r.pattern not in counted:
                weight = max(weight, r.weight)
        for r in cluster:
            counted.add(r.pattern)
        return weight

    for rule, start, end in matches:
        if start > reach and cluster:
            score += close(cluster)
            cluster = []
        cluster.append(rule)
        reach = max(reach, end)
    score += close(cluster)
    if {"past", "resolved"} <= context and "current" not in context:
        score -= PAST_RESOLVED_PENALTY
    if "denial" in context:
        score -= DENIAL_PENALTY
    return Reading(score, score >= THRESHOLD, tuple(matches), frozenset(matched), frozenset(context))


def read(text: str | None, only: frozenset[int] | None = None) -> Reading:
    """The whole reading of a text (for measuring and explaining: bench/risk/measure.py); `only`
    keeps these rules (their numbers in RULES) and leaves the others out."""
    return _read(_normalise(text or ""), only)


def _spans(text: str) -> list[tuple[int, int]]:
    """The character spans of the words that raised the flag, overlapping ones joined; [] if none."""
    normal = _normalise(text)
    reading = _read(normal)
    if not reading.flagged:
        return []
    spans = sorted([(normal.starts[start], normal.ends[end - 1]) for _, start, end in reading.matches])
    joined: list[tuple[int, int]] = []
    for start, end in spans:
        if joined and start <= joined[-1][1] + 1:
            joined[-1] = (joined[-1][0], max(joined[-1][1], end))
        else:
            joined.append((start, end))
    return joined


def find_signals(text: str | None) -> list[str]:
    """The words that raised the "possible risk" flag, as the person wrote them (lower-cased), in
    order, no repeats; [] when the text is not flagged."""
    if not text:
        return []
    return list(dict.fromkeys(" ".join(text[s:e].lower().split()) for s, e in _spans(text)))


def highlight(text: str | None) -> list[tuple[str, bool]]:
    """The text in pieces, each marked True where it is a risk phrase (the case page shows those
    in <mark>); joined, the pieces are the text unchanged."""
    if not text:
        return []
    pieces: list[tuple[str, bool]] = []
    at = 0
    for start, end in _spans(text):
        if start > at:
            pieces.append((text[at:start], False))
        pieces.append((text[start:end], True))
        at = end
    if at < len(text):
        pieces.append((text[at:], False))
    return pieces


def merge(existing: list[str], new: list[str]) -> list[str]:
    """The case's signals with a new text's added (first seen first, no repeats)."""
    return list(dict.fromkeys([*existing, *new]))
