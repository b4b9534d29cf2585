"""Fixed word lists the engine needs: function words, section cues, smalltalk.

A folded function word can also be half of a content word (``dau`` is "đâu" and "đầu", ``can`` is
"cần" and "căn"): the engine drops it only when it does not form a known two-syllable word with a
neighbour ("lan dau", "can cuoc" stay), and accented function words are dropped outright.
"""

from __future__ import annotations

from bot.knowledge.schema import Section

STOP_ACCENTED = frozenset(
    """à ạ ơi ah ạh cho tôi em anh chị mình bạn hỏi xin muốn cần gì những các là thì và với của có
    không được thế nào sao vậy như này đó ở đâu bao nhiêu lâu làm thủ tục giúp về đi đến tại ra
    bị phải nếu khi mà nhé nha để nên hay hoặc ai rồi luôn lại cái một việc cách thực hiện hả
    nhỉ ừ ok vâng dạ ơ cũng đã sẽ đang thể mới nữa chứ giùm dùm các bác cô chú ông bà ấy kia
    thôi biết cho còn""".split()
)
STOP_FOLDED = frozenset(
    """a oi ah cho toi em anh chi hoi xin muon can gi nhung cac la va voi cua co khong duoc nao vay
    nhu nay o lau lam tuc giup ve den ra bi phai neu khi nhe de hay hoac ai roi luon mot hien k
    ko kh hok hong dc vs ad admin j z v r nhi ha u ok vang da cung se moi nua gium dum how i my
    is what where for of in please get you are it on at
    dang the de lai sao ma tai dau bao minh chu di thi ban nha cai""".split()
)

# Everyday words of the domain that say little about which procedure is meant ("người khác xã",
# "bước nào"); they weigh less when judging how much of a question a title explains.
GENERIC_FOLDED = frozenset(
    """nguoi khac xa phuong tinh noi con be buoc giay lam nop cap thi tran""".split()
)

# Phrases (folded) that say which part of a procedure is wanted. The cue that ends last in the
# question wins (the question word comes last in Vietnamese); on a tie, the earlier section.
SECTION_CUES: dict[Section, tuple[str, ...]] = {
    "fee": (
        "le phi",
        "phi",
        "bao nhieu tien",
        "mat bao nhieu",
        "het bao nhieu",
        "ton bao nhieu",
        "mat bn",
        "het bn",
        "ton bn",
        "bao nhieu",
        "mien phi",
        "mat tien",
        "tien",
        "gia bao nhieu",
        "thue",
        "fee",
        "cost",
        "how much",
    ),
    "time": (
        "bao lau",
        "may ngay",
        "bao nhieu ngay",
        "thoi han",
        "thoi gian",
        "khi nao co",
        "bao gio co",
        "bao gio thi co",
        "lau khong",
        "lau ko",
        "may hom",
        "how long",
        "nhanh khong",
    ),
    "online": (
        "online",
        "onl",
        "truc tuyen",
        "tren mang",
        "qua mang",
        "tren vneid",
        "qua vneid",
        "tren dien thoai",
        "qua dien thoai",
        "tai nha",
        "dich vu cong truc tuyen",
        "internet",
    ),
    "documents": (
        "giay to gi",
        "giay to",
        "ho so gom",
        "ho so can",
        "thanh phan ho so",
        "can gi",
        "can nhung gi",
        "can nhung giay",
        "chuan bi gi",
        "chuan bi nhung",
        "mang theo",
        "can mang",
        "documents",
        "papers",
        "what do i need",
    ),
    "where": (
        "o dau",
        "noi nao",
        "cho nao",
        "nop o",
        "lam o",
        "nop tai",
        "co quan nao",
        "xa nao",
        "phuong nao",
        "where",
        "di dau",
        "den dau",
    ),
    "legal": (
        "can cu",
        "luat nao",
        "nghi dinh",
        "thong tu",
        "quy dinh nao",
        "van ban nao",
        "legal",
    ),
    "steps": (
        "the nao",
        "nhu the nao",
        "ntn",
        "lam sao",
        "cac buoc",
        "trinh tu",
        "cach lam",
        "lam gi",
        "quy trinh",
        "huong dan",
        "how to",
        "steps",
        "kieu gi",
    ),
}

# Generic phrases (folded) removed from a question before judging what it is about.
FILLER_PHRASES: tuple[str, ...] = (
    "thu tuc",
    "cho hoi",
    "cho em hoi",
    "cho toi hoi",
    "xin hoi",
    "lam sao",
    "the nao",
    "nhu the nao",
    "bao nhieu",
    "bao lau",
    "o dau",
    "can gi",
    "la gi",
    "dang o",
    "nhu nao",
)

SMALLTALK_PHRASES: dict[str, tuple[str, ...]] = {
    "greeting": ("xin chao", "chao ban", "chao ad", "chao em", "hello", "hi", "hey", "alo", "chao"),
    "thanks": ("cam on", "cam on ban", "thank", "thanks", "thank you", "tks", "cmon", "camon"),
    "who": ("ban la ai", "may la ai", "em la ai", "who are you", "ban lam duoc gi", "bot la gi"),
    "bye": ("tam biet", "bye", "goodbye"),
}


# Greetings and "who are you" inside a question are not what it is about ("xin chào, cho hỏi …").
FILLER_PHRASES += tuple(
    phrase for kind in ("greeting", "who", "thanks") for phrase in SMALLTALK_PHRASES[kind]
)
